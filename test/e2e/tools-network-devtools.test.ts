import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../helpers/browsers.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';
import { readZip } from '../helpers/zip.ts';

const NETWORK_TOOLS = ['browser_network_state_set', 'browser_route', 'browser_route_list', 'browser_unroute'];
const DEVTOOLS_TOOLS = [
  'browser_start_tracing', 'browser_stop_tracing', 'browser_start_video', 'browser_stop_video', 'browser_video_chapter',
  'browser_video_show_actions', 'browser_video_hide_actions', 'browser_highlight', 'browser_hide_highlight',
  'browser_start_recording', 'browser_stop_recording', 'browser_resume', 'browser_annotate',
];
const WEBM_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

const APP_PAGE = `<!doctype html><title>App</title><h1>Routes</h1>
<button onclick="this.textContent = 'pressed'">Press me</button>`;

/** Every request the page server answered, as `host path`, so a test can prove one never arrived. */
type Hits = string[];

function addPages(pages: PageServer, hits: Hits): void {
  const log = (req: IncomingMessage) => hits.push(`${req.headers.host} ${new URL(req.url ?? '/', 'http://x').pathname}`);
  pages.route('/app', (req, res) => {
    log(req);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(APP_PAGE);
  });
  pages.route('/api/data', (req, res) => {
    log(req);
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end('{"real":true}');
  });
  pages.route('/echo', (req: IncomingMessage, res: ServerResponse) => {
    log(req);
    res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' })
      .end(`x-test=${req.headers['x-test'] ?? '-'} accept-language=${req.headers['accept-language'] ?? '-'}`);
  });
  pages.route('/secret', (req, res) => {
    log(req);
    res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' }).end('TOP SECRET');
  });
}

/** Runs fetch(url) in the selected tab: `status|x-mock header|body`, or `failed: …` when no response came back. */
async function fetchIn(client: TestClient, url: string): Promise<string> {
  const text = await client.text('browser_evaluate', {
    function: `() => fetch(${JSON.stringify(url)}).then(async (r) => r.status + '|' + r.headers.get('x-mock') + '|' + await r.text(), (e) => 'failed: ' + e.message)`,
  });
  const result = /### Result\n(.*)/.exec(text)?.[1];
  assert.ok(result, text);
  return JSON.parse(result) as string;
}

/** The absolute paths a result links as `- [Title](/path)`. */
const linkedFiles = (text: string) => [...text.matchAll(/\]\((\/[^)]+)\)/g)].map((m) => m[1]);

