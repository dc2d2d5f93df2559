import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { refFor, resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import { waitUntil } from '../helpers/processes.ts';
import type { TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]);

const APP_PAGE = `<!doctype html><title>App</title>
<h1>Dashboard</h1>
<nav><a href="#a">Alpha link</a><a href="#b">Beta link</a></nav>
<button id="boom" onclick="setTimeout(() => { throw new Error('kaboom'); })">Boom</button>
<button id="later" onclick="setTimeout(() => { document.getElementById('msg').textContent = 'Ready now'; document.getElementById('spinner').remove(); }, 200)">Later</button>
<p id="msg">Waiting</p><p id="spinner">Spinner</p>
<img src="/pixel.png" alt="pixel">
<script>
console.log('booted');
console.warn('careful');
console.error('broken thing');
console.debug('details');
fetch('/api/items?user=7', { method: 'POST', body: 'payload-123' });
</script>`;

const TALL_PAGE = `<!doctype html><title>Tall</title>${Array.from({ length: 200 }, (_, i) => `<p>Paragraph number ${i}</p>`).join('')}`;

const images = (result: CallToolResult) => result.content.filter((c) => c.type === 'image') as { data: string; mimeType: string }[];
/** Absolute paths in `- [Title](/path)` result lines. */
const linkedFile = (text: string) => /\]\((\/[^)]+)\)/.exec(text)?.[1];

