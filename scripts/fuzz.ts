// A bounded fuzzer against a real server on loopback (issue #15, item 3). It starts a page server
// and a browser-fleet server in this process (real Chromium), then throws at it, with fast-check:
// malformed and oversized JSON-RPC bodies and wrong or duplicate headers in both protocol eras;
// wrong types and odd Unicode for every tool's arguments, generated from the tools' own JSON
// Schemas, through a 2025-11-25 session and as 2026-07-28 requests; and bad paths and methods on
// the ops and admin routes. Every reply is checked (no 5xx but the documented 503s, well-formed
// JSON-RPC, tool calls answered with an isError result or -32602 within their deadline), and so
// is the process (no uncaught exception or unhandled rejection, no browser.faulted event) and,
// at the end, a normal session and a normal stateless browser in both eras.
//
// Traffic goes only to 127.0.0.1: URL arguments point at the local page server or at schemes the
// server must refuse; browser_run_code_unsafe stays disabled (default caps).
//
// Usage: npm run fuzz -- [--cases N] [--seed S] [--budget-sec T] [--full-waits] [--verbose]
//   --cases N      runs of each property (7 HTTP ones, one per tool and era, non-object arguments
//                  per era, browser_run_code_unsafe: 62 with 26 tools); default 20
//   --seed S       fast-check seed (each property derives its own from it); default: random, printed
//   --budget-sec T stop starting new cases after T seconds, shared fairly among properties; default 1800
//   --full-waits   let browser_wait_for wait its full 30 s (by default `time` stays small)
//   --verbose      print every case with its outcome
// Exits 1 when an invariant failed; prints the cases of each property, and each failure with its
// minimal counterexample, the property's seed and the fast-check path to replay it. The short form
// is test/e2e/fuzz.test.ts. This file is long because it is one tool (values, HTTP, generators,
// properties, CLI); split it along those lines when it grows.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { parseConfig, type Config } from '../src/config.ts';
import { toolCatalog } from '../src/front/tool-calls.ts';
import { normalizeLegacyArgs, toolTimeoutMs, type Tool } from '../src/tools/tool.ts';
import { connectClient, resultText } from '../test/helpers/client.ts';
import { connectModern, modernText } from '../test/helpers/modern-client.ts';
import { startPageServer, type PageServer } from '../test/helpers/pages.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';

// ---------------------------------------------------------------------------------------------
// Options and report

export interface FuzzOptions {
  /** Runs of each property. */
  cases: number;
  seed: number;
  /** No new case starts after this many ms from the start (a case in flight finishes). */
  budgetMs?: number;
  /** Let browser_wait_for's `time` reach its 30 s maximum (slow); off: at most about 1 s. */
  fullWaits?: boolean;
  /** Progress lines; none by default. */
  log?: (line: string) => void;
  /** Also log every case with its outcome. */
  verbose?: boolean;
}

/** One property that failed: its minimal counterexample as fast-check shrank it. */
export interface FuzzFailure {
  property: string;
  seed: number;
  /** fast-check's replay path (pass with the seed to fc.assert to rerun only this case). */
  path: string;
  /** Cases run before the failure. */
  runs: number;
  counterexample: string;
  /** What was wrong with the reply, the request sent and what came back. */
  problem: string;
}

export interface FuzzReport {
  seed: number;
  /** Cases run, by property. */
  cases: Record<string, number>;
  totalCases: number;
  failures: FuzzFailure[];
  /** Uncaught exceptions and unhandled rejections in this process while fuzzing. */
  uncaught: string[];
  /** browser.faulted events, with the property and the case that was running. */
  faulted: string[];
  /** What went wrong with the normal sessions afterwards, if anything. */
  afterwards: string[];
  /** Tool errors the server calls INTERNAL (or a crash), by tool and message, with a count and an example (for reading, not failing). */
  notes: Record<string, { count: number; example: string }>;
  /** Distinct messages the server logged at level error or above, with counts (for reading, not failing). */
  serverErrors: Record<string, number>;
  ms: number;
}

export function reportFailed(report: FuzzReport): boolean {
  return report.failures.length > 0 || report.uncaught.length > 0 || report.faulted.length > 0 || report.afterwards.length > 0;
}

/** The report as lines for a terminal or a failed test. */
export function formatReport(report: FuzzReport): string {
  const lines = [`fuzz: seed ${report.seed}, ${report.totalCases} cases in ${(report.ms / 1000).toFixed(1)} s`];
  // Cases by property, several to a line.
  const counts = Object.entries(report.cases).map(([name, runs]) => `${name}: ${runs}`);
  for (let at = 0; at < counts.length; at += 4) lines.push(`  ${counts.slice(at, at + 4).join(', ')}`);
  for (const failure of report.failures) {
    const path = failure.path.length > 200 ? `${failure.path.slice(0, 200)}… (${failure.path.length} chars)` : failure.path;
    lines.push('', `FAILED ${failure.property} after ${failure.runs} cases (seed ${failure.seed}, path "${path}")`);
    lines.push(`  minimal counterexample: ${failure.counterexample}`);
    lines.push(...failure.problem.split('\n').map((line) => `  ${line}`));
  }
  for (const error of report.uncaught) lines.push('', `UNCAUGHT in the server process: ${error}`);
  for (const fault of report.faulted) lines.push('', `WORKER FAULTED: ${fault}`);
  for (const problem of report.afterwards) lines.push('', `AFTERWARDS: ${problem}`);
  const notes = Object.entries(report.notes);
  if (notes.length) lines.push('', 'tool errors the server calls internal (for reading):', ...notes.map(([key, note]) => `  ${note.count} x ${key}\n      e.g. arguments ${note.example}`));
  const logged = Object.entries(report.serverErrors);
  if (logged.length) lines.push('', 'server log lines at level error or above (for reading):', ...logged.map(([msg, n]) => `  ${n} x ${msg}`));
  lines.push('', reportFailed(report) ? 'fuzz: FAILED' : 'fuzz: all invariants held');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Values: JSON with raw tokens, odd strings and numbers, printing without megabytes

/** Text put into a JSON body verbatim: numbers JSON.stringify cannot write (1e999), deep nesting. */
export class Raw {
  constructor(readonly text: string) {}
}
/** A property left out of an object (a JSON-RPC id or jsonrpc that is missing). */
export const MISSING = Symbol('missing');

/**
 * Longest body text the fuzzer builds, in UTF-16 units: 8 times the default body limit. A value
 * whose text would be longer (2,000 copies of a 1 MB string, say) is cut off there: the server
 * must refuse such a body with 413 whatever its end, and building it whole took gigabytes of
 * this process's heap (the out-of-memory of the first long runs).
 */
export const SERIALIZED_LIMIT = 32 * 1024 * 1024;
const FULL = Symbol('full');

/** JSON text of `value`, Raw tokens verbatim, MISSING properties left out; cut off after `limit` units. */
export function serialize(value: unknown, limit = SERIALIZED_LIMIT): string {
  const pieces: string[] = [];
  let length = 0;
  const put = (text: string) => {
    pieces.push(text);
    length += text.length;
    if (length > limit) throw FULL;
  };
  const write = (item: unknown): void => {
    if (item instanceof Raw) return put(item.text);
    if (Array.isArray(item)) {
      put('[');
      item.forEach((element, at) => {
        if (at > 0) put(',');
        write(element === MISSING ? null : element);
      });
      return put(']');
    }
    if (item !== null && typeof item === 'object') {
      put('{');
      let first = true;
      for (const [key, field] of Object.entries(item)) {
        if (field === MISSING) continue;
        put(`${first ? '' : ','}${JSON.stringify(key)}:`);
        first = false;
        write(field);
      }
      return put('}');
    }
    put(JSON.stringify(item) ?? 'null');
  };
  try {
    write(value);
  } catch (error) {
    if (error !== FULL) throw error;
  }
  const text = pieces.join('');
  return text.length > limit ? text.slice(0, limit) : text;
}

/** A short, printable rendering of any generated value: long strings and Raw tokens summarized. */
function show(value: unknown, depth = 0): string {
  if (depth > 6) return '…';
  if (value === MISSING) return '<missing>';
  if (value === MATCH) return '<as the body>';
  if (value instanceof Raw) return value.text.length > 80 ? `<raw ${value.text.length} chars: ${JSON.stringify(value.text.slice(0, 40))}…>` : `<raw ${value.text}>`;
  if (typeof value === 'string') {
    return value.length > 120 ? `<string of ${value.length} UTF-16 units: ${JSON.stringify(value.slice(0, 40))}…>` : JSON.stringify(value);
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes: ${JSON.stringify(Buffer.from(value.subarray(0, 40)).toString('latin1'))}${value.length > 40 ? '…' : ''}>`;
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map((item) => show(item, depth + 1));
    return `[${items.join(', ')}${value.length > 8 ? `, … (${value.length} items)` : ''}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const parts = entries.slice(0, 12).map(([k, v]) => `${JSON.stringify(k.length > 60 ? `${k.slice(0, 40)}…(${k.length})` : k)}: ${show(v, depth + 1)}`);
    return `{${parts.join(', ')}${entries.length > 12 ? `, … (${entries.length} keys)` : ''}}`;
  }
  return typeof value === 'number' && Object.is(value, -0) ? '-0' : String(value);
}

const ODD_CONSTANTS = [
  '', '\0', 'a\0b', '\u202e\u0645\u0631\u062d\u0628\u0627', '\u200f\u200e', '\ufeff', '\uffff\ufffe', '\ud800', '\udc00x', 'x\ud83d',
  '\u{1F469}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}', '\u{1F600}', 'e\u0301\u0301\u0301', '\u0000\u0001\u001f\u007f', '\r\n\r\n',
  '%00', '%ZZ', '%2e%2e%2f', '../../../../etc/passwd', '/etc/passwd', '\\\\?\\C:\\', '${7*7}', '{{7*7}}', '"\'<>&', '<script>alert(1)</script>',
  'null', 'undefined', 'NaN', 'Infinity', '-1', '1e999', '__proto__', 'constructor', 'toString',
];
/** Repeated characters, 1 to 2^20 of them: 1 MB strings that shrink by halving. */
const hugeString = fc.tuple(fc.constantFrom('a', '\u{1F600}', '\u202e', '\0', '\ud800', 'e\u0301'), fc.integer({ min: 0, max: 20 }))
  .map(([unit, power]) => unit.repeat(2 ** power));
const loneSurrogates = fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 8 }).map((codes) => String.fromCharCode(...codes));

