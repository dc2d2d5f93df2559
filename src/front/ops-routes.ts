import type { Hono } from 'hono';
import type { AppDeps, AppEnv } from './app.ts';

/** Seconds a load balancer is told to wait before asking /readyz again. */
const READY_RETRY_AFTER = 5;

/**
 * Operations routes. `/healthz`: the process is alive and serving HTTP. `/readyz`: a new session
 * would be admitted now, with the session and browser counts (503 with the supervisor's code and
 * reason when really full, short of memory, draining or shutting down); without a token when
 * tokens are configured, only `ready` and `code`. `/metrics`: Prometheus text format.
 */
export function installOpsRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  app.get('/healthz', function healthz(c) {
    return c.json({ status: 'ok' });
  });

  app.get('/readyz', function readyz(c) {
    const readiness = deps.supervisor.readiness();
    // Counts and reasons for a client with a token (or when there are none); a bare probe learns only the verdict.
    const detailed = deps.config.authToken.length === 0 || c.get('owner') !== undefined;
    const body = detailed ? readiness : { ready: readiness.ready, ...(readiness.code && { code: readiness.code }) };
    if (readiness.ready) return c.json(body);
    return c.json(body, 503, { 'Retry-After': String(READY_RETRY_AFTER) });
  });

  app.get('/metrics', async function metrics(c) {
    if (!deps.metrics) return c.text('metrics are not enabled', 404);
    const text = await deps.metrics.render();
    return c.body(text, 200, { 'Content-Type': deps.metrics.contentType });
  });
}
