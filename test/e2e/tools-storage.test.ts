import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

/** A page that stores something of its own in every place the tools reach. */
const WRITER_PAGE = `<!doctype html><title>Writer</title><p>writer</p>
<script>
document.cookie = 'fromPage=page value; path=/';
localStorage.setItem('pageLocal', 'written by the page');
sessionStorage.setItem('pageSession', 'written by the page too');
</script>`;

const PLAIN_PAGE = '<!doctype html><title>Plain</title><p>plain</p>';

/** A value that only survives if it is returned exactly: line break, quote, "=", trailing space. */
const TRICKY = 'line one\nline "two" = 2 ';

type Link = { type: 'resource_link'; uri: string; name: string };

/** The value of a browser_evaluate call, parsed from its `### Result` section. */
async function evaluate(client: TestClient, fn: string): Promise<unknown> {
  const text = await client.text('browser_evaluate', { function: fn });
  const match = /### Result\n([\s\S]*?)(?:\n\n### |$)/.exec(text);
  assert.ok(match, text);
  return JSON.parse(match[1]);
}

/** The Cookie header of the page's next request to /echo, as the HTTP server received it. */
async function cookieHeaderSeen(client: TestClient, cookies: string[]): Promise<string | undefined> {
  cookies.length = 0;
  await evaluate(client, 'async () => (await fetch("/echo")).status');
  assert.equal(cookies.length, 1, 'the page made one request to /echo');
  return cookies[0];
}

/** A `Result` section without a tool error. */
async function ok(client: TestClient, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = await client.call(name, args);
  assert.notEqual(result.isError, true, `${name}: ${resultText(result)}`);
  return resultText(result);
}

