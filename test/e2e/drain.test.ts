import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText } from '../helpers/client.ts';
import { connectModern, modernRequest } from '../helpers/modern-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'token-user-0123456789';
const ADMIN = 'token-admin-0123456789';
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const initialize = (token: string) => ({
  method: 'POST',
  headers: { ...auth(token), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
});

/** A GET with a Host header of our choosing (fetch sends its own). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('drain', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ authToken: [USER], adminToken: [ADMIN], prewarm: 0 });
  });
  after(async () => {
    await server?.close();
  });

  test('only an admin token may drain; /readyz tells a probe without a token only the verdict', async () => {
    assert.equal((await fetch(`${server.url}/admin/drain`, { method: 'POST', headers: auth(USER) })).status, 403);
    assert.equal((await fetch(`${server.url}/admin/drain`, { headers: auth(USER) })).status, 403);
    assert.equal((await fetch(`${server.url}/admin/drain`, { method: 'POST' })).status, 401);
    const probe = await getWithHost(`${server.url}/readyz`, 'not-allowed.example');
    assert.equal(probe.status, 200, 'a health check without token or known Host gets an answer');
    assert.deepEqual(JSON.parse(probe.body), { ready: true });
    const detailed = await (await fetch(`${server.url}/readyz`, { headers: auth(USER) })).json() as { sessions?: unknown };
    assert.ok(detailed.sessions, 'with a token, the counts');
    assert.equal((await getWithHost(`${server.url}/mcp`, 'not-allowed.example')).status, 403, '/mcp still checks Host');
  });

  test('draining: new sessions and new browsers get 503 with Retry-After, existing ones go on until they end', async () => {
    const legacy = await connectClient(server.url, { token: USER });
    const modern = await connectModern(server.url, { token: USER });
    const handle = await modern.open();
    await legacy.call('browser_snapshot');

    const drained = await fetch(`${server.url}/admin/drain`, { method: 'POST', headers: auth(ADMIN) });
    assert.equal(drained.status, 200);
    assert.deepEqual({ ...(await drained.json() as object), since: undefined }, { draining: true, since: undefined, sessions: 1, browsers: 2 });

    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { ready: false, code: 'DRAINING' });

    const refused = await fetch(`${server.url}/mcp`, initialize(USER));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal((await refused.json() as { error: { data: { code: string } } }).error.data.code, 'DRAINING');

    const open = modernRequest('tools/call', { name: 'browser_open', arguments: {} }, { name: 'browser_open', headers: auth(USER) });
    const openRefused = await fetch(`${server.url}/mcp`, open);
    assert.equal(openRefused.status, 503, 'a stateless browser_open is refused at the HTTP level, so a balancer retries elsewhere');
    assert.equal(openRefused.headers.get('retry-after'), '5');

    const more = await legacy.call('browser_open');
    assert.equal(more.isError, true);
    assert.match(resultText(more), /draining[^\n]*\[DRAINING\]/, 'a session may not open more browsers either');

    assert.notEqual((await legacy.call('browser_snapshot')).isError, true, 'the session goes on');
    assert.notEqual((await modern.call('browser_snapshot', { browser: handle })).isError, true, 'the handle goes on');

    await modern.call('browser_close', { browser: handle });
    await legacy.close();
    const left = await (await fetch(`${server.url}/admin/drain`, { headers: auth(ADMIN) })).json() as { sessions: number; browsers: number };
    assert.deepEqual([left.sessions, left.browsers], [0, 0]);
    await modern.close();
  });
});
