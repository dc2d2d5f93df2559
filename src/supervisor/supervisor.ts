import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freeMemoryBytes, type Config } from '../config.ts';
import { FleetError, toFleetError } from '../errors.ts';
import type { Annotation, Events, PageLog, ToolResult } from '../ipc/protocol.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { WorkerProgram } from '../ipc/worker-program.ts';
import type { Logger } from '../log.ts';
import { RETRY_AFTER_SECONDS } from './admission-queue.ts';
import { BrowserSupply } from './browser-supply.ts';
import { forwardCall, withNotices, type CallOptions } from './call-forwarding.ts';
import { Recordings } from './recordings.ts';
import { FILE_URI_SCHEME, listFiles, parseFileUri, readLeaseFile, resourceLinks, type FileContents, type FileResource } from './lease-files.ts';
import { Heartbeat } from './heartbeat.ts';
import { Reaper } from './reaper.ts';
import { Recovery } from './recovery.ts';
import { browsersView, dashboardView, sessionsView, type ViewSource } from './views.ts';
import type {
  BrowserEndReason, BrowserLease, BrowserListing, Caller, DashboardView, DrainStatus, EndReason, Readiness, SessionInfo, SessionRecord, SupervisorEvents,
} from './session-types.ts';

/** How the supervisor is built; tests swap the worker program and the browser path. */
export interface SupervisorOptions {
  config: Config;
  log: Logger;
  /** Chromium to launch (found at start-up). */
  executablePath: string;
  /** Worker program to fork; defaults to the real one's source. */
  program?: WorkerProgram;
  /** Free memory probe, bytes; tests replace it. */
  freeMemory?: () => number;
}

/** What a tool call is, as far as the supervisor cares. */
export interface ToolCall {
  name: string;
  args: Record<string, unknown>;
  /** The handle the call names (its `browser` argument), if any. */
  browser?: string;
  /** What the tool does to browsers, when the supervisor answers it (see Tool.browserRole). */
  browserRole?: 'opens' | 'closes' | 'lists';
  /** Why a worker that ran this tool must never serve another lease (unsafe code), if so. */
  taints?: string;
}

/** The one answer for a handle that never existed, expired, was closed, or is another token's: it reveals nothing. */
export function unknownBrowserError(): FleetError {
  return new FleetError('BROWSER_NOT_FOUND', 'Unknown or expired browser handle. Handles expire when their browser has had no call ' +
    'for --idle-timeout, and end with browser_close or their MCP session. Call browser_open to open a browser and pass the ' +
    'handle it returns as `browser`.');
}

/**
 * A new handle: 144 bits from the CSPRNG, base64url, after `instance.` when the instance has a
 * name, so that a load balancer routes it by its prefix.
 */
function newHandle(instance?: string): string {
  const random = randomBytes(18).toString('base64url');
  return instance ? `${instance}.${random}` : random;
}

/** How long an ended session's calls in flight get to deliver their answers, ms. */
const CALLS_SETTLE_MS = 5000;
/** Where browser_open puts a storage state it copied from another of the caller's browsers. */
const IMPORTED_STORAGE_STATE = 'imported-storage-state.json';

/** Leases are recycled per tenant: a token fingerprint, or '' when the server has no tokens. */
function tenantOf(owner: string | undefined): string {
  return owner ?? '';
}

