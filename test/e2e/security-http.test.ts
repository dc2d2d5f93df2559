import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const TOKEN_A = 'alpha-token-0123456789abcdef';
const TOKEN_B = 'bravo-token-0123456789abcdef';
const TOKEN_ADMIN = 'admin-token-0123456789abcdef';
const INIT = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

interface RawReply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One HTTP request with full control of the headers (fetch may not set Host). */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (options.chunked && options.body) {
      // No Content-Length: the limit must hold for a streamed body too.
      const body = Buffer.from(options.body);
      for (let at = 0; at < body.length; at += 16_384) req.write(body.subarray(at, at + 16_384));
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

const mcpHeaders = (token?: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...extra,
});

describe('security: HTTP front (tokens, Host, Origin, request hygiene)', () => {
  let server: TestServer;
  let tokensDir: string;
  let alice: TestClient;
  let mcp: string;

  before(async () => {
    tokensDir = mkdtempSync(join(tmpdir(), 'bf-tokens-'));
    const tokensFile = join(tokensDir, 'tokens');
    writeFileSync(tokensFile, `# clients\n\n${TOKEN_B}\n`);
    server = await startTestServer({
      authToken: [TOKEN_A], authTokensFile: tokensFile, adminToken: [TOKEN_ADMIN], bodyLimit: 64 * 1024, timeoutAction: 3000,
      allowedClientOrigins: ['https://trusted.example'],
    });
    mcp = `${server.url}/mcp`;
    alice = await connectClient(server.url, { token: TOKEN_A });
  });

  after(async () => {
    await alice?.close();
    await server?.close();
    if (tokensDir) rmSync(tokensDir, { recursive: true, force: true });
  });

  test('/healthz answers without a token', async () => {
    const reply = await raw(`${server.url}/healthz`);
    assert.equal(reply.status, 200);
  });

  test('/mcp without a token is 401 with WWW-Authenticate: Bearer and a JSON-RPC error', async () => {
    const reply = await raw(mcp, { method: 'POST', headers: mcpHeaders(), body: JSON.stringify(INIT) });
    assert.equal(reply.status, 401);
    assert.match(String(reply.headers['www-authenticate']), /^Bearer\b/);
    const body = JSON.parse(reply.body);
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.error.data.code, 'UNAUTHORIZED');
    assert.equal(server.supervisor.size, 1, 'no session was opened for the refused request');
  });

  test('a wrong token, a non-Bearer scheme and a token in the query string are all 401', async () => {
    const wrong = await raw(mcp, { method: 'POST', headers: mcpHeaders('not-a-real-token'), body: JSON.stringify(INIT) });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/);
    const basic = await raw(mcp, { method: 'POST', headers: { ...mcpHeaders(), authorization: `Basic ${Buffer.from(`x:${TOKEN_A}`).toString('base64')}` }, body: JSON.stringify(INIT) });
    assert.equal(basic.status, 401);
    const query = await raw(`${mcp}?access_token=${TOKEN_A}&token=${TOKEN_A}`, { method: 'POST', headers: mcpHeaders(), body: JSON.stringify(INIT) });
    assert.equal(query.status, 401);
    const logged = JSON.stringify(server.logs);
    assert.ok(!logged.includes(TOKEN_A) && !logged.includes('not-a-real-token'), 'tokens never reach the log');
  });

  test('admin endpoints /sessions and /metrics need a token too', async () => {
    for (const path of ['/sessions', '/metrics']) {
      const reply = await raw(`${server.url}${path}`);
      assert.equal(reply.status, 401, path);
    }
    const listed = await raw(`${server.url}/sessions`, { headers: { authorization: `Bearer ${TOKEN_A}` } });
    assert.equal(listed.status, 200);
    assert.match(listed.body, new RegExp(alice.sessionId));
  });

  test('/sessions lists and ends only the caller token\'s sessions; an --admin-token reaches all', async () => {
    const listedBy = async (token: string) => {
      const reply = await raw(`${server.url}/sessions`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(reply.status, 200);
      return (JSON.parse(reply.body) as { sessions: { id: string }[] }).sessions.map((s) => s.id);
    };
    const endAs = (token: string, id: string) => raw(`${server.url}/sessions/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    const bob = await connectClient(server.url, { token: TOKEN_B });
    try {
      assert.deepEqual(await listedBy(TOKEN_A), [alice.sessionId], 'A sees its own session only');
      assert.deepEqual(await listedBy(TOKEN_B), [bob.sessionId], 'B sees its own session only');
      assert.deepEqual((await listedBy(TOKEN_ADMIN)).sort(), [alice.sessionId, bob.sessionId].sort(), 'the admin token sees both');

      const refused = await endAs(TOKEN_B, alice.sessionId);
      assert.equal(refused.status, 404, "another token's session does not exist for B");
      assert.equal(JSON.parse(refused.body).error.data.code, 'SESSION_NOT_FOUND');
      assert.ok(server.supervisor.get(alice.sessionId), "A's session goes on");

      const ended = await endAs(TOKEN_ADMIN, bob.sessionId);
      assert.equal(ended.status, 200);
      assert.deepEqual(JSON.parse(ended.body), { ended: bob.sessionId });
      assert.equal(server.supervisor.get(bob.sessionId), undefined, 'the admin token ended B\'s session');
      assert.deepEqual(await listedBy(TOKEN_ADMIN), [alice.sessionId]);
    } finally {
      await bob.close();
    }
  });

  test('an --admin-token is a client token too', async () => {
    const admin = await connectClient(server.url, { token: TOKEN_ADMIN });
    try {
      assert.ok((await admin.client.listTools()).tools.length > 0);
    } finally {
      await admin.close();
    }
  });

  test('a token from --auth-tokens-file opens its own session', async () => {
    const bob = await connectClient(server.url, { token: TOKEN_B });
    try {
      assert.notEqual(bob.sessionId, alice.sessionId);
      const tools = await bob.client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'browser_navigate'));
    } finally {
      await bob.close();
    }
  });

  test("another token gets 404 for POST, GET and DELETE on a session, which goes on working", async () => {
    const headers = mcpHeaders(TOKEN_B, { 'mcp-session-id': alice.sessionId, 'mcp-protocol-version': '2025-11-25' });
    const post = await raw(mcp, { method: 'POST', headers, body: JSON.stringify(LIST) });
    assert.equal(post.status, 404);
    const get = await raw(mcp, { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } });
    assert.equal(get.status, 404);
    const del = await raw(mcp, { method: 'DELETE', headers });
    assert.equal(del.status, 404);
    assert.ok(server.supervisor.get(alice.sessionId), 'the session still exists');
    const tools = await alice.client.listTools();
    assert.ok(tools.tools.length > 0, 'the owner still uses it');
  });

  test('a Host header that is not an allowed host is 403 on every path but the probes, even with a valid token', async () => {
    const evil = await raw(mcp, { method: 'POST', headers: { ...mcpHeaders(TOKEN_A), host: `evil.example:${server.port}` }, body: JSON.stringify(LIST) });
    assert.equal(evil.status, 403);
    assert.equal(JSON.parse(evil.body).error.data.code, 'FORBIDDEN');
    for (const path of ['/sessions', '/browsers', '/metrics', '/admin/drain']) {
      const rebound = await raw(`${server.url}${path}`, { headers: { ...mcpHeaders(TOKEN_A), host: 'rebind.attacker.test' } });
      assert.equal(rebound.status, 403, `the Host check covers ${path}`);
    }
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`]) {
      const ok = await raw(`${server.url}/sessions`, { headers: { ...mcpHeaders(TOKEN_A), host } });
      assert.equal(ok.status, 200, host);
    }
    // Probes are exempt (load balancers' checks send no Host), and say nothing a page could use.
    const probe = await raw(`${server.url}/readyz`, { headers: { host: 'rebind.attacker.test' } });
    assert.equal(probe.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(probe.body)), ['ready']);
  });

  test('an Origin that is neither this server nor an allowed client origin is 403', async () => {
    const send = (origin: string) => raw(mcp, { method: 'POST', headers: mcpHeaders(TOKEN_A, { origin, 'mcp-session-id': alice.sessionId, 'mcp-protocol-version': '2025-11-25' }), body: JSON.stringify(LIST) });
    for (const origin of ['http://evil.example', `http://evil.example:${server.port}`, 'null', `http://127.0.0.1:${server.port + 1}`]) {
      const reply = await send(origin);
      assert.equal(reply.status, 403, origin);
    }
    for (const origin of [`http://127.0.0.1:${server.port}`, `http://localhost:${server.port}`, 'https://trusted.example']) {
      const reply = await send(origin);
      assert.equal(reply.status, 200, origin);
    }
  });

  test('a body over the limit is 413, declared or streamed, and the session is undisturbed', async () => {
    const big = JSON.stringify({ ...LIST, params: { padding: 'x'.repeat(100 * 1024) } });
    const headers = mcpHeaders(TOKEN_A, { 'mcp-session-id': alice.sessionId, 'mcp-protocol-version': '2025-11-25' });
    const declared = await raw(mcp, { method: 'POST', headers, body: big });
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.body).error.data.code, 'PAYLOAD_TOO_LARGE');
    const streamed = await raw(mcp, { method: 'POST', headers, body: big, chunked: true });
    assert.equal(streamed.status, 413);
    const tools = await alice.client.listTools();
    assert.ok(tools.tools.length > 0);
  });

  test('malformed JSON is a 400 parse error, with or without a session', async () => {
    const fresh = await raw(mcp, { method: 'POST', headers: mcpHeaders(TOKEN_A), body: '{"jsonrpc": "2.0", "id": 1, "method": ' });
    assert.equal(fresh.status, 400);
    assert.equal(JSON.parse(fresh.body).error.code, -32700);
    const inSession = await raw(mcp, { method: 'POST', headers: mcpHeaders(TOKEN_A, { 'mcp-session-id': alice.sessionId, 'mcp-protocol-version': '2025-11-25' }), body: 'not json at all' });
    assert.equal(inSession.status, 400);
    assert.equal(JSON.parse(inSession.body).error.code, -32700);
    assert.ok((await alice.client.listTools()).tools.length > 0, 'the session still works');
  });

  test('an unsupported MCP-Protocol-Version is 400 and the session goes on', async () => {
    const reply = await raw(mcp, { method: 'POST', headers: mcpHeaders(TOKEN_A, { 'mcp-session-id': alice.sessionId, 'mcp-protocol-version': '1999-01-01' }), body: JSON.stringify(LIST) });
    assert.equal(reply.status, 400);
    assert.match(reply.body, /Unsupported protocol version/);
    assert.ok((await alice.client.listTools()).tools.length > 0);
  });

  test('invalid tool arguments give an isError result naming the field, and the session goes on', async () => {
    const badUrl = await alice.call('browser_navigate', { url: 5 });
    assert.equal(badUrl.isError, true);
    assert.match(resultText(badUrl), /url/);
    const noTarget = await alice.call('browser_click', { element: 'a button' });
    assert.equal(noTarget.isError, true);
    assert.match(resultText(noTarget), /target/);
    const ok = await alice.call('browser_navigate', { url: 'data:text/html,<title>Still here</title><p>alive</p>' });
    assert.notEqual(ok.isError, true, resultText(ok));
    assert.match(resultText(ok), /Still here/);
  });
});

describe('security: start-up refusals', () => {
  test('binding a non-loopback address without a token refuses to start, naming --no-auth', async () => {
    await assert.rejects(startTestServer({ host: '0.0.0.0' }), /--host 0\.0\.0\.0 .*--auth-token.*--no-auth/s);
  });

  test('an empty or missing tokens file refuses to start, naming the option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bf-tokens-'));
    try {
      writeFileSync(join(dir, 'empty'), '# nothing yet\n\n');
      await assert.rejects(startTestServer({ authTokensFile: join(dir, 'empty') }), /--auth-tokens-file .*no tokens/);
      await assert.rejects(startTestServer({ authTokensFile: join(dir, 'missing') }), /--auth-tokens-file .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