/** Strings a server must survive: any code point, graphemes, lone surrogates, NUL, RTL, emoji, 1 MB. */
const oddString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary' }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme' }), weight: 2 },
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.constantFrom(...ODD_CONSTANTS), weight: 3 },
  { arbitrary: loneSurrogates, weight: 1 },
  { arbitrary: hugeString, weight: 1 },
);

const ODD_NUMBERS = [0, -0, -1, 1, 0.5, -0.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, 2 ** 31, -(2 ** 31), 2 ** 32, 1e21, 1e-7];
const RAW_NUMBERS = ['1e999', '-1e999', '-0', '1E400', '0.' + '0'.repeat(400) + '1', '123456789012345678901234567890', '-9007199254740993', '1.0'];
/** Numbers: negative, fractional, beyond 2^53, and tokens that parse to Infinity or lose precision. */
const oddNumber: fc.Arbitrary<number | Raw> = fc.oneof(
  fc.constantFrom(...ODD_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(...RAW_NUMBERS).map((text) => new Raw(text)),
);

/** Arbitrary JSON, odd leaves included, a few levels deep. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), oddNumber, oddString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddString, tie('value'), { maxKeys: 4 })),
})).value;

/** Nesting deeper than any reasonable recursion: `[[[…]]]` or `{"a":{"a":…}}`, 2^k levels. */
const deepNesting = fc.tuple(fc.boolean(), fc.integer({ min: 4, max: 17 }))
  .map(([arrays, power]) => {
    const depth = 2 ** power;
    return new Raw(arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
  });

/** A value of the wrong kind where a schema wants `type`: never a string, so a `url` never becomes a host name. */
const wrongType = fc.oneof(fc.constant(null), fc.boolean(), oddNumber, fc.array(anyJson, { maxLength: 3 }), fc.dictionary(oddString, anyJson, { maxKeys: 3 }), deepNesting);

// ---------------------------------------------------------------------------------------------
// HTTP: one request with full control of method, path, headers (duplicates too) and framing

interface RawRequest {
  method: string;
  path: string;
  /** Header values; an array sends the header once per value. MISSING: leave it out (Host included). */
  headers: Record<string, string | string[] | typeof MISSING>;
  body?: Buffer;
  /** Stream the body in 16 KB chunks without Content-Length. */
  chunked?: boolean;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The reply was an event stream left open (GET /mcp): read up to its headers only. */
  stream?: boolean;
}

class NotSendable extends Error {}

/** Sends one request on a connection of its own; rejects after `timeoutMs` (a hang) or when nothing came back. */
function send(base: string, req: RawRequest, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    let settled = false;
    const finish = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const signal = AbortSignal.timeout(timeoutMs);
    const hang = () => new Error(`no complete reply within ${timeoutMs} ms (a hang)`);
    let request: ReturnType<typeof httpRequest>;
    try {
      request = httpRequest({
        host: url.hostname, port: url.port, method: req.method, path: req.path, agent: false,
        // No `host` key: the usual Host; `host: MISSING`: none at all (Node's server answers that with a bare 400).
        setHost: !('host' in req.headers), signal,
      });
      for (const [name, value] of Object.entries(req.headers)) if (value !== MISSING) request.setHeader(name, value);
      if (req.body && !req.chunked) request.setHeader('content-length', String(req.body.length));
    } catch (error) {
      reject(new NotSendable((error as Error).message));
      return;
    }
    request.on('response', (res) => {
      const type = String(res.headers['content-type'] ?? '');
      if (req.method === 'GET' && type.includes('text/event-stream')) {
        finish(() => resolve({ status: res.statusCode!, headers: res.headers, body: '', stream: true }));
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(() => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })));
      res.on('error', (error) => finish(() => reject(signal.aborted ? hang() : new Error(`reply cut off: ${error.message}`))));
    });
    request.on('error', (error) => {
      if (signal.aborted) return finish(() => reject(hang()));
      // The server may answer (413) and close before a large body is written: wait a moment for that answer.
      setTimeout(() => finish(() => reject(new Error(`no reply: ${error.message}`))), 200);
    });
    if (req.body && req.chunked) {
      for (let at = 0; at < req.body.length; at += 16_384) request.write(req.body.subarray(at, at + 16_384));
      request.end();
    } else {
      request.end(req.body);
    }
  });
}

/** The first line of a request and its headers, shortened, for a report. */
function describeRequest(req: RawRequest, body?: unknown): string {
  const headers = Object.entries(req.headers).filter(([, v]) => v !== MISSING).map(([k, v]) => `${k}: ${show(v)}`);
  const length = req.body ? `${req.body.length} bytes${req.chunked ? ', chunked' : ''}` : 'no body';
  return `${req.method} ${show(req.path)} {${headers.join('; ')}} body (${length}): ${body === undefined ? show(req.body?.toString('utf8') ?? '') : show(body)}`;
}

function describeReply(reply: Reply): string {
  const type = reply.headers['content-type'] ?? '(no content-type)';
  const body = reply.body.length > 800 ? `${JSON.stringify(reply.body.slice(0, 800))}… (${reply.body.length} chars)` : JSON.stringify(reply.body);
  return `HTTP ${reply.status} ${type}${reply.stream ? ' (event stream, left open)' : ''}: ${body}`;
}