describe('network and devtools tools (--caps network,devtools, --blocked-origins)', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;
  const hits: Hits = [];
  let blocked: string;

  before(async () => {
    // The page server answers as localhost too: that name is the blocked origin, 127.0.0.1 is not.
    pages = await startPageServer();
    addPages(pages, hits);
    blocked = `http://localhost:${pages.port}`;
    server = await startTestServer({ caps: ['network', 'devtools'], timeoutAction: 5000, timeoutNavigation: 20_000, blockedOrigins: [blocked] });
    client = await connectClient(server.url);
    await client.call('browser_navigate', { url: `${pages.url}/app` });
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('the network and devtools tools are listed with their capabilities', async () => {
    const names = new Set((await client.client.listTools()).tools.map((tool) => tool.name));
    for (const name of [...NETWORK_TOOLS, ...DEVTOOLS_TOOLS]) assert.ok(names.has(name), `${name} is listed`);
    assert.ok(!names.has('browser_run_code_unsafe'), 'devtools does not bring unsafe code with it');
  });

  test('browser_route mocks a response the page fetches, without a request reaching the server, and route_list shows it', async () => {
    const added = await client.text('browser_route', {
      pattern: '**/api/data', body: '{"mocked":true}', contentType: 'application/json', headers: ['X-Mock: yes'],
    });
    assert.match(added, /Route added for pattern: \*\*\/api\/data/);
    const before = hits.length;
    assert.equal(await fetchIn(client, `${pages.url}/api/data`), '200|yes|{"mocked":true}');
    assert.deepEqual(hits.slice(before), [], 'the mocked request never reached the page server');
    const list = await client.text('browser_route_list');
    assert.match(list, /1\. \*\*\/api\/data \(mocked: status 200; contentType application\/json; headers \{"X-Mock":"yes"\}; body \(15 chars\)/);
  });

  test('browser_unroute restores the real response', async () => {
    assert.match(await client.text('browser_unroute', { pattern: '**/api/data' }), /Removed 1 route\(s\) for pattern: \*\*\/api\/data/);
    assert.equal(await fetchIn(client, `${pages.url}/api/data`), '200|null|{"real":true}');
    assert.match(await client.text('browser_route_list'), /No active routes/);
  });

  test('a route without a mocked response changes the request headers on its way to the server', async () => {
    await client.call('browser_route', { pattern: '**/echo', headers: ['X-Test: hello'], removeHeaders: 'Accept-Language' });
    assert.equal(await fetchIn(client, `${pages.url}/echo`), '200|null|x-test=hello accept-language=-');
    assert.match(await client.text('browser_route_list'), /1\. \*\*\/echo \(sets request headers \{"X-Test":"hello"\}; removes request headers accept-language\)/);
    assert.match(await client.text('browser_unroute', {}), /Removed all 1 route\(s\)/);
  });

  test('a route cannot take a request past --blocked-origins: a changed request is still refused, a mock makes no request', async () => {
    await client.call('browser_route', { pattern: `${blocked}/**`, headers: ['X-Test: sneak'] });
    assert.match(await fetchIn(client, `${blocked}/secret`), /^failed: /);
    await client.call('browser_unroute', {});
    await client.call('browser_route', { pattern: `${blocked}/secret`, body: 'mocked secret', headers: ['Access-Control-Allow-Origin: *'] });
    assert.equal(await fetchIn(client, `${blocked}/secret`), '200|null|mocked secret');
    await client.call('browser_unroute', {});
    assert.equal(hits.filter((hit) => hit.startsWith(`localhost:${pages.port} `)).length, 0, 'the blocked origin was never requested');
  });

  test('browser_route refuses a header without a name and a status outside 100..599', async () => {
    const header = await client.call('browser_route', { pattern: '**/x', headers: ['no colon'] });
    assert.equal(header.isError, true);
    assert.match(resultText(header), /Invalid header "no colon"/);
    const status = await client.call('browser_route', { pattern: '**/x', status: 42 });
    assert.equal(status.isError, true);
    assert.match(resultText(status), /status must be a whole number from 100 to 599/);
    assert.match(await client.text('browser_route_list'), /No active routes/);
  });

  test('browser_network_state_set offline makes fetch fail, online restores it', async () => {
    assert.match(await client.text('browser_network_state_set', { state: 'offline' }), /Network is now offline/);
    assert.match(await fetchIn(client, `${pages.url}/api/data`), /^failed: /);
    assert.match(await client.text('browser_network_state_set', { state: 'online' }), /Network is now online/);
    assert.equal(await fetchIn(client, `${pages.url}/api/data`), '200|null|{"real":true}');
  });

  test('start_tracing and stop_tracing write a zip trace of the actions in between, in the session directory', async () => {
    assert.match(await client.text('browser_start_tracing'), /Trace recording started/);
    const again = await client.call('browser_start_tracing');
    assert.equal(again.isError, true, 'a second start is refused');
    await client.call('browser_navigate', { url: `${pages.url}/app` });
    await client.call('browser_click', { target: 'text=Press me' });
    const stopped = await client.call('browser_stop_tracing');
    const [path] = linkedFiles(resultText(stopped));
    const sessionDir = server.supervisor.get(client.sessionId)!.browser!.outputDir;
    assert.ok(path?.startsWith(`${sessionDir}/trace-`) && path.endsWith('.zip'), resultText(stopped));
    const zip = readFileSync(path);
    assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK');
    const trace = readZip(zip).get('trace.trace')!.toString('utf8');
    assert.match(trace, /"method":"goto"[^\n]*\/app/);
    assert.match(trace, /"method":"click"/);
    const late = await client.call('browser_stop_tracing');
    assert.equal(late.isError, true);
    assert.match(resultText(late), /Tracing is not started/);
  });

  test('browser_start_video without --record video either records or says it needs ffmpeg', async () => {
    const started = await client.call('browser_start_video', {});
    if (started.isError) {
      assert.match(resultText(started), /needs ffmpeg[^\n]*--record video/);
      assert.match(await client.text('browser_stop_video'), /No video is being recorded/, 'a failed start leaves nothing recording');
      return;
    }
    const stopped = resultText(await client.call('browser_stop_video'));
    const [path] = linkedFiles(stopped);
    assert.deepEqual([...readFileSync(path).subarray(0, 4)], WEBM_MAGIC, stopped);
  });

  test('browser_highlight draws a highlight over an element and browser_hide_highlight removes it', async () => {
    // Playwright draws highlights in an <x-pw-glass> overlay (a closed shadow root), which page.hideHighlight() removes.
    const overlay = `() => document.querySelectorAll('x-pw-glass').length`;
    const shown = await client.call('browser_highlight', { element: 'heading', target: 'h1', style: 'outline: 2px dashed red' });
    assert.equal(shown.isError, undefined, resultText(shown));
    assert.match(resultText(shown), /Highlighted heading/);
    assert.match(await client.text('browser_evaluate', { function: overlay }), /### Result\n1\n/);
    assert.match(await client.text('browser_hide_highlight', { target: 'h1' }), /Hid highlight for h1/);
    assert.match(await client.text('browser_hide_highlight', {}), /Hid every highlight/);
    assert.match(await client.text('browser_evaluate', { function: overlay }), /### Result\n0\n/);
  });

  test('start_recording and stop_recording return the actions done in between as Playwright code', async () => {
    assert.match(await client.text('browser_start_recording'), /Recording started/);
    await client.call('browser_navigate', { url: `${pages.url}/app` });
    await client.call('browser_click', { target: 'text=Press me' });
    const stopped = await client.text('browser_stop_recording');
    assert.match(stopped, /```js\n[^]*await page\.getByRole\('button', \{ name: 'Press me' \}\)\.click\(\);/);
    const late = await client.call('browser_stop_recording');
    assert.equal(late.isError, true);
  });

  test('routes belong to the browser: after browser_close the next browser has none', async () => {
    await client.call('browser_route', { pattern: '**/api/data', body: 'stale' });
    await client.call('browser_close');
    await client.call('browser_navigate', { url: `${pages.url}/app` });
    assert.match(await client.text('browser_route_list'), /No active routes/);
    assert.equal(await fetchIn(client, `${pages.url}/api/data`), '200|null|{"real":true}');
  });
});

describe('devtools tools under --record both', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;
  const hits: Hits = [];

  before(async () => {
    ({ pages, server, client } = await openSession({ caps: ['devtools'], record: 'both', timeoutAction: 5000, timeoutNavigation: 20_000 }, (p) => addPages(p, hits)));
    await client.call('browser_navigate', { url: `${pages.url}/app` });
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('a video of every tab, one opened while recording included, is saved as WebM with chapters and action overlays', async () => {
    const started = await client.text('browser_start_video', { filename: 'clips/run.webm', size: { width: 640, height: 360 }, fps: 10 });
    assert.match(started, /Video recording started \(1 tab\)/);
    assert.match(started, /`size` was ignored/, 'the lease recording already films the tab at its own size');
    assert.match(await client.text('browser_video_chapter', { title: 'Part one', duration: 200 }), /Chapter 'Part one' added/);
    assert.match(await client.text('browser_video_show_actions', { duration: 100, position: 'bottom', style: { highlight: 'outline: 2px solid red' } }), /annotations enabled/);
    await client.call('browser_click', { target: 'text=Press me' });
    assert.match(await client.text('browser_video_hide_actions'), /annotations disabled/);
    await client.call('browser_tabs', { action: 'new' });
    await client.call('browser_navigate', { url: `${pages.url}/app` });
    const stopped = resultText(await client.call('browser_stop_video'));
    const sessionDir = server.supervisor.get(client.sessionId)!.browser!.outputDir;
    assert.deepEqual(linkedFiles(stopped), [`${sessionDir}/clips/run.webm`, `${sessionDir}/clips/run-2.webm`], stopped);
    for (const path of linkedFiles(stopped)) {
      const video = readFileSync(path);
      assert.deepEqual([...video.subarray(0, 4)], WEBM_MAGIC, `${path} is WebM`);
    }
    await client.call('browser_tabs', { action: 'close' });
  });

  test('video arguments outside their range are refused before anything records', async () => {
    const fps = await client.call('browser_start_video', { fps: 500 });
    assert.equal(fps.isError, true);
    assert.match(resultText(fps), /fps must be above 0 and at most 60/);
    const name = await client.call('browser_start_video', { filename: 'clip.mp4' });
    assert.match(resultText(name), /must end in \.webm/);
    assert.match(await client.text('browser_stop_video'), /No video is being recorded/);
  });

  test('a video whose file name leaves the session directory is saved under a default name instead of being lost', async () => {
    assert.match(await client.text('browser_start_video', { filename: '../outside.webm' }), /Video recording started/);
    const stopped = resultText(await client.call('browser_stop_video'));
    assert.match(stopped, /\.\.\/outside\.webm was refused \(File access denied[^\n]*saved as video-[^\n]*\.webm instead/);
    const sessionDir = server.supervisor.get(client.sessionId)!.browser!.outputDir;
    const [path] = linkedFiles(stopped);
    assert.ok(path?.startsWith(`${sessionDir}/video-`), stopped);
    assert.deepEqual([...readFileSync(path).subarray(0, 4)], WEBM_MAGIC);
  });

  test('tracing while --record trace traces the lease writes a chunk, and the lease trace is still saved when the browser ends', async () => {
    assert.match(await client.text('browser_start_tracing'), /Trace recording started/);
    await client.call('browser_navigate', { url: `${pages.url}/app?traced` });
    const stopped = resultText(await client.call('browser_stop_tracing'));
    const [path] = linkedFiles(stopped);
    const trace = readZip(readFileSync(path)).get('trace.trace')!.toString('utf8');
    assert.match(trace, /"method":"goto"[^\n]*\/app\?traced/);
    assert.doesNotMatch(trace, /"method":"click"/, 'the chunk begins at browser_start_tracing, after the earlier click');
    await client.call('browser_navigate', { url: `${pages.url}/app?after` });

    const id = server.supervisor.get(client.sessionId)!.browser!.id;
    const ended = nextEvent(server, 'browser.ended', (e) => e.id === id);
    const sessionId = client.sessionId;
    await client.close();
    await ended;
    const res = await fetch(`${server.url}/sessions/${sessionId}/trace`);
    assert.equal(res.status, 200);
    const lease = readZip(Buffer.from(await res.arrayBuffer())).get('trace.trace')!.toString('utf8');
    assert.match(lease, /"method":"goto"[^\n]*\/app\?after/, 'the lease trace went on after browser_stop_tracing');
    client = await connectClient(server.url);
  });
});

describe('network and devtools tools without their capability', () => {
  let server: TestServer;
  let client: TestClient;

  before(async () => {
    server = await startTestServer({});
    client = await connectClient(server.url);
  });

  after(async () => {
    await client?.close();
    await server?.close();
  });

  test('none of them is listed or callable without --caps network or devtools', async () => {
    const names = new Set((await client.client.listTools()).tools.map((tool) => tool.name));
    for (const name of [...NETWORK_TOOLS, ...DEVTOOLS_TOOLS]) assert.ok(!names.has(name), `${name} is not listed`);
    const call = await client.call('browser_route', { pattern: '**/*', body: 'x' }).catch((error: Error) => error);
    assert.ok(call instanceof Error ? /not found/i.test(call.message) : call.isError === true, String(call instanceof Error ? call.message : resultText(call)));
  });
});
