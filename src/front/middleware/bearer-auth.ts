import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../../log.ts';
import { matchToken, tokenDigests, tokenFingerprint } from '../../security/tokens.ts';
import type { AppEnv } from '../app.ts';
import { refuse } from './refuse.ts';

const REALM = 'Bearer realm="browser-fleet"';

/**
 * Requires `Authorization: Bearer TOKEN` with one of `tokens` on every path but `exempt`, and
 * sets `owner` to the token's fingerprint so a session answers only to the token that created
 * it, and `admin` when the token is one of `admins` (which must be among `tokens`). The token is
 * read from that header only, never the query string (which ends up in logs and browser
 * history). With no tokens configured every request passes and `owner` stays unset. On an
 * `exempt` path a request without a valid token passes too, without `owner`.
 */
export function bearerAuth(options: { tokens: readonly string[]; admins: readonly string[]; exempt: (path: string) => boolean; log: Logger }): MiddlewareHandler<AppEnv> {
  const known = tokenDigests(options.tokens);
  const admins = new Set(options.admins.map(tokenFingerprint));
  return async function bearerAuth(c, next) {
    if (known.length === 0) return next();
    const isExempt = options.exempt(c.req.path);
    const header = c.req.header('authorization');
    const presented = header?.match(/^Bearer[ \t]+([^\s]+)[ \t]*$/i)?.[1];
    if (!presented && isExempt) return next();
    if (!presented) {
      audit(c, options.log, header ? 'malformed Authorization header' : 'no bearer token');
      return refuse(c, 'UNAUTHORIZED', 'Unauthorized: send Authorization: Bearer <token>', { 'WWW-Authenticate': REALM });
    }
    const owner = matchToken(presented, known);
    if (!owner && isExempt) return next();
    if (!owner) {
      audit(c, options.log, 'unknown bearer token');
      return refuse(c, 'UNAUTHORIZED', 'Unauthorized: the bearer token is not valid', { 'WWW-Authenticate': `${REALM}, error="invalid_token"` });
    }
    c.set('owner', owner);
    c.set('admin', admins.has(owner));
    await next();
  };
}

function audit(c: Context, log: Logger, reason: string): void {
  const remote = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress;
  log.warn({ method: c.req.method, path: c.req.path, remote, reason }, 'request refused: unauthorized');
}