/** 503 codes the docs promise; every other 5xx is a defect. */
const DOCUMENTED_503 = new Set(['SESSION_LIMIT', 'BROWSER_LIMIT', 'LOW_MEMORY', 'SHUTTING_DOWN', 'DRAINING']);

/** The JSON-RPC messages of a reply: one JSON body, or the data of each event of a stream. */
function messagesOf(reply: Reply): { messages: unknown[]; problem?: string } {
  const type = String(reply.headers['content-type'] ?? '');
  if (type.includes('text/event-stream')) {
    const messages: unknown[] = [];
    for (const event of reply.body.split(/\r?\n\r?\n/)) {
      const data = event.split(/\r?\n/).filter((line) => line.startsWith('data:')).map((line) => line.slice(5).replace(/^ /, '')).join('\n');
      if (!data) continue;
      try {
        messages.push(JSON.parse(data));
      } catch {
        return { messages, problem: `an event's data is not JSON: ${show(data)}` };
      }
    }
    return { messages };
  }
  if (type.includes('json')) {
    try {
      const parsed: unknown = JSON.parse(reply.body);
      return { messages: Array.isArray(parsed) ? parsed : [parsed] };
    } catch {
      return { messages: [], problem: 'the body says JSON but does not parse' };
    }
  }
  return { messages: [] };
}

/** Why `message` is not a well-formed JSON-RPC 2.0 message, if it is not. */
function malformed(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'not an object';
  const m = message as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if ('error' in m) {
    if (!(m.id === null || typeof m.id === 'string' || typeof m.id === 'number')) return 'error response id is not a string, number or null';
    const error = m.error as Record<string, unknown> | null;
    if (!error || typeof error !== 'object') return 'error is not an object';
    if (!Number.isInteger(error.code)) return 'error.code is not an integer';
    if (typeof error.message !== 'string') return 'error.message is not a string';
    if ('result' in m) return 'both result and error';
    return undefined;
  }
  if ('result' in m) {
    if (!(typeof m.id === 'string' || typeof m.id === 'number')) return 'result response id is not a string or number';
    if (m.result === null || typeof m.result !== 'object') return 'result is not an object';
    return undefined;
  }
  if (typeof m.method === 'string') return undefined; // a notification or request from the server
  return 'neither a response nor a request';
}

/** Problems with any reply: a 5xx that is not a documented 503, a body that lies about being JSON, a malformed message, a leak. */
function replyProblems(reply: Reply, req: RawRequest): string[] {
  const problems: string[] = [];
  // A HEAD reply has the headers of a GET and no body.
  const { messages, problem } = req.method === 'HEAD' ? { messages: [] } : messagesOf(reply);
  const path = req.path;
  if (problem) problems.push(problem);
  if (reply.status >= 500) {
    const body = messages[0] as { error?: { data?: { code?: string } }; code?: string } | undefined;
    const code = body?.error?.data?.code ?? body?.code;
    if (!(reply.status === 503 && code && DOCUMENTED_503.has(code))) problems.push(`HTTP ${reply.status}${code ? ` (${code})` : ''} is not a documented 503`);
  }
  const isMcp = path.split('?')[0] === '/mcp';
  if (isMcp) {
    for (const message of messages) {
      const why = malformed(message);
      if (why) problems.push(`malformed JSON-RPC message (${why}): ${show(message)}`);
    }
    // A refusal of an MCP request (POST, GET, DELETE) is a JSON-RPC error body, except Node's own
    // bare answers to broken HTTP (400 without Host, 431). Other methods get the router's plain 404.
    const bare = reply.body.length === 0 && (reply.status === 400 || reply.status === 431);
    const mcpMethod = ['POST', 'GET', 'DELETE'].includes(req.method);
    if (reply.status >= 400 && !bare && mcpMethod && messages.length === 0 && !problem) problems.push(`an HTTP ${reply.status} on /mcp without a JSON-RPC error body`);
  }
  if (/root:x:0:0:/.test(reply.body)) problems.push('the reply contains /etc/passwd');
  return problems;
}

class CaseFailure extends Error {}

/** Sends `req`, throws a CaseFailure naming the request and reply when anything about it is wrong. */
async function sendChecked(base: string, req: RawRequest, timeoutMs: number, body?: unknown): Promise<Reply> {
  let reply: Reply;
  try {
    reply = await send(base, req, timeoutMs);
  } catch (error) {
    if (error instanceof NotSendable) throw error;
    throw new CaseFailure(`${(error as Error).message}\nrequest: ${describeRequest(req, body)}`);
  }
  const problems = replyProblems(reply, req);
  if (problems.length) throw new CaseFailure(`${problems.join('; ')}\nrequest: ${describeRequest(req, body)}\nreply: ${describeReply(reply)}`);
  return reply;
}

// ---------------------------------------------------------------------------------------------
// The target: servers, tokens, sessions

const TOKEN = 'fuzz-client-token-0123456789';
const ADMIN = 'fuzz-admin-token-0123456789';
const V1 = '2025-11-25';
const V2 = '2026-07-28';
/** Slack over a call's own deadline before it counts as a hang: a browser start, a busy 2-core machine. */
const HANG_SLACK_MS = 20_000;
const HTTP_TIMEOUT_MS = 20_000;

/**
 * The server under test: default caps (no browser_run_code_unsafe) and body limit; tokens, so the
 * bearer check is fuzzed too; short deadlines and queue wait, so a case takes seconds at most.
 */
const SERVER_CONFIG = {
  authToken: [TOKEN, ADMIN], adminToken: [ADMIN], maxBrowsers: 4, queueTimeout: 2000, timeoutAction: 1500, timeoutNavigation: 5000, logLevel: 'warn' as const,
};

const FIXTURE = `<!doctype html><title>Fuzz</title><h1>Fuzz page</h1>
<form onsubmit="event.preventDefault(); document.title = 'Submitted'">
  <label>Name <input id="name"></label> <label><input type="checkbox" id="agree"> Agree</label>
  <select id="pick" aria-label="Pick"><option>one</option><option>two</option></select>
  <input type="file" id="file" aria-label="File"> <input type="range" id="slide" aria-label="Slide">
  <textarea id="notes" aria-label="Notes"></textarea> <button type="submit">Go</button>
</form>
<a href="/fuzz?next">Next</a> <div id="drop" style="width:50px;height:50px">Drop here</div>
<script>console.log('fuzz page ready'); console.error('a console error');</script>`;

interface Target {
  pages: PageServer;
  server: TestServer;
  config: Config;
  base: string;
  tools: Tool[];
}

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A 2025-11-25 session opened with raw requests, as the SDK client would. */
async function openRawSession(target: Target): Promise<string> {
  const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: V1, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } };
  const reply = await sendChecked(target.base, { method: 'POST', path: '/mcp', headers: { ...jsonHeaders, ...auth() }, body: Buffer.from(JSON.stringify(init)) }, HTTP_TIMEOUT_MS);
  const id = reply.headers['mcp-session-id'];
  if (reply.status !== 200 || typeof id !== 'string') throw new Error(`initialize failed: ${describeReply(reply)}`);
  const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
  await sendChecked(target.base, { method: 'POST', path: '/mcp', headers: { ...jsonHeaders, ...auth(), 'mcp-session-id': id, 'mcp-protocol-version': V1 }, body: Buffer.from(JSON.stringify(initialized)) }, HTTP_TIMEOUT_MS);
  return id;
}

async function deleteRawSession(target: Target, id: string): Promise<void> {
  await send(target.base, { method: 'DELETE', path: '/mcp', headers: { ...auth(), 'mcp-session-id': id, 'mcp-protocol-version': V1 } }, HTTP_TIMEOUT_MS).catch(() => {});
}

/** The `_meta` envelope of a 2026-07-28 request. */
function envelope(version = V2): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
}

