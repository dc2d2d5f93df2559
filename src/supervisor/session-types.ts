import type { Events, PageLog, WorkerStatus } from '../ipc/protocol.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';

/** Why an MCP session ended; reported in logs and to listeners. */
export type EndReason = 'deleted' | 'idle' | 'lifetime' | 'crashed' | 'admin' | 'shutdown' | 'start-failed';

/**
 * Why a browser lease ended. A session's end ends its browser for the same reason; `closed` is
 * browser_close, `reclaimed` a long-idle browser taken over at the cap for a waiting call.
 */
export type BrowserEndReason = EndReason | 'closed' | 'reclaimed';

/**
 * A browser lease: one worker process, its Chromium and one BrowserContext, held for one owner.
 * The unit the caps count and the supervisor schedules, apart from the MCP session that uses it.
 */
export interface BrowserLease {
  /** The lease's own id, random; never reused, even when its worker is recycled. */
  id: string;
  /**
   * The name clients use for it (`browser` argument): 144 random bits, URL-safe. Usable only by
   * its owner; not a credential, since every request is authenticated anyway.
   */
  handle: string;
  /** Who holds it (a token fingerprint; undefined without tokens): its worker serves no other. */
  owner?: string;
  /** The MCP session it belongs to (its own browser, or one it opened); none for a browser opened without a session. */
  sessionId?: string;
  /** The worker serving the lease now; swapped for a fresh one after a fault. */
  worker: WorkerHandle;
  /** The lease's own directory: a recycled worker gets a new one. */
  outputDir: string;
  createdAt: number;
  lastActivityAt: number;
  inFlight: number;
  /** Told to the client with its next tool result (lost page state, a replaced tab). */
  notices: string[];
  /** Set while a fresh worker is being swapped in; true once it serves. */
  recovering?: Promise<boolean>;
  /** Worker replacements since a call last went through. */
  replacementsInARow: number;
  /**
   * Why the worker must not serve another lease, if it must not: it ran unsafe code, a call
   * hung, or a tab had to be closed as stuck. Such a worker is retired, not recycled.
   */
  tainted?: string;
  /** Set when the lease ended, so calls still running can say why. */
  endReason?: BrowserEndReason;
  /** The tool running in it now (the latest, when several are), for the dashboard. */
  tool?: string;
  /** A browser_annotate call waiting for a person at the dashboard: the page to draw on. */
  annotation?: Events['annotation.requested'] & { since: number };
}

/** One MCP session: the client's conversation. Cheap; it holds a browser only once a call needs one. */
export interface SessionRecord {
  id: string;
  /** Who created it (a token fingerprint), so other tokens cannot use it. */
  owner?: string;
  /** The client's name from `initialize`, for operators. */
  clientName?: string;
  createdAt: number;
  lastActivityAt: number;
  inFlight: number;
  /** The session's own browser, once a call needed one: the one calls without `browser` use. */
  browser?: BrowserLease;
  /** More browsers the session opened with browser_open; they end with it. */
  opened: Set<BrowserLease>;
  /** The session's browser on its way (waiting for a slot, starting), shared by concurrent calls. */
  acquiring?: Promise<BrowserLease>;
  /** Told with the next result even when the browser is new (its old browser was reclaimed). */
  notices: string[];
  /** Set when the session ended, so calls still running can say why. */
  endReason?: EndReason;
}

/** What /sessions shows of a session's browser. */
export interface BrowserInfo extends WorkerStatus {
  id: string;
  workerPid: number;
  /** The Playwright browser server it runs on (--browser-endpoint), when not launched here. */
  endpoint?: string;
  /** Sessions this worker process has served, this one included. */
  uses: number;
  createdAt: string;
  lastActivityAt: string;
  /** Resident memory of the worker and its browser, bytes. */
  rssBytes: number;
}

/** What /browsers shows of a browser, whichever protocol era opened it. */
export interface BrowserListing {
  /** The first 8 characters of its handle: enough to tell browsers apart, not to use one. */
  handlePrefix: string;
  /** The first 8 hex digits of its owner's token fingerprint; null without tokens. */
  token: string | null;
  /** The MCP session it belongs to, or null for one opened without a session. */
  sessionId: string | null;
  /** It is its session's own browser (calls without `browser` use it). */
  own: boolean;
  workerPid: number;
  url: string;
  title: string;
  pages: number;
  createdAt: string;
  idleMs: number;
}

