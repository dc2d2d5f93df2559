import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One datagram as received, with the receiver's wall-clock time in ms. */
export interface Datagram {
  at: number;
  lines: string[];
}

/** A real AF_UNIX SOCK_DGRAM socket, as systemd binds for NOTIFY_SOCKET. */
export interface NotifySocket {
  /** What to put in NOTIFY_SOCKET: a path, or `@name` for an abstract socket. */
  address: string;
  received: Datagram[];
  /** Resolves with the first datagram (from `from` on) that has `line`. */
  waitFor(line: string, options?: { from?: number; timeoutMs?: number }): Promise<Datagram>;
  close(): Promise<void>;
}

// Node cannot bind a datagram unix socket, so a python3 child does, and prints what arrives as JSON.
const RECEIVER = `
import json, socket, sys, time
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + a[1:] if a.startswith('@') else a)
print(json.dumps({'bound': True}), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps({'at': time.time() * 1000, 'text': data.decode()}), flush=True)
`;

/** Binds a datagram socket (abstract with `abstract: true`) and records every message. */
export async function startNotifySocket(options: { abstract?: boolean } = {}): Promise<NotifySocket> {
  const path = join(tmpdir(), `bf-notify-${randomUUID().slice(0, 8)}.sock`);
  const address = options.abstract ? `@bf-notify-${randomUUID()}` : path;
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Datagram[] = [];
  const waiters = new Set<() => void>();
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`notify receiver exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as { bound?: boolean; at: number; text: string };
      if (parsed.bound) return resolve();
      received.push({ at: parsed.at, lines: parsed.text.split('\n').filter(Boolean) });
      for (const wake of waiters) wake();
    });
  });
  return {
    address,
    received,
    waitFor: (line, { from = 0, timeoutMs = 10_000 } = {}) => new Promise((resolve, reject) => {
      const check = () => {
        const found = received.slice(from).find((d) => d.lines.includes(line));
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no datagram with ${line} within ${timeoutMs} ms; got ${JSON.stringify(received)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited;
      }
      if (!options.abstract) rmSync(path, { force: true });
    },
  };
}
