import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findBrowser } from '../../src/browser/find-browser.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The dashboard driven in a real Chromium through Playwright, as an operator uses it.
// UPDATE_DOCS_SCREENSHOT=1 also writes docs/dashboard.png (the README's picture) from this run.

const CLIENT = 'token-client-0123456789';
const ADMIN = 'token-admin-0123456789';
const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));

describe('the dashboard', () => {
  let server: TestServer;
  let pages: PageServer;
  let browser: Browser;
  let operator: Page;
  const clients: TestClient[] = [];

  before(async () => {
    pages = await startPageServer();
    pages.route('/shop', '<!doctype html><title>Shop front</title><h1 style="font-size:64px">Welcome to the shop</h1>');
    server = await startTestServer({ authToken: [CLIENT], adminToken: [ADMIN], prewarm: 0 });
    browser = await chromium.launch({ executablePath: findBrowser()!.path, chromiumSandbox: false });
    operator = await (await browser.newContext()).newPage();
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await browser?.close();
    await server?.close();
    await pages?.close();
  });

  test('without a credential it shows only the sign-in form, and a client token is refused', async () => {
    const early = await connectClient(server.url, { token: CLIENT });
    clients.push(early);
    await early.call('browser_navigate', { url: `${pages.url}/shop` });
    const response = await operator.goto(`${server.url}/dashboard`);
    assert.equal(response!.status(), 200);
    assert.match(response!.headers()['content-security-policy'], /script-src 'self'/);
    const markup = await operator.content();
    assert.ok(await operator.locator('input[type=password][name=token]').isVisible());
    assert.ok(!markup.includes(early.sessionId.slice(0, 8)) && !markup.includes('/shop'), 'no session data in the sign-in page');
    const events = await operator.request.get(`${server.url}/dashboard/events`);
    assert.equal(events.status(), 401, 'the event stream needs a sign-in');
    await operator.fill('input[name=token]', CLIENT);
    await operator.click('button[type=submit]');
    await operator.getByRole('alert').waitFor();
    assert.match(await operator.getByRole('alert').textContent() ?? '', /only an admin token/);
    assert.deepEqual(await operator.context().cookies(), [], 'no cookie for a client token');
  });

  test('signing in with the admin token sets an HttpOnly, SameSite=Strict cookie', async () => {
    await operator.goto(`${server.url}/dashboard`);
    await operator.fill('input[name=token]', ADMIN);
    await operator.click('button[type=submit]');
    await operator.locator('#capacity').getByText(/Browsers in use: \d+ of \d+/).waitFor();
    const [cookie] = await operator.context().cookies();
    assert.equal(cookie.name, 'bf_dashboard');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/dashboard');
    assert.ok(!cookie.value.includes(ADMIN), 'the cookie names a sign-in, not the token');
  });

  test('a new client\'s row appears by itself with its session and URL, its thumbnail loads, and End removes it and tells the client', async () => {
    const client = await connectClient(server.url, { token: CLIENT });
    clients.push(client);
    await client.call('browser_navigate', { url: `${pages.url}/shop?row=1` });
    const row = operator.locator('#browsers tbody tr', { hasText: client.sessionId.slice(0, 8) });
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.textContent() ?? '', /\/shop\?row=1 \(Shop front\)/);
    const thumbnail = row.locator('img.thumb');
    await operator.waitForFunction((img) => (img as HTMLImageElement).naturalWidth > 0, await thumbnail.elementHandle(), { timeout: 10_000 });
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') await operator.screenshot({ path: SCREENSHOT });
    await row.getByRole('button', { name: 'End' }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    const next = await client.call('browser_snapshot');
    assert.match(resultText(next), /An administrator ended this session's browser/);
  });
});
