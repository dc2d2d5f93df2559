import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserInfo, SupervisorEvents } from '../../src/supervisor/session-types.ts';
import { browserOf, nextEvent, recordEvents } from '../helpers/browsers.ts';
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

/** The session's browser as GET /sessions shows it (the session has made its first call). */
async function info(server: TestServer, id: string): Promise<BrowserInfo> {
  const { sessions } = await (await fetch(`${server.url}/sessions`)).json() as { sessions: { id: string; browser: BrowserInfo | null }[] };
  const browser = sessions.find((s) => s.id === id)?.browser;
  assert.ok(browser, `session ${id} has a browser`);
  return browser;
}

/** The session's worker, its browser and everything under them, by parentage. */
async function processesOf(server: TestServer, id: string): Promise<number[]> {
  const { workerPid } = await info(server, id);
  return [workerPid, ...descendants(workerPid)];
}

describe('browser cap and queue (real browsers)', () => {
  let server: TestServer;
  const clients: TestClient[] = [];

  before(async () => {
    // A freed browser must be gone before its slot is reused: no recycling, and no reclaiming of idle ones.
    server = await startTestServer({ maxBrowsers: 2, queueSize: 1, queueTimeout: 30_000, recycle: 'never', reclaimIdleAfter: 0 });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server?.close();
  });

  test('at the cap a first call waits, one past the queue fails with BROWSER_LIMIT, a new session gets 503 with Retry-After; the waiter gets the freed slot', async () => {
    const [first, second, waiter, late] = await Promise.all([0, 1, 2, 3].map(() => connectClient(server.url)));
    clients.push(first, second, waiter, late);
    assert.equal(server.supervisor.size, 4, 'sessions are cheap: all four are open');
    await Promise.all([first, second].map((client) => client.call('browser_navigate', { url: `${pages.url}/` })));
    assert.equal(server.supervisor.browserCount, 2);

    const acquired = nextEvent(server, 'browser.acquired', (e) => e.sessionId === waiter.sessionId, 60_000);
    const waiting = waiter.call('browser_navigate', { url: `${pages.url}/` });
    assert.ok(await waitUntil(() => server.supervisor.queued === 1), 'the first call of the third session waits');

    const refusedCall = nextEvent(server, 'browser.refused');
    const tooMany = await late.call('browser_snapshot');
    assert.equal(tooMany.isError, true, 'with the queue full, a first call is refused at once');
    assert.match(resultText(tooMany), /No browser is free: every one of the 2 browsers this server allows is in use and 1 calls are already waiting\. Retry in \d+ s\..*\[BROWSER_LIMIT\]/s);
    assert.equal((await refusedCall).code, 'BROWSER_LIMIT');
    assert.ok(server.supervisor.get(late.sessionId), 'the refused call leaves its session open');
    assert.equal(server.supervisor.get(late.sessionId)?.browser, undefined);

    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    const readiness = await ready.json() as { code: string; browsers: { inUse: number; max: number; queued: number } };
    assert.equal(readiness.code, 'BROWSER_LIMIT');
    assert.deepEqual([readiness.browsers.inUse, readiness.browsers.max, readiness.browsers.queued], [2, 2, 1]);
    const refused = await initialize(server);
    assert.equal(refused.status, 503, 'every browser taken, none warm or reclaimable, the queue full: the instance is really full');
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const body = await refused.json() as { jsonrpc: string; error: { data: { code: string } } };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.error.data.code, 'BROWSER_LIMIT');

    const gone = await processesOf(server, first.sessionId);
    clients.splice(clients.indexOf(first), 1);
    await first.close();
    const result = await waiting;
    assert.match(resultText(result), /Page Title: Limits/);
    const got = await acquired;
    assert.ok(got.waitedMs > 0, `the call waited for its browser (${got.waitedMs} ms)`);
    assert.equal(server.supervisor.browserCount, 2);
    assert.equal(server.supervisor.queued, 0);
    assert.ok(gone.every((pid) => !isAlive(pid)), 'the freed session\'s worker and browser had exited before the slot was reused');
  });
});

describe('queue timeout (real browsers)', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ maxBrowsers: 1, queueSize: 4, queueTimeout: 1500, reclaimIdleAfter: 0 });
  });
  after(async () => {
    await server?.close();
  });

  test('a first call that waits past --queue-timeout fails with BROWSER_LIMIT as a tool error, and its session gets a browser once one frees', async () => {
    const holder = await connectClient(server.url);
    const waiter = await connectClient(server.url);
    try {
      await holder.call('browser_navigate', { url: `${pages.url}/` });
      const started = Date.now();
      const result = await waiter.call('browser_navigate', { url: `${pages.url}/` });
      const elapsed = Date.now() - started;
      assert.equal(result.isError, true);
      assert.match(resultText(result), /every one of the 1 browsers this server allows stayed in use for 1500 ms\. Retry in \d+ s\..*\[BROWSER_LIMIT\]/s);
      assert.ok(elapsed >= 1400, `it waited for the queue timeout first (${elapsed} ms)`);
      assert.equal(server.supervisor.queued, 0);
      assert.ok(server.supervisor.get(waiter.sessionId), 'the session stays open');

      const ended = nextEvent(server, 'browser.ended', (e) => e.sessionId === holder.sessionId);
      await holder.close();
      await ended;
      const again = await waiter.call('browser_navigate', { url: `${pages.url}/` });
      assert.notEqual(again.isError, true, resultText(again));
      assert.match(resultText(again), /Page Title: Limits/);
    } finally {
      await holder.close();
      await waiter.close();
    }
  });
});