describe('observation tools', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;

  before(async () => {
    ({ pages, server, client } = await openSession({ timeoutAction: 3000 }, (p) => {
      p.route('/app', APP_PAGE);
      p.route('/api/items', '{"items":[1,2]}', 'application/json');
      p.route('/pixel.png', (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'));
      });
    }));
    await client.call('browser_navigate', { url: `${pages.url}/app` });
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('take_screenshot returns a real PNG, a JPEG on request, and an element shot', async () => {
    const png = images(await client.call('browser_take_screenshot', {}));
    assert.equal(png.length, 1);
    assert.equal(png[0].mimeType, 'image/png');
    const bytes = Buffer.from(png[0].data, 'base64');
    assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE);
    assert.equal(bytes.readUInt32BE(16), 1280, 'IHDR width is the viewport width');
    const jpeg = images(await client.call('browser_take_screenshot', { type: 'jpeg' }));
    assert.equal(jpeg[0].mimeType, 'image/jpeg');
    assert.deepEqual(Buffer.from(jpeg[0].data, 'base64').subarray(0, 3), JPEG_SIGNATURE);
    const element = images(await client.call('browser_take_screenshot', { element: 'heading', target: 'h1' }));
    assert.ok(Buffer.from(element[0].data, 'base64').readUInt32BE(16) < 1280, 'the element shot is narrower than the page');
  });

  test('take_screenshot with filename writes the file in the session directory and returns no image', async () => {
    const result = await client.call('browser_take_screenshot', { filename: 'shots/page.png' });
    assert.equal(images(result).length, 0);
    const path = linkedFile(resultText(result));
    // The session's directory is its browser lease's own, under --output-dir.
    const sessionDir = server.supervisor.get(client.sessionId)!.browser!.outputDir;
    assert.ok(sessionDir.startsWith(`${server.outputDir}/`));
    assert.equal(path, `${sessionDir}/shots/page.png`);
    assert.deepEqual(readFileSync(path).subarray(0, 8), PNG_SIGNATURE);
  });

  test('console_messages lists messages from page start by level, and a new error shows in the next result', async () => {
    const info = await client.text('browser_console_messages', {});
    assert.match(info, /Total messages: 4 \(Errors: 1, Warnings: 1\)/);
    assert.match(info, /\[LOG\] booted/);
    assert.match(info, /\[WARNING\] careful/);
    assert.doesNotMatch(info, /details/, 'debug is below the info level');
    const errors = await client.text('browser_console_messages', { level: 'error' });
    assert.match(errors, /\[ERROR\] broken thing/);
    assert.doesNotMatch(errors, /booted|careful/);
    assert.match(await client.text('browser_console_messages', { level: 'debug' }), /\[DEBUG\] details/);
    const clicked = await client.text('browser_click', { target: '#boom' });
    // The error is thrown from a timer after the click: under load its event may come a call or two later.
    let next = clicked;
    assert.ok(await waitUntil(async () => /kaboom/.test(next = `${next}\n${await client.text('browser_console_messages', { level: 'error' })}`), 5000), next);
  });

  test('console_messages with filename writes them to a file', async () => {
    const text = await client.text('browser_console_messages', { filename: 'console.log' });
    const path = linkedFile(text);
    assert.ok(path && existsSync(path));
    assert.match(readFileSync(path, 'utf8'), /\[LOG\] booted/);
  });

  test('network_requests hides static resources unless asked, and filters by URL', async () => {
    const list = await client.text('browser_network_requests', {});
    assert.match(list, /\d+\. \[POST\] http:[^\s]+\/api\/items\?user=7 => \[200\] OK/);
    assert.doesNotMatch(list, /pixel\.png/);
    assert.match(list, /static requests? not shown/);
    const all = await client.text('browser_network_requests', { static: true });
    assert.match(all, /\[GET\] http:[^\s]+\/pixel\.png => \[200\] OK/);
    const filtered = await client.text('browser_network_requests', { static: true, filter: 'pixel' });
    assert.match(filtered, /pixel\.png/);
    assert.doesNotMatch(filtered, /api\/items/);
  });

  test('network_request shows one request in full or by part', async () => {
    const list = await client.text('browser_network_requests', {});
    const index = Number(/(\d+)\. \[POST\]/.exec(list)![1]);
    const details = await client.text('browser_network_request', { index });
    assert.match(details, /\[POST\] http:[^\s]+\/api\/items/);
    assert.match(details, /status: +\[200\] OK/);
    assert.match(details, /content-type: application\/json/);
    assert.match(await client.text('browser_network_request', { index, part: 'request-body' }), /payload-123/);
    assert.match(await client.text('browser_network_request', { index, part: 'response-body' }), /\{"items":\[1,2\]\}/);
    const missing = await client.call('browser_network_request', { index: 9999 });
    assert.equal(missing.isError, true);
  });

  test('snapshot honours target, depth and filename', async () => {
    const full = await client.text('browser_snapshot');
    const nav = await client.text('browser_snapshot', { target: refFor(full, 'navigation') });
    assert.match(nav, /Alpha link/);
    assert.doesNotMatch(nav, /Dashboard/);
    const shallow = await client.text('browser_snapshot', { depth: 1 });
    assert.match(shallow, /navigation/);
    assert.doesNotMatch(shallow, /Alpha link/);
    const saved = await client.text('browser_snapshot', { filename: 'snap.yaml' });
    assert.doesNotMatch(saved, /### Snapshot/);
    assert.match(readFileSync(linkedFile(saved)!, 'utf8'), /heading "Dashboard"/);
  });

  test('find returns matches with their refs and path from the root', async () => {
    const text = await client.text('browser_find', { text: 'beta' });
    assert.match(text, /Found 1 match for "beta"/);
    assert.match(text, /navigation[\s\S]*link "Beta link" \[ref=e\d+\]/);
    assert.match(await client.text('browser_find', { regex: '/ALPHA/i' }), /Found 1 match/);
    assert.match(await client.text('browser_find', { text: 'zebra' }), /No matches found/);
  });

  test('evaluate awaits promises and can save its result to a file', async () => {
    assert.match(await client.text('browser_evaluate', { function: 'async () => 6 * 7' }), /### Result\n42/);
    const saved = await client.text('browser_evaluate', { function: '() => ({ title: document.title })', filename: 'result.json' });
    assert.deepEqual(JSON.parse(readFileSync(linkedFile(saved)!, 'utf8')), { title: 'App' });
  });

  test('wait_for waits for text to appear and to disappear', async () => {
    await client.call('browser_click', { target: '#later' });
    const appeared = await client.text('browser_wait_for', { text: 'Ready now' });
    assert.match(appeared, /Waited for Ready now/);
    assert.match(await client.text('browser_wait_for', { textGone: 'Spinner' }), /Waited for Spinner to disappear/);
    assert.match(await client.text('browser_wait_for', { time: 0.1 }), /Waited for 0.1 seconds/);
    const missing = await client.call('browser_wait_for', { text: 'Never there', time: 0.2 });
    assert.equal(missing.isError, true);
    assert.match(resultText(missing), /"Never there" did not appear within 200 ms/);
    const none = await client.call('browser_wait_for', {});
    assert.equal(none.isError, true);
  });

  test('browser_run_code_unsafe is neither listed nor callable without --caps unsafe-code', async () => {
    const listed = await client.client.listTools();
    assert.ok(listed.tools.some((tool) => tool.name === 'browser_take_screenshot'));
    assert.ok(!listed.tools.some((tool) => tool.name === 'browser_run_code_unsafe'));
    await assert.rejects(client.call('browser_run_code_unsafe', { code: 'async () => 1' }), /not found/);
  });

  test('emulate_media and resize change what the page sees', async () => {
    await client.call('browser_emulate_media', { colorScheme: 'dark', media: 'print' });
    assert.match(await client.text('browser_evaluate', { function: '() => [matchMedia("(prefers-color-scheme: dark)").matches, matchMedia("print").matches]' }), /\[\s*true,\s*true\s*\]/);
    await client.call('browser_emulate_media', { colorScheme: null, media: null });
    assert.match(await client.text('browser_evaluate', { function: '() => matchMedia("print").matches' }), /false/);
    await client.call('browser_resize', { width: 640, height: 480 });
    assert.match(await client.text('browser_evaluate', { function: '() => [innerWidth, innerHeight]' }), /\[\s*640,\s*480\s*\]/);
  });
});

describe('size budgets and the unsafe-code capability', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;

  before(async () => {
    ({ pages, server, client } = await openSession({ timeoutAction: 3000, snapshotMaxChars: 500, imageMaxBytes: 60_000, caps: ['unsafe-code'] }, (p) => p.route('/tall', TALL_PAGE)));
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('a snapshot over --snapshot-max-chars is cut with a marker saying how to get the rest', async () => {
    const text = await client.text('browser_navigate', { url: `${pages.url}/tall` });
    const snapshot = /### Snapshot\n```yaml\n([\s\S]*)\n```/.exec(text)![1];
    assert.ok(snapshot.length < 1000, `snapshot of ${snapshot.length} chars`);
    assert.match(snapshot, /snapshot truncated: \d+ of \d+ characters omitted[\s\S]*`depth`[\s\S]*`target`[\s\S]*browser_find/);
    assert.match(snapshot, /Paragraph number 0/);
    assert.doesNotMatch(snapshot, /Paragraph number 199/);
  });

  test('a screenshot over --image-max-bytes is re-encoded as a smaller JPEG', async () => {
    // A smooth gradient with light noise: about 1.9 MB as PNG, 38 KB as JPEG at quality 60.
    await client.call('browser_evaluate', { function: `() => {
      document.body.innerHTML = '<canvas id="c" width="1280" height="720"></canvas>'; document.body.style.margin = '0';
      const g = document.getElementById('c').getContext('2d'); const d = g.createImageData(1280, 720);
      for (let i = 0; i < d.data.length; i += 4) { const x = (i / 4) % 1280, y = Math.floor(i / 4 / 1280);
        d.data[i] = x / 5 + Math.random() * 24; d.data[i + 1] = y / 3 + Math.random() * 24; d.data[i + 2] = 128 + Math.random() * 24; d.data[i + 3] = 255; }
      g.putImageData(d, 0, 0); }` });
    const result = await client.call('browser_take_screenshot', {});
    assert.notEqual(result.isError, true, resultText(result));
    const [image] = images(result);
    assert.equal(image.mimeType, 'image/jpeg');
    const bytes = Buffer.from(image.data, 'base64');
    assert.deepEqual(bytes.subarray(0, 3), JPEG_SIGNATURE);
    assert.ok(bytes.length <= 60_000, `${bytes.length} bytes`);
    assert.match(resultText(result), /over the 60000-byte inline limit; re-encoded as JPEG at quality \d+/);
  });

  test('a screenshot too big even as JPEG is refused with a hint to use filename, which still works', async () => {
    // Pure noise does not compress: about 250 KB even as JPEG at quality 40.
    await client.call('browser_evaluate', { function: `() => {
      document.body.innerHTML = '<canvas id="c" width="1280" height="720"></canvas>';
      const g = document.getElementById('c').getContext('2d'); const d = g.createImageData(1280, 720);
      for (let i = 0; i < d.data.length; i++) d.data[i] = i % 4 === 3 ? 255 : Math.random() * 256;
      g.putImageData(d, 0, 0); }` });
    const result = await client.call('browser_take_screenshot', {});
    assert.equal(result.isError, true);
    assert.equal(images(result).length, 0);
    assert.match(resultText(result), /over the 60000-byte inline limit \(--image-max-bytes\)[\s\S]*`filename`/);
    const saved = await client.call('browser_take_screenshot', { filename: 'noise.png' });
    assert.notEqual(saved.isError, true);
    assert.ok(readFileSync(linkedFile(resultText(saved))!).length > 60_000);
  });

  test('browser_run_code_unsafe runs Playwright code with the page when enabled', async () => {
    const listed = await client.client.listTools();
    assert.ok(listed.tools.some((tool) => tool.name === 'browser_run_code_unsafe'));
    const text = await client.text('browser_run_code_unsafe', { code: 'async (page) => { await page.evaluate(() => { document.title = "Changed"; }); return await page.title(); }' });
    assert.match(text, /### Result\n"Changed"/);
  });
});