/** An `Mcp-Param-*` value for `value`: itself when a header can carry it, else `=?base64?…?=`. */
function paramHeader(value: string): string {
  return /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !value.startsWith('=?base64?') ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

let nextId = 1;

/** One tools/call in either era, raw, with the request and reply checked; returns its JSON-RPC response. */
async function callTool(target: Target, era: { sessionId: string } | { modern: true }, name: string, args: unknown, timeoutMs: number): Promise<{ response: Record<string, unknown>; reply: Reply; req: RawRequest; message: unknown }> {
  const id = nextId++;
  let headers: RawRequest['headers'];
  let message: Record<string, unknown>;
  if ('sessionId' in era) {
    headers = { ...jsonHeaders, ...auth(), 'mcp-session-id': era.sessionId, 'mcp-protocol-version': V1 };
    message = { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
  } else {
    headers = { ...jsonHeaders, ...auth(), 'mcp-protocol-version': V2, 'mcp-method': 'tools/call', 'mcp-name': name };
    const browser = (args as { browser?: unknown } | null)?.browser;
    if (typeof browser === 'string') headers['mcp-param-browser'] = paramHeader(browser);
    message = { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: envelope() } };
  }
  const text = serialize(message);
  const req: RawRequest = { method: 'POST', path: '/mcp', headers, body: Buffer.from(text, 'utf8') };
  const reply = await sendChecked(target.base, req, timeoutMs, message);
  const { messages } = messagesOf(reply);
  // A body over the limit is refused before any session or tool sees it, as documented; headers
  // past Node's limit (16 KB) are refused by Node itself (a huge `browser` mirrored into Mcp-Param-Browser).
  if (reply.status === 413 && req.body!.length > target.config.bodyLimit) return { response: { refused: 413 }, reply, req, message };
  if (reply.status === 431 && JSON.stringify(headers).length > 16_000) return { response: { refused: 431 }, reply, req, message };
  const response = messages.find((m) => (m as { id?: unknown }).id === id) as Record<string, unknown> | undefined;
  if (!response) throw new CaseFailure(`no JSON-RPC response to the call\nrequest: ${describeRequest(req, message)}\nreply: ${describeReply(reply)}`);
  return { response, reply, req, message };
}

function textOf(response: Record<string, unknown>): string {
  const content = (response.result as { content?: { type: string; text?: string }[] } | undefined)?.content ?? [];
  return content.filter((c) => c.type === 'text').map((c) => c.text ?? '').join('\n');
}

// ---------------------------------------------------------------------------------------------
// Tool arguments, from each tool's JSON Schema

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  additionalProperties?: boolean | Schema;
  minimum?: number;
  maximum?: number;
}

/** encodeURIComponent that takes lone surrogates too (as U+FFFD). */
function encodeOdd(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/gu, '\ufffd'));
}

/** Where generated values may point: the local page server, or schemes the server must refuse. */
function urlArb(pages: PageServer): fc.Arbitrary<string> {
  const local = fc.tuple(fc.constantFrom('/fuzz', '/fuzz?next', '/missing', '/', '/fuzz#x'), fc.oneof(fc.constant(''), oddString.map(encodeOdd), fc.constantFrom('?q=\u{1F600}', '/%2e%2e/%2e%2e/etc/passwd', '?' + 'a'.repeat(70_000))))
    .map(([path, suffix]) => `${pages.url}${path}${suffix}`);
  const refused = fc.constantFrom(
    'file:///etc/passwd', 'file:///etc/hostname', 'FILE:///etc/passwd', 'chrome://version', 'chrome://settings', 'chrome-extension://abcdefghijklmnop/x.html',
    'javascript:alert(1)', 'JaVaScRiPt:void(0)', 'view-source:file:///etc/passwd', 'devtools://devtools/bundled/inspector.html',
    'about:config', 'about:version', 'filesystem:http://127.0.0.1/temporary/x', 'ftp://127.0.0.1/', 'blob:http://127.0.0.1/x', 'ws://127.0.0.1:1/',
    'data:text/html,<h1>data page</h1>', 'data:text/html;base64,PGgxPng8L2gxPg==', 'about:blank', 'file:%2F%2F%2Fetc%2Fpasswd', 'file:\\\\etc\\passwd',
    `${pages.url.replace('http:', 'file:')}/etc/passwd`, 'localhost:1', '127.0.0.1:1/x', `http://127.0.0.1:${pages.port}@127.0.0.1:${pages.port}/fuzz`,
  );
  return fc.oneof({ arbitrary: local, weight: 2 }, { arbitrary: refused, weight: 3 });
}

/** Refs and selectors: refs of the fixture's snapshot, missing ones, Playwright selector syntax, odd text. */
const targetArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((n) => `e${n}`),
  fc.constantFrom('f1e1', 'e999999999', 'e-1', 'e1.5', '#name', '#agree', 'button', 'select', 'text=Go', 'xpath=//a', '//a', 'internal:role=button', 'css=*',
    '>>', 'a >> nth=999', ':has(', 'xpath=//*[', 'internal:control=enter-frame', '#file', '#drop', 'iframe >> internal:control=enter-frame >> a'),
  oddString,
);
/** Paths a tool reads or writes: traversal, absolute, NUL, huge. */
const pathArb = fc.oneof(fc.constantFrom('a.txt', '../a.txt', '../../../../etc/passwd', '/etc/passwd', 'sub/../../x', 'x\0.png', '.', '', '/', '/proc/self/environ', '~/.ssh/id_rsa', 'C:\\Windows\\win.ini'), oddString);
/** Regular expressions, some of them catastrophic. */
const regexArb = fc.oneof(fc.constantFrom('(a+)+$', '(.*a){25}', '/(x+x+)+y/i', '[', '(?<', '\\', '/a/zz', '/unterminated', '', '.*', '\\p{L}+', '(?=a)*'), oddString);
/** Strings of JavaScript for browser_evaluate: odd, broken, or (harmless) throwing and never-settling code. */
const functionArb = fc.oneof(fc.constantFrom('() => 1', '() => { throw new Error("x") }', '() => new Promise(() => {})', '() => document.title', '() => { return { a: 1n } }',
  '() => window', '() => Symbol()', '(e) => e.textContent', '() => "\\u0000\\ud800"', 'not js at all', '', '() =>', 'async () => { await 0 }', '() => "x".repeat(1e7)'), oddString);

interface ArgContext {
  pages: PageServer;
  /** The browser handle to use in `browser` (modern era), if any. */
  handle?: string;
  fullWaits: boolean;
}

/** Values of the right type for `schema`, odd inside; named fields get values that are safe to use. */
function validArb(schema: Schema, field: string, ctx: ArgContext): fc.Arbitrary<unknown> {
  if (field === 'url') return urlArb(ctx.pages);
  if (field === 'browser') {
    const bogus = fc.oneof(fc.constantFrom('Q2h0b3l0ZWNhbm5vdGd1ZXNz', 'x', 'a'.repeat(200), 'a'.repeat(201)), oddString);
    return ctx.handle ? fc.oneof({ arbitrary: fc.constant(ctx.handle), weight: 6 }, { arbitrary: bogus, weight: 1 }) : bogus;
  }
  if (/target$/i.test(field) || field === 'ref') return targetArb;
  if (field === 'paths' || field === 'filename') return schema.type === 'array' ? fc.array(pathArb, { maxLength: 3 }) : pathArb;
  if (field === 'regex' || field === 'filter') return regexArb;
  if (field === 'function') return functionArb;
  if (field === 'time' && !ctx.fullWaits) return fc.constantFrom(0, -0, -1, 0.001, 0.5, 1, -1e308, Number.MIN_VALUE);
  if (schema.enum) return fc.oneof({ arbitrary: fc.constantFrom(...schema.enum), weight: 4 }, { arbitrary: oddString, weight: 1 });
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((option) => validArb(option, field, ctx)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': return oddString;
    case 'number': return oddNumber;
    case 'integer': return fc.oneof(fc.integer({ min: schema.minimum ?? -(2 ** 31), max: Math.min(schema.maximum ?? 2 ** 31, 2 ** 31) }), oddNumber);
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    case 'array': return fc.oneof(
      { arbitrary: fc.array(validArb(schema.items ?? {}, field, ctx), { maxLength: 4 }), weight: 6 },
      // Long arrays repeat one item: thousands of distinct odd items would mostly be megabytes over the body limit.
      { arbitrary: fc.tuple(validArb(schema.items ?? {}, field, ctx), fc.integer({ min: 100, max: 2000 })).map(([item, n]) => Array.from({ length: n }, () => item)), weight: 1 },
    );
    case 'object': return objectArb(schema, ctx);
    default: return anyJson;
  }
}

