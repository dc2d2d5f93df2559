import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

/** The text of a tool result's text blocks. */
type Result = Awaited<ReturnType<Client['callTool']>>;

/** A 2026-07-28 client (SDK v2, pinned): no session, every request stands alone. */
export interface ModernClient {
  client: Client;
  call(name: string, args?: Record<string, unknown>, options?: { signal?: AbortSignal; onprogress?: (p: { progress: number; total?: number; message?: string }) => void }): Promise<Result>;
  text(name: string, args?: Record<string, unknown>): Promise<string>;
  /** browser_open, returning the handle. */
  open(args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export function modernText(result: Result): string {
  return (result.content as { type: string; text?: string }[]).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

export async function connectModern(baseUrl: string, options: { token?: string } = {}): Promise<ModernClient> {
  const headers: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers } });
  const client = new Client({ name: 'browser-fleet-test-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(transport);
  const call: ModernClient['call'] = (name, args = {}, opts = {}) => client.callTool({ name, arguments: args }, { signal: opts.signal, onprogress: opts.onprogress });
  return {
    client,
    call,
    text: async (name, args) => modernText(await call(name, args)),
    open: async (args = {}) => {
      const result = await call('browser_open', args);
      if (result.isError) throw new Error(`browser_open failed: ${modernText(result)}`);
      return (result.structuredContent as { browser: string }).browser;
    },
    close: () => client.close(),
  };
}

/** The `_meta` envelope and headers of a hand-built 2026-07-28 request, for cases a client would never send. */
export function modernRequest(method: string, params: Record<string, unknown>, options: { version?: string; headers?: Record<string, string>; name?: string } = {}) {
  const version = options.version ?? '2026-07-28';
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': version,
      'mcp-method': method,
      ...(options.name && { 'mcp-name': options.name }),
      ...options.headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': version,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  };
}
