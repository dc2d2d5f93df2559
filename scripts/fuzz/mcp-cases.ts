// The /mcp properties, both eras: odd JSON-RPC bodies, odd or duplicate headers, and both at once.
import fc from 'fast-check';
import type { PageServer } from '../../test/helpers/pages.ts';
import { messagesOf, sendChecked, type RawRequest, type Reply } from './http.ts';
import type { Runner } from './run-property.ts';
import { ADMIN, HTTP_TIMEOUT_MS, TOKEN, V1, V2, closeModernBrowser, deleteRawSession, envelope, openRawSession, paramHeader, type Target } from './target.ts';
import { MATCH, MISSING, anyJson, deepNesting, headerText, oddNumber, oddString, serialize, wrongType } from './values.ts';

const TOOL_NAMES_SAFE = ['browser_list', 'browser_snapshot', 'browser_console_messages', 'browser_run_code_unsafe', 'no_such_tool', 'browser_close'];
const METHODS = ['initialize', 'notifications/initialized', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/read', 'resources/templates/list',
  'logging/setLevel', 'prompts/list', 'completion/complete', 'server/discover', 'notifications/cancelled', 'notifications/progress', 'sampling/createMessage'];
const VERSIONS = [V1, V2, '2025-06-18', '2025-03-26', '2024-11-05', '2099-01-01', '', 'latest', '2026-07-28 ', '2025-11-25, 2026-07-28'];

/** A header that is not what a client sends: left out, an odd value (or any Latin-1 text), or sent twice. */
function headerArb(good: fc.Arbitrary<string | typeof MISSING | typeof MATCH>, odd: fc.Arbitrary<string>): fc.Arbitrary<string | string[] | typeof MISSING | typeof MATCH> {
  return fc.oneof(
    { arbitrary: fc.constant(MISSING), weight: 1 },
    { arbitrary: odd, weight: 3 },
    { arbitrary: headerText, weight: 1 },
    { arbitrary: fc.tuple(good, odd).map(([a, b]) => (typeof a === 'string' ? [a, b] : [b, b])), weight: 1 },
  );
}

export interface McpCase {
  era: 'v1' | 'modern';
  method: string;
  headers: Record<string, HeaderValue>;
  body: { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'oversize'; over: number } | { kind: 'none' };
  chunked: boolean;
  /** Put the fuzz session's id into Mcp-Session-Id. */
  useSession: boolean;
}

function paramsArb(method: string, pages: PageServer, era: 'v1' | 'modern'): fc.Arbitrary<unknown> {
  const meta = era === 'modern'
    ? fc.oneof({ arbitrary: fc.constant(envelope()), weight: 6 }, { arbitrary: fc.constantFrom(...VERSIONS).map(envelope), weight: 2 }, { arbitrary: anyJson, weight: 1 }, { arbitrary: fc.constant(MISSING), weight: 1 })
    : fc.oneof({ arbitrary: fc.constant(MISSING), weight: 4 }, { arbitrary: anyJson, weight: 1 });
  const specific: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
    initialize: fc.record({
      protocolVersion: fc.oneof(fc.constantFrom(...VERSIONS), wrongType),
      capabilities: fc.oneof(fc.constant({}), anyJson),
      clientInfo: fc.oneof(fc.record({ name: oddString, version: oddString }), anyJson),
    }),
    'tools/call': fc.record({
      name: fc.oneof({ arbitrary: fc.constantFrom(...TOOL_NAMES_SAFE), weight: 4 }, { arbitrary: oddString, weight: 1 }, { arbitrary: wrongType, weight: 1 }),
      arguments: fc.oneof(fc.constant({}), fc.dictionary(fc.constantFrom('target', 'filename', 'depth', 'boxes', 'browser', 'level', 'all'), anyJson, { maxKeys: 3 }), wrongType),
    }),
    'resources/read': fc.record({ uri: fc.oneof(fc.constantFrom('browser-fleet://browser/x/y', 'browser-fleet://browser/../../../etc/passwd', 'file:///etc/passwd', `${pages.url}/fuzz`, 'browser-fleet://browser/%2e%2e/%2e%2e/etc/passwd'), oddString, wrongType) }),
    'logging/setLevel': fc.record({ level: fc.oneof(fc.constantFrom('debug', 'error', 'emergency'), oddString, wrongType) }),
    'notifications/cancelled': fc.record({ requestId: fc.oneof(fc.integer(), oddString, wrongType), reason: oddString }),
    'notifications/progress': fc.record({ progressToken: fc.oneof(fc.integer(), oddString), progress: oddNumber }),
  };
  const plausible = (Object.hasOwn(specific, method) ? specific[method] : fc.constant({})).chain((params) => meta.map((m) => ({ ...params, _meta: m })));
  return fc.oneof({ arbitrary: plausible, weight: 6 }, { arbitrary: fc.constant(MISSING), weight: 1 }, { arbitrary: wrongType, weight: 1 });
}