describe('reclaiming idle browsers at the cap (real browsers)', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ maxBrowsers: 1, queueSize: 4, queueTimeout: 30_000, reclaimIdleAfter: 1000 });
  });
  after(async () => {
    await server?.close();
  });

  test('a waiting first call takes over a browser idle past --reclaim-idle-after; the idle session goes on with a fresh browser and a notice', async () => {
    const idle = await connectClient(server.url);
    const newcomer = await connectClient(server.url);
    try {
      assert.match(await idle.text('browser_navigate', { url: `${pages.url}/` }), /Page Title: Limits/);
      const lease = await browserOf(server, idle.sessionId);

      const reclaimed = nextEvent(server, 'browser.ended', (e) => e.id === lease.id, 30_000);
      const got = await newcomer.call('browser_navigate', { url: `${pages.url}/` });
      assert.notEqual(got.isError, true, resultText(got));
      assert.match(resultText(got), /Page Title: Limits/);
      const end = await reclaimed;
      assert.equal(end.reason, 'reclaimed');
      assert.equal(end.sessionId, idle.sessionId);
      assert.ok(server.supervisor.get(idle.sessionId), 'the idle session itself goes on');
      assert.equal(server.supervisor.get(idle.sessionId)?.browser, undefined, 'without a browser');
      assert.equal(server.supervisor.browserCount, 1, 'within the cap');

      // Its next call waits in turn, until the newcomer's browser has been idle long enough.
      const back = await idle.call('browser_snapshot');
      assert.notEqual(back.isError, true, resultText(back));
      assert.match(resultText(back), /^### Notice\n- This session's browser was closed after \d+ s idle to make room for another client; its page state \(open tabs, cookies, storage\) was lost/);
      assert.match(resultText(back), /Page URL: about:blank/, 'a fresh browser');
      assert.notEqual((await browserOf(server, idle.sessionId)).id, lease.id);
    } finally {
      await idle.close();
      await newcomer.close();
    }
  });
});

describe('idle reaping (real browsers)', () => {
  let server: TestServer;

  before(async () => {
    // The reaped session's worker and browser must exit: no recycling.
    server = await startTestServer({ idleTimeout: 1500, recycle: 'never' });
  });
  after(async () => {
    await server?.close();
  });

  test('an idle session is reaped: worker and browser exit, the client gets 404 and can initialize again', async () => {
    const client = await connectClient(server.url);
    const reaped = nextEvent(server, 'session.ended', (e) => e.id === client.sessionId);
    await client.call('browser_navigate', { url: `${pages.url}/` });
    const { workerPid, browserPid } = await info(server, client.sessionId);
    const tree = await processesOf(server, client.sessionId);
    assert.ok(browserPid && isAlive(browserPid));
    assert.equal((await reaped).reason, 'idle');
    assert.equal(server.supervisor.size, 0, 'reaped');
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
      await client.call('browser_snapshot');
      const { id, workerPid } = await info(server, client.sessionId);
      const waited = await client.call('browser_wait_for', { time: 3 });
      assert.notEqual(waited.isError, true, resultText(waited));
      const browser = server.supervisor.get(client.sessionId)?.browser;
      assert.equal(browser?.id, id, 'the session and its browser lived through a wait twice the idle timeout');
      assert.equal(browser?.worker.pid, workerPid);
    } finally {
      await client.close();
    }
  });
});

