import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const FAST = { timeoutAction: 3000, timeoutNavigation: 5000 };

/** A page server whose every request is recorded as `path`. */
async function recordingPages(): Promise<PageServer & { hits: string[] }> {
  const pages = await startPageServer();
  const hits: string[] = [];
  const page = (title: string, body = '') => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    hits.push(new URL(req.url ?? '/', 'http://x').pathname);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>${title}</title>${body}`);
  };
  pages.route('/ok', page('OK', '<p>fine</p>'));
  pages.route('/secret', page('Secret', '<p>TOP SECRET</p>'));
  pages.route('/pixel', page('pixel'));
  return Object.assign(pages, { hits });
}

/** Runs `fetch(url)` in the page: 'ok' when a response came back, 'failed' when the request was refused. */
const fetchFrom = (client: TestClient, url: string) =>
  client.text('browser_evaluate', { function: `() => fetch(${JSON.stringify(url)}, { mode: 'no-cors' }).then(() => 'ok', () => 'failed')` });

describe('egress: schemes (default policy)', () => {
  let server: TestServer;
  let pages: PageServer & { hits: string[] };
  let client: TestClient;

  before(async () => {
    pages = await recordingPages();
    server = await startTestServer(FAST);
    client = await connectClient(server.url);
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await pages?.close();
  });

  test('file:, view-source:, chrome:, javascript: and about: pages other than blank are refused with a readable error', async () => {
    for (const url of ['file:///etc/hostname', `view-source:${pages.url}/ok`, 'chrome://version', 'javascript:alert(1)', 'about:version', 'chrome-extension://abc/x.html']) {
      const result = await client.call('browser_navigate', { url });
      assert.equal(result.isError, true, url);
      assert.match(resultText(result), /is blocked: the [a-z-]+: scheme is not allowed/, url);
      assert.doesNotMatch(resultText(result), /Page URL: (file|view-source|chrome)/, url);
    }
  });

  test('a page cannot send itself to file: either', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/ok` });
    await client.call('browser_evaluate', { function: '() => { location.href = "file:///etc/hostname"; }' });
    const url = await client.text('browser_evaluate', { function: '() => location.href' });
    assert.match(url, /"http:\/\/127\.0\.0\.1:\d+\/ok"/);
  });

  test('nor load, open or frame one: Chromium holds these without request interception', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/ok` });
    assert.match(await fetchFrom(client, 'file:///etc/hostname'), /"failed"/);
    const framed = await client.text('browser_evaluate', { function: `async () => {
      const frame = document.createElement('iframe');
      frame.src = 'file:///etc/hostname';
      document.body.append(frame);
      await new Promise((resolve) => setTimeout(resolve, 500));
      try { return frame.contentDocument ? 'readable: ' + frame.contentDocument.body.innerText : 'opaque'; } catch { return 'opaque'; }
    }` });
    assert.match(framed, /### Result\n"(readable: |opaque)"\n/, 'the frame stayed empty');
    assert.match(framed, /Not allowed to load local resource: file:\/\/\/etc\/hostname/, 'Chromium refused it');
    await client.call('browser_evaluate', { function: '() => { window.open("file:///etc/hostname"); window.open("chrome://version"); }' });
    const tabs = await client.text('browser_tabs', { action: 'list' });
    assert.doesNotMatch(tabs, /(file|chrome):\/\//, 'no tab shows a file: or chrome: page');
  });

  test('without --block-private-networks a loopback page loads', async () => {
    const text = await client.text('browser_navigate', { url: `${pages.url}/ok` });
    assert.match(text, /Page Title: OK/);
    assert.ok(pages.hits.includes('/ok'));
  });
});

describe('egress: --block-private-networks', () => {
  let server: TestServer;
  let pages: PageServer & { hits: string[] };
  let client: TestClient;

  before(async () => {
    pages = await recordingPages();
    server = await startTestServer({ ...FAST, blockPrivateNetworks: true });
    client = await connectClient(server.url);
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await pages?.close();
  });

  test('a loopback page is refused and never requested', async () => {
    for (const url of [`${pages.url}/ok`, `http://localhost:${pages.port}/ok`, `http://[::1]:${pages.port}/ok`, `http://0.0.0.0:${pages.port}/ok`]) {
      const result = await client.call('browser_navigate', { url });
      assert.equal(result.isError, true, url);
      assert.match(resultText(result), /--block-private-networks/, url);
    }
    assert.deepEqual(pages.hits, []);
  });

  test('a subresource request to a loopback address is refused too', async () => {
    const text = await client.text('browser_navigate', { url: 'data:text/html,<title>Public</title><p>hello</p>' });
    assert.match(text, /Page Title: Public/);
    assert.match(await fetchFrom(client, `${pages.url}/pixel`), /"failed"/);
    assert.match(await fetchFrom(client, 'http://169.254.169.254/latest/meta-data/'), /"failed"/);
    assert.deepEqual(pages.hits, []);
  });
});

