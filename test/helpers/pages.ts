import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local HTTP server for test pages: `route(path, html)` or `route(path, handler)`. */
export interface PageServer {
  url: string;
  /** Same server under a second host name, for cross-origin cases. */
  port: number;
  route(path: string, body: string | Handler, contentType?: string): void;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const routes = new Map<string, Handler>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const handler = routes.get(path);
    if (handler) return handler(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    route(path, body, contentType = 'text/html; charset=utf-8') {
      routes.set(path, typeof body === 'function' ? body : (_req, res) => {
        res.writeHead(200, { 'content-type': contentType }).end(body);
      });
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
