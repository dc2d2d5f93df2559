import { FleetError } from '../src/errors.ts';
import type { Methods, ToolResult } from '../src/ipc/protocol.ts';
import { allTools } from '../src/tools/registry.ts';
import { Response, type RenderState } from '../src/tools/response.ts';
import { normalizeLegacyArgs, type ModalState, type Tool, type ToolContext } from '../src/tools/tool.ts';
import type { BrowserSession } from './browser-session.ts';
import { describeModalStates } from './modal-states.ts';

const toolsByName = new Map<string, Tool>(allTools.map((tool) => [tool.name, tool]));

/** What one call brings along: its signal, its deadline and where its progress goes. */
export interface CallScope {
  signal: AbortSignal;
  deadline: number;
  progress: ToolContext['progress'];
  /** Shows the page to a person at the dashboard and waits for their boxes (browser_annotate). */
  annotate: ToolContext['awaitAnnotations'];
}

/** What a tool handler reaches during one call: the session, the call's signal, deadline and progress. */
export function createToolContext(session: BrowserSession, scope: CallScope): ToolContext {
  const { signal, deadline, progress, annotate } = scope;
  return {
    settings: session.settings,
    signal,
    progress,
    awaitAnnotations: annotate,
    currentPage: () => session.currentPage(),
    currentPageOrUndefined: () => session.currentPageOrUndefined(),
    resolveTarget: (target) => session.resolveTarget(target),
    settleAfter: (action, options) => session.settleAfter(action, deadline, options),
    closeBrowser: () => session.close(),
    reopenBrowser: (options) => session.reopen(options),
    viewport: () => session.viewport(),
    secret: (text) => Object.hasOwn(session.settings.secrets, text)
      ? { value: session.settings.secrets[text], code: `process.env[${JSON.stringify(text)}]` }
      : { value: text, code: JSON.stringify(text) },
    tabs: () => session.pages(),
    newTab: (isolatedContext) => session.newTab(isolatedContext),
    selectTab: (index) => session.selectTab(index),
    closeTab: (index) => session.closeTab(index),
    modalStates: () => session.modalStates(),
    clearModalState: (state) => session.clearModalState(state),
    consoleMessages: (page, options) => session.consoleMessages(page, options),
    requests: (page, options) => session.requests(page, options),
    request: (page, index) => session.request(page, index),
    captureSnapshot: (options) => session.captureSnapshot(options),
    writeOutput: (filename, data) => session.writeOutput(filename, data),
    inputPath: (path) => session.inputPath(path),
  };
}

/** Why `tool` may not run while `states` are open, like @playwright/mcp; undefined when it may. */
function modalRefusal(tool: Tool, states: ModalState[]): string | undefined {
  if (tool.clearsModalState) {
    if (states.some((state) => state.type === tool.clearsModalState)) return undefined;
    const what = tool.clearsModalState === 'dialog' ? 'dialog' : 'file chooser';
    return `No ${what} is open, so there is nothing for ${tool.name} to handle.`;
  }
  if (tool.ignoresModalState || !states.length) return undefined;
  return `Tool "${tool.name}" cannot run while the page is blocked. Handle this first:\n` +
    describeModalStates(states).map((line) => `- ${line}`).join('\n');
}

/** Playwright messages carry a call log after the first lines; keep what a model can act on. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const text = message.split('\nCall log:')[0].trim();
  return error instanceof FleetError && error.code !== 'TOOL_FAILED' ? `${text} [${error.code}]` : text;
}

/**
 * One tools/call in the worker: validate, refuse while a modal state blocks the page, run the
 * handler, then render the page state after it. Failures of the tool are results the model can
 * read (isError); only an unknown tool or invalid arguments throw.
 */
export async function runTool(session: BrowserSession, params: Methods['tool.call']['params'], scope: CallScope): Promise<ToolResult> {
  const tool = toolsByName.get(params.name);
  if (!tool || (tool.capability && !session.settings.caps.includes(tool.capability))) throw new FleetError('UNKNOWN_TOOL', `Tool "${params.name}" not found`);
  const parsed = tool.input.safeParse(normalizeLegacyArgs(params.args));
  if (!parsed.success) throw new FleetError('INVALID_ARGUMENTS', parsed.error.message);
  const response = new Response();
  const refusal = modalRefusal(tool, session.modalStates());
  if (refusal) {
    response.addError(`${refusal} [MODAL_STATE]`);
  } else {
    try {
      await tool.handle(createToolContext(session, scope), parsed.data, response);
    } catch (error) {
      response.addError(errorText(error));
    }
  }
  for (const message of session.takeBlockedPopups()) response.addError(message);
  await session.outputs.settle(scope.deadline - Date.now() - 1000);
  const { snapshotMode, imageResponses } = session.settings;
  const include = response.includeSnapshot && !response.isError && (snapshotMode === 'full' || response.explicitSnapshot);
  const state: RenderState = await session.renderState({ include, ...response.snapshotOptions })
    .catch((error) => ({ notices: [`Could not capture the page state: ${errorText(error)}`] }));
  return response.serialize({ ...state, ...session.outputs.take() }, imageResponses);
}
