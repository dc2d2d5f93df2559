import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** --proxy-server, parsed: where the egress proxy sends what it let through. */
export interface Upstream {
  protocol: 'http:' | 'https:' | 'socks5:';
  host: string;
  port: number;
  username?: string;
  password?: string;
}

const DEFAULT_PORTS = { 'http:': 80, 'https:': 443, 'socks5:': 1080 } as const;

/** The user name and password of a proxy URL, decoded. */
function credentials(url: URL): { username?: string; password?: string } {
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** Parses a --proxy-server URL; throws on a scheme the egress proxy cannot chain to. */
export function parseUpstream(server: string): Upstream {
  const url = new URL(server);
  if (!(url.protocol in DEFAULT_PORTS)) throw new Error(`--proxy-server ${url.protocol}// cannot be chained behind the egress filter: use http://, https:// or socks5://`);
  const protocol = url.protocol as Upstream['protocol'];
  return {
    protocol,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : DEFAULT_PORTS[protocol],
    ...credentials(url),
  };
}

/** Playwright's `proxy` option for `server`: Chromium takes no credentials in the URL. */
export function playwrightProxy(server: string, bypass?: string): { server: string; bypass?: string; username?: string; password?: string } {
  const url = new URL(server);
  const { username, password } = credentials(url);
  return { server: `${url.protocol}//${url.host}`, ...(bypass && { bypass }), ...(username && { username }), ...(password && { password }) };
}

/**
 * Whether `host:port` goes around the upstream proxy, by Chromium's bypass list rules: entries
 * separated by commas or semicolons, `example.com` (that host), `.example.com` or `*.example.com`
 * (its subdomains and itself), `host:port`, `*` (everything) and `<local>` (names without a dot).
 */
export function bypassMatcher(list: string | undefined): (host: string, port: number) => boolean {
  const rules = (list ?? '').split(/[,;\s]+/).map((entry) => entry.trim().toLowerCase()).filter(Boolean).map((entry) => {
    if (entry === '*' || entry === '<local>') return { pattern: entry, port: undefined };
    const match = entry.match(/^(?:[a-z][a-z0-9+.-]*:\/\/)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/);
    return { pattern: (match?.[1] ?? entry).replace(/^\*\./, '.'), port: match?.[2] ? Number(match[2]) : undefined };
  });
  return (rawHost, port) => {
    const host = rawHost.toLowerCase().replace(/^\[|\]$/g, '');
    return rules.some(({ pattern, port: rulePort }) => {
      if (rulePort !== undefined && rulePort !== port) return false;
      if (pattern === '*') return true;
      if (pattern === '<local>') return !host.includes('.') && !host.includes(':');
      const bare = pattern.replace(/^\[|\]$/g, '');
      if (pattern.startsWith('.')) return host === bare.slice(1) || host.endsWith(bare);
      return host === bare;
    });
  };
}

function basicAuth(upstream: Upstream): string | undefined {
  if (upstream.username === undefined) return undefined;
  return `Basic ${Buffer.from(`${upstream.username}:${upstream.password ?? ''}`).toString('base64')}`;
}

/** A connection to the upstream proxy itself (TLS for https://). */
function connectToProxy(upstream: Upstream): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = upstream.protocol === 'https:'
      ? tlsConnect({ host: upstream.host, port: upstream.port, servername: upstream.host }, () => resolve(socket))
      : netConnect({ host: upstream.host, port: upstream.port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads from `socket` until `done(buffer)` says how many bytes the handshake took; the rest is pushed back. */
function readHandshake(socket: Socket, done: (data: Buffer) => number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const used = done(data);
      if (used === undefined) {
        if (data.length > 16_384) finish(new Error('the upstream proxy sent an oversized handshake'));
        return;
      }
      finish();
      if (used < data.length) socket.unshift(data.subarray(used));
      resolve(data.subarray(0, used));
    };
    const onEnd = () => finish(new Error('the upstream proxy closed the connection during the handshake'));
    const finish = (error?: Error) => {
      socket.off('data', onData).off('error', finish).off('end', onEnd);
      if (error) reject(error);
    };
    socket.on('data', onData).once('error', finish).once('end', onEnd);
  });
}

