import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, type CallToolResult, ErrorCode, ListToolsRequestSchema, McpError, type Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { toFleetError } from '../errors.ts';
import type { ToolResult } from '../ipc/protocol.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { enabledTools } from '../tools/registry.ts';
import { normalizeLegacyArgs, toolTimeoutMs, type Tool } from '../tools/tool.ts';

/** Server name and version reported in `initialize`. */
export const SERVER_INFO = { name: 'browser-fleet', version: '0.1.0' };

/** One MCP session as the front holds it: the SDK's server and transport. */
export interface McpSession {
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
}

/** JSON Schema of a tool's input, as @playwright/mcp publishes it (zod 4, output side). */
export function toolInputSchema(tool: Tool): McpTool['inputSchema'] {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(tool.input) as Record<string, unknown>;
  return schema as McpTool['inputSchema'];
}

/** Tool list entries by capability set: building them costs a few ms of CPU, once, not per session. */
const entriesByCaps = new Map<string, McpTool[]>();

/** Tool list entries of `tools`, the tools `caps` enable. */
function listEntries(caps: readonly string[], tools: readonly Tool[]): McpTool[] {
  const key = [...caps].sort().join(',');
  let entries = entriesByCaps.get(key);
  if (!entries) entriesByCaps.set(key, entries = tools.map(listEntry));
  return entries;
}

function listEntry(tool: Tool): McpTool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: toolInputSchema(tool),
    annotations: { title: tool.title, ...tool.annotations },
  };
}

function errorResult(text: string): ToolResult {
  return { content: [{ type: 'text', text: `### Error\n${text}` }], isError: true };
}

/** Readable text for a zod failure: which field, what was wrong. */
export function describeInvalid(tool: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => `- ${issue.path.length ? issue.path.join('.') : '(arguments)'}: ${issue.message}`);
  return `Invalid arguments for ${tool}:\n${lines.join('\n')}`;
}

let validator: AjvJsonSchemaValidator | undefined;

/**
 * One JSON Schema validator for every session. The SDK's Server builds its own Ajv instance
 * when given none, about 1 ms of CPU and a heap of compiled meta-schemas per session, for
 * validation this server never asks for (elicitation).
 */
function sharedValidator(): AjvJsonSchemaValidator {
  validator ??= new AjvJsonSchemaValidator();
  return validator;
}

/**
 * Builds the MCP server of one session. It lists tools and validates arguments with the tools'
 * own zod schemas, then hands each call to the supervisor, which runs it in the session's browser
 * (getting one at the first call that needs it). We use the SDK's low-level
 * Server rather than McpServer.registerTool because the advertised schema (`target` required)
 * and the accepted input (`ref` as an alias) differ, which registerTool cannot express.
 */
export function createMcpSession(options: {
  sessionId: string;
  config: Config;
  supervisor: Supervisor;
}): McpSession {
  const { sessionId, config, supervisor } = options;
  const tools = enabledTools(config.caps);
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const entries = listEntries(config.caps, tools);

  const server = new Server(SERVER_INFO, { capabilities: { tools: {} }, jsonSchemaValidator: sharedValidator() });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: entries }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Tool "${request.params.name}" not found`);
    const parsed = tool.input.safeParse(normalizeLegacyArgs(request.params.arguments ?? {}));
    if (!parsed.success) return errorResult(describeInvalid(tool.name, parsed.error));
    const timeoutMs = toolTimeoutMs(tool, parsed.data, config) + 2000;
    const call = { name: tool.name, args: request.params.arguments ?? {}, releasesBrowser: tool.releasesBrowser, taints: tool.taints };
    try {
      return await supervisor.callTool(sessionId, call, { timeoutMs, signal: extra.signal });
    } catch (error) {
      const fleetError = toFleetError(error);
      return errorResult(`${fleetError.message} [${fleetError.code}]`);
    }
  });

  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => sessionId,
    maxRequestBodySize: config.bodyLimit,
    // DELETE from the client: answered once the browser was released, so it is back in the pool (or gone) when the client hears back.
    onsessionclosed: (id) => supervisor.endSession(id, 'deleted'),
  });
  return { server, transport };
}
