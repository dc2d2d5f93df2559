import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserInfo, SessionInfo } from '../../src/supervisor/session-types.ts';
import { nextEvent } from '../helpers/browsers.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { descendants, isAlive, waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const LOST = /page state \(open tabs, navigation history, cookies, storage\) was lost/;

describe('faults with real browsers: one session fails, the others never notice', () => {
  let server: TestServer;
  let pages: PageServer;
  let victim: TestClient;
  let bystander: TestClient;

  before(async () => {
    pages = await startPageServer();
    pages.route('/victim', '<!doctype html><title>Victim</title><p>victim page</p>');
    pages.route('/bystander', '<!doctype html><title>Bystander</title><p>bystander page</p>');
    pages.route('/spinner', '<!doctype html><title>Spinner</title><p>spins later</p>');
    server = await startTestServer({ timeoutAction: 2000, maxBrowsers: 4 });
    [victim, bystander] = await Promise.all([connectClient(server.url), connectClient(server.url)]);
    await bystander.call('browser_navigate', { url: `${pages.url}/bystander` });
  });
  after(async () => {
    await victim?.close();
    await bystander?.close();
    await server?.close();
    await pages?.close();
  });

  async function session(client: TestClient): Promise<SessionInfo | undefined> {
    const { sessions } = await (await fetch(`${server.url}/sessions`)).json() as { sessions: SessionInfo[] };
    return sessions.find((s) => s.id === client.sessionId);
  }

  /** The client's browser as GET /sessions shows it; the client has made its first call. */
  async function info(client: TestClient): Promise<BrowserInfo> {
    const browser = (await session(client))?.browser;
    assert.ok(browser, `session ${client.sessionId} has a browser`);
    return browser;
  }

  async function bystanderUnharmed(before: BrowserInfo): Promise<void> {
    const now = await info(bystander);
    assert.equal(now.id, before.id, 'the other session kept its browser lease');
    assert.equal(now.workerPid, before.workerPid, 'the other session kept its worker');
    assert.equal(now.browserPid, before.browserPid, 'the other session kept its browser');
    assert.match(await bystander.text('browser_evaluate', { function: '() => location.pathname + " " + document.title' }), /"\/bystander Bystander"/);
  }

  test('a page stuck in while(true) fails its call within the deadline, the tab is replaced, and the other session keeps working', async () => {
    const other = await info(bystander);
    await victim.call('browser_navigate', { url: `${pages.url}/victim` });
    const started = Date.now();
    const hung = victim.call('browser_evaluate', { function: '() => { while (true) {} }' });
    for (let i = 0; i < 3; i++) await bystanderUnharmed(other); // while the victim's page spins
    const result = await hung;
    const elapsed = Date.now() - started;
    assert.equal(result.isError, true);
    assert.match(resultText(result), /browser_evaluate did not finish within \d+ ms\. A tab stuck in a script is closed, and the next result says so \[TOOL_TIMEOUT\]/);
    // The error comes by the deadline (--timeout-action 2000) plus a second, whatever hangs; the
    // rest is the MCP round trip on a loaded machine.
    assert.ok(elapsed < 2000 + 1000 + 1000, `answered by the deadline plus a second (${elapsed} ms)`);

    const next = await victim.call('browser_navigate', { url: `${pages.url}/victim` });
    assert.notEqual(next.isError, true, resultText(next));
    assert.match(resultText(next), /^### Notice\n- The tab at .*\/victim stopped responding/);
    assert.match(resultText(next), /Page Title: Victim/, 'the session works again');
    await bystanderUnharmed(other);
  });

  test('a background tab stuck in a loop is closed after an abandoned call; the selected tab is untouched', async () => {
    const other = await info(bystander);
    await victim.call('browser_navigate', { url: `${pages.url}/victim` });
    // A second tab on another site (so another renderer), which starts spinning after its call returned.
    const opened = await victim.call('browser_tabs', { action: 'new', url: `http://localhost:${pages.port}/spinner` });
    assert.notEqual(opened.isError, true, resultText(opened));
    assert.match(await victim.text('browser_evaluate', { function: '() => { setTimeout(() => { while (true) {} }, 1000); return "armed"; }' }), /armed/);
    await victim.call('browser_tabs', { action: 'select', index: 0 });

    // A call on the healthy selected tab that outlives its deadline.
    const result = await victim.call('browser_evaluate', { function: '() => new Promise((resolve) => setTimeout(resolve, 10000))' });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /did not finish within \d+ ms\. A tab stuck in a script is closed, and the next result says so \[TOOL_TIMEOUT\]/);

    const tabs = resultText(await victim.call('browser_tabs', { action: 'list' }));
    assert.match(tabs, /^### Notice\n- The tab at http:\/\/localhost:\d+\/spinner stopped responding .*, so it was closed; its page state was lost\. The selected tab was not affected\./);
    assert.doesNotMatch(tabs.replace(/^### Notice\n.*\n/, ''), /spinner/, 'the stuck tab is gone from the list');
    assert.match(await victim.text('browser_evaluate', { function: '() => location.pathname' }), /"\/victim"/, 'the selected tab kept its page');
    await bystanderUnharmed(other);
  });

  test('kill -9 of a session\'s browser mid-call: the call says so, a fresh browser takes over, nothing is orphaned', async () => {
    const other = await info(bystander);
    await victim.call('browser_navigate', { url: `${pages.url}/victim` });
    const before = await info(victim);
    const oldBrowser = [before.browserPid!, ...descendants(before.browserPid!)];
    const slow = victim.call('browser_evaluate', { function: '() => new Promise((resolve) => setTimeout(resolve, 10000))' });
    assert.ok(await waitUntil(async () => (await session(victim))?.inFlight === 1));
    const faulted = nextEvent(server, 'browser.faulted', (e) => e.id === before.id);
    process.kill(before.browserPid!, 'SIGKILL');

    const result = await slow;
    assert.equal(result.isError, true);
    assert.match(resultText(result), /The session's browser process exited unexpectedly while browser_evaluate was running\. A fresh browser was started/);
    assert.match(resultText(result), /\[BROWSER_CRASHED\]/);
    assert.deepEqual(await faulted, { id: before.id, sessionId: victim.sessionId, code: 'BROWSER_CRASHED', recovered: true });
    assert.ok(await waitUntil(() => oldBrowser.every((pid) => !isAlive(pid)), 5000), 'the old browser and its children are gone');
    assert.ok(!isAlive(before.workerPid), 'its worker was replaced too');

    const after = await info(victim);
    assert.equal(after.id, before.id, 'the same lease goes on');
    assert.ok(after.browserPid && isAlive(after.browserPid) && after.browserPid !== before.browserPid);
    const next = await victim.call('browser_snapshot');
    assert.match(resultText(next), /^### Notice\n- This session's browser was replaced because the session's browser process exited unexpectedly/);
    assert.match(resultText(next), LOST);
    await bystanderUnharmed(other);
  });

  test('kill -9 of a session\'s worker: a fresh worker takes over under the same id, the next result says the page state was lost', async () => {
    const other = await info(bystander);
    await victim.call('browser_navigate', { url: `${pages.url}/victim` });
    const before = await info(victim);
    const oldTree = [before.workerPid, ...descendants(before.workerPid)];
    assert.ok(oldTree.includes(before.browserPid!));
    const oldTempDir = server.supervisor.get(victim.sessionId)!.browser!.worker.tempDir;
    assert.ok(readdirSync(oldTempDir).some((name) => name.startsWith('playwright')), 'the browser profile lives in the worker\'s own temp dir');
    const faulted = nextEvent(server, 'browser.faulted', (e) => e.id === before.id);
    process.kill(before.workerPid, 'SIGKILL');

    assert.ok(await waitUntil(async () => {
      const now = (await session(victim))?.browser;
      return now !== undefined && now !== null && now.id === before.id && now.workerPid !== before.workerPid && now.browserPid !== undefined;
    }, 20_000), 'the session\'s lease has a fresh worker and browser');
    assert.deepEqual(await faulted, { id: before.id, sessionId: victim.sessionId, code: 'WORKER_CRASHED', recovered: true });
    assert.ok(await waitUntil(() => oldTree.every((pid) => !isAlive(pid)), 5000), 'the dead worker left no browser or helper behind');
    assert.ok(await waitUntil(() => !existsSync(oldTempDir), 5000), 'its browser profile and temp files were removed');

    const next = await victim.call('browser_snapshot');
    assert.notEqual(next.isError, true);
    assert.match(resultText(next), /^### Notice\n- This session's browser was replaced because the session's worker process was killed by SIGKILL/);
    assert.match(resultText(next), LOST);
    assert.match(resultText(next), /about:blank/, 'a fresh page');
    assert.match(await victim.text('browser_navigate', { url: `${pages.url}/victim` }), /Page Title: Victim/);
    await bystanderUnharmed(other);
  });
});
