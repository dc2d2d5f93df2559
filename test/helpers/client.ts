import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** An MCP client session over Streamable HTTP, as agents use it. */
export interface TestClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  sessionId: string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** The text of all text blocks of a call's result. */
  text(name: string, args?: Record<string, unknown>): Promise<string>;
  /** Ends the session with DELETE and closes the transport. */
  close(): Promise<void>;
}

export async function connectClient(baseUrl: string, options: { token?: string } = {}): Promise<TestClient> {
  const headers: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers } });
  const client = new Client({ name: 'browser-fleet-test', version: '1.0.0' });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    await client.callTool({ name, arguments: args }) as CallToolResult;
  return {
    client,
    transport,
    sessionId: transport.sessionId!,
    call,
    text: async (name, args) => resultText(await call(name, args)),
    close: async () => {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

export function resultText(result: CallToolResult): string {
  return result.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text).join('\n');
}

/** The ref of the first snapshot line that contains `needle`, e.g. `button "Go"`. */
export function refFor(snapshot: string, needle: string): string {
  const line = snapshot.split('\n').find((l) => l.includes(needle) && /\[ref=/.test(l));
  const ref = line?.match(/\[ref=([^\]]+)\]/)?.[1];
  if (!ref) throw new Error(`no ref for ${needle} in snapshot:\n${snapshot}`);
  return ref;
}
