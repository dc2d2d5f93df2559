import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { SessionInfo, SupervisorEvents } from '../../src/supervisor/session-types.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { descendants, isAlive, waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let pages: PageServer;

before(async () => {
  pages = await startPageServer();
  pages.route('/', '<!doctype html><title>Limits</title><p>hello</p>');
});
after(async () => {
  await pages?.close();
});

async function initialize(server: TestServer): Promise<Response> {
  return fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'limits', version: '1' } } }),
  });
}

async function info(server: TestServer, id: string): Promise<SessionInfo> {
  const { sessions } = await (await fetch(`${server.url}/sessions`)).json() as { sessions: SessionInfo[] };
  return sessions.find((s) => s.id === id)!;
}

/** The session's worker, its browser and everything under them, by parentage. */
async function processesOf(server: TestServer, id: string): Promise<number[]> {
  const { workerPid } = await info(server, id);
  return [workerPid, ...descendants(workerPid)];
}

describe('cap and queue (real browsers)', () => {
  let server: TestServer;
  const clients: TestClient[] = [];

  before(async () => {
    server = await startTestServer({ maxSessions: 2, queueSize: 1, queueTimeout: 30_000 });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server?.close();
  });

  test('at the cap one session waits and the next gets 503 with Retry-After; the waiter gets the freed slot', async () => {
    clients.push(await connectClient(server.url), await connectClient(server.url));
    const waiting = connectClient(server.url);
    assert.ok(await waitUntil(() => server.supervisor.queued === 1));

    const refused = await initialize(server);
    assert.equal(refused.status, 503);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const body = await refused.json() as { jsonrpc: string; error: { data: { code: string } } };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.error.data.code, 'SESSION_LIMIT');

    const freed = clients.shift()!;
    const gone = await processesOf(server, freed.sessionId);
    await freed.close();
    const admitted = await waiting;
    clients.push(admitted);
    assert.match(await admitted.text('browser_navigate', { url: `${pages.url}/` }), /Page Title: Limits/);
    assert.equal(server.supervisor.size, 2);
    assert.ok(gone.every((pid) => !isAlive(pid)), 'the freed session\'s worker and browser had exited before the slot was reused');
  });
});

describe('idle reaping (real browsers)', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ idleTimeout: 1500 });
  });
  after(async () => {
    await server?.close();
  });

  test('an idle session is reaped: worker and browser exit, the client gets 404 and can initialize again', async () => {
    const client = await connectClient(server.url);
    await client.call('browser_navigate', { url: `${pages.url}/` });
    const { workerPid, browserPid } = await info(server, client.sessionId);
    const tree = await processesOf(server, client.sessionId);
    assert.ok(browserPid && isAlive(browserPid));
    assert.ok(await waitUntil(() => server.supervisor.size === 0, 8000), 'reaped');
    assert.ok(await waitUntil(() => tree.every((pid) => !isAlive(pid)), 5000), `worker ${workerPid}, browser ${browserPid} and their children exited`);
    await assert.rejects(client.call('browser_snapshot'), /404|not found/i);
    await client.client.close();

    const again = await connectClient(server.url);
    assert.match(await again.text('browser_navigate', { url: `${pages.url}/` }), /Page Title: Limits/);
    await again.close();
  });

  test('a long browser_wait_for keeps its session from being reaped', async () => {
    const client = await connectClient(server.url);
    try {
      const { workerPid } = await info(server, client.sessionId);
      const waited = await client.call('browser_wait_for', { time: 3 });
      assert.notEqual(waited.isError, true, resultText(waited));
      assert.equal(server.supervisor.get(client.sessionId)?.worker.pid, workerPid, 'the session and its worker lived through a wait twice the idle timeout');
    } finally {
      await client.close();
    }
  });
});

describe('pre-started pool (real browsers)', () => {
  let server: TestServer;
  const started: SupervisorEvents['worker.started'][0][] = [];

  before(async () => {
    server = await startTestServer({ prewarm: 1, maxSessions: 2 }, {});
    server.supervisor.on('worker.started', (event) => started.push(event));
  });
  after(async () => {
    await server?.close();
  });

  test('a session takes the pre-started worker with its browser up, and the pool refills', async () => {
    assert.ok(await waitUntil(() => started.some((s) => s.ok), 20_000), 'a worker was pre-started');
    const [pooled] = started;
    const client = await connectClient(server.url);
    try {
      const session = await info(server, client.sessionId);
      assert.equal(session.workerPid, pooled.pid, 'the session runs on the pre-started worker');
      assert.ok(session.browserPid && isAlive(session.browserPid), 'its browser was already running');
      const blank = await client.text('browser_snapshot');
      assert.match(blank, /Page URL: about:blank/, 'the warmed-up tab is blank again');
      assert.doesNotMatch(blank, /warm-up/, 'nothing of the warm-up document is left');
      assert.match(await client.text('browser_navigate', { url: `${pages.url}/` }), /Page Title: Limits/);
      const back = await client.text('browser_navigate_back');
      assert.doesNotMatch(back, /warm-up/, 'the warm-up left no history entry');
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2, 20_000), 'the pool refilled');
      assert.equal(server.supervisor.poolSize + server.supervisor.size, 2, 'within the cap of 2');
    } finally {
      await client.close();
    }
  });

  test('a pre-started worker whose browser dies is replaced in the background', async () => {
    assert.ok(await waitUntil(() => server.supervisor.poolSize === 1 && started.filter((s) => s.ok).length >= 2, 20_000));
    const pooled = started.filter((s) => s.ok).at(-1)!.pid;
    const [browserPid] = descendants(pooled).filter((pid) => isAlive(pid));
    assert.ok(browserPid, 'the pre-started worker has its browser up');
    const tree = [pooled, ...descendants(pooled)];
    process.kill(browserPid, 'SIGKILL');
    assert.ok(await waitUntil(() => tree.every((pid) => !isAlive(pid)), 8000), 'the broken worker was killed with its browser children');
    assert.ok(await waitUntil(() => server.supervisor.poolSize === 1 && isAlive(started.filter((s) => s.ok).at(-1)!.pid)
      && started.filter((s) => s.ok).at(-1)!.pid !== pooled, 20_000), 'a fresh worker took its place');
  });

  test('5 sessions opened and closed leave no process, directory or session entry behind', async () => {
    const trees: number[] = [];
    for (let i = 0; i < 5; i++) {
      const client = await connectClient(server.url);
      await client.call('browser_navigate', { url: `${pages.url}/` });
      trees.push(...await processesOf(server, client.sessionId));
      await client.close();
    }
    assert.ok(await waitUntil(() => trees.every((pid) => !isAlive(pid)), 8000), 'every worker, browser and browser child exited');
    const { sessions } = await (await fetch(`${server.url}/sessions`)).json() as { sessions: unknown[] };
    assert.deepEqual(sessions, []);
    assert.equal(server.supervisor.size, 0);
    const dirs = readdirSync(server.outputDir);
    assert.ok(dirs.every((dir) => dir.startsWith('pool-')), `only the pre-started worker's directory is left: ${dirs}`);
  });
});
