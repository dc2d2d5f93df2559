import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, refFor, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The browser and context options of @playwright/mcp 1.65 (issue #14 item 2) and the choices
// browser_open offers per browser (item 3), each shown by its effect on a real page.

const SECRET_VALUE = 's3cr3t-Value-42';
/** A mobile browser lays out a page without it 980 px wide, whatever the device. */
const MOBILE_META = '<meta name="viewport" content="width=device-width, initial-scale=1">';
const TOKEN_VALUE = 'tok-abc123XYZ';

/** The value of a browser_evaluate call, parsed from its `### Result` section. */
function evaluated(text: string): unknown {
  const match = /### Result\n([\s\S]*?)(?:\n\n### |$)/.exec(text);
  assert.ok(match, text);
  return JSON.parse(match[1]);
}

/** Every result a client saw, so a test can say what none of them showed. */
function recording(client: TestClient): { client: TestClient; seen: string[] } {
  const seen: string[] = [];
  const call = client.call;
  const recorded: TestClient = {
    ...client,
    call: async (name, args) => {
      const result = await call(name, args);
      seen.push(JSON.stringify(result));
      return result;
    },
    text: async (name, args) => resultText(await recorded.call(name, args)),
  };
  return { client: recorded, seen };
}

async function ok(client: TestClient, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = await client.call(name, args);
  assert.notEqual(result.isError, true, `${name}: ${resultText(result)}`);
  return resultText(result);
}

async function evaluate(client: TestClient, fn: string, browser?: string): Promise<unknown> {
  return evaluated(await ok(client, 'browser_evaluate', { function: fn, ...(browser && { browser }) }));
}

function routes(pages: PageServer, posted: string[]): void {
  pages.route('/plain', `<!doctype html>${MOBILE_META}<title>Plain</title><p>plain</p>`);
  pages.route('/init', '<!doctype html><title>Init</title><script>document.title = window.__initScript || "missing"</script>');
  pages.route('/login', '<!doctype html><title>Login</title><label>Password <input id="pw" type="text"></label>');
  pages.route('/sink', (req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      posted.push(body);
      res.writeHead(204).end();
    });
  });
  pages.route('/console', '<!doctype html><title>Console</title><script>console.log("info-line"); console.warn("warning-line"); console.error("error-line")</script>');
  pages.route('/testid', '<!doctype html><title>Test ids</title><button data-qa="save-button">Save</button>');
  pages.route('/sw-page', '<!doctype html><title>SW</title><p>sw</p>');
  pages.route('/sw.js', 'self.addEventListener("fetch", () => {});', 'text/javascript');
  const filler = Array.from({ length: 8 }, (_, i) => `<p>filler ${i}</p>`).join('');
  pages.route('/items', `<!doctype html><title>Items</title>${[1, 2, 3, 4, 5].map((n) => `<h2>item ${n}</h2>${filler}`).join('')}`);
  pages.route('/fetcher', '<!doctype html><title>Fetcher</title><script>fetch("/api-one")</script>');
  pages.route('/api-one', '{}', 'application/json');
  pages.route('/set-cookie', '<!doctype html><title>Set</title><script>document.cookie = "iso=default-context; path=/"</script>');
}

const SERVICE_WORKER_STATE = `async () => {
  try {
    const registration = await Promise.race([
      navigator.serviceWorker.register('/sw.js'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('registration never settled')), 2000)),
    ]);
    return registration ? 'registered' : 'no registration';
  } catch (error) {
    return 'blocked: ' + error.message;
  }
}`;

