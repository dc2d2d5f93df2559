import type { WireError } from '../errors.ts';

/** Bumped on any incompatible change; the worker reports it in READY and the front refuses a mismatch. */
export const IPC_VERSION = 2;

/** Browser settings a worker launches with; also what `browser_open` may change. */
export interface BrowserOptions {
  executablePath: string;
  headless: boolean;
  /** The viewport; without one, the device's (`device`), else 1280x720. */
  viewport?: { width: number; height: number };
  userAgent?: string;
  ignoreHttpsErrors: boolean;
  /** A device of Playwright's list (`devices`) whose viewport, user agent, scale and touch the context takes. */
  device?: string;
  locale?: string;
  timezoneId?: string;
  colorScheme?: 'light' | 'dark' | 'no-preference';
  /** A storage state file (cookies, localStorage) the context starts from. */
  storageState?: string;
  /** Permissions granted to every origin. */
  permissions: string[];
  blockServiceWorkers: boolean;
  /** JavaScript files evaluated in every page before its own scripts. */
  initScripts: string[];
  /** --proxy-server: where the browser's traffic goes (through the egress proxy first, when it runs). */
  proxy?: { server: string; bypass?: string };
}

/** Everything a worker needs to know, sent once in the STARTUP message. */
export interface WorkerSettings {
  browser: BrowserOptions;
  /** The session's own directory: screenshots, downloads and other files go here only. */
  outputDir: string;
  uploadRoot?: string;
  timeoutAction: number;
  timeoutNavigation: number;
  snapshotMaxChars: number;
  imageMaxBytes: number;
  maxPages: number;
  caps: string[];
  allowedOrigins: string[];
  blockedOrigins: string[];
  blockPrivateNetworks: boolean;
  /**
   * Exercise the page and snapshot code once before READY. Set for pre-started workers only:
   * the first call of a process pays for cold code (about 35 ms measured), which is better paid
   * while the worker waits in the pool than in a session's first navigation.
   */
  warmUp?: boolean;
  /** What to record of each lease (--record). */
  record: 'off' | 'trace' | 'video' | 'both';
  /**
   * A Playwright browser server (`ws://…`, --browser-endpoint) to connect to instead of launching
   * Chromium here; the browser then lives as long as the connection does.
   */
  browserEndpoint?: string;
  /** The worker's own TMPDIR (browser profile, artifacts), set by the front; removed by whoever outlives the other. */
  tempDir?: string;
  /** The attribute getByTestId locators use (--test-id-attribute). */
  testIdAttribute: string;
  /** Least severe console messages shown in results (--console-level). */
  consoleLevel: 'error' | 'warning' | 'info' | 'debug';
  /** URL parameters whose values results show as <redacted>. */
  redactUrlParams: string[];
  /** --secrets by name: typed by name, never shown by value. */
  secrets: Record<string, string>;
  /** Whether results carry a snapshot of the page (browser_snapshot always does). */
  snapshotMode: 'full' | 'none';
  /** Whether results carry images: allow, omit, or only (the image alone). */
  imageResponses: 'allow' | 'omit' | 'only';
  /** TypeScript files whose default export is called with { page } for every new tab (--init-page). */
  initPage: string[];
  /** What browser_open may change (--client-browser-options). */
  clientBrowserOptions: string[];
}

/** One content block of a tool result, as MCP renders it. */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; data: string; mimeType: string }
  | { type: 'resource_link'; uri: string; name: string; mimeType?: string; size?: number };

/** A tool's answer: what the MCP `tools/call` result will carry. */
export type ToolResult = {
  content: ContentBlock[];
  isError?: boolean;
  /** Machine-readable part of a result the supervisor answers (browser_open's handle, browser_list). */
  structuredContent?: Record<string, unknown>;
  /**
   * Files that appeared in the lease's output directory with this call (relative paths), from the
   * worker; the front turns them into resource links and never sends this field on.
   */
  files?: string[];
};

/** What the worker can tell about itself, for /sessions and metrics. */
export interface WorkerStatus {
  browserPid?: number;
  pages: number;
  /** URL and title of the selected tab ('' without one). */
  url: string;
  title: string;
}