/**
 * An object for `schema`, in one of two moods: every field of its type (odd inside), or some of
 * them of the wrong type. Required properties are mostly there, optional ones sometimes; extra
 * keys sometimes, deeply nested ones too. In the stateless era `browser` is mostly the handle.
 */
function objectArb(schema: Schema, ctx: ArgContext): fc.Arbitrary<Record<string, unknown>> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const build = (wrongWeight: number) => {
    const fields = properties.map(([name, sub]) => {
      // Never a string in place of a url: a bare word would become https://word.
      const value = wrongWeight === 0 ? validArb(sub, name, ctx) : fc.oneof({ arbitrary: validArb(sub, name, ctx), weight: 3 }, { arbitrary: wrongType, weight: wrongWeight });
      const usual = required.has(name) || (name === 'browser' && ctx.handle);
      const presence = usual ? fc.oneof({ arbitrary: value, weight: 12 }, { arbitrary: fc.constant(MISSING), weight: 1 }) : fc.oneof(value, fc.constant(MISSING));
      return presence.map((v) => [name, v] as const);
    });
    return fc.tuple(...fields);
  };
  const extra = fc.oneof(
    { arbitrary: fc.constant([] as [string, unknown][]), weight: 8 },
    { arbitrary: fc.array(fc.tuple(fc.oneof(oddString, fc.constantFrom('ref', '__proto__', 'constructor', '_meta')), anyJson), { maxLength: 3 }), weight: 2 },
    { arbitrary: deepNesting.map((nest) => [['nested', nest]] as [string, unknown][]), weight: 1 },
  );
  return fc.tuple(fc.oneof({ arbitrary: build(0), weight: 3 }, { arbitrary: build(1), weight: 2 }), extra).map(([pairs, extras]) => {
    const out: Record<string, unknown> = {};
    for (const [name, value] of extras) if (name !== 'url') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    for (const [name, value] of pairs) if (value !== MISSING) out[name] = value;
    return out;
  });
}

/** `arguments` that are not an object at all: a property of their own, so one refusal of them does not hide the rest. */
const nonObjectArgs = fc.oneof(fc.constant(null), fc.array(anyJson, { maxLength: 2 }), oddString, oddNumber, fc.boolean(), deepNesting);

/** True when `args` could reach the network beyond 127.0.0.1: a bug in the generators, never sent. */
function unsafeUrl(args: unknown, pages: PageServer): string | undefined {
  const url = (args as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') return undefined;
  if (url.startsWith(pages.url)) return undefined;
  if (/^\s*(file|chrome|chrome-extension|javascript|view-source|devtools|about|filesystem|ftp|blob|ws|data):/i.test(url)) return undefined;
  if (/^(localhost|127\.)/.test(url) || url.startsWith(`http://127.0.0.1:${pages.port}@127.0.0.1:`)) return undefined;
  return url;
}

// ---------------------------------------------------------------------------------------------
// Properties

interface Runner {
  target: Target;
  options: Required<Omit<FuzzOptions, 'log'>> & { log: (line: string) => void };
  deadline: number;
  report: FuzzReport;
  /** The property and case running now, for attributing browser.faulted events. */
  current: { property: string; args: string };
  /** Properties not run yet, this one included: each gets a fair share of the time left. */
  propertiesLeft: number;
}

/**
 * Cases each property tries first, whatever the seed: the defects earlier runs found, so the short
 * form fails on them until they are fixed (and guards against their return afterwards).
 */
function regressions(target: Target): Record<string, unknown[]> {
  const plain = (era: 'v1' | 'modern', text: string): McpCase => ({
    era, method: 'POST', headers: fc.sample(mcpHeadersArb(target, era, false), 1)[0], body: { kind: 'text', text }, chunked: false, useSession: false,
  });
  const nested2048 = new Raw('{"a":'.repeat(2048) + '1' + '}'.repeat(2048));
  return {
    // A JSON `null` body: HTTP 500 "Cannot read properties of null (reading 'id')".
    [`mcp ${V1} bodies`]: [plain('v1', 'null')],
    [`mcp ${V2} bodies`]: [plain('modern', 'null')],
    // Non-object `arguments` in a session: -32603 with a raw zod dump instead of -32602.
    [`args ${V1} not an object`]: [{ tool: 'browser_snapshot', arguments: null }],
    // An extra property nested 2048 deep: the worker cannot deserialize the call and exits (WORKER_CRASHED).
    [`args ${V2} browser_snapshot`]: [{ nested: nested2048, browser: HANDLE }],
    // A browser argument starting with U+FEFF, mirrored correctly: the server's decoder drops the BOM, -32020.
    [`args ${V2} browser_close`]: [{ browser: '\ufeff' }],
    // A filename with a lone surrogate: written, then answered with "URI malformed [INTERNAL]" (a note, not a failure).
    [`args ${V1} browser_snapshot`]: [{ filename: 'x\ud800.md' }],
  };
}

/** Each property's own seed, from the run's seed and its name: the same first cases in every property would find one thing many times. */
function propertySeed(seed: number, name: string): number {
  let hash = seed | 0;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash;
}

/** Runs `property` for options.cases cases (fewer when the budget runs out) and records a failure with its shrunk counterexample. */
async function runProperty<T>(runner: Runner, name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<string | void>, examples: T[] = []): Promise<void> {
  const left = Math.max(1, runner.propertiesLeft--);
  const remaining = runner.deadline - Date.now();
  if (remaining < 500) {
    runner.report.cases[name] = 0;
    return;
  }
  // Twice a fair share, so quick properties leave time to slow ones (shrinking included).
  const limit = Math.min(remaining, Math.max(1000, (2 * remaining) / left));
  let ran = 0;
  const began = Date.now();
  const property = fc.asyncProperty(arb, async (value) => {
    runner.current = { property: name, args: show(value) };
    try {
      const outcome = await predicate(value);
      if (runner.options.verbose) runner.options.log(`  ${name}: ${(outcome ?? 'ok').slice(0, 200).replace(/\s*\n\s*/g, ' | ')} <= ${runner.current.args.slice(0, 400)}`);
    } catch (error) {
      if (runner.options.verbose) runner.options.log(`  ${name}: ${error instanceof NotSendable ? 'not sendable' : 'FAILED'} <= ${runner.current.args.slice(0, 400)}`);
      if (error instanceof NotSendable) return; // Node refuses to put it on the wire: not a case
      throw error;
    }
  });
  const result = await fc.check(property.beforeEach((previous) => {
    ran++;
    return previous();
  }), { numRuns: runner.options.cases, seed: propertySeed(runner.options.seed, name), interruptAfterTimeLimit: limit, markInterruptAsFailure: false, endOnFailure: false, examples: examples.map((example) => [example] as [T]) });
  runner.report.cases[name] = result.numRuns;
  runner.report.totalCases += ran;
  runner.options.log(`${name}: ${result.numRuns} cases, ${ran} runs with shrinking, ${((Date.now() - began) / 1000).toFixed(1)} s${result.failed ? ' FAILED' : ''}${result.interrupted ? ' (budget reached)' : ''}`);
  // Interrupted by the budget before its first case ended, fast-check says "failed" with neither an
  // error nor a counterexample: that is time running out on a slow machine, not a defect.
  if (result.failed && result.errorInstance == null && !result.counterexample) {
    runner.options.log(`${name}: the budget ran out before its first case ended`);
    return;
  }
  if (result.failed) {
    const error = result.errorInstance;
    runner.report.failures.push({
      property: name,
      seed: result.seed,
      path: result.counterexamplePath ?? '',
      runs: result.numRuns,
      counterexample: result.counterexample ? show(result.counterexample[0]) : '(none)',
      problem: error instanceof Error ? error.message : String(error),
    });
  }
}

// --- HTTP bodies and headers on /mcp, both eras --------------------------------------------

const TOOL_NAMES_SAFE = ['browser_list', 'browser_snapshot', 'browser_console_messages', 'browser_run_code_unsafe', 'no_such_tool', 'browser_close'];
const METHODS = ['initialize', 'notifications/initialized', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/read', 'resources/templates/list',
  'logging/setLevel', 'prompts/list', 'completion/complete', 'server/discover', 'notifications/cancelled', 'notifications/progress', 'sampling/createMessage'];
const VERSIONS = [V1, V2, '2025-06-18', '2025-03-26', '2024-11-05', '2099-01-01', '', 'latest', '2026-07-28 ', '2025-11-25, 2026-07-28'];

/** Header values Node will send (Latin-1 without controls), some huge. */
const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.constantFrom('', ' ', '\t', 'null', '=?base64?', '%00', '../..', '\xff\xfe'),
  fc.integer({ min: 8, max: 16 }).map((power) => 'a'.repeat(2 ** power)),
);
/** A header that is not what a client sends: left out, an odd value (or any Latin-1 text), or sent twice. */
function headerArb(good: fc.Arbitrary<string | typeof MISSING | typeof MATCH>, odd: fc.Arbitrary<string>): fc.Arbitrary<string | string[] | typeof MISSING | typeof MATCH> {
  return fc.oneof(
    { arbitrary: fc.constant(MISSING), weight: 1 },
    { arbitrary: odd, weight: 3 },
    { arbitrary: headerText, weight: 1 },
    { arbitrary: fc.tuple(good, odd).map(([a, b]) => (typeof a === 'string' ? [a, b] : [b, b])), weight: 1 },
  );
}

