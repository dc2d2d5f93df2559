import type { Hono } from 'hono';
import type { AppDeps, AppEnv } from './app.ts';

/** Operations routes: health, readiness, metrics. */
export function installOpsRoutes(app: Hono<AppEnv>, _deps: AppDeps): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
}
