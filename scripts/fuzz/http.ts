// One HTTP request with full control of method, path, headers (duplicates too) and framing, and
// the checks every reply must pass (no undocumented 5xx, well-formed JSON-RPC, no leak).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { MISSING, show } from './values.ts';

export interface RawRequest {
  method: string;
  path: string;
  /** Header values; an array sends the header once per value. MISSING: leave it out (Host included). */
  headers: Record<string, string | string[] | typeof MISSING>;
  body?: Buffer;
  /** Stream the body in 16 KB chunks without Content-Length. */
  chunked?: boolean;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The reply was an event stream left open (GET /mcp): read up to its headers only. */
  stream?: boolean;
}

export class NotSendable extends Error {}

/** Sends one request on a connection of its own; rejects after `timeoutMs` (a hang) or when nothing came back. */
export function send(base: string, req: RawRequest, timeoutMs: number): Promise<Reply> {
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
export function describeRequest(req: RawRequest, body?: unknown): string {
  const headers = Object.entries(req.headers).filter(([, v]) => v !== MISSING).map(([k, v]) => `${k}: ${show(v)}`);
  const length = req.body ? `${req.body.length} bytes${req.chunked ? ', chunked' : ''}` : 'no body';
  return `${req.method} ${show(req.path)} {${headers.join('; ')}} body (${length}): ${body === undefined ? show(req.body?.toString('utf8') ?? '') : show(body)}`;
}

export function describeReply(reply: Reply): string {
  const type = reply.headers['content-type'] ?? '(no content-type)';
  const body = reply.body.length > 800 ? `${JSON.stringify(reply.body.slice(0, 800))}… (${reply.body.length} chars)` : JSON.stringify(reply.body);
  return `HTTP ${reply.status} ${type}${reply.stream ? ' (event stream, left open)' : ''}: ${body}`;
}

/** 503 codes the docs promise; every other 5xx is a defect. */
const DOCUMENTED_503 = new Set(['SESSION_LIMIT', 'BROWSER_LIMIT', 'LOW_MEMORY', 'SHUTTING_DOWN', 'DRAINING']);

/** The JSON-RPC messages of a reply: one JSON body, or the data of each event of a stream. */
export function messagesOf(reply: Reply): { messages: unknown[]; problem?: string } {
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

export class CaseFailure extends Error {}

/** Sends `req`, throws a CaseFailure naming the request and reply when anything about it is wrong. */
export async function sendChecked(base: string, req: RawRequest, timeoutMs: number, body?: unknown): Promise<Reply> {
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
