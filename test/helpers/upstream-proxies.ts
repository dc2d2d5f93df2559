import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A proxy a test stands up to see what traffic reached it. */
export interface RecordingProxy {
  /** `http://127.0.0.1:PORT` or `socks5://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** What came through: absolute URLs of plain requests, `CONNECT host:port` of tunnels. */
  seen: string[];
  /** The Proxy-Authorization (HTTP) or user:password (SOCKS5) of each connection, if any. */
  credentials: string[];
  close(): Promise<void>;
}

function listen(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
}

/**
 * An HTTP forward proxy (absolute-form requests and CONNECT) that records every target. With
 * `challenge`, a plain request without credentials gets 407, as proxies that want them answer
 * (Chromium sends credentials only when asked).
 */
export async function startHttpProxy(options: { challenge?: boolean } = {}): Promise<RecordingProxy> {
  const seen: string[] = [];
  const credentials: string[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    const auth = req.headers['proxy-authorization'];
    if (options.challenge && !auth) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-length': '0' }).end();
      return;
    }
    seen.push(req.url ?? '');
    if (auth) credentials.push(auth);
    const target = new URL(req.url ?? '');
    const { 'proxy-authorization': _auth, 'proxy-connection': _pc, ...headers } = req.headers;
    const upstream = httpRequest({ host: target.hostname, port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    if (req.headers['proxy-authorization']) credentials.push(req.headers['proxy-authorization']);
    const [host, port] = (req.url ?? '').split(':');
    const remote = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      remote.write(head);
      remote.pipe(client);
      client.pipe(remote);
    });
    sockets.add(remote);
    remote.on('close', () => sockets.delete(remote));
    remote.on('error', () => client.destroy());
    client.on('error', () => remote.destroy());
  });
  const port = await listen(server, sockets);
  return { url: `http://127.0.0.1:${port}`, port, seen, credentials, close: closer(server, sockets) };
}

/** A SOCKS5 proxy (RFC 1928, CONNECT only; RFC 1929 user/password when the client offers it) that records every target. */
export async function startSocksProxy(): Promise<RecordingProxy> {
  const seen: string[] = [];
  const credentials: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    client.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' | 'open' = 'greeting';
    client.on('data', function onData(chunk: Buffer) {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 'greeting' && buffer.length >= 2 && buffer.length >= 2 + buffer[1]) {
        const methods = [...buffer.subarray(2, 2 + buffer[1])];
        buffer = buffer.subarray(2 + buffer[1]);
        stage = methods.includes(2) ? 'auth' : 'request';
        client.write(Buffer.from([5, methods.includes(2) ? 2 : 0]));
      }
      if (stage === 'auth' && buffer.length >= 2) {
        const userLength = buffer[1];
        if (buffer.length < 3 + userLength) return;
        const passLength = buffer[2 + userLength];
        if (buffer.length < 3 + userLength + passLength) return;
        credentials.push(`${buffer.subarray(2, 2 + userLength)}:${buffer.subarray(3 + userLength, 3 + userLength + passLength)}`);
        buffer = buffer.subarray(3 + userLength + passLength);
        stage = 'request';
        client.write(Buffer.from([1, 0]));
      }
      if (stage === 'request' && buffer.length >= 5) {
        const type = buffer[3];
        const length = type === 1 ? 4 : type === 4 ? 16 : 1 + buffer[4];
        if (buffer.length < 4 + length + 2) return;
        const address = type === 3 ? buffer.subarray(5, 5 + buffer[4]).toString() : [...buffer.subarray(4, 4 + length)].join('.');
        const port = buffer.readUInt16BE(4 + length);
        const rest = buffer.subarray(4 + length + 2);
        seen.push(`${address}:${port}`);
        stage = 'open';
        client.off('data', onData);
        const remote = connect(port, address, () => {
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          if (rest.length) remote.write(rest);
          remote.pipe(client);
          client.pipe(remote);
        });
        sockets.add(remote);
        remote.on('close', () => sockets.delete(remote));
        remote.on('error', () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
      }
    });
  });
  const port = await listen(server, sockets);
  return { url: `socks5://127.0.0.1:${port}`, port, seen, credentials, close: closer(server, sockets) };
}