describe('browser and context options from the server flags', () => {
  let pages: PageServer;
  let server: TestServer;
  let client: TestClient;
  let seen: string[];
  let files: string;
  const posted: string[] = [];

  before(async () => {
    pages = await startPageServer();
    routes(pages, posted);
    files = mkdtempSync(join(tmpdir(), 'bf-options-'));
    const host = new URL(pages.url).hostname;
    writeFileSync(join(files, 'state.json'), JSON.stringify({
      cookies: [{ name: 'fromFile', value: 'file-cookie', domain: host, path: '/', expires: -1, httpOnly: false, secure: false, sameSite: 'Lax' }],
      origins: [],
    }));
    writeFileSync(join(files, 'init.js'), 'window.__initScript = "ran-before-page";');
    writeFileSync(join(files, 'secrets.env'), `# a comment\nPASSWORD=${SECRET_VALUE}\nEMPTY=\n`);
    server = await startTestServer({
      caps: ['testing', 'storage'],
      storageState: join(files, 'state.json'),
      initScript: [join(files, 'init.js')],
      grantPermissions: ['geolocation'],
      blockServiceWorkers: true,
      testIdAttribute: 'data-qa',
      consoleLevel: 'error',
      redactUrlParams: ['token'],
      secrets: join(files, 'secrets.env'),
      snapshotMode: 'none',
      imageResponses: 'omit',
    });
    ({ client, seen } = recording(await connectClient(server.url)));
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await pages?.close();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  test('--storage-state: the page reads the cookie of the state file', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    assert.match(String(await evaluate(client, '() => document.cookie')), /fromFile=file-cookie/);
  });

  test('--init-script: runs before the page\'s own scripts', async () => {
    const text = await ok(client, 'browser_navigate', { url: `${pages.url}/init` });
    assert.match(text, /Page Title: ran-before-page/);
  });

  test('--grant-permissions: the page finds geolocation granted', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    assert.equal(await evaluate(client, 'async () => (await navigator.permissions.query({ name: "geolocation" })).state'), 'granted');
    assert.notEqual(await evaluate(client, 'async () => (await navigator.permissions.query({ name: "notifications" })).state'), 'granted', 'only what was granted');
  });

  test('--block-service-workers: a page cannot register a service worker', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/sw-page` });
    assert.notEqual(await evaluate(client, SERVICE_WORKER_STATE), 'registered');
    assert.equal(await evaluate(client, '() => navigator.serviceWorker.controller'), null);
  });

  test('--test-id-attribute: the generated locator uses the chosen attribute', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/testid` });
    const snapshot = await ok(client, 'browser_snapshot');
    const text = await ok(client, 'browser_generate_locator', { element: 'Save', target: refFor(snapshot, 'button "Save"') });
    assert.match(text, /getByTestId\('save-button'\)/);
  });

  test('--console-level error: results show console errors only', async () => {
    const text = await ok(client, 'browser_navigate', { url: `${pages.url}/console` });
    assert.match(text, /### New console messages[\s\S]*error-line/);
    assert.doesNotMatch(text, /info-line|warning-line/);
    // browser_console_messages still answers for any level asked.
    assert.match(await ok(client, 'browser_console_messages', { level: 'info' }), /info-line/);
  });

  test('--snapshot-mode none: action results carry no snapshot, browser_snapshot still does', async () => {
    const navigated = await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    assert.doesNotMatch(navigated, /### Snapshot/);
    assert.match(await ok(client, 'browser_snapshot'), /### Snapshot[\s\S]*plain/);
  });

  test('--image-responses omit: a screenshot result has no image', async () => {
    const result = await client.call('browser_take_screenshot', {}) as CallToolResult;
    assert.notEqual(result.isError, true, resultText(result));
    assert.deepEqual(result.content.map((block) => block.type), ['text']);
  });

  test('--redact-url-params: the parameter\'s value never shows, the rest of the URL does', async () => {
    const text = await ok(client, 'browser_navigate', { url: `${pages.url}/plain?token=${TOKEN_VALUE}&keep=visible#token=${TOKEN_VALUE}` });
    assert.match(text, /\?token=<redacted>&keep=visible#token=<redacted>/);
    assert.equal(String(await evaluate(client, '() => location.search')), '?token=<redacted>&keep=visible');
  });

  test('--secrets: a secret typed by name reaches the page by value and no result shows the value', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/login` });
    const snapshot = await ok(client, 'browser_snapshot');
    const typed = await ok(client, 'browser_type', { element: 'Password', target: refFor(snapshot, 'textbox "Password"'), text: 'PASSWORD' });
    assert.match(typed, /fill\(process\.env\["PASSWORD"\]\)/);
    await ok(client, 'browser_fill_form', { fields: [{ name: 'Password', type: 'textbox', target: '#pw', value: 'PASSWORD' }] });
    await evaluate(client, '() => fetch("/sink", { method: "POST", body: document.querySelector("#pw").value }).then((r) => r.status)');
    assert.deepEqual(posted, [SECRET_VALUE], 'the page got the value');
    assert.equal(await evaluate(client, '() => document.querySelector("#pw").value'), '<secret>PASSWORD</secret>');
    assert.match(await ok(client, 'browser_snapshot'), /<secret>PASSWORD<\/secret>/);
    // Not a secret: text that is no secret's name is typed as it is.
    await ok(client, 'browser_type', { element: 'Password', target: '#pw', text: 'EMPTY' });
    assert.equal(await evaluate(client, '() => document.querySelector("#pw").value'), 'EMPTY');
    assert.ok(seen.length > 5);
    assert.ok(seen.every((result) => !result.includes(SECRET_VALUE) && !result.includes(TOKEN_VALUE)), 'no result showed a secret or a redacted value');
  });

  test('browser_find maxResults and browser_network_requests all (the 1.65.1 core parameters)', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/items` });
    const found = await ok(client, 'browser_find', { text: 'item', maxResults: 2 });
    assert.match(found, /Found 5 matches for "item" \(showing the first 2\)/);
    assert.match(found, /item 2/);
    assert.doesNotMatch(found, /item 5/);
    const refused = await client.call('browser_find', { text: 'item', maxResults: 0.5 });
    assert.equal(refused.isError, true);

    await ok(client, 'browser_navigate', { url: `${pages.url}/fetcher` });
    await ok(client, 'browser_wait_for', { time: 0.3 });
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    assert.doesNotMatch(await ok(client, 'browser_network_requests', { static: false }), /api-one/);
    assert.match(await ok(client, 'browser_network_requests', { static: false, all: true }), /api-one/);
  });

  test('browser_tabs isolatedContext: a named context shares nothing with the default one, and its own tabs share with each other', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/set-cookie` });
    assert.match(String(await evaluate(client, '() => document.cookie')), /iso=default-context/);
    await ok(client, 'browser_tabs', { action: 'new', url: `${pages.url}/plain`, isolatedContext: 'other' });
    const isolated = String(await evaluate(client, '() => document.cookie'));
    assert.doesNotMatch(isolated, /iso=default-context/);
    assert.match(isolated, /fromFile=file-cookie/, 'an isolated context starts from the same options');
    await evaluate(client, '() => { document.cookie = "iso=other-context; path=/"; return 1; }');
    await ok(client, 'browser_tabs', { action: 'new', url: `${pages.url}/plain`, isolatedContext: 'other' });
    assert.match(String(await evaluate(client, '() => document.cookie')), /iso=other-context/);
    const listed = await ok(client, 'browser_tabs', { action: 'list' });
    assert.match(listed, /- 2: \(current\)/);
    assert.equal((await client.call('browser_tabs', { action: 'new', isolatedContext: '../x' })).isError, true, 'a bad name is refused');
    for (let i = 0; i < 2; i++) await ok(client, 'browser_tabs', { action: 'close' });
  });
});

describe('browser_open: per-browser choices', () => {
  let pages: PageServer;
  let server: TestServer;
  let client: TestClient;

  before(async () => {
    pages = await startPageServer();
    routes(pages, []);
    server = await startTestServer({ caps: ['storage'], authToken: ['token-a', 'token-b'] });
    client = await connectClient(server.url, { token: 'token-a' });
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await pages?.close();
  });

  test('device, locale, time zone and color scheme apply to the browser opened, and only to it', async () => {
    // The session's own browser first: otherwise the opened one would become it.
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    const opened = await client.call('browser_open', { device: 'Pixel 7', locale: 'de-DE', timezoneId: 'Asia/Tokyo', colorScheme: 'dark' });
    assert.notEqual(opened.isError, true, resultText(opened));
    assert.match(resultText(opened), /viewport 412x839, device Pixel 7, locale de-DE, time zone Asia\/Tokyo, color scheme dark/);
    const browser = (opened.structuredContent as { browser: string }).browser;
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain`, browser });
    const facts = await evaluate(client, `() => ({
      ua: navigator.userAgent, width: innerWidth, touch: navigator.maxTouchPoints > 0, language: navigator.language,
      zone: Intl.DateTimeFormat().resolvedOptions().timeZone, dark: matchMedia('(prefers-color-scheme: dark)').matches })`, browser);
    assert.deepEqual({ ...(facts as Record<string, unknown>), ua: undefined }, { ua: undefined, width: 412, touch: true, language: 'de-DE', zone: 'Asia/Tokyo', dark: true });
    assert.match((facts as { ua: string }).ua, /Pixel 7/);
    // The session's own browser keeps the server's options.
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    assert.equal(await evaluate(client, '() => innerWidth'), 1280);
    await ok(client, 'browser_close', { browser });
  });

  test('an unknown device is a clear tool error naming close names', async () => {
    const refused = await client.call('browser_open', { device: 'Pixel 77' });
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /unknown device "Pixel 77"; close names: .*"Pixel 7"/);
  });

  test('storageState: a state saved by one browser starts another logged in, given as its resource link', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    await ok(client, 'browser_cookie_set', { name: 'session', value: 'logged-in' });
    const saved = await client.call('browser_storage_state', { filename: 'auth.json' });
    const link = (saved.content as { type: string; uri?: string }[]).find((block) => block.type === 'resource_link');
    assert.ok(link?.uri, JSON.stringify(saved.content));
    const opened = await client.call('browser_open', { storageState: link.uri });
    assert.notEqual(opened.isError, true, resultText(opened));
    const browser = (opened.structuredContent as { browser: string }).browser;
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain`, browser });
    assert.match(String(await evaluate(client, '() => document.cookie', browser)), /session=logged-in/);
    await ok(client, 'browser_close', { browser });

    const other = await connectClient(server.url, { token: 'token-b' });
    try {
      const stolen = await other.call('browser_open', { storageState: link.uri });
      assert.equal(stolen.isError, true, 'another client cannot start from this client\'s file');
    } finally {
      await other.close();
    }
    const outside = await client.call('browser_open', { storageState: '/etc/passwd' });
    assert.equal(outside.isError, true, 'no file outside the browser\'s directory and --upload-root');
  });
});

describe('--client-browser-options and --device', () => {
  test('an operator who allows only the viewport gets every other choice refused by name', async () => {
    const server = await startTestServer({ clientBrowserOptions: ['viewport'] });
    const client = await connectClient(server.url);
    try {
      const refused = await client.call('browser_open', { device: 'Pixel 7', locale: 'fr-FR' });
      assert.equal(refused.isError, true);
      assert.match(resultText(refused), /does not let clients choose device, locale \(its operator allows: viewport; --client-browser-options\)/);
      const sized = await client.call('browser_open', { width: 640, height: 480 });
      assert.notEqual(sized.isError, true, resultText(sized));
      assert.match(resultText(sized), /viewport 640x480/);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('--device emulates the device in every browser; an unknown one stops start-up', async () => {
    const pages = await startPageServer();
    pages.route('/plain', `<!doctype html>${MOBILE_META}<title>Plain</title>`);
    const server = await startTestServer({ device: 'iPhone 15' });
    const client = await connectClient(server.url);
    try {
      await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
      const facts = await evaluate(client, '() => ({ ua: navigator.userAgent, width: innerWidth })') as { ua: string; width: number };
      assert.match(facts.ua, /iPhone/);
      assert.equal(facts.width, 393);
    } finally {
      await client.close();
      await server.close();
      await pages.close();
    }
    await assert.rejects(startTestServer({ device: 'Nokia 3310 Deluxe' }), /--device: unknown device "Nokia 3310 Deluxe"/);
  });

  test('--mobile emulates a generic mobile device (Pixel 10), unless a viewport is given', async () => {
    const pages = await startPageServer();
    pages.route('/plain', `<!doctype html>${MOBILE_META}<title>Plain</title>`);
    const server = await startTestServer({ mobile: true, viewportSize: '500x700' });
    const client = await connectClient(server.url);
    try {
      await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
      const facts = await evaluate(client, '() => ({ ua: navigator.userAgent, width: innerWidth, touch: navigator.maxTouchPoints > 0 })') as { ua: string; width: number; touch: boolean };
      assert.match(facts.ua, /Pixel 10/);
      assert.equal(facts.touch, true);
      assert.equal(facts.width, 500, '--viewport-size wins over the device\'s');
    } finally {
      await client.close();
      await server.close();
      await pages.close();
    }
  });

  test('--init-page runs its TypeScript on every new tab (with --caps unsafe-code)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bf-init-page-'));
    const file = join(dir, 'init-page.ts');
    writeFileSync(file, 'import type { Page } from "playwright-core";\n' +
      'export default async ({ page }: { page: Page }): Promise<void> => {\n' +
      '  const marker: string = "set-by-init-page";\n' +
      '  await page.addInitScript((value) => { (window as unknown as { marker: string }).marker = value; }, marker);\n};\n');
    const pages = await startPageServer();
    pages.route('/plain', '<!doctype html><title>Plain</title>');
    const server = await startTestServer({ caps: ['unsafe-code'], initPage: [file] });
    const client = await connectClient(server.url);
    try {
      await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
      assert.equal(await evaluate(client, '() => window.marker'), 'set-by-init-page');
      await ok(client, 'browser_tabs', { action: 'new', url: `${pages.url}/plain` });
      assert.equal(await evaluate(client, '() => window.marker'), 'set-by-init-page', 'a new tab too');
    } finally {
      await client.close();
      await server.close();
      await pages.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