describe('egress: --allowed-origins and --blocked-origins', () => {
  let server: TestServer;
  let pages: PageServer & { hits: string[] };
  let other: PageServer & { hits: string[] };
  let sockets: Server;
  let socketConnections = 0;
  let client: TestClient;

  before(async () => {
    pages = await recordingPages();
    other = await recordingPages();
    const home = `http://127.0.0.1:${pages.port}`;
    pages.route('/to-blocked', (_req, res) => res.writeHead(302, { location: `http://localhost:${pages.port}/secret` }).end());
    pages.route('/to-unlisted', (_req, res) => res.writeHead(302, { location: `${other.url}/ok` }).end());
    pages.route('/mixed', `<!doctype html><title>Mixed</title><img alt="remote" src="${other.url}/pixel">`);
    sockets = createServer((socket) => {
      socketConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => sockets.listen(0, '127.0.0.1', resolve));
    server = await startTestServer({
      ...FAST,
      allowedOrigins: [home, `http://localhost:${pages.port}`],
      blockedOrigins: [`http://localhost:${pages.port}`],
    });
    client = await connectClient(server.url);
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await pages?.close();
    await other?.close();
    await new Promise((resolve) => sockets?.close(resolve));
  });

  test('an allowed origin loads', async () => {
    const text = await client.text('browser_navigate', { url: `${pages.url}/ok` });
    assert.match(text, /Page Title: OK/);
  });

  test('an origin outside --allowed-origins is refused and never requested', async () => {
    const result = await client.call('browser_navigate', { url: `${other.url}/ok` });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /is not in --allowed-origins/);
    assert.deepEqual(other.hits, []);
  });

  test('a blocked origin is refused even when it is also allowed', async () => {
    const result = await client.call('browser_navigate', { url: `http://localhost:${pages.port}/secret` });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /is in --blocked-origins/);
    assert.ok(!pages.hits.includes('/secret'));
  });

  test('a redirect from an allowed origin into a blocked origin is refused', async () => {
    const text = await client.text('browser_navigate', { url: `${pages.url}/to-blocked` });
    assert.doesNotMatch(text, /TOP SECRET/);
    assert.match(text, /Blocked by browser-fleet/);
    assert.match(text, /--blocked-origins/);
    const unlisted = await client.text('browser_navigate', { url: `${pages.url}/to-unlisted` });
    assert.match(unlisted, /Blocked by browser-fleet/);
    assert.ok(!pages.hits.includes('/secret'), 'the blocked target was never requested');
    assert.deepEqual(other.hits, []);
  });

  test('subresources and fetches from an allowed page to an unlisted origin are refused', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/mixed` });
    const width = await client.text('browser_evaluate', {
      function: `() => new Promise((resolve) => { const img = document.querySelector('img');
        if (img.complete) resolve(img.naturalWidth); else img.onload = img.onerror = () => resolve(img.naturalWidth); })`,
    });
    assert.match(width, /### Result\n0/);
    assert.match(await fetchFrom(client, `${other.url}/pixel`), /"failed"/);
    assert.match(await fetchFrom(client, `${pages.url}/ok`), /"ok"/, 'the allowed origin still answers');
    assert.deepEqual(other.hits, []);
  });

  test('a WebSocket to an unlisted origin never connects', async () => {
    const port = (sockets.address() as AddressInfo).port;
    const outcome = await client.text('browser_evaluate', {
      function: `() => new Promise((resolve) => { const ws = new WebSocket('ws://127.0.0.1:${port}/');
        ws.onopen = () => resolve('open'); ws.onerror = () => resolve('error'); })`,
    });
    assert.match(outcome, /"error"/);
    assert.equal(socketConnections, 0, 'the socket server saw no connection');
  });
});
