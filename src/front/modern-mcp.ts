import { createMcpHandler, ProtocolError, ProtocolErrorCode, ResourceNotFoundError, Server, type McpHttpHandler } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { Config } from '../config.ts';
import { FleetError, toFleetError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { BROWSER_HEADER } from '../tools/tool.ts';
import { SERVER_INFO } from './mcp-session.ts';
import type { SupervisorEvents } from '../supervisor/session-types.ts';
import { INSTANCE_HEADER, instanceFromHeader, pageLogData, progressNotification, runToolCall, toolCatalog } from './tool-calls.ts';

// The 2026-07-28 era: no initialize, no session id; every request stands alone, and state lives
// behind the browser handles that browser_open returns. Served through SDK v2, one server
// instance per request, with the same tools as the sessionful era.

/** The revisions /mcp serves: the stateless one, and the sessionful one through `initialize`. */
export const SUPPORTED_PROTOCOL_VERSIONS = ['2026-07-28', '2025-11-25'];

const validator = new AjvJsonSchemaValidator();

/**
 * The modern era's server of one request. `server/discover` advertises both revisions: the
 * specification allows listing 2025-era ones, and a client that cannot speak 2026-07-28 then
 * knows `initialize` works here. SDK v2 installs its own discover handler after the factory
 * returns and filters the list to modern revisions, so the instance's answer is widened here.
 */
function modernServer(deps: { config: Config; supervisor: Supervisor }, owner: string | undefined): Server {
  const { entries } = toolCatalog(deps.config.caps);
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: {}, logging: {}, resources: {} },
    jsonSchemaValidator: validator,
    supportedProtocolVersions: SUPPORTED_PROTOCOL_VERSIONS,
  });
  server.setRequestHandler('tools/list', async () => ({ tools: entries }));
  server.setRequestHandler('resources/list', async () => ({ resources: await deps.supervisor.listResources({ owner }) }));
  server.setRequestHandler('resources/read', async (request) => {
    try {
      return { contents: [await deps.supervisor.readResource({ owner }, request.params.uri)] };
    } catch (error) {
      const fleetError = toFleetError(error);
      if (fleetError.code === 'BROWSER_NOT_FOUND') throw new ResourceNotFoundError(request.params.uri, fleetError.message);
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, fleetError.message);
    }
  });
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const progressToken = request.params._meta?.progressToken;
    // No stream outlives a request in this era: the page problems of the browser a call names
    // arrive during that call, at the level the request asked for (SDK v2 applies it).
    const browser = request.params.arguments?.browser;
    const onLog = (event: SupervisorEvents['browser.log'][0]) => {
      if (event.handle === browser) void ctx.mcpReq.log(event.level, pageLogData(event.handle, event), 'browser').catch(() => {});
    };
    deps.supervisor.on('browser.log', onLog);
    try {
      const instance = instanceFromHeader(ctx.http?.req?.headers.get(INSTANCE_HEADER));
      return await runToolCall(deps, { owner, instance }, request.params, {
        signal: ctx.mcpReq.signal,
        unknownTool: (name) => new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool "${name}" not found`),
        onProgress: progressToken === undefined ? undefined : (progress) => void ctx.mcpReq.notify(progressNotification(progressToken, progress)).catch(() => {}),
      });
    } finally {
      deps.supervisor.off('browser.log', onLog);
    }
  });
  const instance = server as unknown as { _ondiscover(): { supportedVersions: string[] } };
  const discover = instance._ondiscover.bind(server);
  instance._ondiscover = () => {
    const answer = discover();
    return { ...answer, supportedVersions: [...new Set([...answer.supportedVersions, ...SUPPORTED_PROTOCOL_VERSIONS])] };
  };
  return server;
}

/**
 * Decodes an `Mcp-Param-*` value: `=?base64?…?=` carries canonical Base64 of UTF-8 (for values a
 * header cannot carry), anything else is the value itself. Undefined when the sentinel's payload
 * is not canonical Base64 (length a multiple of 4, correct padding) or not UTF-8.
 */
function decodeParamHeader(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?=') && value.length >= 11)) return value;
  const payload = value.slice('=?base64?'.length, -2);
  if (payload.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(payload)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.from(payload, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * The SEP-2243 check of the `browser` argument against its `Mcp-Param-Browser` mirror, which
 * routers may have used to pick this instance: when the body names a browser, the header must
 * be there and say the same. SDK v2 runs this check only for its high-level McpServer's tools.
 */
export function browserHeaderMismatch(body: unknown, headers: Headers): FleetError | undefined {
  const message = body as { method?: unknown; params?: { arguments?: { browser?: unknown } } } | undefined;
  if (message?.method !== 'tools/call') return undefined;
  const browser = message.params?.arguments?.browser;
  if (typeof browser !== 'string') return undefined;
  const name = `Mcp-Param-${BROWSER_HEADER}`;
  const header = headers.get(name);
  if (header === null) return new FleetError('HEADER_MISMATCH', `Bad Request: the body names browser "${browser.slice(0, 200)}" but the ${name} header is absent`);
  const decoded = decodeParamHeader(header);
  if (decoded === undefined) return new FleetError('HEADER_MISMATCH', `Bad Request: the ${name} header carries an invalid Base64 value`);
  if (decoded !== browser) return new FleetError('HEADER_MISMATCH', `Bad Request: the ${name} header and the body's browser argument disagree`);
  return undefined;
}

/** The 2026-07-28 handler of /mcp; `owner` travels as the request's auth info. */
export function createModernHandler(deps: { config: Config; supervisor: Supervisor; log: Logger }): McpHttpHandler {
  return createMcpHandler(({ authInfo }) => modernServer(deps, authInfo?.extra?.owner as string | undefined), {
    legacy: 'reject',
    maxRequestBodySize: deps.config.bodyLimit,
    onerror: (error) => deps.log.debug({ err: error.message }, 'modern request refused'),
  });
}