describe('pre-started pool (real browsers)', () => {
  let server: TestServer;
  const started: SupervisorEvents['worker.started'][0][] = [];

  before(async () => {
    // Ended sessions' workers exit rather than go back to the pool, so the pool here is only pre-started workers.
    server = await startTestServer({ prewarm: 1, maxBrowsers: 2, recycle: 'never' }, {});
    server.supervisor.on('worker.started', (event) => started.push(event));
  });
  after(async () => {
    await server?.close();
  });

  test('a session\'s first call takes the pre-started worker with its browser up, and the pool refills', async () => {
    assert.ok(await waitUntil(() => started.some((s) => s.ok), 20_000), 'a worker was pre-started');
    const [pooled] = started;
    const client = await connectClient(server.url);
    try {
      assert.equal(server.supervisor.poolSize, 1, 'initialize leaves the pre-started worker in the pool');
      const acquired = nextEvent(server, 'browser.acquired', (e) => e.sessionId === client.sessionId);
      const blank = await client.text('browser_snapshot');
      assert.equal((await acquired).how, 'warm');
      const session = await info(server, client.sessionId);
      assert.equal(session.workerPid, pooled.pid, 'the session runs on the pre-started worker');
      assert.ok(session.browserPid && isAlive(session.browserPid), 'its browser was already running');
      assert.match(blank, /Page URL: about:blank/, 'the warmed-up tab is blank again');
      assert.doesNotMatch(blank, /warm-up/, 'nothing of the warm-up document is left');
      assert.match(await client.text('browser_navigate', { url: `${pages.url}/` }), /Page Title: Limits/);
      const back = await client.text('browser_navigate_back');
      assert.doesNotMatch(back, /warm-up/, 'the warm-up left no history entry');
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2, 20_000), 'the pool refilled');
      assert.equal(server.supervisor.poolSize + server.supervisor.browserCount, 2, 'within the cap of 2');
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
    assert.equal(server.supervisor.browserCount, 0);
    const dirs = readdirSync(server.outputDir);
    assert.ok(dirs.every((dir) => dir.startsWith('pool-')), `only the pre-started worker's directory is left: ${dirs}`);
  });
});

describe('recycling (real browsers)', () => {
  let server: TestServer;

  before(async () => {
    // prewarmDelay holds pool refills off for the whole test, so which worker serves which session is certain.
    server = await startTestServer({ maxBrowsers: 2, recycle: 'same-token', recycleMaxUses: 3, prewarmDelay: 60_000 });
  });
  after(async () => {
    await server?.close();
  });

  test('5 sessions in a row: a worker is recycled until --recycle-max-uses, then retired; nothing else is left behind', async () => {
    const acquired = recordEvents(server, 'browser.acquired');
    const ends: SupervisorEvents['browser.ended'][0][] = [];
    const served: BrowserInfo[] = [];
    const trees: number[][] = [];
    let childrenAfterFirst = 0;
    for (let i = 0; i < 5; i++) {
      const client = await connectClient(server.url);
      assert.match(await client.text('browser_navigate', { url: `${pages.url}/` }), /Page Title: Limits/);
      const browser = await browserOf(server, client.sessionId);
      served.push(browser);
      trees.push([browser.workerPid, ...descendants(browser.workerPid)]);
      const ended = nextEvent(server, 'browser.ended', (e) => e.id === browser.id);
      await client.close();
      ends.push(await ended);
      if (i === 0) childrenAfterFirst = descendants(browser.workerPid).length;
      if (i === 1) {
        assert.ok(await waitUntil(() => descendants(browser.workerPid).length <= childrenAfterFirst, 5000),
          `resetting the context leaves no browser child behind (${descendants(browser.workerPid).length} > ${childrenAfterFirst})`);
      }
    }

    // The fourth gets a fresh worker: started for it, or already started warm by the pool.
    assert.deepEqual(acquired.map((a) => a.how === 'warm' ? 'cold' : a.how), ['cold', 'recycled', 'recycled', 'cold', 'recycled']);
    const [first, , third, fourth, fifth] = served;
    assert.deepEqual(served.map((b) => b.workerPid), [first.workerPid, first.workerPid, first.workerPid, fourth.workerPid, fourth.workerPid]);
    assert.notEqual(fourth.workerPid, first.workerPid);
    assert.deepEqual(served.map((b) => b.uses), [1, 2, 3, 1, 2]);
    assert.equal(new Set(served.map((b) => b.id)).size, 5, 'every session got a lease of its own');
    assert.deepEqual(ends.map((e) => e.recycled), [true, true, false, true, true]);
    assert.match(ends[2].retiredBecause ?? '', /served 3 sessions \(--recycle-max-uses 3\)/);
    assert.equal(third.workerPid, first.workerPid);
    assert.ok(await waitUntil(() => trees[2].every((pid) => !isAlive(pid)), 5000), 'the retired worker, its browser and their children exited');

    assert.ok(isAlive(fifth.workerPid), 'the last worker waits, warm, for the next session');
    assert.equal(server.supervisor.poolSize, 1);
    assert.equal(server.supervisor.size, 0);
    assert.equal(server.supervisor.browserCount, 0);
    const { sessions } = await (await fetch(`${server.url}/sessions`)).json() as { sessions: unknown[] };
    assert.deepEqual(sessions, []);
    const dirs = readdirSync(server.outputDir);
    assert.equal(dirs.length, 1, `one directory, the pooled worker's: ${dirs}`);
    assert.ok(dirs[0].startsWith('pool-'));
  });
});
