import type { Hono } from 'hono';
import type { AppDeps, AppEnv } from './app.ts';

/** Admin routes: list sessions, end one. */
export function installAdminRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  app.get('/sessions', async (c) => c.json({ sessions: await deps.supervisor.list() }));
}
