import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, test } from 'node:test';
import type { SessionInfo } from '../../src/supervisor/session-types.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { descendants, isAlive, waitUntil } from '../helpers/processes.ts';

const CLI = fileURLToPath(new URL('../../bin/browser-fleet.js', import.meta.url));

interface Cli {
  process: ChildProcess;
  url: string;
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let pages: PageServer;
let outputDir: string;
let cli: Cli | undefined;
const clients: TestClient[] = [];

before(async () => {
  pages = await startPageServer();
  pages.route('/', '<!doctype html><title>Shutdown</title><p>hello</p>');
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.client.close()));
  if (cli && cli.process.exitCode === null && cli.process.signalCode === null) cli.process.kill('SIGKILL');
  if (outputDir) rmSync(outputDir, { recursive: true, force: true });
});
after(async () => {
  await pages?.close();
});

/** Spawns the real CLI on port 0 and waits for its 'browser-fleet listening' log line. */
async function startCli(args: string[]): Promise<Cli> {
  outputDir = mkdtempSync(join(tmpdir(), 'bf-shutdown-'));
  const child = spawn(process.execPath, [CLI, '--port', '0', '--output-dir', outputDir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'browser-fleet listening') resolve(entry.url as string);
    });
    void exited.then(() => reject(new Error('the CLI exited before listening')));
  });
  return { process: child, url, logs, exited };
}

async function sessions(url: string): Promise<SessionInfo[]> {
  return (await (await fetch(`${url}/sessions`)).json() as { sessions: SessionInfo[] }).sessions;
}

test('SIGTERM: new sessions get 503, the call in flight finishes, every browser closes, exit 0', async () => {
  cli = await startCli(['--prewarm', '0', '--shutdown-timeout', '10000']);
  const client = await connectClient(cli.url);
  clients.push(client);
  await client.call('browser_navigate', { url: `${pages.url}/` });
  const [session] = await sessions(cli.url);
  const tree = [session.workerPid, ...descendants(session.workerPid)];
  assert.ok(tree.includes(session.browserPid!));

  const call = client.call('browser_evaluate', { function: '() => new Promise((resolve) => setTimeout(() => resolve("finished in time"), 2000))' });
  assert.ok(await waitUntil(async () => (await sessions(cli!.url))[0]?.inFlight === 1));
  cli.process.kill('SIGTERM');
  assert.ok(await waitUntil(() => cli!.logs.some((l) => /^shutting down/.test(String(l.msg)))));

  const refused = await fetch(`${cli.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  assert.equal(refused.status, 503);
  assert.equal((await refused.json() as { error: { data: { code: string } } }).error.data.code, 'SHUTTING_DOWN');

  const result = await call;
  assert.notEqual(result.isError, true, resultText(result));
  assert.match(resultText(result), /"finished in time"/);
  assert.deepEqual(await cli.exited, { code: 0, signal: null });
  assert.ok(await waitUntil(() => tree.every((pid) => !isAlive(pid)), 5000), 'worker, browser and its children exited');
  assert.deepEqual(readdirSync(outputDir), [], 'the session directory was removed');
});

test('SIGKILL of the front: every worker and browser exits on its own within seconds', async () => {
  cli = await startCli(['--prewarm', '1', '--prewarm-delay', '0', '--max-sessions', '4']);
  const [first, second] = await Promise.all([connectClient(cli.url), connectClient(cli.url)]);
  clients.push(first, second);
  await Promise.all([first, second].map((client) => client.call('browser_navigate', { url: `${pages.url}/` })));
  const listed = await sessions(cli.url);
  assert.equal(listed.length, 2);
  for (const session of listed) assert.ok(session.browserPid && isAlive(session.browserPid));
  // The pre-started worker is not a session; it is found, like the rest, by parentage.
  assert.ok(await waitUntil(() => descendants(cli!.process.pid!).length > listed.length * 2, 20_000));
  const everything = descendants(cli.process.pid!);
  for (const session of listed) assert.ok(everything.includes(session.workerPid) && everything.includes(session.browserPid!));

  // Each worker's own TMPDIR, read from its environment: found by PID, like everything here.
  const workerTempDirs = [...new Set(everything.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith('TMPDIR='))?.slice(7);
    } catch {
      return undefined;
    }
  }))].filter((dir): dir is string => dir !== undefined && dir.includes('browser-fleet-worker-'));
  assert.ok(workerTempDirs.length >= 3, 'two sessions and the pre-started worker each have a temp dir');
  assert.ok(workerTempDirs.every((dir) => existsSync(dir)));
  cli.process.kill('SIGKILL');
  await cli.exited;
  assert.ok(await waitUntil(() => everything.every((pid) => !isAlive(pid)), 10_000),
    `still alive: ${everything.filter((pid) => isAlive(pid)).join(', ')}`);
  assert.deepEqual(readdirSync(outputDir), [], 'the workers removed their own session and pool directories');
  assert.ok(await waitUntil(() => workerTempDirs.every((dir) => !existsSync(dir)), 5000), 'and their own temp dirs (browser profiles)');
});
