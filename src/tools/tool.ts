import type { Dialog, FileChooser, Locator, Page, Request } from 'playwright-core';
import { z } from 'zod';
import type { Annotation, WorkerSettings } from '../ipc/protocol.ts';
import type { Response } from './response.ts';

// Tool files are loaded by the front too (to list tools and validate arguments), so they may
// only `import type` from Playwright: the objects they act on are handed in by the worker.

/** MCP tool annotations, as @playwright/mcp declares them. */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  openWorldHint: boolean;
}

/** A state that blocks the page until one tool clears it, as @playwright/mcp calls them. */
export type ModalState =
  | { type: 'dialog'; description: string; clearedBy: string; dialog: Dialog }
  | { type: 'fileChooser'; description: string; clearedBy: string; fileChooser: FileChooser };

/** Console severities, most severe first; each level includes the ones before it. */
export const CONSOLE_LEVELS = ['error', 'warning', 'info', 'debug'] as const;

/** One console message or uncaught page error, recorded from the moment its page opened. */
export interface ConsoleEntry {
  level: typeof CONSOLE_LEVELS[number];
  /** The line shown to the client, e.g. `[LOG] hello @ http://x/:3`. */
  line: string;
}

/** One request of a page, numbered from 1 in the order the page issued them. */
export interface RequestEntry {
  index: number;
  request: Request;
}

/** How settling after an action may be shortened. */
export interface SettleOptions {
  /**
   * One round trip to the page after the action, so events it causes just after returning (a
   * file chooser) arrive before the result is rendered. On by default; a navigation that waited
   * for its load state turns it off (about 10 ms of a first page).
   */
  roundTrip?: boolean;
  /**
   * The action closes a dialog that blocks the page. The renderer answers nothing until it does,
   * so watching for the requests the action starts begins alongside it instead of before it.
   */
  closesDialog?: boolean;
}

/** What browser_open may choose for its browser (each allowed by --client-browser-options). */
export interface BrowserChoices {
  headless?: boolean;
  width?: number;
  height?: number;
  device?: string;
  locale?: string;
  timezoneId?: string;
  colorScheme?: 'light' | 'dark' | 'no-preference';
  /** An absolute path, already confined to the files the browser may read. */
  storageState?: string;
}

/** What a tool handler can reach in the worker. Implemented by workers/tool-runner.ts. */
export interface ToolContext {
  readonly settings: WorkerSettings;
  /** The selected tab; opens one when the browser has none. */
  currentPage(): Promise<Page>;
  /** The selected tab, if any, without opening one. */
  currentPageOrUndefined(): Page | undefined;
  /** Resolves an element `target`: a ref from the last snapshot (`e12`, `f1e3`) or a selector. */
  resolveTarget(target: string): Promise<Locator>;
  /**
   * Runs `action`, then waits for what it started (a navigation, requests it caused) to settle,
   * within caps and the call's deadline; never a fixed sleep. Returns early when the action opens
   * a modal state (a dialog blocks the page, so the action itself cannot finish).
   */
  settleAfter(action: () => Promise<unknown>, options?: SettleOptions): Promise<void>;
  /** Closes the browser; the next tool that needs a page launches a new one. */
  closeBrowser(): Promise<void>;
  /** Opens a fresh context with these options, relaunching the browser when headless changes (browser_open). */
  reopenBrowser(options: BrowserChoices): Promise<void>;
  /** The viewport of the selected tab (a device's, when one is emulated). */
  viewport(): { width: number; height: number };
  /** What the page gets for `text`: a --secrets value when `text` is a secret's name, and the code line to show for it. */
  secret(text: string): { value: string; code: string };
  /** Every open tab, in the order they were opened. */
  tabs(): Page[];
  /**
   * Opens a tab and selects it; a PAGE_LIMIT error past --max-pages. In `isolatedContext`, a
   * named context of its own (cookies and storage shared only by tabs of the same name).
   */
  newTab(isolatedContext?: string): Promise<Page>;
  /** Selects tab `index` (0-based). */
  selectTab(index: number): Promise<Page>;
  /** Closes tab `index`, or the selected one; returns its URL. */
  closeTab(index?: number): Promise<string>;
  /** Modal states (dialog, file chooser) open on the selected tab. */
  modalStates(): ModalState[];
  /** Forgets a modal state once the tool that clears it handled it. */
  clearModalState(state: ModalState): void;
  /** Console messages of `page` since its last navigation, or since it opened with `all`. */
  consoleMessages(page: Page, options?: { all?: boolean }): ConsoleEntry[];
  /** Requests of `page` since its last navigation, or since it opened with `all`. */
  requests(page: Page, options?: { all?: boolean }): RequestEntry[];
  /** Request number `index` of `page`, if still recorded. */
  request(page: Page, index: number): RequestEntry | undefined;
  /** The aria snapshot of the selected tab, or of one element, not truncated. */
  captureSnapshot(options: { target?: string; depth?: number; boxes?: boolean }): Promise<string>;
  /** Writes `data` to `filename` inside the session's output directory only; returns the absolute path. */
  writeOutput(filename: string, data: string | Buffer): Promise<string>;
  /** Resolves a file the client asks us to read (uploads, drops): the output directory or --upload-root only. */
  inputPath(path: string): string;
  /**
   * Shows the page (a PNG in CSS pixels) to a person at the dashboard and waits for the boxes
   * and notes they draw on it, or their cancel; the wait ends with the call (its deadline, a cancel).
   */
  awaitAnnotations(request: { url: string; title: string; width: number; height: number; data: string }): Promise<{ annotations: Annotation[] } | { cancelled: true }>;
  /** Aborted when the client cancels the call or its deadline passes. */
  readonly signal: AbortSignal;
  /**
   * Tells the client how far the call has got (notifications/progress, when it asked for them):
   * `done` must grow from report to report; `total` when known.
   */
  progress(done: number, total: number | undefined, message: string): void;
}

