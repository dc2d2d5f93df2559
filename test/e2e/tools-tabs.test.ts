import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserOf } from '../helpers/browsers.ts';
import { resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import { waitUntil } from '../helpers/processes.ts';
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

  test('browser_open in a session that has a browser opens a second one, with its own viewport, addressed by its handle', async () => {
    const own = await browserOf(server, client.sessionId);
    const opened = await client.call('browser_open', { width: 500, height: 400 });
    assert.notEqual(opened.isError, true, resultText(opened));
    const handle = (opened.structuredContent as { browser: string }).browser;
    assert.match(handle, /^[A-Za-z0-9_-]{22,}$/, 'an opaque URL-safe handle of at least 128 bits');
    assert.match(resultText(opened), new RegExp(`handle: \`${handle}\``));
    assert.match(resultText(opened), /Headless, viewport 500x400/);
    assert.doesNotMatch(resultText(opened), /own browser/, 'the session already had its own');
    const second = server.supervisor.browsers().find((lease) => lease.handle === handle)!;
    assert.notEqual(second.worker.pid, own.workerPid, 'a browser in a worker of its own');
    const size = (browser?: string) => client.text('browser_evaluate', { function: '() => [innerWidth, innerHeight]', ...(browser && { browser }) });
    assert.match(await size(handle), /\[\s*500,\s*400\s*\]/);
    assert.match(await size(), /\[\s*1280,\s*720\s*\]/, 'calls without browser stay in the session\'s own browser');
    const listed = await client.call('browser_list');
    const browsers = (listed.structuredContent as { browsers: { browser: string; own: boolean }[] }).browsers;
    assert.deepEqual(browsers.map((b) => b.own), [true, false]);
    assert.equal(browsers[1].browser, handle);
    assert.match(resultText(await client.call('browser_close', { browser: handle })), /its handle no longer works/);
    assert.equal(server.supervisor.browsers().some((lease) => lease.handle === handle), false);
    const after = await client.call('browser_snapshot', { browser: handle });
    assert.equal(after.isError, true);
    assert.match(resultText(after), /Unknown or expired browser handle[^\n]*browser_open[^\n]*\[BROWSER_NOT_FOUND\]/);
    assert.equal((await browserOf(server, client.sessionId)).workerPid, own.workerPid, 'the own browser is untouched');
  });

  test('headed browser_open without a display says so and leaves no browser behind', { skip: process.env.DISPLAY ? 'a display is available here' : false }, async () => {
    const before = server.supervisor.browsers().length;
    const refused = await client.call('browser_open', { headless: false });
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /Headed mode needs a display[^\n]*xvfb-run/);
    assert.ok(await waitUntil(() => server.supervisor.browsers().length === before, 5000), 'the browser that could not be set up was released');
  });
});
