import { randomUUID } from 'node:crypto';
import { isInitializeRequest, type InitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { isLegacyRequest, type McpHttpHandler } from '@modelcontextprotocol/server';
import { Hono, type Context } from 'hono';
import type { Config } from '../config.ts';
import { FleetError, toFleetError } from '../errors.ts';
import { RETRY_AFTER_SECONDS } from '../supervisor/admission-queue.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { installAdminRoutes } from './admin-routes.ts';
import { installDashboard } from './dashboard.ts';
import { installGuards } from './guards.ts';
import { createMcpSession, type McpSession } from './mcp-session.ts';
import { browserHeaderMismatch, createModernHandler } from './modern-mcp.ts';
import { installOpsRoutes } from './ops-routes.ts';

/** What the app's routes need; built by src/server.ts. */
export interface AppDeps {
  config: Config;
  supervisor: Supervisor;
  log: Logger;
  /** Prometheus metrics served on /metrics; without them /metrics answers 404. */
  metrics?: Metrics;
}

/** Variables middlewares set on the Hono context. */
export interface AppEnv {
  Variables: {
    /** Fingerprint of the bearer token the request carried (set by the auth guard). */
    owner?: string;
    /** The token is an --admin-token: /sessions shows and ends every session, not only its own. */
    admin?: boolean;
  };
}

/** Answers a refusal in the JSON-RPC shape MCP clients expect, with the HTTP status of its code. */
export function refusal(c: Context, error: FleetError, id: string | number | null = null): Response {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter);
  return c.json(error.toJsonRpc(id), error.status as 400, headers);
}

/**
 * /mcp in both protocol eras. 2025-11-25: `initialize` opens a session whose transport is kept
 * here by session id (the session table itself is the supervisor's). 2026-07-28: every request
 * stands alone and goes to SDK v2's handler.
 */
export class SessionRoutes {
  private readonly sessions = new Map<string, McpSession>();
  private readonly modern: McpHttpHandler;

  constructor(private readonly deps: AppDeps) {
    deps.supervisor.on('session.ended', ({ id }) => this.drop(id));
    this.modern = createModernHandler(deps);
  }

  /** Removes the session's transport and closes it; later requests with its id get 404. */
  private drop(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    session.dispose();
    void session.transport.close();
  }

  /** POST/GET/DELETE /mcp. */
  async handle(c: Context<AppEnv>): Promise<Response> {
    const owner = c.get('owner');
    const sessionId = c.req.header('mcp-session-id');
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      const record = this.deps.supervisor.get(sessionId);
      // A session is usable only with the token that created it; to anyone else it does not exist.
      // An ended session keeps its transport until its calls in flight have answered; new requests get 404 at once.
      if (!session || !record || record.owner !== owner) {
        return refusal(c, new FleetError('SESSION_NOT_FOUND', 'Session not found'));
      }
      return session.transport.handleRequest(c.req.raw);
    }
    if (c.req.method !== 'POST') return refusal(c, new FleetError('BAD_REQUEST', 'Bad Request: Mcp-Session-Id header is required'));

    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return refusal(c, new FleetError('PARSE_ERROR', 'Parse error: the body is not valid JSON'));
    }
    if (!(await isLegacyRequest(c.req.raw, body, { maxRequestBodySize: this.deps.config.bodyLimit }))) return this.serveModern(c, body, owner);
    if (!isInitializeRequest(body)) return refusal(c, new FleetError('BAD_REQUEST', 'Bad Request: Mcp-Session-Id header is required'));
    // The transport would refuse these too, but only after a session had been opened for nobody.
    const accept = c.req.header('accept') ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return refusal(c, new FleetError('NOT_ACCEPTABLE', 'Not Acceptable: Client must accept both application/json and text/event-stream'));
    }
    if (!(c.req.header('content-type') ?? '').includes('application/json')) {
      return refusal(c, new FleetError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type: Content-Type must be application/json'));
    }
    return this.initialize(c, body, owner);
  }

  /**
   * One 2026-07-28 request: the browser header check SDK v2 leaves to us, then its handler. A
   * browser_open that the instance cannot serve now (draining, really full, short of memory,
   * shutting down) is refused at the HTTP level, 503 with Retry-After, as `initialize` is, so a
   * load balancer sends it to another instance.
   */
  private async serveModern(c: Context, body: unknown, owner: string | undefined): Promise<Response> {
    const id = (body as { id?: string | number } | null)?.id ?? null;
    if (c.req.header('mcp-protocol-version') === '2026-07-28') {
      const mismatch = browserHeaderMismatch(body, c.req.raw.headers);
      if (mismatch) return refusal(c, mismatch, id);
    }
    if (opensBrowser(body)) {
      const readiness = this.deps.supervisor.readiness();
      if (!readiness.ready) return refusal(c, new FleetError(readiness.code!, readiness.reason!, { retryAfter: RETRY_AFTER_SECONDS }), id);
    }
    return this.modern.fetch(c.req.raw, { parsedBody: body, authInfo: { token: '', clientId: owner ?? '', scopes: [], extra: { owner } } });
  }

  private async initialize(c: Context, body: InitializeRequest, owner: string | undefined): Promise<Response> {
    const { supervisor, config, log } = this.deps;
    const id = randomUUID();
    const requestId = (body as { id?: string | number }).id ?? null;
    try {
      supervisor.openSession(id, owner, String(body.params.clientInfo?.name ?? '').slice(0, 200) || undefined);
    } catch (error) {
      const fleetError = toFleetError(error);
      log.warn({ sessionId: id, code: fleetError.code, err: fleetError.message }, 'session refused');
      return refusal(c, fleetError, requestId);
    }
    const session = createMcpSession({ sessionId: id, config, supervisor });
    await session.server.connect(session.transport);
    this.sessions.set(id, session);
    const response = c.req.raw.signal.aborted ? undefined : await session.transport.handleRequest(c.req.raw, { parsedBody: body });
    if (!response || response.status >= 400 || !session.transport.sessionId) {
      log.warn({ sessionId: id, status: response?.status ?? 'client gone' }, 'initialize did not complete; session ended');
      await supervisor.endSession(id, 'start-failed');
    }
    return response ?? new Response(null, { status: 499 });
  }

  /** Closes every transport and the modern handler's exchanges in flight (shutdown). */
  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.drop(id);
    void this.modern.close();
  }
}

/** Whether a JSON-RPC body is a tools/call of browser_open. */
function opensBrowser(body: unknown): boolean {
  const message = body as { method?: unknown; params?: { name?: unknown } } | undefined;
  return message?.method === 'tools/call' && message.params?.name === 'browser_open';
}

/** The front's HTTP app: MCP on /mcp and operations routes. */
export function createApp(deps: AppDeps): { app: Hono<AppEnv>; routes: SessionRoutes } {
  const app = new Hono<AppEnv>();
  const routes = new SessionRoutes(deps);

  installGuards(app, deps);
  installOpsRoutes(app, deps);
  installAdminRoutes(app, deps);
  installDashboard(app, deps);
  app.on(['POST', 'GET', 'DELETE'], '/mcp', (c) => routes.handle(c));

  app.onError((error, c) => {
    const fleetError = toFleetError(error);
    if (fleetError.code === 'INTERNAL') deps.log.error({ err: error }, 'unhandled error');
    return refusal(c, fleetError);
  });
  return { app, routes };
}
