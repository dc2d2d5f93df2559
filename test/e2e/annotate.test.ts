import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { findBrowser } from '../../src/browser/find-browser.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// browser_annotate (--caps devtools): the call waits while an operator, on the dashboard in a real
// Chromium, draws boxes on the page's screenshot and writes notes; the model gets them back.

const CLIENT = 'token-client-annotate-0123';
const ADMIN = 'token-admin-annotate-0123';

describe('browser_annotate through the dashboard', () => {
  let server: TestServer;
  let pages: PageServer;
  let browser: Browser;
  let operator: Page;
  let client: TestClient;

  before(async () => {
    pages = await startPageServer();
    pages.route('/form', '<!doctype html><title>Sign up</title><style>body{margin:0}</style>' +
      '<button style="position:absolute;left:100px;top:100px;width:200px;height:60px">Create account</button>');
    server = await startTestServer({ authToken: [CLIENT], adminToken: [ADMIN], caps: ['devtools'] });
    client = await connectClient(server.url, { token: CLIENT });
    browser = await chromium.launch({ executablePath: findBrowser()!.path, chromiumSandbox: false });
    operator = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await operator.goto(`${server.url}/dashboard`);
    await operator.fill('input[name=token]', ADMIN);
    await operator.click('button[type=submit]');
    await operator.locator('#capacity').getByText(/Browsers in use/).waitFor();
  });

  after(async () => {
    await client?.close();
    await browser?.close();
    await server?.close();
    await pages?.close();
  });

  const annotateButton = () => operator.locator('#browsers tbody tr', { hasText: client.sessionId.slice(0, 8) }).getByRole('button', { name: 'Annotate' });

  /** The row's Annotate button once the call waits, then the annotator open on its screenshot. */
  async function openAnnotator(): Promise<void> {
    await annotateButton().click({ timeout: 15_000 });
    await operator.locator('#annotator').waitFor();
    await operator.waitForFunction(() => (document.getElementById('annotator-image') as HTMLImageElement).naturalWidth > 0);
    // Laid out: the same box on two frames in a row.
    // (A string: tsx would wrap a named inner function in a helper the page does not have.)
    await operator.waitForFunction(`new Promise((resolve) => {
      const first = JSON.stringify(document.getElementById('annotator-image').getBoundingClientRect());
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(first === JSON.stringify(document.getElementById('annotator-image').getBoundingClientRect()))));
    })`);
  }

  /** Drags a box on the shown screenshot between two points given in the page's CSS pixels. */
  async function drawBox(from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
    const image = operator.locator('#annotator-image');
    const bounds = (await image.boundingBox())!;
    const ratio = bounds.width / 1280; // the browser's viewport is 1280 wide
    await operator.mouse.move(bounds.x + from.x * ratio, bounds.y + from.y * ratio);
    await operator.mouse.down();
    await operator.mouse.move(bounds.x + to.x * ratio, bounds.y + to.y * ratio, { steps: 5 });
    await operator.mouse.up();
  }

  test('the operator draws two boxes with notes; the call returns them with the numbered screenshot and the snapshot', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/form` });
    const progress: string[] = [];
    const call = client.client.callTool({ name: 'browser_annotate', arguments: {} }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''), timeout: 120_000, resetTimeoutOnProgress: true,
    }) as Promise<CallToolResult>;
    await openAnnotator();
    await drawBox({ x: 90, y: 90 }, { x: 310, y: 170 });
    await operator.getByRole('textbox', { name: 'Note for box 1' }).fill('This button does nothing: fix it');
    await drawBox({ x: 600, y: 400 }, { x: 700, y: 450 });
    await operator.getByRole('textbox', { name: 'Note for box 2' }).fill('Empty space "here"');
    await operator.getByRole('button', { name: 'Send to the agent' }).click();
    const result = await call;
    assert.notEqual(result.isError, true, resultText(result));
    const text = resultText(result);
    assert.match(text, /2 annotations/);
    const first = /1\. \[x=(\d+), y=(\d+), (\d+)x(\d+)\] over button "Create account": "This button does nothing: fix it"/.exec(text);
    assert.ok(first, text);
    const [x, y, width, height] = first.slice(1).map(Number);
    for (const [got, want] of [[x, 90], [y, 90], [width, 220], [height, 80]]) assert.ok(Math.abs(got - want) <= 4, `box 1 ${first[0]}`);
    assert.match(text, /2\. \[x=\d+, y=\d+, \d+x\d+\][^\n]*: "Empty space \\"here\\""/);
    assert.match(text, /### Snapshot[\s\S]*button "Create account"/);
    assert.deepEqual(result.content.filter((block) => block.type === 'image').map((block) => (block as { mimeType: string }).mimeType), ['image/png']);
    assert.ok(progress.some((message) => /Waiting for a person to annotate this page/.test(message)), JSON.stringify(progress));
    // The page itself is as it was: the numbered boxes were drawn only for the screenshot.
    assert.match(await client.text('browser_evaluate', { function: '() => document.querySelectorAll("[id^=bf-annotations]").length' }), /### Result\n0/);
    await operator.locator('#annotator').waitFor({ state: 'hidden' });
    await annotateButton().waitFor({ state: 'hidden' });
  });

  test('a cancel on the dashboard ends the call with a clear result, and a stale answer is refused', async () => {
    const call = client.call('browser_annotate', {});
    await openAnnotator();
    const id = await operator.locator('#browsers tbody tr', { hasText: client.sessionId.slice(0, 8) }).getAttribute('data-id');
    await operator.getByRole('button', { name: 'Cancel the request' }).click();
    assert.match(resultText(await call), /cancelled the annotation/);
    const late = await operator.request.post(`${server.url}/dashboard/browsers/${id}/annotation`, { data: { annotations: [] } });
    assert.equal(late.status(), 404, 'nothing waits any more');
    await operator.locator('#browsers tbody tr', { hasText: client.sessionId.slice(0, 8) }).getByRole('button', { name: 'Annotate' }).waitFor({ state: 'hidden' });
  });

  test('answers are checked: boxes inside the screenshot, notes of bounded size, and only with a sign-in', async () => {
    const call = client.call('browser_annotate', {});
    await openAnnotator();
    const id = await operator.locator('#browsers tbody tr', { hasText: client.sessionId.slice(0, 8) }).getAttribute('data-id');
    const post = (data: unknown) => operator.request.post(`${server.url}/dashboard/browsers/${id}/annotation`, { data: data as Record<string, unknown> });
    assert.equal((await post({ annotations: [{ x: 1270, y: 10, width: 100, height: 10, text: 'off the edge' }] })).status(), 400);
    assert.equal((await post({ annotations: [{ x: 1, y: 1, width: 10, height: 10, text: 'x'.repeat(2001) }] })).status(), 400);
    assert.equal((await post({ annotations: 'all of it' })).status(), 400);
    const anonymous = await fetch(`${server.url}/dashboard/browsers/${id}/annotation`, { method: 'POST', body: '{"cancelled":true}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(anonymous.status, 401);
    const clientToken = await fetch(`${server.url}/dashboard/browsers/${id}/annotation.png`, { headers: { Authorization: `Bearer ${CLIENT}` } });
    assert.equal(clientToken.status, 401, 'a client token cannot see another\'s page');
    const image = await operator.request.get(`${server.url}/dashboard/browsers/${id}/annotation.png`);
    assert.equal(image.headers()['content-type'], 'image/png');
    assert.equal((await post({ annotations: [] })).status(), 200);
    assert.match(resultText(await call), /sent no annotations/);
    await annotateButton().waitFor({ state: 'hidden' });
  });

  test('a client that gives up ends the request on the dashboard', async () => {
    const controller = new AbortController();
    const call = client.client.callTool({ name: 'browser_annotate', arguments: {} }, undefined, { signal: controller.signal }).catch((error: Error) => error);
    const row = operator.locator('#browsers tbody tr', { hasText: client.sessionId.slice(0, 8) });
    await row.getByRole('button', { name: 'Annotate' }).waitFor({ timeout: 15_000 });
    controller.abort();
    assert.ok(await call instanceof Error);
    await row.getByRole('button', { name: 'Annotate' }).waitFor({ state: 'hidden', timeout: 15_000 });
    assert.match(await client.text('browser_snapshot'), /Create account/, 'the browser serves the next call');
  });
});
