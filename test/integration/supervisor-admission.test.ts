import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import type { TestServer } from '../helpers/server.ts';
import { CRASH_AT_START_WORKER, initialize, pooledPids, record, startFixtureServer, workerPid } from './fixture-server.ts';

interface RpcError { jsonrpc: string; error: { code: number; message: string; data: { code: string } } }

async function closeAll(clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}

/** The PID the fake worker reports in a result: which worker served the call. */
function servedBy(text: string): number {
  return Number(text.match(/ok from (\d+)/)![1]);
}

/** Runs `count` sessions one after another, one call each; the PIDs of the workers that served them. */
async function sessionsInARow(server: TestServer, count: number): Promise<number[]> {
  const pids: number[] = [];
  for (let i = 0; i < count; i++) {
    const client = await connectClient(server.url);
    pids.push(servedBy(resultText(await client.call('browser_snapshot'))));
    await client.close();
  }
  return pids;
}

describe('browsers are leased lazily', () => {
  test('sessions that only initialize, list tools and ping start no worker', async () => {
    const server = await startFixtureServer({ maxBrowsers: 2 });
    const started = record(server, 'worker.started');
    const clients: TestClient[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const client = await connectClient(server.url);
        clients.push(client);
        assert.ok((await client.client.listTools()).tools.length > 10);
        await client.client.ping();
      }
      assert.equal(server.supervisor.size, 20, 'twenty sessions, more than the browser cap');
      assert.equal(server.supervisor.browserCount, 0);
      assert.equal(started.length, 0, 'no worker was started for them');
      assert.match(resultText(await clients[0].call('browser_snapshot')), /ok from/, 'the first call that needs a browser gets one');
      assert.equal(started.length, 1);
      assert.equal(server.supervisor.browserCount, 1);
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('calls of one session that arrive together share one browser', async () => {
    const server = await startFixtureServer();
    const acquired = record(server, 'browser.acquired');
    const client = await connectClient(server.url);
    try {
      const texts = (await Promise.all([client.call('browser_snapshot'), client.call('browser_snapshot'), client.call('browser_snapshot')])).map(resultText);
      assert.equal(new Set(texts.map(servedBy)).size, 1, 'one worker served all three');
      assert.equal(acquired.length, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('browser_close on a session without a browser starts none, and with one releases it', async () => {
    const server = await startFixtureServer();
    const started = record(server, 'worker.started');
    const ended = record(server, 'browser.ended');
    const client = await connectClient(server.url);
    try {
      assert.match(resultText(await client.call('browser_close')), /No browser is open/);
      assert.equal(started.length, 0);
      const pid = servedBy(resultText(await client.call('browser_snapshot')));
      assert.match(resultText(await client.call('browser_close')), /Browser closed/);
      assert.equal(server.supervisor.get(client.sessionId)!.browser, undefined);
      assert.deepEqual(ended.map((e) => [e.sessionId, e.reason, e.recycled]), [[client.sessionId, 'closed', true]]);
      assert.equal(servedBy(resultText(await client.call('browser_snapshot'))), pid, 'the next call gets the recycled worker');
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('browser cap and wait queue', () => {
  test('at the browser cap a first call waits and gets the browser another session releases', async () => {
    const server = await startFixtureServer({ maxBrowsers: 1, queueTimeout: 20_000 });
    const acquired = record(server, 'browser.acquired');
    const [first, second] = [await connectClient(server.url), await connectClient(server.url)];
    try {
      const pid = servedBy(resultText(await first.call('browser_snapshot')));
      const waiting = second.call('browser_snapshot');
      assert.ok(await waitUntil(() => server.supervisor.queued === 1), 'the second session\'s first call waits');
      await first.close();
      assert.equal(servedBy(resultText(await waiting)), pid, 'it got the released browser, recycled');
      const entry = acquired.find((a) => a.sessionId === second.sessionId)!;
      assert.equal(entry.how, 'recycled');
      assert.ok(entry.waitedMs > 0, 'browser.acquired reports the time spent waiting');
      assert.equal(server.supervisor.queued, 0);
    } finally {
      await closeAll([first, second]);
      await server.close();
    }
  });

  test('a first call that waits past the queue timeout fails as a tool error with BROWSER_LIMIT and when to retry', async () => {
    const server = await startFixtureServer({ maxBrowsers: 1, queueTimeout: 300, reclaimIdleAfter: 0 });
    const refused = record(server, 'browser.refused');
    const [first, second] = [await connectClient(server.url), await connectClient(server.url)];
    try {
      await first.call('browser_snapshot');
      const result = await second.call('browser_snapshot');
      assert.equal(result.isError, true);
      assert.match(resultText(result), /No browser is free: every one of the 1 browsers this server allows stayed in use for 300 ms\. Retry in 5 s\. \[BROWSER_LIMIT\]/);
      assert.deepEqual(refused, [{ code: 'BROWSER_LIMIT' }]);
      assert.equal(server.supervisor.queued, 0);
      assert.match(resultText(await first.call('browser_snapshot')), /ok from/, 'the session holding the browser is unaffected');
    } finally {
      await closeAll([first, second]);
      await server.close();
    }
  });

  test('initialize is refused with 503 only when the instance is really full', async () => {
    const server = await startFixtureServer({ maxBrowsers: 1, queueSize: 1, queueTimeout: 20_000, reclaimIdleAfter: 0 });
    const clients = [await connectClient(server.url), await connectClient(server.url), await connectClient(server.url)];
    try {
      await clients[0].call('browser_snapshot');
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200, 'a browser in use and an empty queue: still ready');
      const waiting = clients[1].call('browser_snapshot');
      assert.ok(await waitUntil(() => server.supervisor.queued === 1));

      const overflow = await clients[2].call('browser_snapshot');
      assert.match(resultText(overflow), /1 calls are already waiting.*\[BROWSER_LIMIT\]/, 'a full queue refuses a first call at once');
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503, 'every browser in use, none reclaimable, the queue full');
      assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.equal((await refused.json() as RpcError).error.data.code, 'BROWSER_LIMIT');
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      const body = await ready.json() as { code: string; browsers: { inUse: number; max: number; queued: number } };
      assert.equal(body.code, 'BROWSER_LIMIT');
      assert.deepEqual([body.browsers.inUse, body.browsers.max, body.browsers.queued], [1, 1, 1]);

      await clients[0].close();
      assert.match(resultText(await waiting), /ok from/);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('the session cap refuses initialize with 503 SESSION_LIMIT', async () => {
    const server = await startFixtureServer({ maxSessions: 2 });
    const clients = [await connectClient(server.url), await connectClient(server.url)];
    try {
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503);
      assert.ok(refused.headers.get('retry-after'));
      const body = await refused.json() as RpcError;
      assert.equal(body.jsonrpc, '2.0');
      assert.equal(body.error.data.code, 'SESSION_LIMIT');
      assert.match(body.error.message, /limit of 2 sessions/);
      assert.equal(server.supervisor.size, 2);
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('below the free-memory floor new sessions get 503 LOW_MEMORY', async () => {
    const server = await startFixtureServer({ minFreeMemoryMb: 1024 * 1024 * 1024 });
    try {
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503);
      assert.ok(refused.headers.get('retry-after'));
      assert.equal((await refused.json() as RpcError).error.data.code, 'LOW_MEMORY');
      assert.equal(server.supervisor.size, 0);
    } finally {
      await server.close();
    }
  });

  test('a burst larger than the warm pool waits its turn instead of failing; cold starts are paced for the cores', async () => {
    process.env.FAKE_WORKER_START_MS = '300';
    const server = await startFixtureServer({ maxBrowsers: 20, prewarm: 0 });
    const starts: { from: number; to: number }[] = [];
    server.supervisor.on('worker.started', ({ ms, ok }) => {
      if (ok) starts.push({ from: Date.now() - ms, to: Date.now() });
    });
    const clients: TestClient[] = [];
    try {
      clients.push(...await Promise.all(Array.from({ length: 8 }, () => connectClient(server.url))));
      const results = await Promise.all(clients.map((client) => client.call('browser_snapshot')));
      assert.ok(results.every((r) => r.isError !== true && /ok from/.test(resultText(r))), 'every first call got a browser');
      assert.equal(starts.length, 8);
      // How many were starting at once, at the moment each began (a few ms at the edges are one handing over to the next).
      const overlap = Math.max(...starts.map((s) => starts.filter((o) => o.from <= s.from + 10 && o.to > s.from + 10).length));
      assert.ok(overlap <= availableParallelism(), `at most ${availableParallelism()} starts at once (saw ${overlap})`);
    } finally {
      delete process.env.FAKE_WORKER_START_MS;
      await closeAll(clients);
      await server.close();
    }
  });
});

describe('bursts larger than the pool', () => {
  test('a cold start still waiting for its turn takes a browser that a finished session gave back instead of launching', async () => {
    process.env.FAKE_WORKER_START_MS = '600';
    const server = await startFixtureServer({ maxBrowsers: 20, prewarm: 2, prewarmDelay: 60_000 });
    const acquired = record(server, 'browser.acquired');
    try {
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2 && server.supervisor.poolWorkers().length === 2), 'two warm');
      const started = record(server, 'worker.started');
      const clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(server.url)));
      // Each session makes one call and ends: the ones served first give their browsers back at once.
      await Promise.all(clients.map(async (client) => {
        assert.match(resultText(await client.call('browser_snapshot')), /ok from/);
        await client.close();
      }));
      const how = acquired.map((a) => a.how);
      assert.equal(how.length, 8);
      assert.ok(how.filter((h) => h === 'recycled').length >= 2, `recycled browsers served waiting calls: ${how}`);
      assert.ok(started.length < 6, `fewer launches than sessions beyond the pool (${started.length})`);
    } finally {
      delete process.env.FAKE_WORKER_START_MS;
      await server.close();
    }
  });
});

describe('recycling', () => {
  test('a released browser serves the next session of the same token in the same worker, with a new directory', async () => {
    const server = await startFixtureServer({ authToken: ['token-a'] });
    const ended = record(server, 'browser.ended');
    try {
      const first = await connectClient(server.url, { token: 'token-a' });
      const text = resultText(await first.call('browser_snapshot'));
      const firstDir = server.supervisor.get(first.sessionId)!.browser!.outputDir;
      assert.ok(text.endsWith(`in ${firstDir}`));
      await first.close();
      assert.deepEqual(ended.map((e) => e.recycled), [true]);
      assert.ok(!existsSync(firstDir), 'the first session\'s directory is gone');

      const second = await connectClient(server.url, { token: 'token-a' });
      const again = resultText(await second.call('browser_snapshot'));
      assert.equal(servedBy(again), servedBy(text), 'the same worker process');
      const secondDir = server.supervisor.get(second.sessionId)!.browser!.outputDir;
      assert.notEqual(secondDir, firstDir);
      assert.ok(again.endsWith(`in ${secondDir}`), 'writing to a new directory');
      assert.equal(server.supervisor.get(second.sessionId)!.browser!.worker.uses, 2);
      await second.close();
    } finally {
      await server.close();
    }
  });

  test('a worker never serves a session of another token', async () => {
    const server = await startFixtureServer({ authToken: ['token-a', 'token-b'], maxBrowsers: 1 });
    try {
      const a = await connectClient(server.url, { token: 'token-a' });
      const pidA = servedBy(resultText(await a.call('browser_snapshot')));
      await a.close();
      assert.deepEqual(pooledPids(server), [pidA], 'recycled, warm for token-a');

      const b = await connectClient(server.url, { token: 'token-b' });
      const pidB = servedBy(resultText(await b.call('browser_snapshot')));
      assert.notEqual(pidB, pidA, 'token-b got a worker of its own');
      assert.ok(await waitUntil(() => !isAlive(pidA), 3000), 'at the cap, token-a\'s warm worker gave its slot up');
      await b.close();

      const a2 = await connectClient(server.url, { token: 'token-a' });
      assert.notEqual(servedBy(resultText(await a2.call('browser_snapshot'))), pidB, 'nor does token-b\'s worker serve token-a');
      await a2.close();
    } finally {
      await server.close();
    }
  });

  test('a worker is retired, not recycled, after --recycle-max-uses sessions', async () => {
    const server = await startFixtureServer({ recycleMaxUses: 2 });
    const ended = record(server, 'browser.ended');
    try {
      const pids = await sessionsInARow(server, 3);
      assert.equal(pids[1], pids[0], 'the second session ran in the first one\'s worker');
      assert.notEqual(pids[2], pids[0], 'the third did not');
      assert.ok(!isAlive(pids[0]), 'the worker that served two sessions is gone');
      assert.match(ended[1].retiredBecause ?? '', /served 2 sessions \(--recycle-max-uses 2\)/);
    } finally {
      await server.close();
    }
  });

  test('a worker grown past --recycle-max-memory-mb is retired, its memory read every fifth session', async () => {
    const server = await startFixtureServer({ recycleMaxMemoryMb: 1 });
    const ended = record(server, 'browser.ended');
    try {
      const pids = await sessionsInARow(server, 6);
      assert.equal(new Set(pids.slice(0, 5)).size, 1, 'one worker served five sessions');
      assert.notEqual(pids[5], pids[0]);
      assert.deepEqual(ended.map((e) => e.recycled), [true, true, true, true, false, true]);
      assert.match(ended[4].retiredBecause ?? '', /grew to \d+ MB \(--recycle-max-memory-mb 1\)/);
    } finally {
      await server.close();
    }
  });

  test('with --recycle never every released browser is closed', async () => {
    const server = await startFixtureServer({ recycle: 'never' });
    try {
      const client = await connectClient(server.url);
      const pid = servedBy(resultText(await client.call('browser_snapshot')));
      await client.close();
      assert.ok(await waitUntil(() => !isAlive(pid), 3000));
      assert.ok(!pooledPids(server).includes(pid), 'not back in the pool');
    } finally {
      await server.close();
    }
  });

  for (const [what, config, call, because] of [
    ['ran browser_run_code_unsafe', { caps: ['unsafe-code'] as 'unsafe-code'[] }, { name: 'browser_run_code_unsafe', args: { code: 'async (page) => 1' } }, /ran browser_run_code_unsafe/],
    ['had a call time out', { timeoutAction: 300 }, { name: 'browser_evaluate', args: { function: 'never' } }, /a call on it timed out/],
    ['had a tab closed as stuck', {}, { name: 'browser_evaluate', args: { function: 'notice:The tab at http://x/ stopped responding' } }, /a tab hung/],
    ['failed to reset its context', {}, { name: 'browser_evaluate', args: { function: 'fail-reset' } }, /could not be reset.*the context would not close/],
  ] as const) {
    test(`a worker that ${what} is retired, not recycled`, async () => {
      const server = await startFixtureServer(config);
      const ended = record(server, 'browser.ended');
      try {
        const client = await connectClient(server.url);
        await client.call(call.name, call.args);
        const pid = workerPid(server, client.sessionId)!;
        await client.close();
        assert.ok(await waitUntil(() => !isAlive(pid), 3000), 'its process is gone');
        assert.ok(!pooledPids(server).includes(pid), 'it is not warm in the pool');
        assert.equal(ended[0].recycled, false);
        assert.match(ended[0].retiredBecause ?? '', because);
      } finally {
        await server.close();
      }
    });
  }
});

describe('idle browsers give way', () => {
  test('at the cap a waiting call takes over the browser idle longest; that session goes on and is told', async () => {
    const server = await startFixtureServer({ maxBrowsers: 2, reclaimIdleAfter: 400, queueTimeout: 20_000 });
    const ended = record(server, 'browser.ended');
    const clients = [await connectClient(server.url), await connectClient(server.url), await connectClient(server.url)];
    const [oldest, newer, late] = clients;
    try {
      await oldest.call('browser_snapshot');
      await waitUntil(() => false, 100);
      await newer.call('browser_snapshot');
      const took = await late.call('browser_snapshot');
      assert.match(resultText(took), /ok from/, 'the waiting call got a browser');
      assert.deepEqual(ended.map((e) => [e.sessionId, e.reason]), [[oldest.sessionId, 'reclaimed']], 'the browser idle longest was reclaimed');
      assert.equal(server.supervisor.get(oldest.sessionId)!.browser, undefined);

      const back = await oldest.call('browser_snapshot');
      assert.notEqual(back.isError, true);
      assert.match(resultText(back), /^### Notice\n- This session's browser was closed after \d+ s idle to make room for another client; its page state \(open tabs, cookies, storage\) was lost/);
      assert.match(resultText(back), /ok from/, 'the same session goes on in a fresh browser');
      assert.equal(ended.at(-1)!.reason, 'reclaimed', 'it reclaimed in turn');
      assert.doesNotMatch(resultText(await oldest.call('browser_snapshot')), /Notice/, 'the notice is given once');
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('a browser idle less than --reclaim-idle-after is not taken over', async () => {
    const server = await startFixtureServer({ maxBrowsers: 1, reclaimIdleAfter: 60_000, queueTimeout: 400 });
    const [holder, waiter] = [await connectClient(server.url), await connectClient(server.url)];
    try {
      const pid = servedBy(resultText(await holder.call('browser_snapshot')));
      assert.match(resultText(await waiter.call('browser_snapshot')), /\[BROWSER_LIMIT\]/);
      const again = resultText(await holder.call('browser_snapshot'));
      assert.equal(servedBy(again), pid);
      assert.doesNotMatch(again, /Notice/);
    } finally {
      await closeAll([holder, waiter]);
      await server.close();
    }
  });
});

describe('warm pool', () => {
  test('the pool grows toward a burst and shrinks back to its floor after a quiet period', async () => {
    const server = await startFixtureServer({ prewarm: 1, prewarmMax: 4, prewarmShrinkAfter: 1500, maxBrowsers: 10 });
    const clients: TestClient[] = [];
    try {
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 1), 'the floor is warm');
      const burstAt = Date.now();
      clients.push(...await Promise.all(Array.from({ length: 4 }, () => connectClient(server.url))));
      await Promise.all(clients.map((client) => client.call('browser_snapshot')));
      assert.equal(server.supervisor.poolTarget, 4, 'sized for the burst');
      const pids = clients.map((client) => workerPid(server, client.sessionId)!);
      await closeAll(clients.splice(0));
      assert.equal(server.supervisor.poolSize, 4, 'the burst\'s browsers stay warm');
      assert.deepEqual(pooledPids(server).sort(), [...pids].sort());

      assert.ok(await waitUntil(() => server.supervisor.poolSize === 1, 5000), 'back at the floor');
      assert.ok(Date.now() - burstAt >= 1500, `not before the quiet period after the burst (${Date.now() - burstAt} ms)`);
      assert.equal(server.supervisor.poolTarget, 1);
      assert.ok(await waitUntil(() => pids.filter(isAlive).length === 1), 'the surplus workers were retired');
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('the floor stays warm while sessions hold browsers, and a session that ends leaves its browser warm too', async () => {
    const server = await startFixtureServer({ prewarm: 1, prewarmDelay: 0, maxBrowsers: 4 });
    const clients: TestClient[] = [];
    try {
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 1));
      const first = await connectClient(server.url);
      clients.push(first);
      const pid = servedBy(resultText(await first.call('browser_snapshot')));
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 1), 'a fresh worker is warm again while the first is in use');
      const second = await connectClient(server.url);
      clients.push(second);
      const acquired = record(server, 'browser.acquired');
      await second.call('browser_snapshot');
      assert.equal(acquired[0].how, 'warm', 'the next session found it warm');
      await first.close();
      assert.ok(pooledPids(server).includes(pid), 'the ended session\'s browser waits warm (the pool keeps it up to --prewarm-max)');
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('sessions take warm workers, the pool refills, and browsers never exceed the cap', async () => {
    const server = await startFixtureServer({ maxBrowsers: 3, prewarm: 2, queueSize: 0, recycle: 'never', prewarmDelay: 0 });
    const started = record(server, 'worker.started');
    const overCap: number[] = [];
    const count = () => server.supervisor.browserCount + server.supervisor.poolSize;
    server.supervisor.on('worker.started', () => {
      if (count() > 3) overCap.push(count());
    });
    const clients: TestClient[] = [];
    try {
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2), 'two workers are started warm');
      const warm = started.map((s) => s.pid);
      const first = await connectClient(server.url);
      clients.push(first);
      const text = resultText(await first.call('browser_snapshot'));
      assert.ok(warm.includes(servedBy(text)), 'the first call is served by a warm worker');
      assert.ok(text.endsWith(`in ${server.supervisor.get(first.sessionId)!.browser!.outputDir}`), 'the worker now writes to the lease\'s directory');
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2), 'the pool refills');

      for (let i = 0; i < 2; i++) {
        const client = await connectClient(server.url);
        clients.push(client);
        await client.call('browser_snapshot');
      }
      assert.equal(server.supervisor.poolSize, 0, 'no slot is left for the pool');
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503, 'with no queue, a full instance refuses a fourth session at once');
      assert.equal((await refused.json() as RpcError).error.data.code, 'BROWSER_LIMIT');
      assert.deepEqual(overCap, [], 'browsers never exceeded the cap');

      await closeAll(clients.splice(0));
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2), 'the pool refills once sessions end');
      const dirs = readdirSync(server.outputDir);
      assert.ok(dirs.every((dir) => dir.startsWith('pool-')), `only warm workers' directories remain: ${dirs}`);
    } finally {
      await closeAll(clients);
      await server.close();
    }
    assert.ok(await waitUntil(() => started.every((s) => !isAlive(s.pid)), 5000), 'shutdown killed every worker, pooled ones too');
  });

  test('a lease that takes a warm worker holds the refill off for --prewarm-delay', async () => {
    const server = await startFixtureServer({ maxBrowsers: 4, prewarm: 2, prewarmDelay: 1500, recycle: 'never' });
    const started = record(server, 'worker.started');
    let client: TestClient | undefined;
    try {
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2 && server.supervisor.poolSize === 2), 'two workers are warm');
      const took = Date.now();
      client = await connectClient(server.url);
      await client.call('browser_snapshot');
      assert.equal(server.supervisor.poolSize, 1, 'the lease took one');
      await waitUntil(() => false, 800);
      assert.equal(server.supervisor.poolSize, 1, 'no replacement starts within the delay');
      assert.equal(started.length, 2);
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2), 'the replacement starts once the delay is over');
      assert.ok(Date.now() - took >= 1500, `not before the delay (${Date.now() - took} ms)`);
    } finally {
      await client?.close();
      await server.close();
    }
  });

  test('after --prewarm-delay the refill still waits for a moment with no call in flight', async () => {
    const server = await startFixtureServer({ maxBrowsers: 4, prewarm: 2, prewarmDelay: 300, recycle: 'never' });
    const started = record(server, 'worker.started');
    let client: TestClient | undefined;
    try {
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2 && server.supervisor.poolSize === 2), 'two workers are warm');
      client = await connectClient(server.url);
      const slow = client.call('browser_evaluate', { function: 'sleep:2000' });
      await waitUntil(() => false, 1200);
      assert.equal(server.supervisor.poolSize, 1, 'no replacement starts while a call is in flight, though the delay is over');
      assert.match(resultText(await slow), /browser_evaluate ok/);
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2), 'the replacement starts once no call is in flight');
    } finally {
      await client?.close();
      await server.close();
    }
  });

  test('repeated start failures stop the refill and are logged; a later success resets it', async () => {
    const failFile = join(mkdtempSync(join(tmpdir(), 'bf-fail-')), 'fail');
    writeFileSync(failFile, '');
    process.env.FAKE_WORKER_FAIL_FILE = failFile;
    const server = await startFixtureServer({ maxBrowsers: 4, prewarm: 2 });
    const started = record(server, 'worker.started');
    let client: TestClient | undefined;
    try {
      assert.ok(await waitUntil(() => started.length >= 3));
      assert.ok(await waitUntil(() => server.logs.some((l) => l.level === 50 && /3 workers in a row failed to start/.test(String(l.msg)))), 'the streak is logged as an error');
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 0));
      const tried = started.length;
      assert.ok(tried <= 4, `at most the starts already under way when the streak was reached (${tried})`);
      await waitUntil(() => false, 500); // give a respawn loop time to show itself
      assert.equal(started.length, tried, 'no start was tried once three failed in a row');
      assert.ok(started.every((s) => !s.ok));

      client = await connectClient(server.url);
      const refused = await client.call('browser_snapshot');
      assert.equal(refused.isError, true, 'a first call that cannot get a worker fails as a tool error');
      assert.match(resultText(refused), /could not start a browser worker.*\[WORKER_START_FAILED\]/s);

      rmSync(failFile);
      assert.match(resultText(await client.call('browser_snapshot')), /ok from/, 'the same session gets a browser once starts work again');
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 1), 'a success resumes the refill, up to the floor with the lease that will come back');
    } finally {
      delete process.env.FAKE_WORKER_FAIL_FILE;
      await client?.close();
      await server.close();
      rmSync(dirname(failFile), { recursive: true, force: true });
    }
  });

  test('a worker that crashes at start-up: the first call says so and nothing is left behind', async () => {
    const server = await startFixtureServer({ prewarm: 0 }, CRASH_AT_START_WORKER);
    const started = record(server, 'worker.started');
    const client = await connectClient(server.url);
    try {
      const result = await client.call('browser_snapshot');
      assert.equal(result.isError, true);
      assert.match(resultText(result), /exited during start-up.*\[WORKER_START_FAILED\]/s);
      assert.equal(server.supervisor.browserCount, 0);
      assert.ok(await waitUntil(() => readdirSync(server.outputDir).length === 0), 'the lease directory and those of failed warm starts were removed');
      assert.ok(started.length >= 1 && started.every((s) => !s.ok));
      assert.ok(await waitUntil(() => started.every((s) => !isAlive(s.pid))), 'no crashed worker is left');
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('many sessions', () => {
  test('100 sessions opened and closed through 4 lanes leave no process, directory or session entry behind', async () => {
    const server = await startFixtureServer({ maxBrowsers: 8, prewarm: 2, queueTimeout: 30_000 });
    const started = record(server, 'worker.started');
    const ended = record(server, 'session.ended');
    const acquired = record(server, 'browser.acquired');
    try {
      for (let batch = 0; batch < 25; batch++) {
        await Promise.all([0, 1, 2, 3].map(async () => {
          const client = await connectClient(server.url);
          assert.match(resultText(await client.call('browser_snapshot')), /ok from/);
          await client.close();
        }));
      }
      assert.equal(ended.length, 100);
      assert.equal(server.supervisor.size, 0);
      const listed = await (await fetch(`${server.url}/sessions`)).json() as { sessions: unknown[] };
      assert.deepEqual(listed.sessions, []);
      const dirs = readdirSync(server.outputDir);
      assert.ok(dirs.every((dir) => dir.startsWith('pool-')) && dirs.length === server.supervisor.poolSize, `only the pool's directories remain: ${dirs}`);
      const alive = started.filter((s) => isAlive(s.pid)).map((s) => s.pid).sort();
      assert.deepEqual(alive, pooledPids(server).sort(), 'no worker but the warm ones is alive');
      assert.ok(started.length <= 8, `recycled workers served the churn (${started.length} started for 100 sessions)`);
      assert.ok(acquired.filter((a) => a.how === 'recycled').length >= 90);
    } finally {
      await server.close();
    }
    assert.ok(await waitUntil(() => started.every((s) => !isAlive(s.pid)), 5000), 'no worker survives the server');
    assert.ok(!existsSync(server.outputDir));
  });
});
