import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../helpers/browsers.ts';
import { connectClient, resultText } from '../helpers/client.ts';
import { connectModern, modernRequest, modernText, type ModernClient } from '../helpers/modern-client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const A = 'token-a-0123456789';
const B = 'token-b-0123456789';
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('both protocol eras on one /mcp', () => {
  let server: TestServer;
  let pages: PageServer;
  let modern: ModernClient;

  before(async () => {
    pages = await startPageServer();
    pages.route('/page', '<!doctype html><title>Page</title><h1>Page</h1>');
    server = await startTestServer({ authToken: [A, B], prewarm: 0 });
    modern = await connectModern(server.url, { token: A });
  });
  after(async () => {
    await modern?.close();
    await server?.close();
    await pages?.close();
  });

  test('server/discover lists 2026-07-28 and 2025-11-25, and both eras list the same tools', async () => {
    const res = await fetch(`${server.url}/mcp`, { ...modernRequest('server/discover', {}), headers: { ...modernRequest('server/discover', {}).headers, ...auth(A) } });
    assert.equal(res.status, 200);
    const discovered = await res.json() as { result: { supportedVersions: string[]; capabilities: Record<string, unknown> } };
    assert.deepEqual(discovered.result.supportedVersions, ['2026-07-28', '2025-11-25']);
    assert.ok(discovered.result.capabilities.tools);
    const legacy = await connectClient(server.url, { token: A });
    try {
      const legacyTools = (await legacy.client.listTools()).tools;
      const modernTools = (await modern.client.listTools()).tools;
      assert.ok(modernTools.length > 20);
      assert.deepEqual(modernTools.map((t) => [t.name, t.inputSchema]), legacyTools.map((t) => [t.name, t.inputSchema]));
    } finally {
      await legacy.close();
    }
  });

  test('a 2026-07-28 call without a browser handle is a tool error that names browser_open', async () => {
    const result = await modern.call('browser_navigate', { url: `${pages.url}/page` });
    assert.equal(result.isError, true);
    assert.match(modernText(result), /no MCP session[^\n]*call browser_open first[^\n]*\[BROWSER_REQUIRED\]/);
  });

  test('two handles are two browsers: separate processes, pages and storage', async () => {
    const [one, two] = [await modern.open(), await modern.open()];
    assert.notEqual(one, two);
    try {
      await modern.call('browser_navigate', { browser: one, url: `${pages.url}/page` });
      await modern.call('browser_navigate', { browser: two, url: `${pages.url}/page` });
      await modern.call('browser_evaluate', { browser: one, function: '() => { localStorage.k = "one"; document.cookie = "c=one"; }' });
      const seen = await modern.text('browser_evaluate', { browser: two, function: '() => [localStorage.k ?? null, document.cookie]' });
      assert.match(seen, /\[\s*null,\s*""\s*\]/, 'the second browser sees nothing of the first');
      const mine = await modern.text('browser_evaluate', { browser: one, function: '() => localStorage.k' });
      assert.match(mine, /"one"/);
      const [l1, l2] = [one, two].map((h) => server.supervisor.browsers().find((lease) => lease.handle === h)!);
      assert.notEqual(l1.worker.pid, l2.worker.pid);
      const listed = await modern.call('browser_list');
      const handles = (listed.structuredContent as { browsers: { browser: string; url: string }[] }).browsers.map((b) => b.browser);
      assert.deepEqual(handles.sort(), [one, two].sort());
    } finally {
      await modern.call('browser_close', { browser: one });
      await modern.call('browser_close', { browser: two });
    }
  });

  test('a handle of token A answers token B exactly as a handle that never existed', async () => {
    const handle = await modern.open();
    const other = await connectModern(server.url, { token: B });
    try {
      const stolen = modernText(await other.call('browser_snapshot', { browser: handle }));
      const random = modernText(await other.call('browser_snapshot', { browser: randomBytes(18).toString('base64url') }));
      assert.match(stolen, /Unknown or expired browser handle[^\n]*browser_open/);
      assert.equal(stolen, random);
      assert.equal(modernText(await other.call('browser_close', { browser: handle })), random, 'nor can B close it');
      assert.deepEqual((await other.call('browser_list')).structuredContent, { browsers: [] }, 'B lists none of A\'s browsers');
      const ok = await modern.call('browser_snapshot', { browser: handle });
      assert.notEqual(ok.isError, true, 'the browser is still A\'s and still works');
      // A legacy session of token B cannot use it either.
      const legacyB = await connectClient(server.url, { token: B });
      try {
        assert.equal(resultText(await legacyB.call('browser_snapshot', { browser: handle })), random);
      } finally {
        await legacyB.close();
      }
    } finally {
      await other.close();
      await modern.call('browser_close', { browser: handle });
    }
  });

  test('an Mcp-Param-Browser header that disagrees with the body is refused with 400 and -32020', async () => {
    const handle = await modern.open();
    try {
      const send = (headers: Record<string, string>) => {
        const request = modernRequest('tools/call', { name: 'browser_snapshot', arguments: { browser: handle } }, { name: 'browser_snapshot', headers: { ...auth(A), ...headers } });
        return fetch(`${server.url}/mcp`, request);
      };
      for (const headers of [{ 'mcp-param-browser': 'someone-else' }, {}, { 'mcp-param-browser': '=?base64?!!!?=' }] as Record<string, string>[]) {
        const res = await send(headers);
        assert.equal(res.status, 400, JSON.stringify(headers));
        const body = await res.json() as { error: { code: number; message: string } };
        assert.equal(body.error.code, -32020);
        assert.match(body.error.message, /Mcp-Param-Browser/);
      }
      const encoded = `=?base64?${Buffer.from(handle).toString('base64')}?=`;
      for (const value of [handle, encoded]) {
        const res = await send({ 'mcp-param-browser': value });
        assert.equal(res.status, 200, `the header ${value} matches`);
        assert.doesNotMatch(await res.text(), /"isError":true/);
      }
    } finally {
      await modern.call('browser_close', { browser: handle });
    }
  });

  test('an unsupported protocol version gets 400 with -32022 and the supported list', async () => {
    const request = modernRequest('tools/list', {}, { version: '2099-01-01', headers: auth(A) });
    const res = await fetch(`${server.url}/mcp`, request);
    assert.equal(res.status, 400);
    const body = await res.json() as { error: { code: number; data?: { supported?: string[] } } };
    assert.equal(body.error.code, -32022);
    assert.ok(body.error.data?.supported?.includes('2026-07-28'), JSON.stringify(body.error));
  });

  test('a 2025-11-25 session has its own browser and may open more; /browsers lists them all and DELETE ends them', async () => {
    const legacy = await connectClient(server.url, { token: A });
    const opened = await legacy.call('browser_open');
    assert.match(resultText(opened), /also this session's own browser/);
    const own = (opened.structuredContent as { browser: string }).browser;
    const extra = (await legacy.call('browser_open', { width: 600, height: 500 })).structuredContent as { browser: string };
    await legacy.call('browser_navigate', { url: `${pages.url}/page` });
    assert.match(await legacy.text('browser_evaluate', { function: '() => location.pathname' }), /"\/page"/, 'calls without browser use the own browser');
    assert.match(await legacy.text('browser_evaluate', { browser: extra.browser, function: '() => [location.href, innerWidth]' }), /"about:blank",\s*600/);
    assert.match(await legacy.text('browser_evaluate', { browser: own, function: '() => location.pathname' }), /"\/page"/, 'the own browser by its handle');
    const res = await fetch(`${server.url}/browsers`, { headers: auth(A) });
    const { browsers } = await res.json() as { browsers: { handlePrefix: string; sessionId: string | null; own: boolean; token: string | null; url: string }[] };
    const ofSession = browsers.filter((b) => b.sessionId === legacy.sessionId);
    assert.deepEqual(ofSession.map((b) => [b.handlePrefix, b.own]).sort(), [[own.slice(0, 8), true], [extra.browser.slice(0, 8), false]].sort());
    assert.ok(ofSession.every((b) => b.token && /^[0-9a-f]{8}$/.test(b.token)), 'the token is shown as a fingerprint prefix');
    assert.ok(browsers.every((b) => !JSON.stringify(b).includes(own)), 'no full handle is shown');
    const bOnly = await (await fetch(`${server.url}/browsers`, { headers: auth(B) })).json() as { browsers: unknown[] };
    assert.deepEqual(bOnly.browsers, [], 'another token sees none of them');
    const ids = [own, extra.browser].map((handle) => server.supervisor.browsers().find((l) => l.handle === handle)!.id);
    const ended = Promise.all(ids.map((id) => nextEvent(server, 'browser.ended', (e) => e.id === id)));
    await legacy.close();
    assert.deepEqual((await ended).map((e) => e.reason), ['deleted', 'deleted']);
  });
});

describe('handles expire', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ idleTimeout: 1500, prewarm: 0 });
  });
  after(async () => {
    await server?.close();
  });

  test('a handle idle past --idle-timeout ends its browser, and then answers like an unknown one', async () => {
    const client = await connectModern(server.url);
    try {
      const handle = await client.open();
      const id = server.supervisor.browsers().find((lease) => lease.handle === handle)!.id;
      const ended = await nextEvent(server, 'browser.ended', (e) => e.id === id, 15_000);
      assert.equal(ended.reason, 'idle');
      const late = modernText(await client.call('browser_snapshot', { browser: handle }));
      const random = modernText(await client.call('browser_snapshot', { browser: 'never-existed-0123456789' }));
      assert.match(late, /Unknown or expired browser handle[^\n]*browser_open/);
      assert.equal(late, random);
    } finally {
      await client.close();
    }
  });
});

