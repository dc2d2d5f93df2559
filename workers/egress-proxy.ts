import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { EgressPolicy } from '../src/security/egress-policy.ts';
import { bypassMatcher, parseUpstream, requestVia, tunnel } from './upstream-proxy.ts';

/** A running egress proxy: Chromium sends every connection through it. */
export interface EgressProxy {
  /** `http://127.0.0.1:PORT`, for Chromium's proxy setting. */
  server: string;
  close(): Promise<void>;
}

/** What the proxy refused, for the worker's log. */
export type OnRefused = (target: string, reason: string) => void;

const HOP_BY_HOP = ['proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade'];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The page a refused plain-HTTP request gets, so a model reading the snapshot learns why. */
export function blockedPage(url: string, reason: string): string {
  return `<!doctype html><title>Blocked by browser-fleet</title><h1>Blocked by browser-fleet</h1>` +
    `<p>The request to ${escapeHtml(url)} was blocked: ${escapeHtml(reason)}.</p>`;
}

/** Splits `host:port` / `[v6]:port` of a CONNECT line. */
function splitAuthority(authority: string): { host: string; port: number } | undefined {
  const match = authority.match(/^(\[[^\]]+\]|[^:]+):(\d+)$/);
  return match ? { host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) } : undefined;
}

/**
 * Starts a forward proxy on 127.0.0.1 that vets every connection the browser makes, redirect
 * hops and WebSockets included, and connects only to the address it vetted. Request
 * interception cannot do this: Chromium follows redirects without asking the route handler,
 * and resolves host names again after any check made beforehand. With `upstream`
 * (--proxy-server), what it lets through goes on through that proxy, except hosts on its bypass list.
 */
export async function startEgressProxy(policy: EgressPolicy, onRefused: OnRefused = () => {}, upstreamProxy?: { server: string; bypass?: string }): Promise<EgressProxy> {
  const upstream = upstreamProxy && parseUpstream(upstreamProxy.server);
  const bypassed = bypassMatcher(upstreamProxy?.bypass);
  const viaUpstream = (host: string, port: number) => upstream !== undefined && !bypassed(host, port);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void forward(req, res));

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('browser-fleet egress proxy: absolute http URL expected');
      return;
    }
    if (url.protocol !== 'http:') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('browser-fleet egress proxy: only http URLs are forwarded');
      return;
    }
    const port = url.port ? Number(url.port) : 80;
    const verdict = await policy.vet('http:', url.hostname, port);
    if ('refused' in verdict) {
      onRefused(url.href, verdict.refused);
      res.writeHead(403, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(blockedPage(url.href, verdict.refused));
      return;
    }
    const headers = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    const outgoing = viaUpstream(url.hostname, port)
      ? requestVia(upstream!, url, verdict.connectTo, req.method, headers)
      : httpRequest({ host: verdict.connectTo, port, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false });
    outgoing.on('response', (reply) => {
      const replyHeaders = { ...reply.headers };
      for (const name of HOP_BY_HOP) delete replyHeaders[name];
      res.writeHead(reply.statusCode ?? 502, reply.statusMessage, replyHeaders);
      reply.pipe(res);
    });
    outgoing.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`browser-fleet egress proxy: ${error.message}`);
      else res.destroy();
    });
    req.pipe(outgoing);
  }

  server.on('connect', async (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on('error', () => {});
    const target = splitAuthority(req.url ?? '');
    if (!target) {
      client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const verdict = await policy.vet(undefined, target.host, target.port);
    if ('refused' in verdict) {
      onRefused(req.url ?? '', verdict.refused);
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    let open = false;
    const established = (remote: Socket) => {
      open = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) remote.write(head);
      remote.pipe(client);
      client.pipe(remote);
    };
    const failed = () => {
      if (open) client.destroy();
      else client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    };
    const track = (remote: Socket) => {
      sockets.add(remote);
      remote.on('close', () => sockets.delete(remote));
      remote.on('error', failed);
      client.on('close', () => remote.destroy());
    };
    if (viaUpstream(target.host, target.port)) {
      tunnel(upstream!, verdict.connectTo, target.port).then((remote) => {
        track(remote);
        if (client.destroyed) remote.destroy();
        else established(remote);
      }, (error: Error) => {
        onRefused(req.url ?? '', error.message);
        failed();
      });
      return;
    }
    const remote = connect({ host: verdict.connectTo, port: target.port }, () => established(remote));
    track(remote);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    server: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
