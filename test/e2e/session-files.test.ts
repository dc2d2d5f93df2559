import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { connectModern, modernText } from '../helpers/modern-client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const A = 'token-a-files-0123456789';
const B = 'token-b-files-0123456789';
const CSV = 'name,count\nalpha,1\nbeta,2\n';

type Link = { type: 'resource_link'; uri: string; name: string; mimeType?: string };
const linksOf = (result: { content: unknown[] }) => (result.content as { type: string }[]).filter((c): c is Link => c.type === 'resource_link');

/**
 * The result that reports a download a click started: the click's own, or, when Chromium said the
 * download began after that result went out, a later call's.
 */
async function reporting<R extends { content: unknown[] }>(result: R, next: () => Promise<R>): Promise<R> {
  // Under load the download may begin a little later still: a few more calls, bounded.
  for (let i = 0; i < 10 && !linksOf(result).length; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 300));
    result = await next();
  }
  return result;
}

describe('session files as MCP resources', () => {
  let server: TestServer;
  let pages: PageServer;
  let legacy: TestClient;

  before(async () => {
    pages = await startPageServer();
    pages.route('/download', '<!doctype html><title>Files</title><a href="/report.csv" download>Get the report</a>');
    pages.route('/report.csv', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-disposition': 'attachment; filename="report.csv"' }).end(CSV);
    });
    server = await startTestServer({ authToken: [A, B], prewarm: 0 });
    legacy = await connectClient(server.url, { token: A });
  });
  after(async () => {
    await legacy?.close();
    await server?.close();
    await pages?.close();
  });

  test('a download the page triggers is saved, reported in the result, listed and read back as a resource', async () => {
    await legacy.call('browser_navigate', { url: `${pages.url}/download` });
    const clicked = await reporting(await legacy.call('browser_click', { target: 'text=Get the report' }), () => legacy.call('browser_snapshot'));
    assert.match(resultText(clicked), /### Downloads\n- Downloaded "report.csv" \(\d+ bytes\) from http:[^\n]+report.csv, saved as downloads\/report.csv/);
    const [link] = linksOf(clicked);
    assert.ok(link, JSON.stringify(clicked.content));
    assert.equal(link.name, 'downloads/report.csv');
    assert.equal(link.mimeType, 'text/csv');
    assert.match(link.uri, /^browser-fleet:\/\/browser\/[A-Za-z0-9_-]+\/downloads\/report.csv$/);
    const listed = await legacy.client.listResources();
    assert.ok(listed.resources.some((r) => r.uri === link.uri && r.size === CSV.length), JSON.stringify(listed.resources));
    const read = await legacy.client.readResource({ uri: link.uri });
    assert.deepEqual(read.contents, [{ uri: link.uri, mimeType: 'text/csv', text: CSV }]);
    // A second download of the same name keeps the first.
    const reported = await reporting(await legacy.call('browser_click', { target: 'text=Get the report' }), () => legacy.call('browser_snapshot'));
    assert.equal(linksOf(reported)[0]?.name, 'downloads/report (2).csv', resultText(reported));
    assert.match(resultText(reported), /saved as downloads\/report \(2\)\.csv/);
  });

  test('a screenshot saved with filename comes back as a link and reads as a PNG', async () => {
    const shot = await legacy.call('browser_take_screenshot', { filename: 'shots/page.png' });
    const link = linksOf(shot).find((l) => l.name === 'shots/page.png');
    assert.ok(link, resultText(shot));
    const read = await legacy.client.readResource({ uri: link.uri });
    const content = read.contents[0] as { blob?: string; mimeType?: string };
    assert.equal(content.mimeType, 'image/png');
    assert.deepEqual([...Buffer.from(content.blob!, 'base64').subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  });

  test('another token, a made-up URI and a path out of the directory all get the same not-found error', async () => {
    const { resources } = await legacy.client.listResources();
    const uri = resources[0].uri;
    const handle = uri.split('/')[3];
    const other = await connectClient(server.url, { token: B });
    try {
      const failure = async (u: string) => (await other.client.readResource({ uri: u }).then(() => 'read', (e: Error) => e.message)).replace(u, '<uri>');
      const foreign = await failure(uri);
      assert.match(foreign, /not found/);
      assert.equal(await failure(`browser-fleet://browser/${'x'.repeat(24)}/downloads/report.csv`), foreign);
      assert.deepEqual((await other.client.listResources()).resources, [], 'B lists none of A\'s files');
    } finally {
      await other.close();
    }
    for (const escape of [`browser-fleet://browser/${handle}/..%2F..%2F..%2Fetc%2Fpasswd`, `browser-fleet://browser/${handle}/../../etc/passwd`, 'file:///etc/passwd']) {
      await assert.rejects(legacy.client.readResource({ uri: escape }), /not found/, escape);
    }
  });

  test('a 2026-07-28 client reads the files of the browser it opened, and they go when the browser does', async () => {
    const modern = await connectModern(server.url, { token: A });
    try {
      const handle = await modern.open();
      await modern.call('browser_navigate', { browser: handle, url: `${pages.url}/download` });
      const clicked = await reporting(await modern.call('browser_click', { browser: handle, target: 'text=Get the report' }), () => modern.call('browser_snapshot', { browser: handle }));
      const link = (clicked.content as { type: string; uri?: string }[]).find((c) => c.type === 'resource_link');
      assert.ok(link?.uri?.includes(`/${handle}/`), modernText(clicked));
      const uri = link!.uri!;
      const listed = await modern.client.listResources();
      assert.ok(listed.resources.some((r) => r.uri === uri), 'listed for the token that opened it');
      assert.ok(listed.resources.every((r) => r.uri.includes(`/${handle}/`)), 'a stateless client lists the browsers it opened without a session');
      const read = await modern.client.readResource({ uri });
      assert.equal((read.contents[0] as { text: string }).text, CSV);
      await modern.call('browser_close', { browser: handle });
      await assert.rejects(modern.client.readResource({ uri }), /not found/);
    } finally {
      await modern.close();
    }
  });
});