/** Request methods the front calls on a worker: params in, result out. */
export interface Methods {
  'tool.call': { params: { name: string; args: Record<string, unknown> }; result: ToolResult };
  status: { params: Record<string, never>; result: WorkerStatus };
  /**
   * A lease ends and the browser was recorded: stop the trace and write it, close the context so
   * its videos are finished and write them, all into `dir`; what was written comes back.
   */
  'lease.finish': { params: { dir: string }; result: { files: string[] } };
  /** A small JPEG of the selected tab for the dashboard (Base64), or none without a tab. */
  thumbnail: { params: { quality: number }; result: { jpeg?: string } };
  ping: { params: Record<string, never>; result: { at: number } };
  /** A pooled worker joins a lease: files go to `outputDir` from now on. */
  'lease.bind': { params: { outputDir: string }; result: { outputDir: string } };
  /**
   * A lease ended and the worker is to serve another: close the context (every tab, cookie,
   * storage, cache, service worker, permission, download), open a fresh one with the start-up
   * browser options, and write to `outputDir` from now on.
   */
  'lease.reset': { params: { outputDir: string }; result: { outputDir: string } };
  shutdown: { params: Record<string, never>; result: { closed: true } };
  /** A person's answer to the annotation request `id` (browser_annotate), from the dashboard: boxes with notes, or a cancel. */
  'annotation.submit': { params: { id: string; annotations?: Annotation[]; cancelled?: boolean }; result: { accepted: boolean } };
}

export type Method = keyof Methods;

/** Events a worker sends without being asked. */
export interface Events {
  /** The browser process went away on its own (crash, kill). */
  'browser.disconnected': { reason: string };
  /** A browser was (re)launched: after browser_close, browser_open or a stuck-tab restart. */
  'browser.launched': { pid?: number };
  /** A line of worker output worth logging with the session's id. */
  log: { level: 'debug' | 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown> };
  /** Something the client must hear with its next tool result, e.g. a stuck tab was replaced. */
  notice: { text: string };
  /** How far request `requestId` has got (a navigation's stages, a wait's seconds); `progress` only grows. */
  'call.progress': { requestId: number; progress: number; total?: number; message: string };
  /** A console error, an uncaught page error or a crashed tab: the client may want to hear of it (notifications/message). */
  'page.log': PageLog;
  /** browser_annotate waits for a person: the page as a PNG screenshot (Base64 `data`, CSS pixels) to draw on. */
  'annotation.requested': { id: string; url: string; title: string; width: number; height: number; data: string };
  /** Annotation request `id` is over (answered, cancelled, or its call ended). */
  'annotation.ended': { id: string };
}

/** A box a person drew on the page's screenshot, in CSS pixels of the viewport, and what they wrote for it. */
export interface Annotation {
  x: number;
  y: number;
  width: number;
  height: number;
  text: string;
}

/** A page problem worth telling the client as a log message. */
export interface PageLog {
  level: 'error' | 'critical';
  kind: 'console' | 'pageerror' | 'crash';
  text: string;
  url: string;
}

export type EventName = keyof Events;

/** Front → worker, first message: settings to launch with. */
export interface StartupMessage { type: 'startup'; version: number; settings: WorkerSettings }
/** Worker → front, once the browser is up. */
export interface ReadyMessage { type: 'ready'; version: number; workerPid: number; browserPid?: number }
/** Worker → front, when start-up failed; the worker exits after sending it. */
export interface StartFailedMessage { type: 'start-failed'; error: WireError }
/** Front → worker: run a method. `deadline` is epoch ms after which the worker gives up. */
export interface RequestMessage<M extends Method = Method> { type: 'request'; id: number; method: M; params: Methods[M]['params']; deadline: number }
/** Front → worker: abandon request `id`. */
export interface CancelMessage { type: 'cancel'; id: number; reason?: string }
/** Worker → front: the answer to request `id`. */
export type ResponseMessage<M extends Method = Method> =
  | { type: 'response'; id: number; ok: true; result: Methods[M]['result'] }
  | { type: 'response'; id: number; ok: false; error: WireError };
/** Worker → front: something happened. */
export interface EventMessage<E extends EventName = EventName> { type: 'event'; name: E; data: Events[E] }

export type ToWorker = StartupMessage | RequestMessage | CancelMessage;
export type FromWorker = ReadyMessage | StartFailedMessage | ResponseMessage | EventMessage;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Shape check for frames from a worker; anything else is logged and dropped by the caller. */
export function isFromWorker(v: unknown): v is FromWorker {
  if (!isObject(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'ready': return typeof v.version === 'number' && typeof v.workerPid === 'number';
    case 'start-failed': return isObject(v.error) && typeof v.error.code === 'string';
    case 'response': return typeof v.id === 'number' && typeof v.ok === 'boolean';
    case 'event': return typeof v.name === 'string' && isObject(v.data);
    default: return false;
  }
}

/** Shape check for frames from the front. */
export function isToWorker(v: unknown): v is ToWorker {
  if (!isObject(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'startup': return typeof v.version === 'number' && isObject(v.settings);
    case 'request': return typeof v.id === 'number' && typeof v.method === 'string' && typeof v.deadline === 'number';
    case 'cancel': return typeof v.id === 'number';
    default: return false;
  }
}
