import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { findBrowser } from '../../src/browser/find-browser.ts';
import { ModalStates } from '../../workers/modal-states.ts';
import { RendererRequests, type RequestWatch } from '../../workers/renderer-requests.ts';
import { settle } from '../../workers/settle.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { waitUntil } from '../helpers/processes.ts';

/** How long /slow takes to answer, ms. */
const SLOW_MS = 150;

const PAGE = `<!doctype html><title>Requests</title>
<button id="fetch" onclick="fetch('/slow').then((r) => r.text()).then((t) => { document.getElementById('status').textContent = t; })">Fetch</button>
<button id="hold" onclick="fetch('/hold')">Hold</button>
<button id="broken" onclick="fetch('/broken').catch(() => { document.getElementById('status').textContent = 'failed'; })">Broken</button>
<button id="still">Nothing</button>
<button id="alert" onclick="alert('stop')">Alert</button>
<p id="status">idle</p>`;

/** Requests whose watch is held back until `release`, recording when the action ran against it. */
class HeldRequests extends RendererRequests {
  readonly order: string[] = [];
  private held: Array<() => void> = [];

  override watch(onChange: () => void): Promise<RequestWatch | undefined> {
    return new Promise((resolve) => {
      this.held.push(() => {
        this.order.push('watching');
        resolve(super.watch(onChange));
      });
    });
  }

  release(): void {
    for (const resume of this.held.splice(0)) resume();
  }
}

// Real Chromium with request interception on, as every worker runs it (the egress check).
describe('renderer requests: what an action started, seen from the renderer', () => {
  let pages: PageServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    pages = await startPageServer();
    pages.route('/page', PAGE);
    pages.route('/slow', (_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('loaded'), SLOW_MS);
    });
    // Long enough that a round trip always returns first, however loaded the machine.
    pages.route('/hold', (_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('held'), 2000);
    });
    pages.route('/broken', (req) => req.socket.destroy());
    const found = findBrowser();
    assert.ok(found, 'a Chromium to launch');
    browser = await chromium.launch({ executablePath: found.path });
    context = await browser.newContext();
    await context.route('**/*', (route) => route.fallback());
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await pages?.close();
  });

  beforeEach(async () => {
    await page.goto(`${pages.url}/page`);
  });

  test('a fetch a click started is pending once the barrier returns, and ends with its response', async () => {
    const requests = new RendererRequests(page);
    let changes = 0;
    const watch = await requests.watch(() => changes++);
    assert.ok(watch, 'the page gives a session');
    try {
      await page.click('#hold');
      await watch.barrier();
      assert.equal(watch.pending, 1, 'the fetch is known right after the round trip');
      assert.equal(changes, 1);
      assert.ok(await waitUntil(() => watch.pending === 0, 5000), 'the fetch ended');
      assert.equal(changes, 2, 'a change when the fetch started and one when it ended');
    } finally {
      watch.stop();
    }
  });

  test('a failed request ends too', async () => {
    let changes = 0;
    const watch = await new RendererRequests(page).watch(() => changes++);
    assert.ok(watch);
    try {
      await page.click('#broken');
      assert.ok(await waitUntil(() => changes === 2, 5000), 'a change when the request started and one when it failed');
      assert.equal(watch.pending, 0);
      await page.waitForFunction(() => document.getElementById('status')!.textContent === 'failed', undefined, { timeout: 5000 });
    } finally {
      watch.stop();
    }
  });

  test('a navigation\'s document is not counted, and a stopped watch counts nothing', async () => {
    const requests = new RendererRequests(page);
    const first = await requests.watch(() => {});
    assert.ok(first);
    await page.goto(`${pages.url}/page`);
    await first.barrier();
    assert.equal(first.pending, 0, 'the document is left to the navigation wait');
    first.stop();
    await page.click('#hold');
    await first.barrier();
    assert.equal(first.pending, 0, 'nothing is counted after stop');

    const second = await requests.watch(() => {});
    assert.ok(second, 'the same page watches again after a stop');
    try {
      await page.click('#hold');
      await second.barrier();
      assert.equal(second.pending, 1);
    } finally {
      second.stop();
    }
  });

  test('a closed page gives no watch', async () => {
    const doomed = await context.newPage();
    const requests = new RendererRequests(doomed);
    await doomed.close();
    assert.equal(await requests.watch(() => {}), undefined);
  });

  // The case the barrier exists for: without it, the fetch's `request` event can arrive after the
  // round trip and settle returns at once. It lost that race about once in 200 clicks under load.
  test('settle after a click waits for the fetch it started, every time', async () => {
    const modals = new ModalStates(page);
    const requests = new RendererRequests(page);
    for (let round = 0; round < 10; round++) {
      await page.evaluate(() => { document.getElementById('status')!.textContent = 'idle'; });
      const started = Date.now();
      await settle(page, { modals, requests }, undefined, () => page.click('#fetch'), Date.now() + 5000);
      assert.ok(Date.now() - started >= SLOW_MS - 5, `round ${round}: settle waited ${Date.now() - started} ms`);
      assert.equal(await page.textContent('#status'), 'loaded', `round ${round}: the response reached the page`);
    }
  });

  test('settle after a click that starts nothing returns without waiting for anything', async () => {
    const modals = new ModalStates(page);
    const started = Date.now();
    await settle(page, { modals, requests: new RendererRequests(page) }, undefined, () => page.click('#still'), Date.now() + 5000);
    assert.ok(Date.now() - started < 2000, `settle took ${Date.now() - started} ms`);
  });

  test('the action waits for the watch, except one that closes a dialog the renderer is stuck behind', async () => {
    const modals = new ModalStates(page);
    const plain = new HeldRequests(page);
    const clicked = settle(page, { modals, requests: plain }, undefined, async () => {
      plain.order.push('action');
    }, Date.now() + 5000);
    setTimeout(() => plain.release(), 100);
    await clicked;
    assert.deepEqual(plain.order, ['watching', 'action'], 'an input action starts once requests are watched');

    const dialogShown = new Promise<import('playwright-core').Dialog>((resolve) => page.once('dialog', resolve));
    // The click cannot finish while the alert is up; settle returns when the modal state opens.
    await settle(page, { modals, requests: new RendererRequests(page) }, undefined, () => page.click('#alert'), Date.now() + 5000);
    const dialog = await dialogShown;
    const closing = new HeldRequests(page);
    const closed = settle(page, { modals, requests: closing }, undefined, async () => {
      closing.order.push('action');
      await dialog.accept();
    }, Date.now() + 5000, { closesDialog: true });
    setTimeout(() => closing.release(), 100);
    await closed;
    assert.deepEqual(closing.order, ['action', 'watching'], 'closing the dialog does not wait for a watch the renderer cannot start');
  });
});
