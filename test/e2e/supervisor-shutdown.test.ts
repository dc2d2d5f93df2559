import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import type { SessionInfo } from '../../src/supervisor/session-types.ts';
import { startCli as startCliInstance } from '../helpers/cli.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { descendants, isAlive, waitUntil } from '../helpers/processes.ts';


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
  const instance = await startCliInstance(args);
  outputDir = instance.outputDir;
  return instance;
}

/** The value of one sample line of the CLI's /metrics, e.g. `browser_fleet_browsers_warm`; undefined when absent. */
async function metric(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The TMPDIR a worker process was given (its browser inherits it), or undefined for any other process. */
function workerTempDir(pid: number): string | undefined {
  try {
    const dir = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith('TMPDIR='))?.slice(7);
    return dir?.includes('browser-fleet-worker-') ? dir : undefined;
  } catch {
    return undefined;
  }
}

async function sessions(url: string): Promise<SessionInfo[]> {
  return (await (await fetch(`${url}/sessions`)).json() as { sessions: SessionInfo[] }).sessions;
}

test('SIGTERM: new sessions get 503, the call in flight finishes, every browser closes, exit 0', async () => {
  cli = await startCli(['--prewarm', '0', '--shutdown-timeout', '10000']);
  const client = await connectClient(cli.url);
  clients.push(client);
  await client.call('browser_navigate', { url: `${pages.url}/` });
  const [{ browser: session }] = await sessions(cli.url);
  assert.ok(session, 'the first call gave the session its browser');
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
  cli = await startCli(['--prewarm', '1', '--prewarm-delay', '0', '--max-browsers', '4']);
  const [first, second, third] = await Promise.all([connectClient(cli.url), connectClient(cli.url), connectClient(cli.url)]);
  clients.push(first, second);
  await Promise.all([first, second, third].map((client) => client.call('browser_navigate', { url: `${pages.url}/` })));
  // The third session's worker goes back to the warm pool: a worker that serves no session.
  await third.close();
  const listed = (await sessions(cli.url)).map((session) => session.browser!);
  assert.equal(listed.length, 2);
  for (const session of listed) assert.ok(session && session.browserPid && isAlive(session.browserPid));
  // Warm workers hold no session. Each worker has a TMPDIR of its own, which its browser inherits:
  // read from their environments, found by PID like everything here, they say which processes
  // are whose. Wait until the pool holds one and every worker, warm or not, has its browser up.
  let warm = 0;
  let everything: number[] = [];
  let byTempDir = new Map<string, number[]>();
  assert.ok(await waitUntil(async () => {
    warm = await metric(cli!.url, 'browser_fleet_browsers_warm') ?? 0;
    everything = descendants(cli!.process.pid!);
    byTempDir = new Map();
    for (const pid of everything) {
      const dir = workerTempDir(pid);
      if (dir) byTempDir.set(dir, [...byTempDir.get(dir) ?? [], pid]);
    }
    return warm >= 1 && byTempDir.size === listed.length + warm && [...byTempDir.values()].every((pids) => pids.length > 1);
  }, 30_000), `a warm worker waits in the pool (warm ${warm}, workers ${byTempDir.size})`);
  for (const session of listed) assert.ok(everything.includes(session.workerPid) && everything.includes(session.browserPid!));
  const workerTempDirs = [...byTempDir.keys()];
  assert.ok(workerTempDirs.length >= 3, 'the two sessions\' workers and the warm one each have a temp dir');
  assert.ok(workerTempDirs.every((dir) => existsSync(dir)));
  cli.process.kill('SIGKILL');
  await cli.exited;
  assert.ok(await waitUntil(() => everything.every((pid) => !isAlive(pid)), 10_000),
    `still alive: ${everything.filter((pid) => isAlive(pid)).join(', ')}`);
  // A refill may have forked a worker after `everything` was read: it too removes its directory as it exits.
  assert.ok(await waitUntil(() => readdirSync(outputDir).length === 0, 10_000), `the workers removed their own session and pool directories: ${readdirSync(outputDir)}`);
  assert.ok(await waitUntil(() => workerTempDirs.every((dir) => !existsSync(dir)), 5000), 'and their own temp dirs (browser profiles)');
});
