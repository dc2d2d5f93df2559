import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserOf, nextEvent, sessionInfo } from '../helpers/browsers.ts';
import { connectClient, refFor, resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

const FORM_PAGE = `<!doctype html><title>Form</title>
<label>Name <input id="name"></label>
<button onclick="document.getElementById('out').textContent = 'Hello ' + document.getElementById('name').value">Greet</button>
<p id="out">nobody</p>`;

describe('backbone: one session end to end', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;

  before(async () => {
    ({ pages, server, client } = await openSession({ timeoutAction: 3000 }, (p) => p.route('/form', FORM_PAGE)));
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('navigate returns the page and an inline snapshot with refs', async () => {
    const text = await client.text('browser_navigate', { url: `${pages.url}/form` });
    assert.match(text, /### Page\n- Page URL: http:\/\/127\.0\.0\.1:\d+\/form\n- Page Title: Form/);
    assert.match(text, /### Snapshot\n```yaml\n/);
    assert.match(text, /textbox "Name" \[ref=e\d+\]/);
  });

  test('type with target and click with the legacy ref change the page', async () => {
    const snapshot = await client.text('browser_snapshot');
    await client.call('browser_type', { element: 'Name box', target: refFor(snapshot, 'textbox "Name"'), text: 'Ada' });
    const clicked = await client.text('browser_click', { element: 'Greet', ref: refFor(snapshot, 'button "Greet"') });
    assert.match(clicked, /Hello Ada/, 'the snapshot after the click shows the new text');
    const value = await client.text('browser_evaluate', { function: '() => document.getElementById("out").textContent' });
    assert.match(value, /### Result\n"Hello Ada"/);
  });

  test('click with a selector target works too', async () => {
    await client.call('browser_type', { target: '#name', text: 'Grace' });
    await client.call('browser_click', { target: 'button' });
    const value = await client.text('browser_evaluate', { function: '() => document.getElementById("out").textContent' });
    assert.match(value, /"Hello Grace"/);
  });

  test('evaluate on an element receives the element', async () => {
    const text = await client.text('browser_evaluate', { target: '#out', function: '(el) => el.tagName' });
    assert.match(text, /"P"/);
  });

  test('a bad ref gives a readable isError result and the session goes on', async () => {
    const result = await client.call('browser_click', { element: 'nothing', target: 'e999' });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /Ref e999 not found in the current page snapshot/);
    const ok = await client.call('browser_snapshot');
    assert.notEqual(ok.isError, true);
  });

  test('browser_close closes the browser and the next call opens a fresh one', async () => {
    const lease = await browserOf(server, client.sessionId);
    const ended = nextEvent(server, 'browser.ended', (e) => e.id === lease.id);
    const closed = await client.call('browser_close');
    assert.notEqual(closed.isError, true, resultText(closed));
    assert.match(resultText(closed), /Browser closed\. The next tool call opens a new one\./);
    assert.equal((await ended).reason, 'closed');
    const after = await sessionInfo(server, client.sessionId);
    assert.ok(after, 'the session goes on without a browser');
    assert.equal(after.browser, null, 'no browser after close');
    const again = await client.call('browser_close');
    assert.notEqual(again.isError, true, resultText(again));
    assert.match(resultText(again), /No browser is open/, 'a second close has nothing to close');

    const text = await client.text('browser_navigate', { url: `${pages.url}/form` });
    assert.match(text, /Page Title: Form/);
    const fresh = await browserOf(server, client.sessionId);
    assert.notEqual(fresh.id, lease.id, 'the next call got a new lease');
    assert.equal(fresh.pages, 1);
  });
});

describe('backbone: HTTP session rules', () => {
  let server: TestServer;

  before(async () => {
    // Ending a session here must take its worker and browser with it: no recycling into a warm pool.
    server = await startTestServer({ recycle: 'never' });
  });

  after(async () => {
    await server?.close();
  });

  test('healthz answers 200', async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
  });

  test('a request without a session id that is not initialize gets 400', async () => {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 400);
    const body = await response.json() as { error: { message: string } };
    assert.match(body.error.message, /Mcp-Session-Id/);
  });

  test('an unknown session id gets 404', async () => {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 404);
  });

  test('an initialize the transport would refuse starts no worker', async () => {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const notAcceptable = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(initialize),
    });
    assert.equal(notAcceptable.status, 406);
    const wrongType = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initialize),
    });
    assert.equal(wrongType.status, 415);
    assert.equal(server.supervisor.size, 0, 'no session holds a slot');
    assert.deepEqual(await server.supervisor.list(), []);
  });

  test('after DELETE the worker and browser are gone and the id answers 404', async () => {
    const client = await connectClient(server.url);
    await client.call('browser_snapshot'); // the first call gives the session its browser
    const info = await browserOf(server, client.sessionId);
    assert.ok(info.workerPid && info.browserPid, 'worker and browser PIDs are known');
    assert.ok(isAlive(info.workerPid) && isAlive(info.browserPid!));
    await client.close();
    assert.ok(await waitUntil(() => !isAlive(info.workerPid) && !isAlive(info.browserPid!), 5000), 'worker and browser exited');
    assert.equal(server.supervisor.size, 0);
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': client.sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.equal(response.status, 404);
  });
});
