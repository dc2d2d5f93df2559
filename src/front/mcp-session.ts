import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  CallToolRequestSchema, type CallToolResult, ErrorCode, ListResourcesRequestSchema, ListToolsRequestSchema, McpError, ReadResourceRequestSchema,
  SetLevelRequestSchema, type ServerNotification, type Tool as McpTool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { toFleetError } from '../errors.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { SupervisorEvents } from '../supervisor/session-types.ts';
import {
  INSTANCE_HEADER, instanceFromHeader, pageLogData, passesLevel, progressNotification, runToolCall, toolCatalog, type LogLevel,
} from './tool-calls.ts';

/** tools/call as the SDK routes it: anything with that method, so that our handler says what is wrong with the params. */
const LooseCallToolRequestSchema = z.object({ method: z.literal('tools/call'), params: z.looseObject({}).optional() });

/** Server name and version reported in `initialize`. */
export const SERVER_INFO = { name: 'browser-fleet', version: '0.1.0' };

/** One MCP session as the front holds it: the SDK's server and transport. */
export interface McpSession {
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
  /** Stops forwarding the session's browser logs; called when the session ends. */
  dispose(): void;
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
  const { entries } = toolCatalog(config.caps);
  const server = new Server(SERVER_INFO, { capabilities: { tools: {}, logging: {}, resources: {} }, jsonSchemaValidator: sharedValidator() });
  /** The client's logging/setLevel; none: every level. */
  let threshold: LogLevel | undefined;
  /** How to reach the client inside each call in flight: its notifications ride the call's response stream. */
  const calls = new Set<(notification: ServerNotification) => Promise<void>>();
  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    threshold = request.params.level;
    return {};
  });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: entries as McpTool[] }));
  // The files the session's browsers wrote (screenshots, PDFs, downloads), for clients on other machines.
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: await supervisor.listResources({ sessionId }) }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    try {
      return { contents: [await supervisor.readResource({ sessionId }, request.params.uri)] };
    } catch (error) {
      const fleetError = toFleetError(error);
      // 2025-11-25 names -32002 for a resource that is not there.
      throw new McpError(fleetError.code === 'BROWSER_NOT_FOUND' ? -32002 : ErrorCode.InvalidParams, fleetError.message);
    }
  });
  server.setRequestHandler(LooseCallToolRequestSchema, async (loose, extra): Promise<CallToolResult> => {
    // SDK 1.x answers a request its schema rejects with -32603; arguments that are not an object are invalid params (-32602).
    const parsed = CallToolRequestSchema.safeParse(loose);
    if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, 'Invalid params: tools/call needs a string name and an object of arguments');
    const request = parsed.data;
    const progressToken = request.params._meta?.progressToken;
    calls.add(extra.sendNotification);
    try {
      const instance = instanceFromHeader(extra.requestInfo?.headers[INSTANCE_HEADER]);
      return await runToolCall({ config, supervisor }, { sessionId, instance }, request.params, {
        signal: extra.signal,
        unknownTool: (name) => new McpError(ErrorCode.InvalidParams, `Tool "${name}" not found`),
        onProgress: progressToken === undefined ? undefined : (progress) => void extra.sendNotification(progressNotification(progressToken, progress)).catch(() => {}),
      });
    } finally {
      calls.delete(extra.sendNotification);
    }
  });

  // Console errors and crashes in the session's browsers: on the stream of a call in flight when
  // there is one, else on the session's standalone stream (GET), as the client listens there.
  const onLog = (event: SupervisorEvents['browser.log'][0]) => {
    if (event.sessionId !== sessionId || !passesLevel(event.level, threshold)) return;
    const notification = { method: 'notifications/message' as const, params: { level: event.level, logger: 'browser', data: pageLogData(event.handle, event) } };
    const send = [...calls].at(-1) ?? ((n: ServerNotification) => server.notification(n));
    void send(notification).catch(() => {});
  };
  supervisor.on('browser.log', onLog);

  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => sessionId,
    maxRequestBodySize: config.bodyLimit,
    // DELETE from the client: answered once the browser was released, so it is back in the pool (or gone) when the client hears back.
    onsessionclosed: (id) => supervisor.endSession(id, 'deleted'),
  });
  return { server, transport, dispose: () => supervisor.off('browser.log', onLog) };
}