describe('caps, queue and recycling count browsers of both eras', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ maxBrowsers: 1, queueTimeout: 1500, prewarm: 0, reclaimIdleAfter: 0 });
  });
  after(async () => {
    await server?.close();
  });

  test('a browser opened by handle takes the one slot from a session, and its worker is recycled for the next handle', async () => {
    const modern = await connectModern(server.url);
    const legacy = await connectClient(server.url);
    try {
      const handle = await modern.open();
      const pid = server.supervisor.browsers().find((lease) => lease.handle === handle)!.worker.pid;
      const refused = await legacy.call('browser_snapshot');
      assert.equal(refused.isError, true);
      assert.match(resultText(refused), /No browser is free[^\n]*\[BROWSER_LIMIT\]/, 'the session waited for the slot the handle holds');
      await modern.call('browser_close', { browser: handle });
      const next = await modern.open();
      assert.notEqual(next, handle, 'a new handle');
      assert.equal(server.supervisor.browsers().find((lease) => lease.handle === next)!.worker.pid, pid, 'on the recycled worker');
      await modern.call('browser_close', { browser: next });
      assert.notEqual((await legacy.call('browser_snapshot')).isError, true, 'the session gets the slot once it is free');
    } finally {
      await legacy.close();
      await modern.close();
    }
  });
});
