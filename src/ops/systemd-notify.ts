import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Logger } from '../log.ts';

/** What systemd told the service through its environment; read by the CLI entry and passed down. */
export interface SystemdSettings {
  /** NOTIFY_SOCKET: a path, or an abstract name starting with `@`. */
  notifySocket: string;
  /** WATCHDOG_USEC: the watchdog period in microseconds; pings go out at half of it. */
  watchdogUsec?: number;
  /** WATCHDOG_PID: the process the watchdog is meant for; other processes must not ping. */
  watchdogPid?: number;
  /** PATH, to find the sender program. */
  searchPath?: string;
}

/** Reads the systemd variables from an environment; undefined when not started by systemd with Type=notify. */
export function systemdSettingsFromEnv(env: Record<string, string | undefined>): SystemdSettings | undefined {
  if (!env.NOTIFY_SOCKET) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  const pid = Number(env.WATCHDOG_PID);
  return {
    notifySocket: env.NOTIFY_SOCKET,
    watchdogUsec: Number.isInteger(usec) && usec > 0 ? usec : undefined,
    watchdogPid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
    searchPath: env.PATH,
  };
}

/** The helper programs that can send to NOTIFY_SOCKET. */
export type SenderName = 'systemd-notify' | 'python3';

/** A program that sends one datagram of `KEY=VALUE` lines to NOTIFY_SOCKET. */
export interface Sender {
  name: SenderName;
  program: string;
  args(lines: string[]): string[];
}

// Python resolves the `@` abstract-name convention itself, so both senders accept any NOTIFY_SOCKET.
const PY_SEND = [
  'import os,socket,sys',
  "a=os.environ['NOTIFY_SOCKET']",
  "a='\\0'+a[1:] if a.startswith('@') else a",
  "socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM).sendto('\\n'.join(sys.argv[1:]).encode(),a)",
].join('\n');

/**
 * Node has no AF_UNIX datagram sockets, so a message goes out through a short-lived helper.
 * `systemd-notify` comes first: it ships with systemd itself (so it is there wherever systemd sets
 * NOTIFY_SOCKET), handles abstract names, and waits on a BARRIER so systemd has read the message
 * before the helper exits. python3 is the fallback for containers handed a NOTIFY_SOCKET without
 * systemd installed. Either way the sender is a child process: the unit needs NotifyAccess=all.
 */
export function findSender(searchPath = '/usr/bin:/bin', prefer: SenderName[] = ['systemd-notify', 'python3']): Sender | undefined {
  const dirs = [...searchPath.split(delimiter), '/usr/bin', '/bin'].filter(Boolean);
  for (const name of prefer) {
    const program = dirs.map((dir) => join(dir, name)).find((p) => existsSync(p));
    if (program) return { name, program, args: (lines) => name === 'python3' ? ['-c', PY_SEND, ...lines] : lines };
  }
  return undefined;
}

/**
 * sd_notify for the server: READY=1 once listening, STOPPING=1 when shutdown begins, and
 * WATCHDOG=1 every half WATCHDOG_USEC. The pings come from an event-loop timer, so a blocked
 * loop stops them and systemd's watchdog restarts the service. Messages go out in order.
 */
export class SystemdNotifier {
  private readonly settings: SystemdSettings;
  private readonly log: Logger;
  private readonly sender: Sender | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private watchdog?: NodeJS.Timeout;
  private warned = false;

  constructor(settings: SystemdSettings, log: Logger, sender: Sender | undefined = findSender(settings.searchPath)) {
    this.settings = settings;
    this.log = log.child({ component: 'systemd' });
    this.sender = sender;
    if (sender) this.log.info({ notifySocket: settings.notifySocket, via: sender.program }, 'systemd notify enabled');
    else this.log.warn({ notifySocket: settings.notifySocket }, 'NOTIFY_SOCKET is set but neither systemd-notify nor python3 was found: systemd will not hear READY');
  }

  /** Sends READY=1 (with a STATUS line) and starts the watchdog pings if systemd asked for them. */
  ready(status: string): Promise<void> {
    const sent = this.send(['READY=1', `STATUS=${status}`]);
    this.startWatchdog();
    return sent;
  }

  /** Sends STOPPING=1; the watchdog keeps pinging until close(), since shutdown may take a while. */
  stopping(): Promise<void> {
    return this.send(['STOPPING=1', 'STATUS=shutting down']);
  }

  /** Stops the watchdog pings and waits for messages still going out. */
  async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    await this.chain;
  }

  private startWatchdog(): void {
    const { watchdogUsec, watchdogPid } = this.settings;
    if (!watchdogUsec || this.watchdog) return;
    if (watchdogPid !== undefined && watchdogPid !== process.pid) return;
    const everyMs = Math.max(1, Math.floor(watchdogUsec / 2000));
    this.watchdog = setInterval(() => {
      // A ping still on its way means the helper is slow, not the loop: don't pile them up.
      if (this.pending === 0) void this.send(['WATCHDOG=1']);
    }, everyMs);
    this.watchdog.unref();
    this.log.info({ everyMs }, 'systemd watchdog pings started');
  }

  private send(lines: string[]): Promise<void> {
    const sender = this.sender;
    if (!sender) return Promise.resolve();
    this.pending++;
    this.chain = this.chain.then(() => new Promise<void>((resolve) => {
      const child = spawn(sender.program, sender.args(lines), {
        env: { NOTIFY_SOCKET: this.settings.notifySocket },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 5000,
      });
      let stderr = '';
      let settled = false;
      const done = (error?: string) => {
        if (settled) return;
        settled = true;
        this.pending--;
        if (error === undefined) this.log.debug({ lines }, 'sent to systemd');
        else this.fail(lines, error);
        resolve();
      };
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      child.on('error', (error) => done(error.message));
      child.on('close', (code, signal) => done(code === 0 ? undefined : stderr.trim() || `exit code ${code}${signal ? `, ${signal}` : ''}`));
    }));
    return this.chain;
  }

  private fail(lines: string[], error: string): void {
    // The watchdog would repeat the same failure every few seconds; one warning says enough.
    if (lines[0] === 'WATCHDOG=1' && this.warned) return;
    this.warned = true;
    this.log.warn({ lines, error, notifySocket: this.settings.notifySocket }, 'could not notify systemd');
  }
}
