import type { HttpBindings } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import { FleetError } from '../errors.ts';
import { isLoopbackHost } from '../security/ip-ranges.ts';
import { readFileSync } from 'node:fs';
import type { AppDeps, AppEnv } from './app.ts';

/**
 * Whose sessions a request to /sessions may see and end: its token's own, or every session for
 * an --admin-token and when no tokens are configured (undefined).
 */
function scopeOf(c: Context<AppEnv>): string | undefined {
  return c.get('admin') ? undefined : c.get('owner');
}

/**
 * Admin routes: `GET /sessions` lists sessions with their browser (worker and browser PIDs,
 * uses, pages, memory) or null before their first browser call; `DELETE /sessions/:id` ends
 * one (its client then gets 404). A token sees and
 * ends only the sessions it created, as on /mcp; an --admin-token reaches every session.
 * `GET /browsers` lists browsers the same way, with those opened without a session.
 */
/**
 * Whether a request may drive the instance itself (drain): an --admin-token, or, on a server
 * without tokens, a client on this machine.
 */
function isOperator(c: Context<AppEnv>, deps: AppDeps): boolean {
  if (deps.config.authToken.length > 0) return c.get('admin') === true;
  const remote = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress;
  return remote !== undefined && isLoopbackHost(remote.replace(/^::ffff:/, ''));
}

/**
 * The file of a recording of session or browser `id` as a download, when `owner` (undefined: an
 * admin, or no tokens) may have it; undefined otherwise, whether or not it exists.
 */
export function downloadRecording(deps: AppDeps, id: string, kind: 'trace' | 'video', owner: string | undefined): Response | undefined {
  const found = deps.supervisor.recordings?.find(id, kind);
  if (!found || (owner !== undefined && found.meta.owner !== owner)) return undefined;
  const name = kind === 'trace' ? `trace-${found.meta.id}.zip` : `video-${found.meta.id}.webm`;
  return new Response(new Uint8Array(readFileSync(found.path)), {
    headers: { 'Content-Type': kind === 'trace' ? 'application/zip' : 'video/webm', 'Content-Disposition': `attachment; filename="${name}"` },
  });
}

export function installAdminRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  // Drain: no new sessions or browsers from now on (/readyz 503 DRAINING); what exists goes on
  // until it ends, and SIGTERM then exits as soon as it has. GET says how much is left.
  app.post('/admin/drain', function drain(c) {
    if (!isOperator(c, deps)) return c.json(new FleetError('FORBIDDEN', 'Forbidden: draining needs an --admin-token').toJsonRpc(), 403);
    return c.json(deps.supervisor.drain());
  });
  app.get('/admin/drain', function drainStatus(c) {
    if (!isOperator(c, deps)) return c.json(new FleetError('FORBIDDEN', 'Forbidden: the drain status needs an --admin-token').toJsonRpc(), 403);
    return c.json(deps.supervisor.drainStatus());
  });

  app.get('/sessions', async function listSessions(c) {
    return c.json({ sessions: await deps.supervisor.list({ owner: scopeOf(c) }) });
  });

  // Every browser, whichever era opened it: handle prefix, token, session (or null), page, idle time.
  app.get('/browsers', async function listBrowsers(c) {
    return c.json({ browsers: await deps.supervisor.listBrowsers({ owner: scopeOf(c) }) });
  });

  // A recorded browser's trace (zip) or video (webm): for its owner's token or an admin; 404 for anyone else.
  app.get('/sessions/:id/:kind{trace|video}', function recording(c) {
    const found = downloadRecording(deps, c.req.param('id'), c.req.param('kind') as 'trace' | 'video', scopeOf(c));
    return found ?? c.json(new FleetError('SESSION_NOT_FOUND', 'no such recording').toJsonRpc(), 404);
  });

  app.delete('/sessions/:id', async function endSession(c) {
    const id = c.req.param('id');
    const record = deps.supervisor.get(id);
    const owner = scopeOf(c);
    // Another token's session does not exist for this one, exactly as on /mcp.
    if (!record || (owner !== undefined && record.owner !== owner)) {
      const error = new FleetError('SESSION_NOT_FOUND', `session ${id} not found`);
      return c.json(error.toJsonRpc(), 404);
    }
    await deps.supervisor.endSession(id, 'admin');
    return c.json({ ended: id });
  });
}
