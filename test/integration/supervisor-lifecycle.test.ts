import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText } from '../helpers/client.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import type { TestServer } from '../helpers/server.ts';
import { initialize, pooledPids, record, startFixtureServer, workerPid } from './fixture-server.ts';

async function postWithSession(server: TestServer, sessionId: string): Promise<number> {
  const response = await fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
  });
  await response.body?.cancel();
  return response.status;
}

describe('idle reaping', () => {
  let server: TestServer;
  let ended: ReturnType<typeof record<'session.ended'>>;

  before(async () => {
    server = await startFixtureServer({ idleTimeout: 600 });
    ended = record(server, 'session.ended');
  });
  after(async () => {
    await server?.close();
  });

  test('an idle session is reaped: its browser goes back to the pool, its client gets 404 and can initialize again', async () => {
    const client = await connectClient(server.url);
    await client.call('browser_snapshot');
    const pid = workerPid(server, client.sessionId)!;
    const dir = server.supervisor.get(client.sessionId)!.browser!.outputDir;
    assert.ok(await waitUntil(() => ended.some((e) => e.id === client.sessionId), 5000), 'the session was reaped');
    assert.equal(ended.find((e) => e.id === client.sessionId)!.reason, 'idle');
    assert.ok(await waitUntil(() => pooledPids(server).includes(pid), 3000), 'its worker was recycled into the pool');
    assert.ok(!existsSync(dir), 'its directory was removed');
    assert.equal(await postWithSession(server, client.sessionId), 404);
    await client.client.close();

    const again = await connectClient(server.url);
    assert.notEqual(again.sessionId, client.sessionId);
    assert.match(resultText(await again.call('browser_snapshot')), /ok from/);
    await again.close();
  });

  test('a session with a call in flight is not reaped, and the idle clock starts when the call ends', async () => {
    const client = await connectClient(server.url);
    try {
      const result = await client.call('browser_evaluate', { function: 'sleep:1800' });
      assert.match(resultText(result), /ok from/, 'the long call finished in its session');
      assert.ok(!ended.some((e) => e.id === client.sessionId), 'not reaped during a call three times the idle timeout');
      assert.ok(await waitUntil(() => ended.some((e) => e.id === client.sessionId), 5000), 'reaped once idle');
    } finally {
      await client.client.close();
    }
  });
});

describe('session lifetime and admin API', () => {
  let server: TestServer;

  before(async () => {
    server = await startFixtureServer({ sessionLifetime: 1500 });
  });
  after(async () => {
    await server?.close();
  });

  test('a session past its lifetime is closed once its call in flight has answered', async () => {
    const ended = record(server, 'session.ended');
    const client = await connectClient(server.url);
    const result = await client.call('browser_evaluate', { function: 'sleep:2000' });
    assert.match(resultText(result), /ok from/, 'the call that outlived the lifetime still got its answer');
    assert.ok(await waitUntil(() => ended.some((e) => e.id === client.sessionId), 3000));
    assert.equal(ended.find((e) => e.id === client.sessionId)?.reason, 'lifetime');
    assert.equal(await postWithSession(server, client.sessionId), 404);
    await client.client.close();
  });

  test('GET /sessions lists each session with its client name, times, calls in flight, and its browser once it has one', async () => {
    const client = await connectClient(server.url);
    try {
      type Listed = Record<string, unknown> & { browser: Record<string, unknown> | null };
      const list = async () => (await (await fetch(`${server.url}/sessions`)).json() as { sessions: Listed[] }).sessions.find((s) => s.id === client.sessionId)!;
      const fresh = await list();
      assert.ok(fresh, 'the session is listed');
      assert.equal(fresh.browser, null, 'no browser before its first call');
      assert.equal(fresh.clientName, 'browser-fleet-test');
      await client.call('browser_navigate', { url: 'http://127.0.0.1:9/listed' });
      const mine = await list();
      for (const key of ['id', 'clientName', 'createdAt', 'lastActivityAt', 'inFlight', 'browser']) assert.ok(key in mine, `has ${key}`);
      for (const key of ['id', 'workerPid', 'pages', 'url', 'uses', 'createdAt', 'lastActivityAt', 'rssBytes']) assert.ok(key in mine.browser!, `browser has ${key}`);
      assert.equal(mine.browser!.workerPid, workerPid(server, client.sessionId));
      assert.equal(mine.browser!.url, 'http://127.0.0.1:9/listed');
      assert.equal(mine.browser!.uses, server.supervisor.get(client.sessionId)!.browser!.worker.uses, 'the sessions its worker served');
      assert.ok((mine.browser!.uses as number) >= 1);
      assert.equal(mine.inFlight, 0);
      assert.ok((mine.browser!.rssBytes as number) > 0);
      assert.ok(!Number.isNaN(Date.parse(mine.createdAt as string)));
    } finally {
      await client.close();
    }
  });

  test('DELETE /sessions/:id ends the session: its browser is released and its client gets 404', async () => {
    const client = await connectClient(server.url);
    await client.call('browser_snapshot');
    const pid = workerPid(server, client.sessionId)!;
    const response = await fetch(`${server.url}/sessions/${client.sessionId}`, { method: 'DELETE' });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ended: client.sessionId });
    assert.ok(pooledPids(server).includes(pid), 'its worker was recycled by the time the DELETE answered');
    assert.equal(await postWithSession(server, client.sessionId), 404);
    assert.equal((await fetch(`${server.url}/sessions/${client.sessionId}`, { method: 'DELETE' })).status, 404, 'an unknown id is 404');
    await client.client.close();
  });

  test('during shutdown new sessions get 503 SHUTTING_DOWN while a call in flight finishes', async () => {
    const own = await startFixtureServer({ shutdownTimeout: 5000 });
    const client = await connectClient(own.url);
    await client.call('browser_snapshot');
    const pid = own.supervisor.get(client.sessionId)!.browser!.worker.pid;
    const call = client.call('browser_evaluate', { function: 'sleep:1200' });
    assert.ok(await waitUntil(() => own.supervisor.get(client.sessionId)!.inFlight === 1));
    const closed = own.close();
    const refused = await initialize(own.url);
    assert.equal(refused.status, 503);
    assert.equal((await refused.json() as { error: { data: { code: string } } }).error.data.code, 'SHUTTING_DOWN');
    assert.match(resultText(await call), /ok from/, 'the call in flight finished normally');
    await closed;
    assert.ok(!isAlive(pid));
    await client.client.close();
  });
});
