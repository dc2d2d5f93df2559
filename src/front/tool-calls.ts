import { z } from 'zod';
import { INSTANCE_NAME, type Config } from '../config.ts';
import { toFleetError } from '../errors.ts';
import type { PageLog, ToolResult } from '../ipc/protocol.ts';
import type { CallProgress } from '../ipc/worker-handle.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { Caller } from '../supervisor/session-types.ts';
import { enabledTools } from '../tools/registry.ts';
import { normalizeLegacyArgs, toolTimeoutMs, type Tool } from '../tools/tool.ts';

// What both protocol eras share: one tool list, one way to validate and run a call.

/** The header a load balancer names the instance in (HAProxy: `http-send-name-header`). */
export const INSTANCE_HEADER = 'x-browser-fleet-instance';

/** The instance name a request's header carries, if it is a valid one. */
export function instanceFromHeader(value: string | string[] | null | undefined): string | undefined {
  const name = Array.isArray(value) ? value[0] : value;
  return name && INSTANCE_NAME.test(name) ? name : undefined;
}

/** What the worker gets past a tool's deadline before it abandons the call, ms. */
const WORKER_RESERVE_MS = 500;

/** Log levels of MCP (RFC 5424), least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** Whether a message of `level` passes a client's `threshold` (none set: everything passes). */
export function passesLevel(level: LogLevel, threshold: LogLevel | undefined): boolean {
  return threshold === undefined || LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/** The `data` of a notifications/message about a page problem in browser `handle`. */
export function pageLogData(handle: string, log: PageLog): Record<string, unknown> {
  return { browser: handle, kind: log.kind, text: log.text, url: log.url };
}

/** The progress notification for `progress` of the call that sent `progressToken`. */
export function progressNotification(progressToken: string | number, progress: CallProgress) {
  return { method: 'notifications/progress' as const, params: { progressToken, ...progress } };
}

/** A tools/list entry, as both SDKs type it. */
export interface ToolListEntry {
  name: string;
  title: string;
  description: string;
  inputSchema: { type: 'object'; [key: string]: unknown };
  annotations: Record<string, unknown>;
}

/** JSON Schema of a tool's input, as @playwright/mcp publishes it (zod 4, output side). */
export function toolInputSchema(tool: Tool): ToolListEntry['inputSchema'] {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(tool.input) as Record<string, unknown>;
  return schema as ToolListEntry['inputSchema'];
}

/** The tools of one configuration, built once: the list clients see and the lookup calls use. */
export interface ToolCatalog {
  entries: ToolListEntry[];
  byName: Map<string, Tool>;
}

/** Catalogs by capability set: building the entries costs a few ms of CPU, once, not per session or request. */
const catalogs = new Map<string, ToolCatalog>();

export function toolCatalog(caps: readonly string[]): ToolCatalog {
  const key = [...caps].sort().join(',');
  let catalog = catalogs.get(key);
  if (!catalog) {
    const tools = enabledTools(caps);
    catalog = {
      entries: tools.map((tool) => ({
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: toolInputSchema(tool),
        annotations: { title: tool.title, ...tool.annotations },
      })),
      byName: new Map(tools.map((tool) => [tool.name, tool])),
    };
    catalogs.set(key, catalog);
  }
  return catalog;
}

function errorResult(text: string): ToolResult {
  return { content: [{ type: 'text', text: `### Error\n${text}` }], isError: true };
}

/** Readable text for a zod failure: which field, what was wrong. */
export function describeInvalid(tool: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => `- ${issue.path.length ? issue.path.join('.') : '(arguments)'}: ${issue.message}`);
  return `Invalid arguments for ${tool}:\n${lines.join('\n')}`;
}

/**
 * Validates one tools/call with the tool's zod schema and hands it to the supervisor, which runs
 * it in the browser the call names or the caller's own. Every failure under the call is a tool
 * error the model can read; only an unknown tool is a protocol error (`unknownTool`).
 */
export async function runToolCall(
  deps: { config: Config; supervisor: Supervisor },
  caller: Caller,
  params: { name: string; arguments?: Record<string, unknown> },
  options: { signal?: AbortSignal; unknownTool: (name: string) => Error; onProgress?: (progress: CallProgress) => void },
): Promise<ToolResult> {
  const { config, supervisor } = deps;
  const tool = toolCatalog(config.caps).byName.get(params.name);
  if (!tool) throw options.unknownTool(params.name);
  const args = params.arguments ?? {};
  const parsed = tool.input.safeParse(normalizeLegacyArgs(args));
  if (!parsed.success) return errorResult(describeInvalid(tool.name, parsed.error));
  // The worker gets a little past the tool's deadline, so Playwright's own timeout error (which
  // says what it waited for) wins; the front gives up on it 900 ms past the deadline (call-forwarding.ts).
  const timeoutMs = toolTimeoutMs(tool, parsed.data, config) + WORKER_RESERVE_MS;
  const browser = typeof parsed.data.browser === 'string' ? parsed.data.browser : undefined;
  // The parsed arguments, not the raw ones: unknown keys (however deep) never reach the worker.
  const call = { name: tool.name, args: parsed.data as Record<string, unknown>, browser, browserRole: tool.browserRole, taints: tool.taints };
  try {
    return await supervisor.callTool(caller, call, { timeoutMs, signal: options.signal, onProgress: options.onProgress });
  } catch (error) {
    const fleetError = toFleetError(error);
    return errorResult(`${fleetError.message} [${fleetError.code}]`);
  }
}
