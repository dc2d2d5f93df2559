import type { Hono } from 'hono';
import type { AppDeps, AppEnv } from './app.ts';
import { bearerAuth } from './middleware/bearer-auth.ts';
import { requestBodyLimit } from './middleware/body-limit.ts';
import { defaultAllowedHosts, hostCheck, HostList } from './middleware/host-check.ts';
import { originCheck } from './middleware/origin-check.ts';

/**
 * Probe paths: anyone may call them without a token or a known Host (load balancers' health
 * checks carry neither: HAProxy's sends no Host header). /readyz then says only whether the
 * instance is ready and why not, without counts.
 */
export const PROBE_PATHS = ['/healthz', '/readyz'];

/** The dashboard is navigated to by a browser, which cannot send a bearer header: it checks its own cookie. */
export function isDashboardPath(path: string): boolean {
  return path === '/dashboard' || path.startsWith('/dashboard/');
}

/**
 * Request guards that run before every route, cheapest refusal first: Host (DNS rebinding),
 * Origin (web pages driving the server), bearer token (sets `owner`), body limit. Each guard is
 * a factory in src/front/middleware/ returning a named function. An unsupported
 * MCP-Protocol-Version is refused by the SDK transport itself.
 *
 * `config.authToken` must already hold the tokens file's and the admin tokens (src/security/tokens.ts
 * prepareAuth, called by startServer).
 */
export function installGuards(app: Hono<AppEnv>, deps: AppDeps): void {
  const { config, log } = deps;
  const hosts = new HostList(defaultAllowedHosts(config.host, config.allowedHosts));
  app.use('*',
    hostCheck(hosts, PROBE_PATHS),
    originCheck({ hosts, clientOrigins: config.allowedClientOrigins }),
    bearerAuth({ tokens: config.authToken, admins: config.adminToken, exempt: (path) => PROBE_PATHS.includes(path) || isDashboardPath(path), log }),
    requestBodyLimit(config.bodyLimit),
  );
}