/** A JSON-RPC message, odd in its envelope: jsonrpc, id of every type, method, params. */
function messageArb(pages: PageServer, era: 'v1' | 'modern'): fc.Arbitrary<Record<string, unknown>> {
  const id = fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 1000 }), weight: 8 },
    { arbitrary: fc.constant(MISSING), weight: 1 },
    { arbitrary: fc.oneof(fc.constant(null), fc.double(), oddString, fc.boolean(), fc.array(anyJson, { maxLength: 2 }), fc.dictionary(oddString, anyJson, { maxKeys: 2 }), oddNumber, deepNesting), weight: 2 },
  );
  const jsonrpc = fc.oneof({ arbitrary: fc.constant('2.0'), weight: 12 }, { arbitrary: fc.constantFrom(MISSING, '1.0', '2', 2, null, '2.0 '), weight: 1 }, { arbitrary: oddString, weight: 1 });
  const method = fc.oneof({ arbitrary: fc.constantFrom(...METHODS), weight: 10 }, { arbitrary: oddString, weight: 1 }, { arbitrary: wrongType, weight: 1 });
  return fc.tuple(jsonrpc, id, method).chain(([j, i, m]) => paramsArb(typeof m === 'string' ? m : '', pages, era).map((params) => ({ jsonrpc: j, id: i, method: m, params })));
}

function bodyArb(pages: PageServer, era: 'v1' | 'modern'): fc.Arbitrary<McpCase['body']> {
  const message = messageArb(pages, era);
  return fc.oneof(
    { arbitrary: message.map((value) => ({ kind: 'json' as const, value })), weight: 8 },
    { arbitrary: fc.array(message, { maxLength: 3 }).map((value) => ({ kind: 'json' as const, value })), weight: 1 },
    { arbitrary: fc.tuple(message, fc.nat()).map(([value, cut]) => {
      const text = serialize(value);
      return { kind: 'text' as const, text: text.slice(0, cut % Math.max(1, text.length)) };
    }), weight: 2 },
    { arbitrary: fc.oneof(oddString, fc.constantFrom('', 'null', '[]', '{}', '"x"', '1', 'true', '\ufeff{}', '{"jsonrpc":"2.0",}', "{'a':1}", '{"a":1}{"b":2}', 'NaN')).map((text) => ({ kind: 'text' as const, text })), weight: 2 },
    { arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'bytes' as const, bytes })), weight: 1 },
    { arbitrary: fc.constantFrom(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]), new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])).map((bytes) => ({ kind: 'bytes' as const, bytes })), weight: 1 },
    { arbitrary: deepNesting.map((nest) => ({ kind: 'text' as const, text: nest.text })), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 1 << 20 }).map((over) => ({ kind: 'oversize' as const, over })), weight: 1 },
    { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
  );
}

type HeaderValue = string | string[] | typeof MISSING | typeof MATCH;

/**
 * The headers of one /mcp case: every header as a client would send it, then (when fuzzing
 * headers) one to three of them odd: left out, a wrong value or sent twice. One odd header at a
 * time gets past the cheap refusals; several at once test their order.
 */