describe('storage tools (--caps storage)', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;
  let uploadRoot: string;
  /** Cookie headers of requests to /echo, in order. */
  const echoed: string[] = [];

  before(async () => {
    uploadRoot = mkdtempSync(join(tmpdir(), 'bf-storage-'));
    ({ pages, server, client } = await openSession({ caps: ['storage'], timeoutAction: 5000, uploadRoot }, (p) => {
      p.route('/writer', WRITER_PAGE);
      p.route('/plain', PLAIN_PAGE);
      p.route('/app/page', PLAIN_PAGE);
      p.route('/echo', (req, res) => {
        echoed.push(req.headers.cookie ?? '');
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    }));
  });

  after(async () => {
    await closeSession({ client, server, pages });
    rmSync(uploadRoot, { recursive: true, force: true });
  });

  test('the storage tools are listed with --caps storage and not without it', async () => {
    const listed = (await client.client.listTools()).tools.map((tool) => tool.name);
    for (const name of ['browser_cookie_list', 'browser_cookie_set', 'browser_storage_state', 'browser_set_storage_state', 'browser_localstorage_get', 'browser_sessionstorage_clear']) {
      assert.ok(listed.includes(name), `${name} is listed`);
    }
    const plain = await startTestServer();
    const other = await connectClient(plain.url);
    try {
      const names = (await other.client.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('browser_navigate'));
      assert.deepEqual(names.filter((name) => /cookie|storage/.test(name)), []);
      // An unlisted tool cannot be called either: the call is refused as an unknown tool.
      await assert.rejects(other.call('browser_cookie_list', {}), /Tool "browser_cookie_list" not found/);
    } finally {
      await other.close();
      await plain.close();
    }
  });

  test('a cookie set by the tool is read by the page and sent to the server; an httpOnly one only sent', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/plain` });
    const set = await ok(client, 'browser_cookie_set', { name: 'token', value: 'abc=123/xyz' });
    assert.match(set, /Set cookie token=abc=123\/xyz \(domain: 127\.0\.0\.1, path: \/, httpOnly: false/);
    await ok(client, 'browser_cookie_set', { name: 'secret', value: 's3', httpOnly: true, expires: Math.floor(Date.now() / 1000) + 3600 });
    assert.equal(await evaluate(client, '() => document.cookie'), 'token=abc=123/xyz');
    const header = await cookieHeaderSeen(client, echoed);
    assert.match(header!, /(^|; )token=abc=123\/xyz(;|$)/);
    assert.match(header!, /(^|; )secret=s3(;|$)/);
    const got = await ok(client, 'browser_cookie_get', { name: 'secret' });
    assert.match(got, /secret=s3 \(domain: 127\.0\.0\.1, path: \/, httpOnly: true, secure: false, sameSite: Lax, expires: \d{4}-/);
    await ok(client, 'browser_cookie_clear');
  });

  test('a cookie the page set is listed and got, and the domain and path filters apply', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/writer` });
    await ok(client, 'browser_cookie_set', { name: 'scoped', value: 'in app', path: '/app' });
    await ok(client, 'browser_cookie_set', { name: 'elsewhere', value: 'x', domain: 'example.com' });
    const all = await ok(client, 'browser_cookie_list');
    assert.match(all, /fromPage=page value \(domain: 127\.0\.0\.1, path: \/\)/);
    assert.match(all, /scoped=in app \(domain: 127\.0\.0\.1, path: \/app\)/);
    assert.match(all, /elsewhere=x \(domain: (\.)?example\.com, path: \/\)/);
    const local = await ok(client, 'browser_cookie_list', { domain: '127.0.0.1' });
    assert.doesNotMatch(local, /elsewhere/);
    assert.match(local, /fromPage/);
    const inApp = await ok(client, 'browser_cookie_list', { path: '/app' });
    assert.match(inApp, /scoped/);
    assert.doesNotMatch(inApp, /fromPage/);
    assert.match(await ok(client, 'browser_cookie_list', { domain: 'nowhere.test' }), /No cookies found/);
    assert.match(await ok(client, 'browser_cookie_get', { name: 'fromPage' }), /^### Result\nfromPage=page value \(domain: 127\.0\.0\.1, path: \/, httpOnly: false, secure: false, sameSite: Lax, expires: session\)/);
    assert.match(await ok(client, 'browser_cookie_get', { name: 'missing' }), /Cookie "missing" not found/);
  });

  test('delete removes one cookie from the page and the requests, clear removes them all', async () => {
    const deleted = await ok(client, 'browser_cookie_delete', { name: 'fromPage' });
    assert.match(deleted, /Deleted cookie fromPage=page value \(domain: 127\.0\.0\.1, path: \/\)/);
    assert.equal(await evaluate(client, '() => document.cookie'), '', 'the page no longer sees it (scoped lives on /app only)');
    assert.doesNotMatch((await cookieHeaderSeen(client, echoed))!, /fromPage/);
    assert.match(await ok(client, 'browser_cookie_delete', { name: 'scoped', path: '/' }), /No cookie "scoped" found with path \/; nothing was deleted/);
    assert.match(await ok(client, 'browser_cookie_list'), /scoped/, 'a path that does not match deletes nothing');
    assert.match(await ok(client, 'browser_cookie_clear'), /Deleted 2 cookies/);
    assert.match(await ok(client, 'browser_cookie_list'), /No cookies found/);
    await ok(client, 'browser_navigate', { url: `${pages.url}/app/page` });
    assert.equal(await evaluate(client, '() => document.cookie'), '');
    assert.equal(await cookieHeaderSeen(client, echoed), '');
  });

  test('a cookie the browser refuses is a tool error, not a silent success', async () => {
    const refused = await client.call('browser_cookie_set', { name: 'cross', value: '1', sameSite: 'None' });
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /refused cookie "cross"[\s\S]*sameSite "None" needs secure: true/);
    const past = await client.call('browser_cookie_set', { name: 'old', value: '1', expires: 1000 });
    assert.equal(past.isError, true);
    assert.match(resultText(past), /"expires" 1000 is in the past/);
    assert.match(await ok(client, 'browser_cookie_list'), /No cookies found/);
  });

  test('localStorage set by the tool is read by the page, the page\'s own is read by the tool, exactly', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/writer` });
    await ok(client, 'browser_localstorage_set', { key: 'tool key', value: TRICKY });
    assert.equal(await evaluate(client, '() => localStorage.getItem("tool key")'), TRICKY);
    const list = await ok(client, 'browser_localstorage_list');
    assert.match(list, /^### Result\n/);
    const lines = list.split('\n\n')[0].split('\n').slice(1);
    assert.deepEqual(lines.sort(), ['pageLocal=written by the page', `tool key=${JSON.stringify(TRICKY)}`]);
    assert.match(await ok(client, 'browser_localstorage_get', { key: 'pageLocal' }), /### Result\npageLocal=written by the page\n/);
    // A key with "=" is quoted so the line still splits where it should.
    await ok(client, 'browser_localstorage_set', { key: 'a=b', value: '' });
    assert.match(await ok(client, 'browser_localstorage_get', { key: 'a=b' }), /### Result\n"a=b"=\n/);
    assert.match(await ok(client, 'browser_localstorage_get', { key: 'nope' }), /localStorage key "nope" not found/);
  });

  test('localStorage delete and clear empty what the page sees', async () => {
    assert.match(await ok(client, 'browser_localstorage_delete', { key: 'pageLocal' }), /Deleted localStorage key "pageLocal"/);
    assert.equal(await evaluate(client, '() => localStorage.getItem("pageLocal")'), null);
    assert.match(await ok(client, 'browser_localstorage_delete', { key: 'pageLocal' }), /not found; nothing was deleted/);
    assert.match(await ok(client, 'browser_localstorage_clear'), /Deleted 2 localStorage items/);
    assert.equal(await evaluate(client, '() => localStorage.length'), 0);
    assert.match(await ok(client, 'browser_localstorage_list'), /No localStorage items found/);
  });

  test('sessionStorage set by the tool is read by the page and the page\'s own by the tool; delete and clear work', async () => {
    assert.match(await ok(client, 'browser_sessionstorage_list'), /### Result\npageSession=written by the page too\n/);
    await ok(client, 'browser_sessionstorage_set', { key: 'step', value: TRICKY });
    assert.equal(await evaluate(client, '() => sessionStorage.getItem("step")'), TRICKY);
    assert.equal(await evaluate(client, '() => localStorage.getItem("step")'), null, 'sessionStorage is not localStorage');
    const got = await ok(client, 'browser_sessionstorage_get', { key: 'step' });
    assert.ok(got.startsWith(`### Result\nstep=${JSON.stringify(TRICKY)}\n`), got);
    await ok(client, 'browser_sessionstorage_delete', { key: 'step' });
    assert.equal(await evaluate(client, '() => sessionStorage.getItem("step")'), null);
    assert.match(await ok(client, 'browser_sessionstorage_clear'), /Deleted 1 sessionStorage item\b/);
    assert.equal(await evaluate(client, '() => sessionStorage.length'), 0);
  });

  test('storage_state saves cookies and localStorage to a file that set_storage_state restores in a fresh browser', async () => {
    await ok(client, 'browser_navigate', { url: `${pages.url}/writer` });
    await ok(client, 'browser_cookie_set', { name: 'session', value: 'logged-in', httpOnly: true });
    await ok(client, 'browser_localstorage_set', { key: 'profile', value: TRICKY });
    const saved = await client.call('browser_storage_state', { filename: 'state/auth.json' });
    const text = resultText(saved);
    assert.match(text, /- \[Storage state\]\(\/[^)]+\/state\/auth\.json\)\n2 cookies, localStorage of 1 origin/);
    const state = JSON.parse(readFileSync(/\]\((\/[^)]+)\)/.exec(text)![1], 'utf8')) as {
      cookies: { name: string; value: string; httpOnly: boolean }[];
      origins: { origin: string; localStorage: { name: string; value: string }[] }[];
    };
    assert.ok(state.cookies.some((c) => c.name === 'session' && c.value === 'logged-in' && c.httpOnly));
    assert.ok(state.cookies.some((c) => c.name === 'fromPage' && c.value === 'page value'));
    assert.equal(state.origins[0].origin, pages.url);
    assert.ok(state.origins[0].localStorage.some((i) => i.name === 'profile' && i.value === TRICKY));
    // A remote client gets the file as a resource and hands it to another browser via --upload-root.
    const link = (saved.content as { type: string }[]).find((c): c is Link => c.type === 'resource_link');
    assert.ok(link, JSON.stringify(saved.content));
    const read = await client.client.readResource({ uri: link.uri });
    writeFileSync(join(uploadRoot, 'auth.json'), (read.contents[0] as { text: string }).text);

    const second = await connectClient(server.url);
    try {
      assert.notEqual(second.sessionId, client.sessionId);
      const blank = await second.call('browser_localstorage_list');
      assert.equal(blank.isError, true, 'a fresh browser starts on about:blank, which has no localStorage');
      assert.match(resultText(blank), /has no localStorage[\s\S]*Navigate to an http\(s\) page/);
      await ok(second, 'browser_navigate', { url: `${pages.url}/plain` });
      await ok(second, 'browser_cookie_set', { name: 'stale', value: 'goes away' });
      assert.equal(await evaluate(second, '() => localStorage.length'), 0);
      const restored = await ok(second, 'browser_set_storage_state', { filename: join(uploadRoot, 'auth.json') });
      assert.match(restored, /Restored 2 cookies and localStorage of 1 origin from/);
      assert.equal(await evaluate(second, '() => localStorage.getItem("profile")'), TRICKY, 'the open page sees the restored localStorage');
      await ok(second, 'browser_navigate', { url: `${pages.url}/plain` });
      assert.equal(await evaluate(second, '() => document.cookie'), 'fromPage=page value', 'the httpOnly cookie stays hidden, the stale one is gone');
      assert.equal(await evaluate(second, '() => localStorage.getItem("profile")'), TRICKY);
      const header = (await cookieHeaderSeen(second, echoed))!;
      assert.match(header, /(^|; )session=logged-in(;|$)/);
      assert.doesNotMatch(header, /stale/);
      assert.doesNotMatch(await ok(second, 'browser_tabs', { action: 'list' }), /^- 1:/m, 'the restore opened no tab');
    } finally {
      await second.close();
    }
  });

  test('set_storage_state refuses missing, unreadable and malformed files with clear errors', async () => {
    const missing = await client.call('browser_set_storage_state', { filename: 'no-such.json' });
    assert.equal(missing.isError, true);
    assert.match(resultText(missing), /File not found: no-such\.json/);
    const outside = await client.call('browser_set_storage_state', { filename: '/etc/passwd' });
    assert.equal(outside.isError, true);
    assert.match(resultText(outside), /NOT_ALLOWED|File access denied/);
    writeFileSync(join(uploadRoot, 'broken.json'), '{ not json');
    const broken = await client.call('browser_set_storage_state', { filename: join(uploadRoot, 'broken.json') });
    assert.equal(broken.isError, true);
    assert.match(resultText(broken), /broken\.json is not valid JSON/);
    writeFileSync(join(uploadRoot, 'odd.json'), JSON.stringify({ cookies: [{ name: 'x' }], origins: [{ origin: 'file:///etc', localStorage: [] }] }));
    const odd = await client.call('browser_set_storage_state', { filename: join(uploadRoot, 'odd.json') });
    assert.equal(odd.isError, true);
    assert.match(resultText(odd), /odd\.json is not a storage state file/);
    assert.match(resultText(odd), /cookies\[0\]\.value/);
    assert.match(resultText(odd), /"file:\/\/\/etc" is not an http\(s\) origin/);
    assert.match(await ok(client, 'browser_cookie_get', { name: 'session' }), /session=logged-in/, 'a refused restore changes nothing');
  });
});
