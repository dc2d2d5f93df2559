import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserOf } from '../helpers/browsers.ts';
import { resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import type { TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

const page = (title: string, body = '') => `<!doctype html><title>${title}</title><h1>${title}</h1>${body}`;

describe('tabs, popups and the page limit', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;
  const sessionPages = async () => (await browserOf(server, client.sessionId)).pages;

  before(async () => {
    ({ pages, server, client } = await openSession({ timeoutAction: 3000, maxPages: 3 }, (p) => {
      p.route('/one', page('One', '<a href="/popup" target="_blank">Open popup</a>'));
      p.route('/two', page('Two'));
      p.route('/popup', page('Popup'));
    }));
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('new opens and selects a tab, select switches back, close removes it', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/one` });
    const opened = await client.text('browser_tabs', { action: 'new', url: `${pages.url}/two` });
    assert.match(opened, /- 0: \[One\]\(http:[^)]+\/one\)\n- 1: \(current\) \[Two\]\(http:[^)]+\/two\)/);
    assert.match(opened, /heading "Two"/, 'the new tab\'s snapshot comes back');
    const selected = await client.text('browser_tabs', { action: 'select', index: 0 });
    assert.match(selected, /- 0: \(current\) \[One\]/);
    const title = await client.text('browser_evaluate', { function: '() => document.title' });
    assert.match(title, /"One"/, 'page tools act on the selected tab');
    const closed = await client.text('browser_tabs', { action: 'close', index: 1 });
    assert.doesNotMatch(closed, /\[Two\]/);
    assert.equal(await sessionPages(), 1);
  });

  test('a popup shows up in the result of the click that opened it', async () => {
    const clicked = await client.text('browser_click', { target: 'text=Open popup' });
    assert.match(clicked, /### Open tabs\n- 0: \(current\) \[One\][^\n]*\n- 1: \[[^\]]*\]\(http:[^)]+\/popup\)/);
    assert.equal(await sessionPages(), 2);
    await client.call('browser_tabs', { action: 'close', index: 1 });
  });

  test('past --max-pages, tabs new and popups get a PAGE_LIMIT error and no tab opens', async () => {
    await client.call('browser_tabs', { action: 'new' });
    await client.call('browser_tabs', { action: 'new' });
    assert.equal(await sessionPages(), 3);
    const refused = await client.call('browser_tabs', { action: 'new' });
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /already has 3 tabs[^\n]*--max-pages 3[^\n]*\[PAGE_LIMIT\]/);
    await client.call('browser_tabs', { action: 'select', index: 0 });
    const popup = await client.call('browser_click', { target: 'text=Open popup' });
    assert.equal(popup.isError, true);
    assert.match(resultText(popup), /A popup was closed[^\n]*\[PAGE_LIMIT\]/);
    assert.equal(await sessionPages(), 3);
    await client.call('browser_tabs', { action: 'close', index: 2 });
    await client.call('browser_tabs', { action: 'close', index: 1 });
  });

  test('browser_open relaunches the browser with a new viewport', async () => {
    const before = await browserOf(server, client.sessionId);
    const opened = await client.call('browser_open', { width: 500, height: 400 });
    assert.notEqual(opened.isError, true, resultText(opened));
    assert.match(resultText(opened), /headless, viewport 500x400/);
    // The front learns the new PID from the worker's event, without asking for status.
    const handlePid = server.supervisor.get(client.sessionId)!.browser!.worker.browserPid;
    const now = await browserOf(server, client.sessionId);
    assert.equal(now.id, before.id, 'the same lease and worker');
    assert.equal(now.workerPid, before.workerPid);
    assert.equal(handlePid, now.browserPid, 'the front tracks the relaunched browser');
    assert.notEqual(now.browserPid, before.browserPid, 'a new browser process');
    assert.ok(await waitUntil(() => !isAlive(before.browserPid!), 5000), 'the old browser exited');
    const size = await client.text('browser_evaluate', { function: '() => [innerWidth, innerHeight]' });
    assert.match(size, /\[\s*500,\s*400\s*\]/);
  });

  test('headed browser_open without a display says so and leaves the browser running', { skip: process.env.DISPLAY ? 'a display is available here' : false }, async () => {
    const before = await browserOf(server, client.sessionId);
    const refused = await client.call('browser_open', { headless: false });
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /Headed mode needs a display[^\n]*xvfb-run/);
    const now = await browserOf(server, client.sessionId);
    assert.equal(now.browserPid, before.browserPid);
    assert.ok(isAlive(now.browserPid!));
  });
});
