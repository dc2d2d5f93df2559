import type { Hono } from 'hono';
import { FleetError } from '../errors.ts';
import type { AppDeps, AppEnv } from './app.ts';

/**
 * Admin routes: `GET /sessions` lists every session with its worker and browser PIDs, activity,
 * pages and memory; `DELETE /sessions/:id` ends one (its client then gets 404).
 */
export function installAdminRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  app.get('/sessions', async function listSessions(c) {
    return c.json({ sessions: await deps.supervisor.list() });
  });

  app.delete('/sessions/:id', async function endSession(c) {
    const id = c.req.param('id');
    if (!deps.supervisor.get(id)) {
      const error = new FleetError('SESSION_NOT_FOUND', `session ${id} not found`);
      return c.json(error.toJsonRpc(), 404);
    }
    await deps.supervisor.end(id, 'admin');
    return c.json({ ended: id });
  });
}