/** One browser as the dashboard shows it. */
export interface DashboardRow {
  id: string;
  handlePrefix: string;
  sessionId: string | null;
  clientName: string | null;
  token: string | null;
  ageMs: number;
  idleMs: number;
  /** The tool running in it now, or null. */
  tool: string | null;
  url: string;
  title: string;
  pages: number;
  /** Resident memory of its worker and browser, bytes. */
  rssBytes: number;
  /** A browser_annotate call waits for a person: since when (epoch ms), or null. */
  annotationSince: number | null;
}

/** What the dashboard shows: capacity, and one row per browser held by a client. */
export interface DashboardView {
  capacity: { inUse: number; max: number; queued: number; warm: number; closing: number; freeMemoryBytes: number };
  browsers: DashboardRow[];
}

/** Who makes a call: an MCP session (2025-11-25), or an authenticated caller alone (2026-07-28). */
export interface Caller {
  sessionId?: string;
  /** The caller's token fingerprint; ignored with a session, which has its own. */
  owner?: string;
  /** The name of this instance as the caller reached it, put in front of the handles minted for it. */
  instance?: string;
}

/** What /sessions shows of a session. */
export interface SessionInfo {
  id: string;
  clientName?: string;
  createdAt: string;
  lastActivityAt: string;
  inFlight: number;
  /** The session's browser, or null before its first call that needs one. */
  browser: BrowserInfo | null;
}

/** What limits new work, for /readyz and refusals. */
export type NotReadyCode = 'SESSION_LIMIT' | 'BROWSER_LIMIT' | 'LOW_MEMORY' | 'SHUTTING_DOWN' | 'DRAINING';

/** What GET /admin/drain says: whether the instance drains, since when, and what is left. */
export interface DrainStatus {
  draining: boolean;
  since: string | null;
  sessions: number;
  browsers: number;
}

/** Browser counts as /readyz and metrics report them. */
export interface BrowserCounts {
  /** Browsers held by sessions. */
  inUse: number;
  max: number;
  /** Warm browsers waiting in the pool (fresh or recycled), ready or starting. */
  warm: number;
  /** First calls waiting for a browser. */
  queued: number;
  /** Browsers of ended sessions being reset or closed. */
  closing: number;
}

/** Whether a new session would be admitted now, and if not why (for /readyz). */
export interface Readiness {
  ready: boolean;
  code?: NotReadyCode;
  reason?: string;
  sessions: { open: number; max: number };
  browsers: BrowserCounts;
}

/** How a lease got its worker. */
export type AcquiredHow = 'warm' | 'recycled' | 'cold';

/**
 * What the supervisor reports as it works; the front, metrics and logs subscribe here rather
 * than reaching into the supervisor. Each end is emitted once, after its calls settled.
 */
export interface SupervisorEvents {
  /** An MCP session was opened (no browser yet). */
  'session.opened': [{ id: string }];
  /** A new session was refused (session cap, full instance, memory, shutdown). */
  'session.rejected': [{ code: string }];
  /** A session ended, its calls settled and its browser released; the front drops its transport. */
  'session.ended': [{ id: string; reason: EndReason; ageMs: number }];
  /** A lease got its worker; `waitedMs` is time spent waiting for a slot, `ms` the whole acquisition. */
  'browser.acquired': [{ id: string; sessionId?: string; how: AcquiredHow; waitedMs: number; ms: number }];
  /** A first call could not get a browser (BROWSER_LIMIT, start failure). */
  'browser.refused': [{ code: string }];
  /** A lease ended; `recycled`: its worker went back to the warm pool, else it was retired. */
  'browser.ended': [{ id: string; sessionId?: string; reason: BrowserEndReason; recycled: boolean; retiredBecause?: string }];
  /** A worker process started and answered READY (or failed to). */
  'worker.started': [{ pid: number; ms: number; ok: boolean }];
  /** A lease's worker or browser failed (`code`); `recovered`: a fresh worker took over, else the session was closed. */
  'browser.faulted': [{ id: string; sessionId?: string; code: string; recovered: boolean }];
  /** A page of a browser logged an error or crashed (forwarded to its clients as notifications/message). */
  'browser.log': [{ id: string; handle: string; sessionId?: string } & PageLog];
  /** A tool call finished; `outcome` is ok, error (isError result) or an error code. */
  'tool.called': [{ id: string; tool: string; outcome: string; ms: number }];
}