export function mcpHeadersArb(target: Target, era: 'v1' | 'modern', fuzzHeaders: boolean): fc.Arbitrary<Record<string, HeaderValue>> {
  const port = new URL(target.base).port;
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  const browserParam = fc.oneof(
    fc.constantFrom('=?base64?!!!!?=', '=?base64??=', '=?base64?QQ?=', '=?base64?QQ=?=', '=?base64?/w==?=', `=?base64?${base64('\ud800')}?=`, '=?base64?', '?=', '=?base64?=?=', '=?BASE64?eA==?=', '=?base64?eA==', 'x', 'Q2h0b3l0ZWNhbm5vdGd1ZXNz'),
    fc.string({ unit: fc.constantFrom(...'ABCxyz019+/=?!'.split('')), maxLength: 24 }).map((payload) => `=?base64?${payload}?=`),
    fc.integer({ min: 10, max: 15 }).map((power) => `=?base64?${'QUFB'.repeat(2 ** power)}?=`),
    headerText,
  );
  const headers: Record<string, [HeaderValue, fc.Arbitrary<string>]> = {
    'content-type': ['application/json', fc.constantFrom('text/plain', 'application/json; charset=utf-16', 'application/jsonx', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*', 'application/json, text/plain', '')],
    accept: ['application/json, text/event-stream', fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html', '', 'application/json;q=0, text/event-stream;q=0')],
    authorization: [`Bearer ${TOKEN}`, fc.oneof(fc.constantFrom('Bearer wrong-token', `Basic ${base64(`x:${TOKEN}`)}`, 'Bearer', 'Bearer ', `bearer\t${TOKEN}`, `Bearer ${TOKEN} extra`, `Bearer  ${TOKEN}`, `Bearer ${ADMIN}`), headerText)],
    host: [`127.0.0.1:${port}`, fc.constantFrom('evil.example', `evil.example:${port}`, `localhost:${port}`, `[::1]:${port}`, '127.0.0.1:1', '', '127.0.0.1.', '[::1', `127.0.0.1:${port}:${port}`, 'user@127.0.0.1')],
    origin: [MISSING, fc.constantFrom('null', 'http://evil.example', `http://127.0.0.1:${port}`, `http://localhost:${port}`, 'http://127.0.0.1', 'file://', `http://127.0.0.1:${port}/path`, 'chrome-extension://abc')],
    'mcp-protocol-version': [era === 'v1' ? MISSING : V2, fc.constantFrom(...VERSIONS)],
    'mcp-method': [era === 'v1' ? MISSING : MATCH, fc.constantFrom(...METHODS, 'tools/cal', 'TOOLS/CALL')],
    'mcp-name': [era === 'v1' ? MISSING : MATCH, fc.constantFrom(...TOOL_NAMES_SAFE, 'browser_navigate')],
    'mcp-param-browser': [era === 'v1' ? MISSING : MATCH, browserParam],
    'mcp-session-id': [MISSING, fc.constantFrom('00000000-0000-0000-0000-000000000000', 'not-a-session', '../../sessions', '\xff\xfe', ' ')],
  };
  const good = Object.fromEntries(Object.entries(headers).map(([name, [value]]) => [name, value])) as Record<string, HeaderValue>;
  if (!fuzzHeaders) return fc.constant(good);
  const odd = (name: string): fc.Arbitrary<HeaderValue> => {
    const [value, wrong] = headers[name];
    return headerArb(fc.constant(value as string | typeof MISSING | typeof MATCH), wrong).filter((v) => v !== value);
  };
  return fc.uniqueArray(fc.constantFrom(...Object.keys(headers)), { minLength: 1, maxLength: 3 })
    .chain((names) => fc.tuple(...names.map((name) => odd(name).map((value) => [name, value] as const))))
    .map((pairs) => ({ ...good, ...Object.fromEntries(pairs) }) as Record<string, HeaderValue>);
}

export function mcpCaseArb(target: Target, era: 'v1' | 'modern', fuzz: { headers: boolean; body: boolean }): fc.Arbitrary<McpCase> {
  const plainBody = fc.constantFrom('tools/list', 'ping', 'resources/list', 'server/discover', 'initialize', 'tools/call').map((method) => {
    const params: Record<string, unknown> = method === 'initialize'
      ? { protocolVersion: V1, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } }
      : method === 'tools/call' ? { name: 'browser_list', arguments: {} } : {};
    if (era === 'modern') params._meta = envelope();
    return { kind: 'json' as const, value: { jsonrpc: '2.0', id: 7, method, params } };
  });
  return fc.record({
    era: fc.constant(era),
    method: fuzz.headers ? fc.oneof({ arbitrary: fc.constant('POST'), weight: 8 }, { arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'), weight: 2 }) : fc.constant('POST'),
    headers: mcpHeadersArb(target, era, fuzz.headers),
    body: fuzz.body ? bodyArb(target.pages, era) : plainBody,
    chunked: fc.boolean(),
    useSession: era === 'v1' ? fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }) : fc.constant(false),
  });
}

function bodyBytes(body: McpCase['body'], limit: number): { bytes?: Buffer; shown: unknown } {
  switch (body.kind) {
    case 'json': return { bytes: Buffer.from(serialize(body.value), 'utf8'), shown: body.value };
    case 'text': return { bytes: Buffer.from(body.text, 'utf8'), shown: body.text };
    case 'bytes': return { bytes: Buffer.from(body.bytes), shown: body.bytes };
    case 'oversize': {
      const head = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"';
      const tail = '"}}';
      const bytes = Buffer.alloc(limit + body.over, 'a');
      bytes.write(head, 0);
      bytes.write(tail, bytes.length - tail.length);
      return { bytes, shown: `<JSON of ${bytes.length} bytes, ${body.over} over the body limit>` };
    }
    case 'none': return { shown: '(none)' };
  }
}

/** Runs one /mcp case, then ends what it opened: sessions it initialized, browsers it opened. */
export async function runMcpCase(runner: Runner, state: { sessionId?: string }, c: McpCase): Promise<string> {
  const { target } = runner;
  if (c.era === 'v1' && c.useSession && !state.sessionId) state.sessionId = await openRawSession(target);
  const headers = { ...c.headers };
  if (c.useSession && state.sessionId) {
    const fuzzed = headers['mcp-session-id'];
    // The session's id, or next to an odd one, or with a letter more; any other odd id stays as it is.
    if (fuzzed === MISSING) headers['mcp-session-id'] = state.sessionId;
    else if (Array.isArray(fuzzed)) headers['mcp-session-id'] = [state.sessionId, ...fuzzed];
    else if (fuzzed === 'not-a-session') headers['mcp-session-id'] = `${state.sessionId}x`;
    if (headers['mcp-protocol-version'] === MISSING) headers['mcp-protocol-version'] = V1;
  }
  // Mirror the body into Mcp-Method, Mcp-Name and Mcp-Param-Browser, as a 2026-07-28 client does.
  const message = c.body.kind === 'json' && !Array.isArray(c.body.value) ? c.body.value as { method?: unknown; params?: { name?: unknown; arguments?: { browser?: unknown } } } : undefined;
  const mirrored: Record<string, unknown> = {
    'mcp-method': message?.method,
    'mcp-name': message?.method === 'tools/call' ? message.params?.name : undefined,
    'mcp-param-browser': message?.method === 'tools/call' ? message.params?.arguments?.browser : undefined,
  };
  for (const [name, value] of Object.entries(headers)) {
    if (value !== MATCH) continue;
    const body = mirrored[name];
    headers[name] = typeof body === 'string' ? (name === 'mcp-param-browser' ? paramHeader(body) : body) : MISSING;
  }
  const { bytes, shown } = bodyBytes(c.body, target.config.bodyLimit);
  const req: RawRequest = { method: c.method, path: '/mcp', headers: headers as RawRequest['headers'], body: bytes, chunked: c.chunked };
  if (c.method === 'GET' || c.method === 'HEAD') req.body = undefined;
  let reply: Reply | undefined;
  try {
    reply = await sendChecked(target.base, req, HTTP_TIMEOUT_MS, shown);
    return `HTTP ${reply.status} ${reply.body.slice(0, 160)}`;
  } finally {
    // Whatever the case opened: a session (initialize), a browser (a stateless browser_open), or the fuzz session it ended.
    const opened = reply?.headers['mcp-session-id'];
    if (typeof opened === 'string' && opened !== state.sessionId) await deleteRawSession(target, opened);
    for (const message of reply ? messagesOf(reply).messages : []) {
      const handle = (message as { result?: { structuredContent?: { browser?: unknown } } })?.result?.structuredContent?.browser;
      if (typeof handle === 'string') await closeModernBrowser(target, handle);
    }
    if (state.sessionId && (c.method === 'DELETE' || reply?.status === 404)) {
      const still = target.server.supervisor.get(state.sessionId);
      if (!still) state.sessionId = undefined;
    }
  }
}