/** An HTTP CONNECT tunnel through an http(s) upstream proxy. */
async function httpTunnel(upstream: Upstream, host: string, port: number): Promise<Socket> {
  const socket = await connectToProxy(upstream);
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const auth = basicAuth(upstream);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`);
  const head = (await readHandshake(socket, (data) => {
    const end = data.indexOf('\r\n\r\n');
    return end === -1 ? undefined : end + 4;
  })).toString('latin1');
  const status = Number(head.match(/^HTTP\/1\.[01] (\d{3})/)?.[1]);
  if (status !== 200) {
    socket.destroy();
    throw new Error(`the upstream proxy refused CONNECT ${authority}: ${head.split('\r\n')[0]}`);
  }
  return socket;
}

/** A SOCKS5 CONNECT through a socks5 upstream (RFC 1928; user/password auth, RFC 1929, when given). */
async function socksTunnel(upstream: Upstream, host: string, port: number): Promise<Socket> {
  const socket = await connectToProxy(upstream);
  const fail = (why: string): never => {
    socket.destroy();
    throw new Error(`the SOCKS5 proxy ${why}`);
  };
  const withAuth = upstream.username !== undefined;
  socket.write(Buffer.from(withAuth ? [5, 2, 0, 2] : [5, 1, 0]));
  const [, method] = await readHandshake(socket, (data) => data.length >= 2 ? 2 : undefined);
  if (method === 2 && withAuth) {
    const user = Buffer.from(upstream.username!), pass = Buffer.from(upstream.password ?? '');
    socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
    const [, ok] = await readHandshake(socket, (data) => data.length >= 2 ? 2 : undefined);
    if (ok !== 0) fail('refused the user name and password');
  } else if (method !== 0) {
    fail('accepts none of our authentication methods');
  }
  const name = Buffer.from(host);
  socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]));
  const reply = await readHandshake(socket, (data) => {
    if (data.length < 5) return undefined;
    const length = data[3] === 1 ? 4 : data[3] === 4 ? 16 : data[3] === 3 ? 1 + data[4] : -1;
    if (length < 0) return 4;
    return data.length >= 4 + length + 2 ? 4 + length + 2 : undefined;
  });
  if (reply[1] !== 0) fail(`refused to connect to ${host}:${port} (reply ${reply[1]})`);
  return socket;
}

/** A raw connection to `host:port` through the upstream proxy. */
export function tunnel(upstream: Upstream, host: string, port: number): Promise<Socket> {
  return upstream.protocol === 'socks5:' ? socksTunnel(upstream, host, port) : httpTunnel(upstream, host, port);
}

/**
 * A plain-HTTP request for `url` through the upstream proxy: in absolute form to an http(s)
 * proxy (as a browser sends it), over a tunnel through a SOCKS5 one.
 */
export function requestVia(upstream: Upstream, url: URL, connectTo: string, method: string | undefined, headers: IncomingHttpHeaders): ClientRequest {
  const port = url.port ? Number(url.port) : 80;
  const target = `http://${connectTo.includes(':') ? `[${connectTo}]` : connectTo}:${port}${url.pathname}${url.search}`;
  if (upstream.protocol === 'socks5:') {
    let socket: Promise<Socket> | undefined;
    return httpRequest({
      host: connectTo, port, method, path: `${url.pathname}${url.search}`, headers, setHost: false,
      createConnection: (_options, callback) => {
        socket ??= tunnel(upstream, connectTo, port);
        socket.then((s) => callback(null, s), (error: Error) => callback(error, undefined as never));
        return undefined;
      },
    });
  }
  const auth = basicAuth(upstream);
  // Over TLS to an https:// proxy, through a tunnel to the proxy itself, plain otherwise.
  return httpRequest({
    host: upstream.host, port: upstream.port, method, path: target, setHost: false,
    headers: { ...headers, ...(auth && { 'proxy-authorization': auth }) },
    ...(upstream.protocol === 'https:' && {
      createConnection: (_options: unknown, callback: (error: Error | null, socket: Socket) => void) => {
        connectToProxy(upstream).then((s) => callback(null, s), (error: Error) => callback(error, undefined as never));
        return undefined;
      },
    }),
  });
}