function textResult(text: string, structuredContent?: Record<string, unknown>): ToolResult {
  return { content: [{ type: 'text', text: `### Result\n${text}` }], ...(structuredContent && { structuredContent }) };
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/**
 * The table of MCP sessions and the table of browser leases behind them. A session is cheap and
 * gets its browser lazily, at its first call that needs one, from the browser supply (warm pool,
 * cap, wait queue, reclaim). Calls are forwarded with deadlines; a lease keeps going when its
 * worker or browser fails. Every end is emitted once, after the calls under it settled, and every
 * end of a lease recycles its worker for the same tenant or retires it.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly leases = new Map<string, BrowserLease>();
  /** The same leases by handle. */
  private readonly handles = new Map<string, BrowserLease>();
  /** Sessions whose end is under way, so a second end joins the first. */
  private readonly ending = new Map<string, Promise<void>>();
  /** Aborts a session's wait for a browser when the session ends. */
  private readonly aborts = new WeakMap<SessionRecord, AbortController>();
  /** Removes a lease's listeners from a worker once the lease no longer uses it. */
  private readonly unwatch = new WeakMap<WorkerHandle, () => void>();
  private readonly config: Config;
  private readonly log: Logger;
  private readonly supply: BrowserSupply;
  private readonly recovery: Recovery;
  private readonly heartbeat: Heartbeat;
  private readonly reaper: Reaper<SessionRecord | BrowserLease>;
  /** Finished recordings (--record), kept for --record-retention within --record-max-mb. */
  readonly recordings?: Recordings;
  private recordingsTimer?: NodeJS.Timeout;
  /** Tool calls running now, in any era. */
  private callsRunning = 0;
  /** Checked whenever a call ends: waits for calls to settle (shutdown, ended sessions). */
  private readonly callWatchers = new Set<() => void>();
  private shuttingDown = false;
  /** When the instance started draining (POST /admin/drain): nothing new from then on. */
  private drainingSince?: number;
  /** Handles an administrator ended, so their owner's next call hears why (nobody else does); bounded. */
  private readonly endedByAdmin = new Map<string, { owner?: string; at: number }>();
  /** Resolved each time the last session and browser are gone (a drain's end). */
  private readonly emptyWatchers = new Set<() => void>();
  private shutdownPromise?: Promise<void>;
  /** What /sessions, /browsers and the dashboard read (views.ts). */
  private readonly views: ViewSource = {
    sessions: this.sessions,
    leases: this.leases,
    statusOf: (worker) => this.statusOf(worker),
    isOwn: (lease) => this.isOwn(lease),
    capacity: () => {
      const counts = this.supply.counts();
      return { inUse: counts.inUse, max: counts.max, queued: counts.queued, warm: counts.warm, closing: counts.closing, freeMemoryBytes: (this.options.freeMemory ?? freeMemoryBytes)() };
    },
  };

  constructor(private readonly options: SupervisorOptions) {
    super();
    // Every MCP session listens for its browsers' logs: one listener a session, no fixed bound.
    this.setMaxListeners(0);
    const { config, log } = options;
    this.config = config;
    this.log = log;
    const freeMemory = options.freeMemory ?? freeMemoryBytes;
    this.supply = new BrowserSupply({
      ...options,
      onStarted: (report) => this.emit('worker.started', report),
      recentLeases: (ms) => this.recentLeases(ms),
      callsInFlight: () => this.inFlightTotal(),
      lowMemory: () => this.lowMemory(),
      freeMemory,
      reclaim: () => this.reclaim(),
    });
    this.recovery = new Recovery({
      log,
      isLive: (lease) => this.leases.get(lease.id) === lease,
      blocker: () => (this.shuttingDown ? 'the server is shutting down' : undefined),
      freshWorker: (lease) => this.supply.replacement(tenantOf(lease.owner), lease.outputDir, this.leaseLog(lease)),
      adopt: (lease, worker) => {
        // A browser_annotate call of the old worker ended with it.
        lease.annotation = undefined;
        worker.uses++;
        this.watch(lease, worker);
      },
      discard: async (worker) => void await worker.close(1000),
      giveUp: (lease) => (this.isOwn(lease) ? this.endSession(lease.sessionId!, 'crashed') : this.endBrowser(lease, 'crashed')),
      reported: (lease, code, recovered) => this.emit('browser.faulted', { id: lease.id, sessionId: lease.sessionId, code, recovered }),
    });
    this.heartbeat = new Heartbeat({
      intervalMs: config.heartbeatInterval,
      timeoutMs: config.heartbeatTimeout,
      workers: () => [...[...this.leases.values()].map((lease) => lease.worker), ...this.supply.pool.workers()],
      onSilent: (worker) => this.onSilent(worker),
    });
    if (config.record !== 'off') {
      this.recordings = new Recordings(join(config.outputDir, 'recordings'), config.recordRetention, config.recordMaxMb * 1024 * 1024);
    }
    this.reaper = new Reaper({
      idleTimeout: config.idleTimeout,
      sessionLifetime: config.sessionLifetime,
      // Sessions, and the browsers that are not a session's own (those end with their session).
      items: () => [...this.sessions.values(), ...[...this.leases.values()].filter((lease) => !this.isOwn(lease))],
      end: (item, reason) => void ('handle' in item ? this.endBrowser(item, reason) : this.endSession(item.id, reason)),
    });
  }

  /** Starts the background work: warm workers, heartbeats, the idle reaper. */
  start(): void {
    if (this.recordings) {
      const every = Math.min(60_000, Math.max(200, Math.floor(this.config.recordRetention / 4)));
      this.recordingsTimer = setInterval(() => this.recordings!.prune(), every).unref();
    }
    this.heartbeat.start();
    this.reaper.start();
    this.supply.start();
  }

  /** MCP sessions open now. */
  get size(): number {
    return this.sessions.size;
  }

  /** Browsers held by leases now. */
  get browserCount(): number {
    return this.leases.size;
  }

  /** The leases that hold a browser now. */
  browsers(): BrowserLease[] {
    return [...this.leases.values()];
  }

  /** Ready workers in the pool, for /sessions and tests. */
  poolWorkers(): WorkerHandle[] {
    return this.supply.pool.workers();
  }

  /** Warm workers in the pool, starting or ready. */
  get poolSize(): number {
    return this.supply.pool.size;
  }

  /** What the pool is sized for now (its floor, or the recent peak of a burst). */
  get poolTarget(): number {
    return this.supply.poolTarget();
  }

  /** First calls waiting for a browser. */
  get queued(): number {
    return this.supply.counts().queued;
  }

  get(id: string): SessionRecord | undefined {
    return this.sessions.get(id);
  }

  private lowMemory(): string | undefined {
    const free = (this.options.freeMemory ?? freeMemoryBytes)();
    if (free >= this.config.minFreeMemoryMb * 1024 * 1024) return undefined;
    return `free memory ${Math.round(free / 1048576)} MB is below the floor of ${this.config.minFreeMemoryMb} MB`;
  }

  /**
   * Whether a new session would be admitted now. Refused only when the instance is really full:
   * the session cap, or every browser taken with none warm, none reclaimable and the queue full;
   * a load balancer can then send the client elsewhere.
   */
  readiness(): Readiness {
    const counts = { sessions: { open: this.sessions.size, max: this.config.maxSessions }, browsers: this.supply.counts() };
    const refuse = (code: Readiness['code'], reason: string): Readiness => ({ ready: false, code, reason, ...counts });
    if (this.shuttingDown) return refuse('SHUTTING_DOWN', 'the server is shutting down');
    if (this.drainingSince !== undefined) return refuse('DRAINING', 'the instance is draining: it takes no new sessions or browsers, and the ones it has go on until they end');
    if (this.sessions.size >= this.config.maxSessions) return refuse('SESSION_LIMIT', `the server is at its limit of ${this.config.maxSessions} sessions`);
    const low = this.lowMemory();
    if (low && this.supply.pool.size === 0) return refuse('LOW_MEMORY', low);
    if (this.supply.isFull && !this.reclaimable()) {
      return refuse('BROWSER_LIMIT', `every one of the ${this.config.maxBrowsers} browsers is in use, none idle long enough to reclaim, and ${this.config.queueSize} calls wait`);
    }
    return { ready: true, ...counts };
  }

  /**
   * Opens MCP session `id` for `owner` (a token fingerprint). Starts nothing: the session gets
   * its browser at its first call that needs one. Throws a FleetError (503 with Retry-After)
   * when the instance is full.
   */
  openSession(id: string, owner?: string, clientName?: string): SessionRecord {
    const readiness = this.readiness();
    if (!readiness.ready) {
      this.emit('session.rejected', { code: readiness.code! });
      throw new FleetError(readiness.code!, readiness.reason!, { retryAfter: RETRY_AFTER_SECONDS });
    }
    const now = Date.now();
    const record: SessionRecord = { id, owner, clientName, createdAt: now, lastActivityAt: now, inFlight: 0, notices: [], opened: new Set() };
    this.sessions.set(id, record);
    this.aborts.set(record, new AbortController());
    this.log.info({ sessionId: id, clientName }, 'session opened');
    this.emit('session.opened', { id });
    return record;
  }

  /**
   * Runs a tool call for `caller` within `timeoutMs`: in the browser its `browser` handle names,
   * or else in the session's own browser, got first when the session has none. Browser roles
   * (open, close, list) are answered here. Whatever goes wrong under the call (no browser free,
   * deadline, stuck page, crash) ends it with an error saying what happened; the browser goes on
   * with a fresh worker when one was needed.
   */
  async callTool(caller: Caller, call: ToolCall, options: CallOptions): Promise<ToolResult> {
    const { session, owner } = this.resolveCaller(caller);
    if (this.shuttingDown) throw new FleetError('SHUTTING_DOWN', 'the server is shutting down and takes no new calls');
    this.callsRunning++;
    if (session) session.inFlight++;
    const started = Date.now();
    if (session) session.lastActivityAt = started;
    let outcome = 'ok';
    try {
      const result = await this.runCall(session, owner, call, options, this.config.instanceName ?? caller.instance);
      if (result.isError) outcome = 'error';
      const notices = session?.notices.splice(0) ?? [];
      return notices.length ? withNotices(result, notices) : result;
    } catch (error) {
      outcome = toFleetError(error).code;
      throw error;
    } finally {
      this.callsRunning--;
      if (session) {
        session.inFlight--;
        session.lastActivityAt = Date.now();
      }
      this.emit('tool.called', { id: session?.id ?? call.browser?.slice(0, 8) ?? '', tool: call.name, outcome, ms: Date.now() - started });
      for (const check of [...this.callWatchers]) check();
      if (session && this.sessions.get(session.id) === session) this.reaper.afterCall(session, Date.now());
    }
  }

  private async runCall(session: SessionRecord | undefined, owner: string | undefined, call: ToolCall, options: CallOptions, instance?: string): Promise<ToolResult> {
    if (call.browserRole === 'lists') return this.listResult(session, owner);
    if (call.browserRole === 'opens') return this.openBrowser(session, owner, call, options, instance);
    if (call.browserRole === 'closes') {
      const lease = call.browser !== undefined ? this.byHandle(call.browser, owner) : session?.browser;
      if (!lease) return textResult('No browser is open. The next tool call opens one.');
      await this.endBrowser(lease, 'closed');
      return textResult(lease === session?.browser || !call.browser
        ? 'Browser closed. The next tool call opens a new one.'
        : 'Browser closed; its handle no longer works.');
    }
    const lease = await this.targetOf(session, owner, call.browser, options.signal, instance);
    return this.runOn(lease, call, options);
  }

  /** Runs `call` in `lease`'s worker, with the lease's accounting around it. */
  private async runOn(lease: BrowserLease, call: ToolCall, options: CallOptions): Promise<ToolResult> {
    if (call.taints) lease.tainted ??= call.taints;
    lease.inFlight++;
    lease.tool = call.name;
    lease.lastActivityAt = Date.now();
    try {
      if (lease.recovering && !(await lease.recovering)) throw new FleetError('SESSION_CLOSED', 'the session was closed after its browser failed; start a new session');
      const { files, ...result } = await forwardCall({ recovery: this.recovery, isLive: (l) => this.leases.get(l.id) === l }, lease, call, options);
      return files?.length ? { ...result, content: [...result.content, ...resourceLinks(lease.handle, files)] } : result;
    } catch (error) {
      // A call that hung leaves a page the worker may not have fully recovered: not for another tenant's next session.
      if (toFleetError(error).code === 'TOOL_TIMEOUT') lease.tainted ??= 'a call on it timed out';
      throw error;
    } finally {
      lease.inFlight--;
      if (lease.inFlight === 0) lease.tool = undefined;
      lease.lastActivityAt = Date.now();
      if (!this.isOwn(lease) && this.leases.get(lease.id) === lease) this.reaper.afterCall(lease, Date.now());
    }
  }

  /** The lease a handle names for `owner`; anything else gets the one unknown-browser error. */
  private byHandle(handle: string, owner: string | undefined): BrowserLease {
    const lease = this.handles.get(handle);
    if (!lease || lease.owner !== owner) {
      const ended = this.endedByAdmin.get(handle);
      if (ended && ended.owner === owner) {
        throw new FleetError('BROWSER_NOT_FOUND', 'An administrator ended this browser; its page state was lost. Call browser_open for a new one.');
      }
      throw unknownBrowserError();
    }
    return lease;
  }

  /** The browser a call acts in: the one it names, else the session's own (got on first use). */
  private async targetOf(session: SessionRecord | undefined, owner: string | undefined, handle: string | undefined, signal?: AbortSignal, instance?: string): Promise<BrowserLease> {
    if (handle !== undefined) return this.byHandle(handle, owner);
    if (!session) {
      throw new FleetError('BROWSER_REQUIRED', 'This request has no MCP session, so it must name a browser: call browser_open first ' +
        'and pass the handle it returns as `browser`.');
    }
    return session.browser ?? this.browserFor(session, signal, instance);
  }

  /**
   * browser_open: a new browser for the caller, set up with the call's options, and its handle.
   * In a session without a browser yet it becomes the session's own.
   */
  private async openBrowser(session: SessionRecord | undefined, owner: string | undefined, call: ToolCall, options: CallOptions, instance?: string): Promise<ToolResult> {
    // A new browser needs what a new session needs (not draining, not really full); a load
    // balancer sends a refused stateless browser_open elsewhere.
    const readiness = this.readiness();
    if (!readiness.ready && (readiness.code === 'DRAINING' || readiness.code === 'SHUTTING_DOWN')) {
      throw new FleetError(readiness.code, readiness.reason!, { retryAfter: RETRY_AFTER_SECONDS });
    }
    const own = session !== undefined && !session.browser && !session.acquiring;
    const acquiring = this.acquire({ owner, session, own, instance }, options.signal);
    if (own) session.acquiring = acquiring.finally(() => { session.acquiring = undefined; });
    const lease = await acquiring;
    let result: ToolResult;
    try {
      result = await this.runOn(lease, await this.importStorageState(call, owner, lease), options);
    } catch (error) {
      await this.endBrowser(lease, 'start-failed');
      throw error;
    }
    if (result.isError) {
      await this.endBrowser(lease, 'start-failed');
      return result;
    }
    const text = `Browser opened. Its handle: \`${lease.handle}\`. Pass "browser": "${lease.handle}" to the other tools to act in it.` +
      (own ? ' It is also this session\'s own browser: calls without `browser` use it.' : '');
    return { ...result, content: [{ type: 'text', text: `### Browser\n${text}` }, ...result.content], structuredContent: { browser: lease.handle } };
  }

  /**
   * browser_open's `storageState` given as the resource link of a file of another of the caller's
   * browsers (browser_storage_state saved it there): copied into the new browser's directory,
   * which is all its worker may read. Anything else is left for the worker to resolve.
   */
  private async importStorageState(call: ToolCall, owner: string | undefined, lease: BrowserLease): Promise<ToolCall> {
    const uri = call.args.storageState;
    if (typeof uri !== 'string' || !uri.startsWith(FILE_URI_SCHEME)) return call;
    // The caller reads it as it would with resources/read: another token's file is not found.
    const contents = await this.readResource({ owner }, uri);
    if (!('text' in contents)) throw new FleetError('INVALID_ARGUMENTS', `Storage state ${uri.slice(0, 300)} is not a JSON file saved by browser_storage_state.`);
    await writeFile(join(lease.outputDir, IMPORTED_STORAGE_STATE), contents.text, { mode: 0o600 });
    return { ...call, args: { ...call.args, storageState: IMPORTED_STORAGE_STATE } };
  }

  /** The browsers a caller may address: a session's own and opened ones, or the owner's browsers opened without a session. */
  private browsersOf(session: SessionRecord | undefined, owner: string | undefined): BrowserLease[] {
    if (session) return [...(session.browser ? [session.browser] : []), ...session.opened];
    return [...this.leases.values()].filter((lease) => lease.owner === owner && lease.sessionId === undefined);
  }

  /** resources/list: the files in the output directories of the caller's browsers. */
  async listResources(caller: Caller): Promise<FileResource[]> {
    const { session, owner } = this.resolveCaller(caller);
    const lists = await Promise.all(this.browsersOf(session, owner).map((lease) => listFiles(lease.handle, lease.outputDir)));
    return lists.flat();
  }

  /** resources/read: one file of one of the caller's browsers; anything else is not found, whether or not it exists. */
  async readResource(caller: Caller, uri: string): Promise<FileContents> {
    const { owner } = this.resolveCaller(caller);
    const named = parseFileUri(uri);
    const lease = named && this.handles.get(named.handle);
    // As with tools: a handle is usable with the token that opened it, in any era.
    if (!named || !lease || lease.owner !== owner) {
      throw new FleetError('BROWSER_NOT_FOUND', `Resource ${uri.slice(0, 300)} not found: no such file, or its browser has ended. resources/list shows what there is.`);
    }
    lease.lastActivityAt = Date.now();
    return readLeaseFile(lease.outputDir, named.file, uri);
  }

  /** The session a caller speaks for (it must exist) and the owner whose browsers it may reach. */
  private resolveCaller(caller: Caller): { session?: SessionRecord; owner?: string } {
    const session = caller.sessionId === undefined ? undefined : this.require(caller.sessionId);
    return { session, owner: session ? session.owner : caller.owner };
  }

  /** browser_list: the caller's browsers, as text and as structured content. */
  private async listResult(session: SessionRecord | undefined, owner: string | undefined): Promise<ToolResult> {
    const leases = this.browsersOf(session, owner);
    if (leases.length === 0) {
      return textResult(session ? 'No browser is open. The next tool call opens one, or call browser_open.' : 'No browser is open. Call browser_open.', { browsers: [] });
    }
    const now = Date.now();
    const entries = await Promise.all(leases.map(async (lease) => {
      const status = await this.statusOf(lease.worker);
      return { browser: lease.handle, own: lease === session?.browser, url: status.url, title: status.title, tabs: status.pages, idleSeconds: Math.round((now - lease.lastActivityAt) / 1000) };
    }));
    const lines = entries.map((e) => `- \`${e.browser}\`${e.own ? ' (this session\'s own)' : ''}: ${e.url || 'no page'}` +
      `${e.title ? ` "${e.title}"` : ''}, ${e.tabs} tab${e.tabs === 1 ? '' : 's'}, idle ${seconds(e.idleSeconds * 1000)}`);
    return textResult(lines.join('\n'), { browsers: entries });
  }

  private statusOf(worker: WorkerHandle) {
    return worker.request('status', {}, { timeoutMs: 1000 }).catch(() => ({ browserPid: worker.browserPid, pages: 0, url: '', title: '' }));
  }

  /** Whether `lease` is its session's own browser (it ends with the session, and calls without `browser` use it). */
  private isOwn(lease: BrowserLease): boolean {
    return lease.sessionId !== undefined && this.sessions.get(lease.sessionId)?.browser === lease;
  }

  /** The session's browser: acquired once, shared by calls that arrive while it is on its way. */
  private browserFor(session: SessionRecord, signal?: AbortSignal, instance?: string): Promise<BrowserLease> {
    const acquiring = session.acquiring ??= this.acquire({ owner: session.owner, session, own: true, instance }).finally(() => {
      if (session.acquiring === acquiring) session.acquiring = undefined;
    });
    if (!signal) return acquiring;
    // A cancelled call stops waiting; the browser still comes, for the session's next call.
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new FleetError('CANCELLED', 'the call was cancelled while it waited for a browser'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      acquiring.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * A new lease for `owner` from the supply (warm, recycled or cold; waiting at the cap). For a
   * session it is the session's own browser or one more it opened; without one, a browser known
   * only by its handle, whose wait ends with `signal`.
   */
  private async acquire(spec: { owner?: string; session?: SessionRecord; own: boolean; instance?: string }, signal?: AbortSignal): Promise<BrowserLease> {
    const { owner, session, own, instance } = spec;
    const id = randomUUID();
    const outputDir = join(this.config.outputDir, id);
    const log = this.log.child({ sessionId: session?.id, browser: id.slice(0, 8) });
    const started = Date.now();
    const abort = session ? this.aborts.get(session)?.signal : undefined;
    const waitSignal = abort && signal ? AbortSignal.any([abort, signal]) : abort ?? signal;
    let acquired;
    try {
      acquired = await this.supply.acquire(tenantOf(owner), outputDir, log, waitSignal);
    } catch (error) {
      rmSync(outputDir, { recursive: true, force: true });
      const fleetError = toFleetError(error, 'WORKER_START_FAILED');
      this.emit('browser.refused', { code: fleetError.code });
      if (session?.endReason) throw this.endedError(session);
      if (signal?.aborted) throw new FleetError('CANCELLED', 'the call was cancelled while it waited for a browser');
      // Shutdown kills workers still starting: say why, rather than how the start failed.
      if (this.shuttingDown) throw new FleetError('SHUTTING_DOWN', 'the server is shutting down', { retryAfter: RETRY_AFTER_SECONDS });
      throw fleetError;
    }
    const { worker, how, waitedMs } = acquired;
    worker.uses++;
    const now = Date.now();
    const lease: BrowserLease = {
      id, handle: newHandle(instance), owner, sessionId: session?.id, worker, outputDir,
      createdAt: now, lastActivityAt: now, inFlight: 0, notices: [], replacementsInARow: 0,
    };
    this.leases.set(id, lease);
    this.handles.set(lease.handle, lease);
    this.watch(lease, worker);
    log.info({ workerPid: worker.pid, browserPid: worker.browserPid, endpoint: worker.browserEndpoint, how, uses: worker.uses, waitedMs, ms: now - started }, 'browser acquired');
    this.emit('browser.acquired', { id, sessionId: session?.id, how, waitedMs, ms: now - started });
    if (session && this.sessions.get(session.id) !== session) {
      // The session ended while its browser was on its way: the browser goes straight back.
      void this.endBrowser(lease, session.endReason ?? 'deleted');
      throw this.endedError(session);
    }
    if (session && own) session.browser = lease;
    else if (session) session.opened.add(lease);
    return lease;
  }

  private endedError(session: SessionRecord): FleetError {
    return session.endReason === 'shutdown'
      ? new FleetError('SHUTTING_DOWN', 'the server is shutting down')
      : new FleetError('SESSION_CLOSED', `the session was closed (${session.endReason ?? 'ended'}) before its browser was ready`);
  }

  private leaseLog(lease: BrowserLease): Logger {
    return this.log.child({ sessionId: lease.sessionId, browser: lease.id.slice(0, 8), handle: lease.handle.slice(0, 8) });
  }

  /** Watches a lease's worker: a crash, a lost browser or a notice from the worker. */
  private watch(lease: BrowserLease, worker: WorkerHandle): void {
    const log = this.leaseLog(lease);
    const onExit = (exit: { expected: boolean; signal: NodeJS.Signals | null; code: number | null }) => {
      if (exit.expected || lease.worker !== worker || this.leases.get(lease.id) !== lease) return;
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      this.recovery.replace(lease, worker, 'WORKER_CRASHED', `the session's worker process ${how}`);
    };
    const onEvent = (event: { name: string; data: unknown }) => {
      if (lease.worker !== worker) return;
      if (event.name === 'browser.disconnected') {
        this.recovery.replace(lease, worker, 'BROWSER_CRASHED', "the session's browser process exited unexpectedly");
      } else if (event.name === 'page.log') {
        this.emit('browser.log', { id: lease.id, handle: lease.handle, sessionId: lease.sessionId, ...(event.data as PageLog) });
      } else if (event.name === 'notice') {
        lease.notices.push((event.data as { text: string }).text);
        lease.tainted ??= 'a tab hung and had to be closed';
      } else if (event.name === 'annotation.requested') {
        lease.annotation = { ...(event.data as Events['annotation.requested']), since: Date.now() };
        log.info({ url: lease.annotation.url }, 'browser_annotate waits for a person at the dashboard');
      } else if (event.name === 'annotation.ended') {
        if (lease.annotation?.id === (event.data as Events['annotation.ended']).id) lease.annotation = undefined;
      } else {
        log.info({ worker: event.data }, 'worker event');
      }
    };
    worker.on('exit', onExit);
    worker.on('event', onEvent);
    this.unwatch.set(worker, () => {
      worker.off('exit', onExit);
      worker.off('event', onEvent);
    });
  }

  private onSilent(worker: WorkerHandle): void {
    if (this.supply.pool.evict(worker)) return;
    const lease = [...this.leases.values()].find((l) => l.worker === worker);
    if (!lease) return;
    this.recovery.replace(lease, worker, 'WORKER_CRASHED', `the session's worker stopped answering heartbeats (none within ${this.config.heartbeatTimeout} ms)`);
  }

  /** Whether some lease has been idle long enough to be reclaimed for a waiting call. */
  private reclaimable(): BrowserLease | undefined {
    if (this.config.reclaimIdleAfter === 0) return undefined;
    const now = Date.now();
    let best: BrowserLease | undefined;
    for (const lease of this.leases.values()) {
      if (lease.inFlight > 0 || lease.recovering || now - lease.lastActivityAt < this.config.reclaimIdleAfter) continue;
      if (!best || lease.lastActivityAt < best.lastActivityAt) best = lease;
    }
    return best;
  }

  /**
   * At the cap with calls waiting: ends the browser idle longest, if idle past
   * --reclaim-idle-after. Its session goes on; its next call gets a fresh browser and a notice.
   */
  private reclaim(): boolean {
    const lease = this.reclaimable();
    if (!lease) return false;
    const idleS = Math.round((Date.now() - lease.lastActivityAt) / 1000);
    const session = lease.sessionId ? this.sessions.get(lease.sessionId) : undefined;
    session?.notices.push(`This session's browser was closed after ${idleS} s idle to make room for another client; ` +
      'its page state (open tabs, cookies, storage) was lost. This call runs in a fresh browser: navigate again to continue.');
    this.leaseLog(lease).info({ idleS }, 'browser reclaimed for a waiting call');
    void this.endBrowser(lease, 'reclaimed');
    return true;
  }

  private recentLeases(ms: number): number {
    const since = Date.now() - ms;
    let count = 0;
    for (const lease of this.leases.values()) if (lease.createdAt >= since) count++;
    return count;
  }

  private require(id: string): SessionRecord {
    const record = this.sessions.get(id);
    if (!record) throw new FleetError('SESSION_NOT_FOUND', `session ${id} not found`);
    return record;
  }

  private inFlightTotal(): number {
    return this.callsRunning;
  }

  /**
   * Ends a browser lease: its worker is recycled for the same tenant (a fresh context) or
   * retired, and its directory removed. The session it belonged to goes on without a browser.
   */
  private async endBrowser(lease: BrowserLease, reason: BrowserEndReason): Promise<void> {
    if (this.leases.get(lease.id) !== lease) return;
    this.leases.delete(lease.id);
    this.handles.delete(lease.handle);
    lease.endReason = reason;
    const session = lease.sessionId ? this.sessions.get(lease.sessionId) : undefined;
    if (session?.browser === lease) session.browser = undefined;
    session?.opened.delete(lease);
    const worker = lease.worker;
    this.unwatch.get(worker)?.();
    const unfit = lease.tainted
      ?? (this.recovery.faultOf(worker) ? 'its worker failed' : undefined)
      ?? (lease.inFlight > 0 || lease.recovering ? 'calls were still running on it' : undefined);
    if (this.recordings && !this.recovery.faultOf(worker) && worker.alive) await this.saveRecording(lease);
    const retiredBecause = await this.supply.release(worker, tenantOf(lease.owner), unfit, this.leaseLog(lease));
    rmSync(lease.outputDir, { recursive: true, force: true });
    this.emit('browser.ended', { id: lease.id, sessionId: lease.sessionId, reason, recycled: retiredBecause === undefined, retiredBecause });
    this.checkEmpty();
  }

  /** Has the worker write the lease's trace and videos into a recording of its own, before its context goes. */
  private async saveRecording(lease: BrowserLease): Promise<void> {
    const dir = this.recordings!.prepare(lease.id);
    await lease.worker.request('lease.finish', { dir }, { timeoutMs: 30_000 })
      .catch((error: Error) => this.leaseLog(lease).warn({ err: error.message }, 'the recording could not be written'));
    const meta = this.recordings!.finish(lease.id, lease.sessionId, lease.owner);
    if (meta) this.leaseLog(lease).info({ files: meta.files, sizeBytes: meta.sizeBytes }, 'recording saved');
  }

  /**
   * Ends session `id`: its browser is released (recycled or retired), calls still running get to
   * deliver their answers, then `session.ended` is emitted once (the front drops the transport).
   */
  endSession(id: string, reason: EndReason): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return this.ending.get(id) ?? Promise.resolve();
    this.sessions.delete(id);
    session.endReason = reason;
    this.aborts.get(session)?.abort();
    const ended = (async () => {
      const browsers = [...(session.browser ? [session.browser] : []), ...session.opened];
      await Promise.all([...browsers.map((lease) => this.endBrowser(lease, reason)), this.callsSettled(session)]);
      this.log.info({ sessionId: id, reason }, 'session ended');
      this.emit('session.ended', { id, reason, ageMs: Date.now() - session.createdAt });
      this.checkEmpty();
    })().finally(() => this.ending.delete(id));
    this.ending.set(id, ended);
    return ended;
  }

  /**
   * Starts draining: /readyz answers 503 DRAINING, new sessions and new browsers are refused with
   * 503 and Retry-After, and what exists goes on until it ends. Idempotent.
   */
  drain(): DrainStatus {
    if (this.drainingSince === undefined) {
      this.drainingSince = Date.now();
      this.log.info({ sessions: this.sessions.size, browsers: this.leases.size }, 'draining: no new sessions or browsers');
      this.checkEmpty();
    }
    return this.drainStatus();
  }

  drainStatus(): DrainStatus {
    const since = this.drainingSince;
    return { draining: since !== undefined, since: since === undefined ? null : new Date(since).toISOString(), sessions: this.sessions.size, browsers: this.leases.size };
  }

  /** Resolves once no session and no browser is left (at once when there are none). */
  whenEmpty(): Promise<void> {
    if (this.sessions.size === 0 && this.leases.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWatchers.add(resolve));
  }

  private checkEmpty(): void {
    if (this.sessions.size > 0 || this.leases.size > 0) return;
    for (const resolve of [...this.emptyWatchers]) resolve();
    this.emptyWatchers.clear();
  }

  /** Resolves once the session's calls have answered (at most CALLS_SETTLE_MS), and that turn is over. */
  private async callsSettled(session: SessionRecord): Promise<void> {
    if (session.inFlight > 0) await this.until(() => session.inFlight === 0, CALLS_SETTLE_MS);
    // A call that just finished hands its answer to the transport in the same turn; let it.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** What /sessions shows: the sessions of `owner` (a token fingerprint), or every session. */
  list(filter: { owner?: string } = {}): Promise<SessionInfo[]> {
    return sessionsView(this.views, filter);
  }

  /**
   * The dashboard's End: ends browser `id` for its client. A session's own browser is replaced at
   * its next call, which says an administrator ended it; a handle's owner hears the same.
   */
  async endBrowserAsAdmin(id: string): Promise<boolean> {
    const lease = this.leases.get(id);
    if (!lease) return false;
    const session = lease.sessionId ? this.sessions.get(lease.sessionId) : undefined;
    if (session && session.browser === lease) {
      session.notices.push('An administrator ended this session\'s browser; its page state (tabs, cookies, storage) was lost. ' +
        'This call runs in a fresh browser: navigate again to continue.');
    } else {
      this.endedByAdmin.set(lease.handle, { owner: lease.owner, at: Date.now() });
      if (this.endedByAdmin.size > 1000) this.endedByAdmin.delete(this.endedByAdmin.keys().next().value!);
    }
    this.leaseLog(lease).info('browser ended by an administrator');
    await this.endBrowser(lease, 'admin');
    return true;
  }

  /** What the dashboard shows: capacity and every browser held for a client, with its page and memory. */
  dashboardView(): Promise<DashboardView> {
    return dashboardView(this.views);
  }

  /** A JPEG of browser `id`'s selected tab for the dashboard, or undefined. */
  async thumbnail(id: string): Promise<Buffer | undefined> {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    const { jpeg } = await lease.worker.request('thumbnail', { quality: 50 }, { timeoutMs: 3000 }).catch(() => ({ jpeg: undefined }));
    return jpeg ? Buffer.from(jpeg, 'base64') : undefined;
  }

  /** The page browser `id`'s browser_annotate call waits to have annotated, or undefined. */
  annotationRequest(id: string): BrowserLease['annotation'] {
    return this.leases.get(id)?.annotation;
  }

  /**
   * A person's answer to browser `id`'s browser_annotate call (from the dashboard): their boxes,
   * or a cancel. False when no call waits any more (it ended, or another answer came first).
   */
  async submitAnnotation(id: string, answer: { annotations: Annotation[] } | { cancelled: true }): Promise<boolean> {
    const lease = this.leases.get(id);
    const request = lease?.annotation;
    if (!lease || !request) return false;
    const { accepted } = await lease.worker.request('annotation.submit', { id: request.id, ...answer }, { timeoutMs: 5000 }).catch(() => ({ accepted: false }));
    if (accepted && lease.annotation?.id === request.id) lease.annotation = undefined;
    return accepted;
  }

  /** What /browsers shows: every browser of `owner` (a token fingerprint), or every browser. */
  listBrowsers(filter: { owner?: string } = {}): Promise<BrowserListing[]> {
    return browsersView(this.views, filter);
  }

  /**
   * Stops admitting (503 SHUTTING_DOWN), lets calls in flight finish for up to
   * `shutdownTimeout`, then ends every session and kills warm and starting workers.
   */
  shutdown(): Promise<void> {
    return this.shutdownPromise ??= (async () => {
      this.shuttingDown = true;
      this.heartbeat.stop();
      this.reaper.stop();
      clearInterval(this.recordingsTimer);
      await this.supply.stop(new FleetError('SHUTTING_DOWN', 'the server is shutting down', { retryAfter: RETRY_AFTER_SECONDS }));
      if (this.inFlightTotal() > 0) {
        this.log.info({ inFlight: this.inFlightTotal(), timeoutMs: this.config.shutdownTimeout }, 'waiting for calls in flight');
        const done = await this.until(() => this.inFlightTotal() === 0, this.config.shutdownTimeout);
        if (!done) this.log.warn({ inFlight: this.inFlightTotal() }, 'calls still in flight at the shutdown timeout; ending them');
      }
      await Promise.all([...this.sessions.keys()].map((id) => this.endSession(id, 'shutdown')));
      await Promise.all([...this.leases.values()].map((lease) => this.endBrowser(lease, 'shutdown')));
    })();
  }

  /** Resolves true once `condition` holds after a call ended, false after `timeoutMs`. */
  private until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.callWatchers.delete(check);
        resolve(ok);
      };
      this.callWatchers.add(check);
      check();
    });
  }
}
