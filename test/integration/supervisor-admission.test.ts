import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import { CRASH_AT_START_WORKER, initialize, record, startFixtureServer } from './fixture-server.ts';

interface RpcError { jsonrpc: string; error: { code: number; message: string; data: { code: string } } }

async function closeAll(clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}

describe('session cap and wait queue', () => {
  test('over the cap a new session gets 503 with Retry-After and a JSON-RPC error body', async () => {
    const server = await startFixtureServer({ maxSessions: 2, queueSize: 0 });
    const clients: TestClient[] = [];
    try {
      clients.push(await connectClient(server.url), await connectClient(server.url));
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503);
      assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      const body = await refused.json() as RpcError;
      assert.equal(body.jsonrpc, '2.0');
      assert.equal(body.error.data.code, 'SESSION_LIMIT');
      assert.match(body.error.message, /limit of 2 sessions/);
      assert.equal(server.supervisor.size, 2, 'the refused initialize opened nothing');
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('a queued session is admitted when a slot frees, and its wait is reported', async () => {
    const server = await startFixtureServer({ maxSessions: 1, queueSize: 1, queueTimeout: 20_000 });
    const admitted = record(server, 'session.admitted');
    const clients: TestClient[] = [];
    try {
      const first = await connectClient(server.url);
      clients.push(first);
      const waiting = connectClient(server.url);
      assert.ok(await waitUntil(() => server.supervisor.queued === 1), 'the second session waits in the queue');
      const overflow = await initialize(server.url);
      assert.equal(overflow.status, 503, 'a full queue refuses at once');
      assert.equal(server.supervisor.size, 1);

      await first.close();
      const second = await waiting;
      clients.push(second);
      assert.match(resultText(await second.call('browser_snapshot')), /browser_snapshot ok/);
      assert.equal(server.supervisor.queued, 0);
      const entry = admitted.find((a) => a.id === second.sessionId);
      assert.ok(entry && entry.waitedMs > 0, 'session.admitted reports the time spent waiting');
    } finally {
      await closeAll(clients);
      await server.close();
    }
  });

  test('a session that waits past the queue timeout gets 503 SESSION_LIMIT', async () => {
    const server = await startFixtureServer({ maxSessions: 1, queueSize: 4, queueTimeout: 300 });
    const rejected = record(server, 'session.rejected');
    const client = await connectClient(server.url);
    try {
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503);
      assert.ok(refused.headers.get('retry-after'));
      const body = await refused.json() as RpcError;
      assert.equal(body.error.data.code, 'SESSION_LIMIT');
      assert.match(body.error.message, /no slot freed within 300 ms/);
      assert.equal(server.supervisor.queued, 0);
      assert.deepEqual(rejected, [{ code: 'SESSION_LIMIT' }]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('below the free-memory floor new sessions get 503 LOW_MEMORY', async () => {
    const server = await startFixtureServer({ minFreeMemoryMb: 1024 * 1024 * 1024 });
    try {
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503);
      assert.ok(refused.headers.get('retry-after'));
      const body = await refused.json() as RpcError;
      assert.equal(body.error.data.code, 'LOW_MEMORY');
      assert.equal(server.supervisor.size, 0);
    } finally {
      await server.close();
    }
  });
});

describe('pre-started pool', () => {
  test('sessions take pre-started workers, the pool refills, and sessions plus pool stay within the cap', async () => {
    const server = await startFixtureServer({ maxSessions: 3, prewarm: 2, queueSize: 0 });
    const started = record(server, 'worker.started');
    const overCap: number[] = [];
    server.supervisor.on('worker.started', () => {
      if (server.supervisor.size + server.supervisor.poolSize > 3) overCap.push(server.supervisor.size + server.supervisor.poolSize);
    });
    const clients: TestClient[] = [];
    try {
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2), 'two workers are pre-started');
      const pooled = started.map((s) => s.pid);

      const first = await connectClient(server.url);
      clients.push(first);
      const text = resultText(await first.call('browser_snapshot'));
      const pid = Number(text.match(/ok from (\d+)/)![1]);
      assert.ok(pooled.includes(pid), 'the session is served by a pre-started worker');
      assert.match(text, new RegExp(`in ${server.outputDir}/${first.sessionId}$`), 'the worker now writes to the session directory');
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2), 'the pool refills');

      clients.push(await connectClient(server.url));
      assert.ok(await waitUntil(() => server.supervisor.size === 2 && server.supervisor.poolSize === 1), 'only one slot is left for the pool');
      clients.push(await connectClient(server.url));
      assert.equal(server.supervisor.poolSize, 0);
      assert.equal((await initialize(server.url)).status, 503, 'a fourth session is over the cap');
      assert.deepEqual(overCap, [], 'sessions + pool never exceeded the cap');

      await closeAll(clients.splice(0));
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2), 'the pool refills once sessions end');
      const dirs = readdirSync(server.outputDir);
      assert.ok(dirs.every((dir) => dir.startsWith('pool-')), `only pre-started workers' directories remain: ${dirs}`);
    } finally {
      await closeAll(clients);
      await server.close();
    }
    assert.ok(await waitUntil(() => started.every((s) => !isAlive(s.pid)), 5000), 'shutdown killed every worker, pooled ones too');
  });

  test('a session that takes a pre-started worker holds the refill off for --prewarm-delay', async () => {
    const server = await startFixtureServer({ maxSessions: 4, prewarm: 2, prewarmDelay: 1500 });
    const started = record(server, 'worker.started');
    let client: TestClient | undefined;
    try {
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2 && server.supervisor.poolSize === 2), 'two workers are pre-started');
      const took = Date.now();
      client = await connectClient(server.url);
      assert.equal(server.supervisor.poolSize, 1, 'the session took one');
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
    const server = await startFixtureServer({ maxSessions: 4, prewarm: 2, prewarmDelay: 300 });
    const started = record(server, 'worker.started');
    let client: TestClient | undefined;
    try {
      assert.ok(await waitUntil(() => started.filter((s) => s.ok).length === 2 && server.supervisor.poolSize === 2), 'two workers are pre-started');
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
    const server = await startFixtureServer({ maxSessions: 4, prewarm: 2 });
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

      const refused = await initialize(server.url);
      assert.equal(refused.status, 503, 'a session that cannot get a worker is refused');
      assert.equal((await refused.json() as RpcError).error.data.code, 'WORKER_START_FAILED');

      rmSync(failFile);
      client = await connectClient(server.url);
      assert.match(resultText(await client.call('browser_snapshot')), /ok from/);
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 2 && started.filter((s) => s.ok).length === 3), 'a success resumes the refill');
    } finally {
      delete process.env.FAKE_WORKER_FAIL_FILE;
      await client?.close();
      await server.close();
      rmSync(dirname(failFile), { recursive: true, force: true });
    }
  });

  test('a worker that crashes at start-up: initialize gets 503 WORKER_START_FAILED and nothing is left behind', async () => {
    const server = await startFixtureServer({ prewarm: 0 }, CRASH_AT_START_WORKER);
    const started = record(server, 'worker.started');
    try {
      const refused = await initialize(server.url);
      assert.equal(refused.status, 503);
      const body = await refused.json() as RpcError;
      assert.equal(body.error.data.code, 'WORKER_START_FAILED');
      assert.match(body.error.message, /exited during start-up/);
      assert.equal(server.supervisor.size, 0);
      assert.deepEqual(readdirSync(server.outputDir), [], 'the session directory was removed');
      assert.equal(started.length, 1);
      assert.ok(!isAlive(started[0].pid));
    } finally {
      await server.close();
    }
  });
});

describe('many sessions', () => {
  test('100 sessions opened and closed leave no process, directory or session entry behind', async () => {
    const server = await startFixtureServer({ maxSessions: 8, prewarm: 2, queueTimeout: 30_000 });
    const started = record(server, 'worker.started');
    const ended = record(server, 'session.ended');
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
      assert.ok(dirs.every((dir) => dir.startsWith('pool-')) && dirs.length <= 2, `only the pool's directories remain: ${dirs}`);
      const poolPids = new Set<number>();
      for (const s of started) if (isAlive(s.pid)) poolPids.add(s.pid);
      assert.ok(poolPids.size <= 2, 'no worker but the pre-started ones is alive');
    } finally {
      await server.close();
    }
    assert.ok(await waitUntil(() => started.every((s) => !isAlive(s.pid)), 5000), 'no worker survives the server');
    assert.ok(!existsSync(server.outputDir));
  });
});