interface McpCase {
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

/** A header value that mirrors the body, as a client would send it (Mcp-Method, Mcp-Name, Mcp-Param-Browser); filled in per case. */
const MATCH = Symbol('match');
type HeaderValue = string | string[] | typeof MISSING | typeof MATCH;

/**
 * The headers of one /mcp case: every header as a client would send it, then (when fuzzing
 * headers) one to three of them odd: left out, a wrong value or sent twice. One odd header at a
 * time gets past the cheap refusals; several at once test their order.
 */
function mcpHeadersArb(target: Target, era: 'v1' | 'modern', fuzzHeaders: boolean): fc.Arbitrary<Record<string, HeaderValue>> {
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

function mcpCaseArb(target: Target, era: 'v1' | 'modern', fuzz: { headers: boolean; body: boolean }): fc.Arbitrary<McpCase> {
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
async function runMcpCase(runner: Runner, state: { sessionId?: string }, c: McpCase): Promise<string> {
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

async function closeModernBrowser(target: Target, handle: string): Promise<void> {
  await callTool(target, { modern: true }, 'browser_close', { browser: handle }, HTTP_TIMEOUT_MS).catch(() => {});
}

// --- Ops and admin routes --------------------------------------------------------------------

interface OpsCase {
  method: string;
  path: string;
  token: 'client' | 'admin' | 'none' | 'wrong';
  body: { type: string; bytes: Uint8Array } | undefined;
  chunked: boolean;
}

function opsCaseArb(): fc.Arbitrary<OpsCase> {
  const idPart = fc.oneof(
    fc.constantFrom('', 'x', '..', '%2e%2e', '%2F..%2F..%2Fetc%2Fpasswd', '%00', '%ZZ', '%', '%E0%A4%A', '..%5c..%5c', '00000000-0000-0000-0000-000000000000', ';', '?', '#', ' ', '%20', 'a'.repeat(5000)),
    oddString.map(encodeOdd),
    headerText.map((text) => text.replace(/[^\x21-\x7e]/g, '')),
  );
  const path = fc.oneof(
    idPart.map((id) => `/sessions/${id}`),
    idPart.map((id) => `/sessions/${id}/${id}`),
    fc.tuple(idPart, fc.constantFrom('trace', 'video', 'Trace', 'trace.zip', '')).map(([id, kind]) => `/sessions/${id}/${kind}`),
    fc.constantFrom('/admin/drain', '/admin/drain/', '/admin/drain?x=1', '/admin', '/admin/', '/admin/../admin/drain', '/ADMIN/DRAIN', '/admin//drain', '/admin/drain%00'),
    fc.constantFrom('/browsers?x', '/browsers?', '/browsers?owner=../../', '/browsers/x', '/browsers?%ZZ', '/sessions?x', '/sessions/', '/sessions//', '/metrics?x', '/readyz/x', '/healthz?x', '/healthz/../sessions'),
    fc.constantFrom('/dashboard', '/dashboard/', '/dashboard/app.js', '/dashboard/app.css', '/dashboard/app.jsx', '/dashboard/app.js/..', '/dashboard/../dashboard/app.css', '/dashboard/%2e%2e/app.js',
      '/dashboard/login', '/dashboard/logout', '/dashboard/events', '/dashboard/recordings', '/dashboard/recordings/', '/dashboard/thumbnail/', '/dashboard/browsers//end'),
    idPart.map((id) => `/dashboard/thumbnail/${id}`),
    fc.tuple(idPart, fc.constantFrom('trace', 'video', 'other')).map(([id, kind]) => `/dashboard/recordings/${id}/${kind}`),
    idPart.map((id) => `/dashboard/browsers/${id}/end`),
    fc.constantFrom('/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/mcp/../sessions', '/mcp/..%2f..%2fetc%2fpasswd', '//sessions', '/./sessions', '/.%2e/sessions', '/\\..\\sessions', '*', '/mcp;x', '/mcp%2f'),
    fc.tuple(fc.constantFrom('/sessions/', '/browsers?q=', '/admin/drain?', '/mcp?', '/dashboard/thumbnail/', '/'), fc.integer({ min: 10, max: 17 })).map(([prefix, power]) => prefix + 'a'.repeat(2 ** power)),
    idPart.map((id) => `/${id}`),
  );
  const form = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
  const body = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: fc.oneof(oddString, fc.constantFrom(TOKEN, ADMIN, '', '%ZZ', '\0')).map((token) => ({ type: 'application/x-www-form-urlencoded', bytes: form(`token=${encodeOdd(token)}`) })), weight: 2 },
    { arbitrary: fc.constantFrom('token=%ZZ', 'token=a&token=b', 'token', '=&=&', 'token=' + 'a'.repeat(100_000)).map((text) => ({ type: 'application/x-www-form-urlencoded', bytes: form(text) })), weight: 1 },
    { arbitrary: fc.constantFrom('--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc\r\n--x--', '--x\r\n\r\n', 'garbage').map((text) => ({ type: 'multipart/form-data; boundary=x', bytes: form(text) })), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ type: 'application/json', bytes })), weight: 1 },
  );
  return fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND'),
    path,
    token: fc.constantFrom('client', 'admin', 'none', 'wrong'),
    body,
    chunked: fc.boolean(),
  });
}

async function runOpsCase(runner: Runner, c: OpsCase): Promise<string> {
  // A drain with the admin token would end the run early: it is the last step, checked on its own.
  const token = c.token === 'admin' && c.method === 'POST' && /admin/i.test(c.path) ? 'client' : c.token;
  const headers: RawRequest['headers'] = token === 'none' ? {} : { authorization: `Bearer ${token === 'client' ? TOKEN : token === 'admin' ? ADMIN : 'nope'}` };
  const body = c.body && !['GET', 'HEAD'].includes(c.method) ? Buffer.from(c.body.bytes) : undefined;
  if (body) headers['content-type'] = c.body!.type;
  // Ids here are odd ones only, so no case ends the fuzz sessions or browsers by id.
  const reply = await sendChecked(runner.target.base, { method: c.method, path: c.path, headers, body, chunked: c.chunked }, HTTP_TIMEOUT_MS);
  return `HTTP ${reply.status} ${reply.body.slice(0, 160)}`;
}