/** The two deadlines a tool's own deadline is derived from. */
export type Deadlines = Pick<WorkerSettings, 'timeoutAction' | 'timeoutNavigation'>;

/** A tool as the registry holds it: a definition both processes read and a handler the worker runs. */
export interface Tool<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: Input;
  annotations: ToolAnnotations;
  /** Needs a capability enabled with --caps (e.g. unsafe-code) to be listed and callable. */
  capability?: string;
  /** Navigations get the navigation deadline instead of the action deadline. */
  navigates?: boolean;
  /** A deadline of its own (ms, before the front's grace), e.g. browser_wait_for's `time`. */
  timeoutMs?(args: z.output<Input>, deadlines: Deadlines): number;
  /** The one modal state this tool exists to clear; it refuses to run without it. */
  clearsModalState?: ModalState['type'];
  /** Runs whatever modal state is open (closing the browser, switching tabs). */
  ignoresModalState?: boolean;
  /**
   * What the tool does to the caller's browsers, when the supervisor rather than a worker answers
   * it: `opens` a new browser and returns its handle (browser_open), `closes` the browser the call
   * names, releasing its lease (browser_close), `lists` the caller's browsers (browser_list).
   * Tools without a role run in the browser the call names.
   */
  browserRole?: 'opens' | 'closes' | 'lists';
  /** Why a worker that ran this tool must never serve another lease (it ran unsafe code), if so. */
  taints?: string;
  handle(ctx: ToolContext, args: z.output<Input>, response: Response): Promise<void>;
}

/** Identity helper: declares a tool with its argument types inferred from `input`. */
export function defineTool<Input extends z.ZodObject>(tool: Tool<Input>): Tool<Input> {
  return tool;
}

/** The deadline of one call of `tool` with `args`, in ms, before the front adds its grace. */
export function toolTimeoutMs(tool: Tool, args: Record<string, unknown>, deadlines: Deadlines): number {
  if (tool.timeoutMs) return tool.timeoutMs(args, deadlines);
  return tool.navigates ? deadlines.timeoutNavigation : deadlines.timeoutAction;
}

/** The header a 2026-07-28 client mirrors the `browser` argument into (`Mcp-Param-Browser`), so routers can pick the instance. */
export const BROWSER_HEADER = 'Browser';

/** The optional `browser` handle every tool but browser_open and browser_list takes. */
export const browserField = z.string().min(1).max(200).optional()
  .describe('Handle of the browser to act in, as browser_open returned it. Required in a request without an MCP session ' +
    '(protocol 2026-07-28); in a session, omit it to use the session\'s own browser.')
  .meta({ 'x-mcp-header': BROWSER_HEADER });

/** `tool` with the optional `browser` parameter, unless it opens or lists browsers rather than acting in one. */
export function withBrowserField(tool: Tool): Tool {
  if (tool.browserRole === 'opens' || tool.browserRole === 'lists') return tool;
  return { ...tool, input: tool.input.extend({ browser: browserField }) };
}

/** The `element` description field shared by element tools. */
export const elementField = z.string().optional()
  .describe('Human-readable element description used to obtain permission to interact with the element');

/** The `target` field shared by element tools. */
export const targetField = z.string()
  .describe('Exact target element reference from the page snapshot (e.g. "e12"), or a unique element selector');

/** The optional `target` of tools that act on the page or on one element. */
export const optionalTargetField = z.string().optional()
  .describe('Exact target element reference from the page snapshot (e.g. "e12"), or a unique element selector; omit for the whole page');

/** A `filename` field: where in the session output directory to save instead of answering inline. */
export function filenameField(what: string) {
  return z.string().optional().describe(`File name to save ${what} to, inside this session's output directory on the server. If not provided, ${what} is returned in the response.`);
}

/** Answers `text` inline, or writes it to `filename` in the session output directory and links it. */
export async function resultOrFile(ctx: ToolContext, response: Response, title: string, text: string, filename?: string): Promise<void> {
  if (!filename) {
    response.addResult(text);
    return;
  }
  response.addResult(`- [${title}](${await ctx.writeOutput(filename, text)})`);
}

/**
 * Older clients send `ref` where current ones send `target`: map it before validation, for the
 * top level and for named pairs (drag's startRef → startTarget, form fields).
 */
export function normalizeLegacyArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...args };
  for (const [legacy, current] of [['ref', 'target'], ['startRef', 'startTarget'], ['endRef', 'endTarget']] as const) {
    if (legacy in out) {
      if (out[current] === undefined) out[current] = out[legacy];
      delete out[legacy];
    }
  }
  if (Array.isArray(out.fields)) {
    out.fields = out.fields.map((field) => (typeof field === 'object' && field !== null && !Array.isArray(field))
      ? normalizeLegacyArgs(field as Record<string, unknown>)
      : field);
  }
  return out;
}
