import type { Hono } from 'hono';
import type { AppDeps, AppEnv } from './app.ts';

/**
 * Request guards that run before every route: authentication, Host/Origin checks, body limit,
 * protocol version. Each guard is a factory in src/front/middleware/ returning a named function.
 */
export function installGuards(_app: Hono<AppEnv>, _deps: AppDeps): void {
  // Guards land with the security issue (#5).
}