// --- Tool arguments, per tool and era --------------------------------------------------------

interface ToolState {
  era: 'v1' | 'modern';
  sessionId?: string;
  handle?: string;
  casesSinceReset: number;
}

async function ensureBrowser(runner: Runner, state: ToolState): Promise<void> {
  const { target } = runner;
  if (state.era === 'v1') {
    if (!state.sessionId || !target.server.supervisor.get(state.sessionId)) state.sessionId = await openRawSession(target);
  } else if (!state.handle) {
    const { response } = await callTool(target, { modern: true }, 'browser_open', {}, 60_000);
    const handle = (response.result as { structuredContent?: { browser?: string } } | undefined)?.structuredContent?.browser;
    if (!handle) throw new Error(`browser_open failed: ${show(response)}`);
    state.handle = handle;
  }
}

/** Brings the browser back to the fixture page with a snapshot (refs e1…); closes it when it cannot. */
async function resetPage(runner: Runner, state: ToolState): Promise<void> {
  await ensureBrowser(runner, state);
  const era = state.era === 'v1' ? { sessionId: state.sessionId! } : { modern: true as const };
  const browser = state.era === 'v1' ? {} : { browser: state.handle };
  const timeout = runner.target.config.timeoutNavigation + HANG_SLACK_MS;
  const { response } = await callTool(runner.target, era, 'browser_navigate', { url: `${runner.target.pages.url}/fuzz`, ...browser }, timeout);
  if ((response.result as { isError?: boolean } | undefined)?.isError !== true) return;
  // A dialog, a stuck page: start over in a fresh browser.
  await callTool(runner.target, era, 'browser_close', browser, timeout).catch(() => {});
  if (state.era === 'modern') state.handle = undefined;
  await ensureBrowser(runner, state);
}

/** Whether `text` is well-formed UTF-16 (no lone surrogates). */
function isWellFormed(text: string): boolean {
  return !/[\ud800-\udfff]/u.test(text);
}

/** Stands for the browser handle of the moment in generated arguments (a case may close the browser, and a reset open another). */
const HANDLE = '<handle>';

async function runToolCase(runner: Runner, state: ToolState, tool: Tool, generated: unknown): Promise<string> {
  const { target } = runner;
  if (state.casesSinceReset++ % 5 === 0) await resetPage(runner, state);
  await ensureBrowser(runner, state);
  const args = generated !== null && typeof generated === 'object' && !Array.isArray(generated) && (generated as { browser?: unknown }).browser === HANDLE
    ? { ...generated, browser: state.handle } : generated;
  const unsafe = unsafeUrl(args, target.pages);
  if (unsafe) throw new Error(`fuzzer bug: generated a URL that leaves 127.0.0.1: ${unsafe}`);
  // What the server will see once it parsed the body (a Raw `1e999` is Infinity, not an object).
  // A body over the limit is refused with 413 before anything parses it, so the fuzzer does not
  // parse it either: 100 copies of an item nested 2^17 deep are 25 MB of text but 13 million
  // arrays, which ran this process out of heap in a long run.
  const body = serialize(args);
  const seen: unknown = Buffer.byteLength(body) <= target.config.bodyLimit ? JSON.parse(body) : undefined;
  const object = seen !== null && typeof seen === 'object' && !Array.isArray(seen) ? seen as Record<string, unknown> : undefined;
  const parsed = object ? tool.input.safeParse(normalizeLegacyArgs(object)) : undefined;
  // The call's own deadline, as the server computes it; odd numbers (time: -1e308) can make it non-finite or negative.
  const own = parsed?.success ? toolTimeoutMs(tool, parsed.data, target.config) : target.config.timeoutAction;
  const deadline = Number.isFinite(own) ? Math.max(0, own) : target.config.timeoutAction;
  const era = state.era === 'v1' ? { sessionId: state.sessionId! } : { modern: true as const };
  const { response, req, reply, message } = await callTool(target, era, tool.name, args, deadline + 2000 + HANG_SLACK_MS);
  const where = `request: ${describeRequest(req, message)}\nreply: ${describeReply(reply)}`;
  if ('refused' in response) return `HTTP ${String(response.refused)}`;
  if ('error' in response) {
    const code = (response.error as { code: number }).code;
    // A browser argument with a lone surrogate has no UTF-8 form, so no header can mirror it: -32020 is right.
    const unmirrorable = state.era === 'modern' && typeof object?.browser === 'string' && !isWellFormed(object.browser);
    if (code === -32020 && unmirrorable) return 'error -32020 (browser argument has no UTF-8 form)';
    if (code !== -32602) throw new CaseFailure(`a tools/call answered with JSON-RPC error ${code}, not an isError result or -32602\n${where}`);
    if (parsed?.success) throw new CaseFailure(`valid arguments were refused with -32602\n${where}`);
  } else {
    const result = response.result as { content?: unknown; isError?: boolean };
    if (!Array.isArray(result.content)) throw new CaseFailure(`a tool result without a content array\n${where}`);
    if (!parsed?.success && result.isError !== true) throw new CaseFailure(`invalid arguments were not refused (no isError)\n${where}`);
  }
  const text = textOf(response);
  const isError = (response.result as { isError?: boolean } | undefined)?.isError === true;
  if (state.era === 'modern' && object?.browser === state.handle && (/BROWSER_NOT_FOUND/.test(text) || (tool.name === 'browser_close' && !isError))) state.handle = undefined;
  // Not a broken invariant, but worth reading: a tool error the server itself calls internal or a crash.
  const internal = text.match(/\[(INTERNAL|WORKER_CRASHED|BROWSER_CRASHED|PROTOCOL_MISMATCH)\]/);
  if (internal) {
    const key = `${tool.name} (${state.era === 'v1' ? V1 : V2}): ${text.replace(/^### Error\n/, '').split('\n')[0].slice(0, 200)}`;
    const note = runner.report.notes[key] ??= { count: 0, example: show(args).slice(0, 600) };
    note.count++;
  }
  if (tool.name === 'browser_close' || tool.name === 'browser_open') state.casesSinceReset = 0;
  // A browser a case opened in a session ends with the session; in the stateless era it is closed here.
  const opened = (response.result as { structuredContent?: { browser?: unknown } } | undefined)?.structuredContent?.browser;
  if (state.era === 'modern' && typeof opened === 'string' && opened !== state.handle) await closeModernBrowser(target, opened);
  const error = response.error as { code: number; message: string } | undefined;
  return error ? `error ${error.code} ${error.message.slice(0, 160)}` : `${(response.result as { isError?: boolean }).isError ? 'isError' : 'ok'} ${text.slice(0, 160).replace(/\n/g, ' | ')}`;
}

// ---------------------------------------------------------------------------------------------
// Afterwards: a normal session in each era, then a drain

