import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startNotifySocket, type NotifySocket } from '../helpers/notify-socket.ts';

const CLI = fileURLToPath(new URL('../../bin/browser-fleet.js', import.meta.url));

let socket: NotifySocket;
let outputDir: string;
let cli: ChildProcess | undefined;

before(async () => {
  socket = await startNotifySocket({ abstract: true });
  outputDir = mkdtempSync(join(tmpdir(), 'bf-systemd-'));
});

after(async () => {
  if (cli && cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
  await socket?.close();
  rmSync(outputDir, { recursive: true, force: true });
});

test('the CLI under systemd: READY=1 once listening, WATCHDOG=1 pings, STOPPING=1 on SIGTERM, exit 0', async () => {
  cli = spawn(process.execPath, [CLI, '--port', '0', '--prewarm', '0', '--output-dir', outputDir], {
    env: { ...process.env, NOTIFY_SOCKET: socket.address, WATCHDOG_USEC: '400000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listening = new Promise<{ url: string }>((resolve) => {
    createInterface({ input: cli!.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line);
      if (entry.msg === 'browser-fleet listening') resolve(entry);
    });
  });
  const exited = new Promise<number | null>((resolve) => cli!.once('exit', (code) => resolve(code)));

  const ready = await socket.waitFor('READY=1', { timeoutMs: 30_000 });
  // The log line and the datagram travel different pipes, so their arrival order proves nothing;
  // the status naming the bound URL, known only once listening, does.
  const { url } = await listening;
  assert.ok(ready.lines.includes(`STATUS=listening on ${url}`), `READY carries the URL: ${ready.lines.join(' ')}`);
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200, 'the server answers once systemd hears READY');

  await socket.waitFor('WATCHDOG=1', { from: socket.received.indexOf(ready) });
  cli.kill('SIGTERM');
  await socket.waitFor('STOPPING=1');
  assert.equal(await exited, 0);
});
