import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import type { TestServer } from '../helpers/server.ts';
import { record, startFixtureServer, workerPid as pidOf } from './fixture-server.ts';

/** The tools' deadline in this suite (--timeout-action). */
const DEADLINE_MS = 500;
/** What a loaded CI machine may add to an HTTP round trip beyond the second the server allows itself. */
const LOADED_SLACK_MS = 250;
const LOST = /page state \(open tabs, navigation history, cookies, storage\) was lost/;

describe('faults under a call (fixture workers)', () => {
  let server: TestServer;
  let client: TestClient;
  let bystander: TestClient;

  before(async () => {
    server = await startFixtureServer({ timeoutAction: DEADLINE_MS, maxBrowsers: 4 });
    [client, bystander] = await Promise.all([connectClient(server.url), connectClient(server.url)]);
    await Promise.all([client.call('browser_snapshot'), bystander.call('browser_snapshot')]);
  });
  after(async () => {
    await client?.close();
    await bystander?.close();
    await server?.close();
  });

  const workerPid = (c: TestClient) => pidOf(server, c.sessionId)!;

  async function assertNextResultTellsStateLost(): Promise<void> {
    const next = await client.call('browser_snapshot');
    assert.notEqual(next.isError, true);
    assert.match(resultText(next), /^### Notice\n- This session's browser was replaced because/);
    assert.match(resultText(next), LOST);
    assert.doesNotMatch(resultText(await client.call('browser_snapshot')), /Notice/, 'the notice is given once');
  }

  test('a worker that exits mid-call: the call says so, and the session goes on with a fresh worker', async () => {
    const before = workerPid(client);
    const other = workerPid(bystander);
    const faulted = record(server, 'browser.faulted');
    const result = await client.call('browser_evaluate', { function: 'exit' });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /The session's worker process exited with code 3 while browser_evaluate was running\. A fresh browser was started/);
    assert.match(resultText(result), /\[WORKER_CRASHED\]/);
    assert.ok(!isAlive(before));
    assert.notEqual(workerPid(client), before, 'same session id, new worker');
    const lease = server.supervisor.get(client.sessionId)!.browser!;
    assert.deepEqual(faulted, [{ id: lease.id, sessionId: client.sessionId, code: 'WORKER_CRASHED', recovered: true }], 'reported to listeners (metrics)');
    await assertNextResultTellsStateLost();
    assert.equal(workerPid(bystander), other, 'the other session kept its worker');
    assert.match(resultText(await bystander.call('browser_snapshot')), /ok from/);
  });

  test('a worker whose event loop is wedged misses heartbeats and is killed and replaced', async () => {
    const before = workerPid(client);
    const started = Date.now();
    const result = await client.call('browser_evaluate', { function: 'block' });
    const elapsed = Date.now() - started;
    assert.equal(result.isError, true);
    assert.match(resultText(result), /stopped answering heartbeats .* while browser_evaluate was running\. A fresh browser was started/);
    assert.ok(elapsed < DEADLINE_MS + 1000 + LOADED_SLACK_MS, `told by the deadline plus a second (${elapsed} ms)`);
    assert.ok(await waitUntil(() => !isAlive(before), 2000), 'the wedged worker was killed');
    assert.ok(server.logs.some((l) => /stopped answering heartbeats/.test(String(l.msg)) && l.sessionId === client.sessionId), 'logged with the session id');
    await assertNextResultTellsStateLost();
  });

  test('a lost browser under a call ends it with BROWSER_CRASHED and a fresh worker takes over', async () => {
    const before = workerPid(client);
    const result = await client.call('browser_evaluate', { function: 'browser-crash' });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /The session's browser process exited unexpectedly while browser_evaluate was running\. A fresh browser was started.*\[BROWSER_CRASHED\]/s);
    assert.ok(await waitUntil(() => !isAlive(before), 2000));
    await assertNextResultTellsStateLost();
  });

  test('a call the worker never answers times out with TOOL_TIMEOUT; a worker that still answers pings is kept', async () => {
    const before = workerPid(client);
    const started = Date.now();
    const result = await client.call('browser_evaluate', { function: 'never' });
    const elapsed = Date.now() - started;
    assert.equal(result.isError, true);
    assert.match(resultText(result), /did not finish within \d+ ms.*\[TOOL_TIMEOUT\]/);
    // The front's own timer answers: 900 ms past the deadline, so the client has it within a second.
    assert.ok(elapsed >= DEADLINE_MS + 900, `not before the front gave up (${elapsed} ms)`);
    assert.ok(elapsed < DEADLINE_MS + 1000 + LOADED_SLACK_MS, `told by the deadline plus a second (${elapsed} ms)`);
    assert.equal(workerPid(client), before, 'a responsive worker is not replaced');
    assert.doesNotMatch(resultText(await client.call('browser_snapshot')), /Notice/);
  });

  test('a notice from the worker (a replaced tab) reaches the client with the call it came under, and only once', async () => {
    const under = await client.call('browser_evaluate', { function: 'notice:The tab at http://x/ stopped responding' });
    assert.match(resultText(under), /^### Notice\n- The tab at http:\/\/x\/ stopped responding/);
    assert.doesNotMatch(resultText(await client.call('browser_snapshot')), /Notice/);
  });

  test('notifications/cancelled aborts the call in the worker', async () => {
    const called = record(server, 'tool.called');
    const controller = new AbortController();
    const call = client.client.callTool({ name: 'browser_evaluate', arguments: { function: 'never' } }, undefined, { signal: controller.signal });
    assert.ok(await waitUntil(() => server.supervisor.get(client.sessionId)!.inFlight === 1));
    controller.abort();
    await assert.rejects(call);
    assert.ok(await waitUntil(() => called.some((c) => c.outcome === 'CANCELLED'), 3000), 'the call ended as cancelled');
    assert.equal(server.supervisor.get(client.sessionId)!.inFlight, 0);
    assert.match(resultText(await client.call('browser_snapshot')), /ok from/);
  });
});

describe('a session that keeps failing', () => {
  let server: TestServer;

  before(async () => {
    server = await startFixtureServer();
  });
  after(async () => {
    await server?.close();
  });

  test('after three replacements in a row the fourth failure closes the session and the client gets 404', async () => {
    const client = await connectClient(server.url);
    await client.call('browser_snapshot');
    const faulted = record(server, 'browser.faulted');
    const pids: number[] = [];
    for (let i = 0; i < 3; i++) {
      pids.push(pidOf(server, client.sessionId)!);
      assert.match(resultText(await client.call('browser_evaluate', { function: 'exit' })), /A fresh browser was started/);
    }
    pids.push(pidOf(server, client.sessionId)!);
    const last = await client.call('browser_evaluate', { function: 'exit' });
    assert.match(resultText(last), /The session was closed because its browser failed 4 times in a row; start a new session/);
    assert.equal(server.supervisor.size, 0);
    assert.deepEqual(faulted.map((f) => f.recovered), [true, true, true, false]);
    assert.ok(await waitUntil(() => pids.every((pid) => !isAlive(pid)), 3000), 'every worker it had is gone');
    assert.ok(server.logs.some((l) => l.level === 50 && /closing the session/.test(String(l.msg))));
    await assert.rejects(client.call('browser_snapshot'), /404|not found/i);
    await client.client.close();
  });

  test('a call that went through resets the count', async () => {
    const client = await connectClient(server.url);
    try {
      for (let i = 0; i < 5; i++) {
        assert.match(resultText(await client.call('browser_evaluate', { function: 'exit' })), /A fresh browser was started/);
        assert.match(resultText(await client.call('browser_snapshot')), /ok from/);
      }
    } finally {
      await client.close();
    }
  });
});