async function afterwards(target: Target): Promise<string[]> {
  const problems: string[] = [];
  const bound = <T>(what: string, promise: Promise<T>, ms = 60_000): Promise<T> => Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref()),
  ]);
  try {
    const client = await bound('initialize', connectClient(target.base, { token: TOKEN }));
    try {
      const navigated = await bound('navigate', client.call('browser_navigate', { url: `${target.pages.url}/fuzz` }));
      if (navigated.isError) problems.push(`2025-11-25: navigating to a local page failed: ${resultText(navigated)}`);
      const snapshot = await bound('snapshot', client.text('browser_snapshot', {}));
      if (!snapshot.includes('Fuzz page')) problems.push(`2025-11-25: the snapshot lacks the page's heading: ${snapshot.slice(0, 300)}`);
    } finally {
      await bound('DELETE', client.close());
    }
    if (target.server.supervisor.get(client.sessionId)) problems.push('2025-11-25: the session is still open after DELETE');
  } catch (error) {
    problems.push(`2025-11-25: a normal session failed: ${(error as Error).message}`);
  }
  try {
    const modern = await bound('connect', connectModern(target.base, { token: TOKEN }));
    try {
      const browser = await bound('browser_open', modern.open());
      await bound('navigate', modern.call('browser_navigate', { browser, url: `${target.pages.url}/fuzz` }));
      const snapshot = await bound('snapshot', modern.text('browser_snapshot', { browser }));
      if (!snapshot.includes('Fuzz page')) problems.push(`2026-07-28: the snapshot lacks the page's heading: ${snapshot.slice(0, 300)}`);
      const closed = await bound('browser_close', modern.call('browser_close', { browser }));
      if (closed.isError) problems.push(`2026-07-28: browser_close failed: ${modernText(closed)}`);
    } finally {
      await modern.close();
    }
  } catch (error) {
    problems.push(`2026-07-28: a normal stateless browser failed: ${(error as Error).message}`);
  }
  // Drain, the one admin action the fuzz cases leave out: then new sessions get the documented 503.
  try {
    const drained = await sendChecked(target.base, { method: 'POST', path: '/admin/drain', headers: auth(ADMIN) }, HTTP_TIMEOUT_MS);
    if (drained.status !== 200) problems.push(`drain: POST /admin/drain answered ${describeReply(drained)}`);
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: V1, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } };
    const refused = await sendChecked(target.base, { method: 'POST', path: '/mcp', headers: { ...jsonHeaders, ...auth() }, body: Buffer.from(JSON.stringify(init)) }, HTTP_TIMEOUT_MS);
    if (refused.status !== 503 || !refused.body.includes('DRAINING')) problems.push(`drain: initialize while draining answered ${describeReply(refused)}`);
  } catch (error) {
    problems.push(`drain: ${(error as Error).message}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The run

/** Starts the page server and a server (real Chromium), fuzzes it, checks it afterwards, stops both. */
export async function runFuzz(input: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const options = { budgetMs: 30 * 60_000, fullWaits: false, verbose: false, log: () => {}, ...input };
  const report: FuzzReport = { seed: options.seed, cases: {}, totalCases: 0, failures: [], uncaught: [], faulted: [], afterwards: [], notes: {}, serverErrors: {}, ms: 0 };
  const onUncaught = (error: unknown) => report.uncaught.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  const pages = await startPageServer();
  pages.route('/fuzz', FIXTURE);
  let server: TestServer | undefined;
  try {
    server = await startTestServer(SERVER_CONFIG);
    const config = parseConfig({ host: '127.0.0.1', port: 0, ...SERVER_CONFIG });
    const target: Target = { pages, server, config, base: server.url, tools: [...toolCatalog(config.caps).byName.values()] };
    // 3 /mcp properties in each era, the ops routes, each tool and non-object arguments in each era, browser_run_code_unsafe.
    const propertiesLeft = 6 + 1 + 2 * (target.tools.length + 1) + 1;
    const runner: Runner = { target, options, deadline: started + options.budgetMs, report, current: { property: '(setup)', args: '' }, propertiesLeft };
    const known = regressions(target);
    server.supervisor.on('browser.faulted', (event) => {
      report.faulted.push(`${JSON.stringify(event)} during ${runner.current.property}, case ${runner.current.args.slice(0, 2000)}`);
    });

    // /mcp: bodies, headers, both, in each era.
    for (const era of ['v1', 'modern'] as const) {
      const state: { sessionId?: string } = {};
      for (const [kind, fuzz] of [['bodies', { headers: false, body: true }], ['headers', { headers: true, body: false }], ['mixed', { headers: true, body: true }]] as const) {
        const name = `mcp ${era === 'v1' ? V1 : V2} ${kind}`;
        await runProperty(runner, name, mcpCaseArb(target, era, fuzz), (c) => runMcpCase(runner, state, c), known[name] as McpCase[]);
      }
      if (state.sessionId) await deleteRawSession(target, state.sessionId);
    }
    await runProperty(runner, 'ops and admin routes', opsCaseArb(), (c) => runOpsCase(runner, c));

    // Every tool's arguments, in a 2025-11-25 session and as 2026-07-28 requests on an opened browser.
    for (const era of ['v1', 'modern'] as const) {
      const state: ToolState = { era, casesSinceReset: 0 };
      try {
        await ensureBrowser(runner, state);
        for (const tool of target.tools) {
          const schema = toolCatalog(config.caps).entries.find((e) => e.name === tool.name)!.inputSchema as Schema;
          state.casesSinceReset = 0;
          // The handle is read when the case runs: a case may have closed the browser and a reset opened another.
          const arb = objectArb(schema, { pages, fullWaits: options.fullWaits, handle: era === 'modern' ? HANDLE : undefined });
          const name = `args ${era === 'v1' ? V1 : V2} ${tool.name}`;
          await runProperty(runner, name, arb, (args) => runToolCase(runner, state, tool, args), known[name] as Record<string, unknown>[]);
        }
        const byName = new Map(target.tools.map((tool) => [tool.name, tool]));
        const arb = fc.record({ tool: fc.constantFrom(...byName.keys()), arguments: nonObjectArgs });
        const name = `args ${era === 'v1' ? V1 : V2} not an object`;
        await runProperty(runner, name, arb, (c) => runToolCase(runner, state, byName.get(c.tool)!, c.arguments), known[name] as { tool: string; arguments: unknown }[]);
      } finally {
        if (state.sessionId) await deleteRawSession(target, state.sessionId);
        if (state.handle) await closeModernBrowser(target, state.handle);
      }
    }
    // browser_run_code_unsafe is off: calling it is an unknown tool (-32602) in both eras.
    await runProperty(runner, 'browser_run_code_unsafe stays disabled', fc.record({ code: oddString }), async (args) => {
      const sessionId = await openRawSession(target);
      try {
        for (const era of [{ sessionId }, { modern: true as const }]) {
          const { response, req, reply } = await callTool(target, era, 'browser_run_code_unsafe', args, HTTP_TIMEOUT_MS);
          if ('refused' in response) continue; // over the body limit
          const code = (response.error as { code?: number } | undefined)?.code;
          if (code !== -32602) throw new CaseFailure(`browser_run_code_unsafe was not refused as unknown\nrequest: ${describeRequest(req)}\nreply: ${describeReply(reply)}`);
        }
      } finally {
        await deleteRawSession(target, sessionId);
      }
    });

    runner.current = { property: '(afterwards)', args: '' };
    report.afterwards.push(...await afterwards(target));
  } finally {
    await server?.close().catch((error: unknown) => report.afterwards.push(`closing the server failed: ${(error as Error).message}`));
    await pages.close();
    // Late rejections of the last cases still count.
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  for (const entry of server?.logs ?? []) {
    if (Number(entry.level) >= 50) {
      const key = `${String(entry.msg)}${entry.err ? `: ${String(typeof entry.err === 'object' ? (entry.err as { message?: string }).message : entry.err).slice(0, 200)}` : ''}`;
      report.serverErrors[key] = (report.serverErrors[key] ?? 0) + 1;
    }
  }
  report.ms = Date.now() - started;
  return report;
}

// ---------------------------------------------------------------------------------------------
// CLI

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const seed = Number(flag('--seed') ?? Math.floor(Math.random() * 2 ** 31));
  const cases = Number(flag('--cases') ?? 20);
  const budgetMs = Number(flag('--budget-sec') ?? 1800) * 1000;
  process.stdout.write(`fuzz: seed ${seed}, ${cases} cases per property, budget ${budgetMs / 1000} s\n`);
  const report = await runFuzz({ cases, seed, budgetMs, fullWaits: process.argv.includes('--full-waits'), verbose: process.argv.includes('--verbose'), log: (line) => process.stdout.write(`  ${line}\n`) });
  process.stdout.write(`${formatReport(report)}\n`);
  process.exitCode = reportFailed(report) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
