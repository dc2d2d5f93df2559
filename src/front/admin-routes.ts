import type { Context, Hono } from 'hono';
import { FleetError } from '../errors.ts';
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
export function installAdminRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  app.get('/sessions', async function listSessions(c) {
    return c.json({ sessions: await deps.supervisor.list({ owner: scopeOf(c) }) });
  });

  // Every browser, whichever era opened it: handle prefix, token, session (or null), page, idle time.
  app.get('/browsers', async function listBrowsers(c) {
    return c.json({ browsers: await deps.supervisor.listBrowsers({ owner: scopeOf(c) }) });
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
