import { CommanderError } from 'commander';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { systemdSettingsFromEnv } from './ops/systemd-notify.ts';
import { startServer } from './server.ts';
import { startStdio } from './stdio.ts';

/**
 * The `browser-fleet` command: parse options, serve over HTTP (or one client on stdio), shut down
 * cleanly on SIGTERM/SIGINT or when the stdio client goes away.
 */
export async function main(argv: string[]): Promise<void> {
  let config;
  try {
    config = loadConfig(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof ConfigError) {
      console.error(`browser-fleet: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  // In stdio mode stdout carries the MCP messages, and only them.
  const log = createLogger(config.logLevel, config.stdio ? 'stderr' : 'stdout');
  const running = await (config.stdio ? startStdio(config, log) : startServer(config, log, { systemd: systemdSettingsFromEnv(process.env) })).catch((error: Error) => {
    console.error(`browser-fleet: ${error.message}`);
    // A bad option found only at start-up (an unknown --device) is a usage error like the others.
    process.exit(error instanceof ConfigError ? 2 : 1);
  });
  let stopping = false;
  let signals = 0;
  const stop = (why: { signal: string } | { reason: string }) => {
    if ('signal' in why && ++signals > 1) {
      // A second signal means "now": workers exit when our IPC channel closes, browsers with them.
      log.warn(why, 'second signal: exiting without waiting for calls in flight');
      process.exit(1);
    }
    if (stopping) return;
    stopping = true;
    // After a drain, a stop waits for the sessions and browsers left to end (a second signal cuts it short).
    const drain = running.supervisor.drainStatus();
    if (drain.draining && (drain.sessions > 0 || drain.browsers > 0)) {
      log.info({ ...why, sessions: drain.sessions, browsers: drain.browsers }, 'draining: exiting once the remaining sessions and browsers have ended');
    } else {
      log.info({ ...why, shutdownTimeoutMs: config.shutdownTimeout }, 'shutting down: no new sessions, waiting for calls in flight');
    }
    const left = drain.draining ? running.supervisor.whenEmpty() : Promise.resolve();
    left.then(() => running.close()).then(() => {
      log.info('shut down');
      process.exit(0);
    }, (error) => {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop({ signal: 'SIGTERM' }));
  process.on('SIGINT', () => stop({ signal: 'SIGINT' }));
  // A stdio client that went away (closed our stdin, or exited) ends the process as a signal would.
  if ('clientGone' in running) void running.clientGone.then((reason) => stop({ reason }));
}
