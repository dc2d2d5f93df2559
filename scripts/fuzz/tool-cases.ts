// One tool call with generated arguments, per era, on a browser kept at the fixture page, and
// what its answer must be: an isError result or -32602, within the call's own deadline.
import { normalizeLegacyArgs, toolTimeoutMs, type Tool } from '../../src/tools/tool.ts';
import { CaseFailure, describeReply, describeRequest } from './http.ts';
import type { Runner } from './run-property.ts';
import { HANG_SLACK_MS, V1, V2, callTool, closeModernBrowser, openRawSession, textOf } from './target.ts';
import { unsafeUrl } from './tool-arguments.ts';
import { serialize, show } from './values.ts';

export interface ToolState {
  era: 'v1' | 'modern';
  sessionId?: string;
  handle?: string;
  casesSinceReset: number;
}

export async function ensureBrowser(runner: Runner, state: ToolState): Promise<void> {
  const { target } = runner;
  if (state.era === 'v1') {
    if (!state.sessionId || !target.server.supervisor.get(state.sessionId)) state.sessionId = await openRawSession(target);
  } else if (!state.handle) {
    const { response } = await callTool(target, { modern: true }, 'browser_open', {}, 60_000);
    const handle = (response.result as { structuredContent?: { browser?: string } } | undefined)?.structuredContent?.browser;
    if (!handle) throw new Error(`browser_open failed: ${show(response)}`);
    state.handle = handle;
  }
}

/** Brings the browser back to the fixture page with a snapshot (refs e1…); closes it when it cannot. */
async function resetPage(runner: Runner, state: ToolState): Promise<void> {
  await ensureBrowser(runner, state);
  const era = state.era === 'v1' ? { sessionId: state.sessionId! } : { modern: true as const };
  const browser = state.era === 'v1' ? {} : { browser: state.handle };
  const timeout = runner.target.config.timeoutNavigation + HANG_SLACK_MS;
  const { response } = await callTool(runner.target, era, 'browser_navigate', { url: `${runner.target.pages.url}/fuzz`, ...browser }, timeout);
  if ((response.result as { isError?: boolean } | undefined)?.isError !== true) return;
  // A dialog, a stuck page: start over in a fresh browser.
  await callTool(runner.target, era, 'browser_close', browser, timeout).catch(() => {});
  if (state.era === 'modern') state.handle = undefined;
  await ensureBrowser(runner, state);
}

/** Whether `text` is well-formed UTF-16 (no lone surrogates). */
function isWellFormed(text: string): boolean {
  return !/[\ud800-\udfff]/u.test(text);
}

/** Stands for the browser handle of the moment in generated arguments (a case may close the browser, and a reset open another). */
export const HANDLE = '<handle>';

export async function runToolCase(runner: Runner, state: ToolState, tool: Tool, generated: unknown): Promise<string> {
  const { target } = runner;
  if (state.casesSinceReset++ % 5 === 0) await resetPage(runner, state);
  await ensureBrowser(runner, state);
  const args = generated !== null && typeof generated === 'object' && !Array.isArray(generated) && (generated as { browser?: unknown }).browser === HANDLE
    ? { ...generated, browser: state.handle } : generated;
  const unsafe = unsafeUrl(args, target.pages);
  if (unsafe) throw new Error(`fuzzer bug: generated a URL that leaves 127.0.0.1: ${unsafe}`);
  // What the server will see once it parsed the body (a Raw `1e999` is Infinity, not an object).
  // A body over the limit is refused with 413 before anything parses it, so the fuzzer does not
  // parse it either: 100 copies of an item nested 2^17 deep are 25 MB of text but 13 million
  // arrays, which ran this process out of heap in a long run.
  const body = serialize(args);
  const seen: unknown = Buffer.byteLength(body) <= target.config.bodyLimit ? JSON.parse(body) : undefined;
  const object = seen !== null && typeof seen === 'object' && !Array.isArray(seen) ? seen as Record<string, unknown> : undefined;
  const parsed = object ? tool.input.safeParse(normalizeLegacyArgs(object)) : undefined;
  // The call's own deadline, as the server computes it; odd numbers (time: -1e308) can make it non-finite or negative.
  const own = parsed?.success ? toolTimeoutMs(tool, parsed.data, target.config) : target.config.timeoutAction;
  const deadline = Number.isFinite(own) ? Math.max(0, own) : target.config.timeoutAction;
  const era = state.era === 'v1' ? { sessionId: state.sessionId! } : { modern: true as const };
  const { response, req, reply, message } = await callTool(target, era, tool.name, args, deadline + 2000 + HANG_SLACK_MS);
  const where = `request: ${describeRequest(req, message)}\nreply: ${describeReply(reply)}`;
  if ('refused' in response) return `HTTP ${String(response.refused)}`;
  if ('error' in response) {
    const code = (response.error as { code: number }).code;
    // A browser argument with a lone surrogate has no UTF-8 form, so no header can mirror it: -32020 is right.
    const unmirrorable = state.era === 'modern' && typeof object?.browser === 'string' && !isWellFormed(object.browser);
    if (code === -32020 && unmirrorable) return 'error -32020 (browser argument has no UTF-8 form)';
    if (code !== -32602) throw new CaseFailure(`a tools/call answered with JSON-RPC error ${code}, not an isError result or -32602\n${where}`);
    if (parsed?.success) throw new CaseFailure(`valid arguments were refused with -32602\n${where}`);
  } else {
    const result = response.result as { content?: unknown; isError?: boolean };
    if (!Array.isArray(result.content)) throw new CaseFailure(`a tool result without a content array\n${where}`);
    if (!parsed?.success && result.isError !== true) throw new CaseFailure(`invalid arguments were not refused (no isError)\n${where}`);
  }
  const text = textOf(response);
  const isError = (response.result as { isError?: boolean } | undefined)?.isError === true;
  if (state.era === 'modern' && object?.browser === state.handle && (/BROWSER_NOT_FOUND/.test(text) || (tool.name === 'browser_close' && !isError))) state.handle = undefined;
  // Not a broken invariant, but worth reading: a tool error the server itself calls internal or a crash.
  const internal = text.match(/\[(INTERNAL|WORKER_CRASHED|BROWSER_CRASHED|PROTOCOL_MISMATCH)\]/);
  if (internal) {
    const key = `${tool.name} (${state.era === 'v1' ? V1 : V2}): ${text.replace(/^### Error\n/, '').split('\n')[0].slice(0, 200)}`;
    const note = runner.report.notes[key] ??= { count: 0, example: show(args).slice(0, 600) };
    note.count++;
  }
  if (tool.name === 'browser_close' || tool.name === 'browser_open') state.casesSinceReset = 0;
  // A browser a case opened in a session ends with the session; in the stateless era it is closed here.
  const opened = (response.result as { structuredContent?: { browser?: unknown } } | undefined)?.structuredContent?.browser;
  if (state.era === 'modern' && typeof opened === 'string' && opened !== state.handle) await closeModernBrowser(target, opened);
  const error = response.error as { code: number; message: string } | undefined;
  return error ? `error ${error.code} ${error.message.slice(0, 160)}` : `${(response.result as { isError?: boolean }).isError ? 'isError' : 'ok'} ${text.slice(0, 160).replace(/\n/g, ' | ')}`;
}
