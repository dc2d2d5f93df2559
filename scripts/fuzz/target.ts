// The server under test: its config, tokens and fixture page, and raw sessions, tool calls and
// browser closes against it in both protocol eras.
import type { Config } from '../../src/config.ts';
import type { Tool } from '../../src/tools/tool.ts';
import type { PageServer } from '../../test/helpers/pages.ts';
import type { TestServer } from '../../test/helpers/server.ts';
import { CaseFailure, describeReply, describeRequest, messagesOf, send, sendChecked, type RawRequest, type Reply } from './http.ts';
import { serialize } from './values.ts';

export const TOKEN = 'fuzz-client-token-0123456789';
export const ADMIN = 'fuzz-admin-token-0123456789';
export const V1 = '2025-11-25';
export const V2 = '2026-07-28';
/** Slack over a call's own deadline before it counts as a hang: a browser start, a busy 2-core machine. */
export const HANG_SLACK_MS = 20_000;
export const HTTP_TIMEOUT_MS = 20_000;

/**
 * The server under test: default caps (no browser_run_code_unsafe) and body limit; tokens, so the
 * bearer check is fuzzed too; short deadlines and queue wait, so a case takes seconds at most.
 */
export const SERVER_CONFIG = {
  authToken: [TOKEN, ADMIN], adminToken: [ADMIN], maxBrowsers: 4, queueTimeout: 2000, timeoutAction: 1500, timeoutNavigation: 5000, logLevel: 'warn' as const,
};

export const FIXTURE = `<!doctype html><title>Fuzz</title><h1>Fuzz page</h1>
<form onsubmit="event.preventDefault(); document.title = 'Submitted'">
  <label>Name <input id="name"></label> <label><input type="checkbox" id="agree"> Agree</label>
  <select id="pick" aria-label="Pick"><option>one</option><option>two</option></select>
  <input type="file" id="file" aria-label="File"> <input type="range" id="slide" aria-label="Slide">
  <textarea id="notes" aria-label="Notes"></textarea> <button type="submit">Go</button>
</form>
<a href="/fuzz?next">Next</a> <div id="drop" style="width:50px;height:50px">Drop here</div>
<script>console.log('fuzz page ready'); console.error('a console error');</script>`;

export interface Target {
  pages: PageServer;
  server: TestServer;
  config: Config;
  base: string;
  tools: Tool[];
}

export const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
export const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A 2025-11-25 session opened with raw requests, as the SDK client would. */
export async function openRawSession(target: Target): Promise<string> {
  const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: V1, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } };
  const reply = await sendChecked(target.base, { method: 'POST', path: '/mcp', headers: { ...jsonHeaders, ...auth() }, body: Buffer.from(JSON.stringify(init)) }, HTTP_TIMEOUT_MS);
  const id = reply.headers['mcp-session-id'];
  if (reply.status !== 200 || typeof id !== 'string') throw new Error(`initialize failed: ${describeReply(reply)}`);
  const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
  await sendChecked(target.base, { method: 'POST', path: '/mcp', headers: { ...jsonHeaders, ...auth(), 'mcp-session-id': id, 'mcp-protocol-version': V1 }, body: Buffer.from(JSON.stringify(initialized)) }, HTTP_TIMEOUT_MS);
  return id;
}

export async function deleteRawSession(target: Target, id: string): Promise<void> {
  await send(target.base, { method: 'DELETE', path: '/mcp', headers: { ...auth(), 'mcp-session-id': id, 'mcp-protocol-version': V1 } }, HTTP_TIMEOUT_MS).catch(() => {});
}

/** The `_meta` envelope of a 2026-07-28 request. */
export function envelope(version = V2): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
}

/** An `Mcp-Param-*` value for `value`: itself when a header can carry it, else `=?base64?…?=`. */
export function paramHeader(value: string): string {
  return /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !value.startsWith('=?base64?') ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

let nextId = 1;

/** One tools/call in either era, raw, with the request and reply checked; returns its JSON-RPC response. */
export async function callTool(target: Target, era: { sessionId: string } | { modern: true }, name: string, args: unknown, timeoutMs: number): Promise<{ response: Record<string, unknown>; reply: Reply; req: RawRequest; message: unknown }> {
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

export function textOf(response: Record<string, unknown>): string {
  const content = (response.result as { content?: { type: string; text?: string }[] } | undefined)?.content ?? [];
  return content.filter((c) => c.type === 'text').map((c) => c.text ?? '').join('\n');
}

export async function closeModernBrowser(target: Target, handle: string): Promise<void> {
  await callTool(target, { modern: true }, 'browser_close', { browser: handle }, HTTP_TIMEOUT_MS).catch(() => {});
}
