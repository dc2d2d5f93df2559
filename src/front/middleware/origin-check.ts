import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { type HostList, parseHostPort } from './host-check.ts';
import { refuse } from './refuse.ts';

/** The port this request arrived on: the socket's, or failing that the Host header's. */
function serverPort(c: Context): number | undefined {
  const socketPort = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.localPort;
  if (socketPort) return socketPort;
  const host = parseHostPort(c.req.header('host') ?? '');
  return host?.port ?? (new URL(c.req.url).protocol === 'https:' ? 443 : 80);
}

/**
 * Refuses (403) a request that carries an `Origin` header from a web page that is not this
 * server itself (a host named in the allowed hosts, `*` aside, on the server's port) or in
 * --allowed-client-origins. Without
 * it, any page a user visits could drive the server from their browser. Requests without Origin
 * (non-browser clients) pass.
 */
export function originCheck(options: { hosts: HostList; clientOrigins: readonly string[] }): MiddlewareHandler {
  const anyOrigin = options.clientOrigins.includes('*');
  const listed = new Set(options.clientOrigins.map(normalizeOrigin).filter(Boolean));
  return async function originCheck(c, next) {
    const origin = c.req.header('origin');
    if (origin === undefined || anyOrigin) return next();
    const normal = normalizeOrigin(origin);
    if (normal && listed.has(normal)) return next();
    if (normal) {
      const url = new URL(normal);
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      if (/^https?:$/.test(url.protocol) && port === serverPort(c) && options.hosts.allows(url.hostname, port, true)) return next();
    }
    return refuse(c, 'FORBIDDEN', `Forbidden: Origin "${origin.slice(0, 200)}" is not allowed; add it with --allowed-client-origins`);
  };
}

/** `scheme://host[:port]` in URL's canonical form, or '' for `null` and anything unparsable. */
export function normalizeOrigin(origin: string): string {
  try {
    const url = new URL(origin.trim());
    return url.origin === 'null' ? '' : url.origin;
  } catch {
    return '';
  }
}
