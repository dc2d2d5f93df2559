import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { freeMemoryBytes, type Config } from '../config.ts';
import { FleetError, toFleetError } from '../errors.ts';
import type { Methods, ToolResult, WorkerStatus } from '../ipc/protocol.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Logger } from '../log.ts';
import { AdmissionQueue, RETRY_AFTER_SECONDS } from './admission-queue.ts';
import { Heartbeat } from './heartbeat.ts';
import { treesStats } from './process-stats.ts';
import { Reaper } from './reaper.ts';
import { Recovery } from './recovery.ts';
import { WorkerLauncher } from './worker-launcher.ts';
import { WorkerPool } from './worker-pool.ts';

/** Why a session ended; reported in logs and to listeners. */
export type EndReason = 'deleted' | 'idle' | 'lifetime' | 'crashed' | 'admin' | 'shutdown' | 'start-failed';

/** One MCP session and the worker that serves it. */
export interface SessionRecord {
  id: string;
  /** Who created it (a token fingerprint), so other tokens cannot use it. */
  owner?: string;
  /** The worker serving the session now; swapped for a fresh one after a fault. */
  worker: WorkerHandle;
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
  /** Set when the session ended, so calls still running can say why. */
  endReason?: EndReason;
}

/** What /sessions shows of a session. */
export interface SessionInfo extends WorkerStatus {
  id: string;
  workerPid: number;
  createdAt: string;
  lastActivityAt: string;
  inFlight: number;
  /** Resident memory of the worker and its browser, bytes. */
  rssBytes: number;
}

/** Whether a new session would be admitted now, and if not why (for /readyz). */
export interface Readiness {
  ready: boolean;
  code?: 'SESSION_LIMIT' | 'LOW_MEMORY' | 'SHUTTING_DOWN';
  reason?: string;
}

/**
 * What the supervisor reports as it works; metrics and logs subscribe here rather than reaching
 * into the supervisor. Every path that admits, refuses, ends or calls must emit these.
 */
export interface SupervisorEvents {
  /** A session was admitted; `waitedMs` is time spent in the queue, `startMs` the worker's start. */
  'session.admitted': [{ id: string; waitedMs: number; startMs: number }];
  /** A new session was refused (cap, memory, shutdown, start failure). */
  'session.rejected': [{ code: string }];
  /** A session ended. */
  'session.ended': [{ id: string; reason: EndReason; ageMs: number }];
  /** A worker process started and answered READY (or failed to). */
  'worker.started': [{ pid: number; ms: number; ok: boolean }];
  /** A tool call finished; `outcome` is ok, error (isError result) or an error code. */
  'tool.called': [{ id: string; tool: string; outcome: string; ms: number }];
}

/** How the supervisor is built; tests swap the worker program and the browser path. */
export interface SupervisorOptions {
  config: Config;
  log: Logger;
  /** Chromium to launch (found at start-up). */
  executablePath: string;
  /** Worker program to fork; defaults to the real one. */
  workerEntry?: string;
  /** Free memory probe, bytes; tests replace it. */
  freeMemory?: () => number;
}

/** How long a pre-started worker may take to join a session, ms. */
const BIND_TIMEOUT_MS = 5000;
/** How long a worker whose call ran past its deadline may take to answer a ping, ms. */
const LIVENESS_PING_MS = 2000;
/** How long the front waits past a call's deadline for the worker's own account of it, ms. */
const ANSWER_GRACE_MS = 5000;
/** How long an ended session's calls in flight get to deliver their answers, ms. */
const CALLS_SETTLE_MS = 5000;

/** How a call that outlived its session explains the end. */
const ENDED_BECAUSE: Record<EndReason, string> = {
  deleted: 'its client ended it',
  idle: 'it was idle',
  lifetime: 'it reached its lifetime limit',
  crashed: 'its browser failed',
  admin: 'an administrator ended it',
  shutdown: 'the server is shutting down',
  'start-failed': 'its browser could not start',
};

/**
 * The session table and the workers behind it. Admits sessions within the cap (pre-started
 * workers first, then a bounded wait queue), forwards calls with deadlines, keeps a session
 * going when its worker or browser fails, reaps idle sessions, and ends sessions so that every
 * end takes the worker, its browser and the session's files with it.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly config: Config;
  private readonly log: Logger;
  private readonly options: SupervisorOptions;
  private readonly launcher: WorkerLauncher;
  private readonly pool: WorkerPool;
  private readonly queue: AdmissionQueue;
  private readonly recovery: Recovery;
  private readonly heartbeat: Heartbeat;
  private readonly reaper: Reaper;
  /** Admissions holding a slot while their worker starts or joins. */
  private opening = 0;
  /** Ended sessions whose worker is still closing; they hold their slot until it has. */
  private closing = 0;
  private readonly admissions = new Set<Promise<unknown>>();
  /** Checked whenever a call ends: waits for calls to settle (shutdown, ended sessions). */
  private readonly callWatchers = new Set<() => void>();
  private shuttingDown = false;
  private shutdownPromise?: Promise<void>;
  /** Called after a session ended, whatever the reason; the front drops its transport. */
  onSessionEnded?: (id: string, reason: EndReason) => void;

  constructor(options: SupervisorOptions) {
    super();
    this.options = options;
    this.config = options.config;
    this.log = options.log;
    const { config, log } = options;
    this.launcher = new WorkerLauncher({ ...options, onStarted: (report) => this.emit('worker.started', report) });
    this.pool = new WorkerPool({ launcher: this.launcher, log, outputRoot: config.outputDir, onSlotFreed: () => this.pump() });
    this.queue = new AdmissionQueue(config.queueSize, config.queueTimeout, config.maxSessions);
    this.recovery = new Recovery({
      log,
      isLive: (record) => this.sessions.get(record.id) === record,
      blocker: () => (this.shuttingDown ? 'the server is shutting down' : undefined),
      freshWorker: (record) => this.acquire(record.id, log.child({ sessionId: record.id })),
      adopt: (record, worker) => this.watch(record, worker),
      discard: (record, worker) => this.discard(worker, record.outputDir),
      end: (id, reason) => this.end(id, reason),
    });
    this.heartbeat = new Heartbeat({
      intervalMs: config.heartbeatInterval,
      timeoutMs: config.heartbeatTimeout,
      workers: () => [...[...this.sessions.values()].map((record) => record.worker), ...this.pool.workers()],
      onSilent: (worker) => this.onSilent(worker),
    });
    this.reaper = new Reaper({
      idleTimeout: config.idleTimeout,
      sessionLifetime: config.sessionLifetime,
      sessions: () => this.sessions.values(),
      end: (id, reason) => void this.end(id, reason),
    });
  }

  /** Starts the background work: pre-started workers, heartbeats, the idle reaper. */
  start(): void {
    this.heartbeat.start();
    this.reaper.start();
    this.pump();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Pre-started workers, starting or ready. */
  get poolSize(): number {
    return this.pool.size;
  }

  /** New sessions waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  get(id: string): SessionRecord | undefined {
    return this.sessions.get(id);
  }

  /** Slots of the cap in use: sessions, admissions under way, pre-started and closing workers. */
  private get used(): number {
    return this.sessions.size + this.opening + this.pool.size + this.closing;
  }

  private get hasRoom(): boolean {
    return this.pool.size > 0 || this.used < this.config.maxSessions;
  }

  private freeMemory(): number {
    return (this.options.freeMemory ?? freeMemoryBytes)();
  }

  private lowMemory(): string | undefined {
    const free = this.freeMemory();
    if (free >= this.config.minFreeMemoryMb * 1024 * 1024) return undefined;
    return `free memory ${Math.round(free / 1048576)} MB is below the floor of ${this.config.minFreeMemoryMb} MB`;
  }

  /** Whether a new session would be admitted right now. */
  readiness(): Readiness {
    if (this.shuttingDown) return { ready: false, code: 'SHUTTING_DOWN', reason: 'the server is shutting down' };
    if (!this.hasRoom) return { ready: false, code: 'SESSION_LIMIT', reason: `the server is at its limit of ${this.config.maxSessions} sessions` };
    const low = this.lowMemory();
    if (low) return { ready: false, code: 'LOW_MEMORY', reason: low };
    return { ready: true };
  }

  /**
   * Admits session `id`: takes a pre-started worker or starts one, waiting in the queue when the
   * server is at its cap. Throws a FleetError (503 with Retry-After) when refused.
   */
  open(id: string, owner?: string): Promise<SessionRecord> {
    const admission = this.admit(id, owner);
    this.admissions.add(admission);
    void admission.catch(() => {}).finally(() => this.admissions.delete(admission));
    return admission;
  }

  private async admit(id: string, owner?: string): Promise<SessionRecord> {
    const refusal = this.shuttingDown ? 'SHUTTING_DOWN' : this.lowMemory() ? 'LOW_MEMORY' : undefined;
    if (refusal) {
      const reason = refusal === 'SHUTTING_DOWN' ? 'the server is shutting down' : this.lowMemory()!;
      throw this.refuse(new FleetError(refusal, reason, { retryAfter: RETRY_AFTER_SECONDS }));
    }
    let waitedMs = 0;
    if (this.hasRoom) this.opening++;
    else waitedMs = await this.queue.wait().catch((error: FleetError) => { throw this.refuse(error); });
    const log = this.log.child({ sessionId: id });
    const started = Date.now();
    let worker: WorkerHandle;
    try {
      worker = await this.acquire(id, log);
      if (this.shuttingDown) {
        await this.discard(worker, this.sessionDir(id));
        throw new FleetError('SHUTTING_DOWN', 'the server is shutting down');
      }
    } catch (error) {
      this.opening--;
      rmSync(this.sessionDir(id), { recursive: true, force: true });
      this.pump();
      const fleetError = toFleetError(error, 'WORKER_START_FAILED');
      throw this.refuse(new FleetError(fleetError.code, fleetError.message, { retryAfter: RETRY_AFTER_SECONDS }));
    }
    this.opening--;
    const now = Date.now();
    const record: SessionRecord = {
      id, owner, worker, outputDir: this.sessionDir(id), createdAt: now, lastActivityAt: now, inFlight: 0, notices: [], replacementsInARow: 0,
    };
    this.sessions.set(id, record);
    this.watch(record, worker);
    log.info({ workerPid: worker.pid, browserPid: worker.browserPid, waitedMs, ms: now - started }, 'session opened');
    this.emit('session.admitted', { id, waitedMs, startMs: now - started });
    this.pump();
    return record;
  }

  private sessionDir(id: string): string {
    return join(this.config.outputDir, id);
  }

  /** A worker for session `id`: a pre-started one joins it, else a new one starts in its directory. */
  private async acquire(id: string, log: Logger): Promise<WorkerHandle> {
    const outputDir = this.sessionDir(id);
    const pooled = this.pool.take();
    if (pooled) {
      this.pump();
      const worker = await pooled.ready.catch(() => undefined);
      rmSync(pooled.outputDir, { recursive: true, force: true });
      if (worker?.alive) {
        try {
          await worker.request('session.bind', { sessionId: id, outputDir }, { timeoutMs: BIND_TIMEOUT_MS });
          worker.bindLog(log);
          return worker;
        } catch (error) {
          log.warn({ workerPid: worker.pid, err: (error as Error).message }, 'pre-started worker could not join the session; starting another');
          await worker.kill();
        }
      }
    }
    return this.launcher.launch(outputDir, log).ready;
  }

  private async discard(worker: WorkerHandle, outputDir: string): Promise<void> {
    await worker.close(1000);
    rmSync(outputDir, { recursive: true, force: true });
  }

  /** Watches a session's worker: a crash, a lost browser or a notice from the worker. */
  private watch(record: SessionRecord, worker: WorkerHandle): void {
    const log = this.log.child({ sessionId: record.id });
    worker.on('exit', (exit) => {
      if (exit.expected || record.worker !== worker || !this.sessions.has(record.id)) return;
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      this.recovery.replace(record, worker, 'WORKER_CRASHED', `the session's worker process ${how}`);
    });
    worker.on('event', (event) => {
      if (record.worker !== worker) return;
      if (event.name === 'browser.disconnected') {
        this.recovery.replace(record, worker, 'BROWSER_CRASHED', "the session's browser process exited unexpectedly");
      } else if (event.name === 'notice') {
        record.notices.push((event.data as { text: string }).text);
      } else {
        log.info({ worker: event.data }, 'worker event');
      }
    });
  }

  private onSilent(worker: WorkerHandle): void {
    if (this.pool.evict(worker)) return;
    const record = [...this.sessions.values()].find((r) => r.worker === worker);
    if (!record) return;
    this.recovery.replace(record, worker, 'WORKER_CRASHED', `the session's worker stopped answering heartbeats (none within ${this.config.heartbeatTimeout} ms)`);
  }

  /**
   * Hands freed slots to queued sessions first, then tops the pool up to `prewarm` while there
   * is room under the cap, memory above the floor, and starts are not failing in a row.
   */
  private pump(): void {
    if (this.shuttingDown) return;
    while (this.queue.length > 0 && this.used < this.config.maxSessions) {
      this.opening++;
      if (!this.queue.admitNext()) this.opening--;
    }
    while (this.queue.length === 0 && this.pool.size < this.config.prewarm && this.used < this.config.maxSessions
      && !this.launcher.halted && !this.lowMemory()) {
      if (!this.pool.add()) break;
    }
  }

  /**
   * Forwards a tool call to the session's worker within `timeoutMs`. Whatever goes wrong under
   * the call (deadline, stuck page, crash) ends it with a tool error saying what happened; the
   * session goes on with a fresh worker when one was needed.
   */
  async callTool(id: string, name: string, args: Record<string, unknown>, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ToolResult> {
    const record = this.require(id);
    if (this.shuttingDown) throw new FleetError('SHUTTING_DOWN', 'the server is shutting down and takes no new calls');
    record.inFlight++;
    const started = record.lastActivityAt = Date.now();
    let outcome = 'ok';
    try {
      if (record.recovering && !(await record.recovering)) throw new FleetError('SESSION_CLOSED', 'the session was closed after its browser failed; start a new session');
      const result = await this.forward(record, name, args, options);
      if (result.isError) outcome = 'error';
      return result;
    } catch (error) {
      outcome = toFleetError(error).code;
      throw error;
    } finally {
      record.inFlight--;
      record.lastActivityAt = Date.now();
      this.emit('tool.called', { id, tool: name, outcome, ms: Date.now() - started });
      for (const check of [...this.callWatchers]) check();
      if (this.sessions.get(id) === record) this.reaper.afterCall(record, Date.now());
    }
  }

  private async forward(record: SessionRecord, name: string, args: Record<string, unknown>, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ToolResult> {
    const worker = record.worker;
    const notices = record.notices.splice(0);
    try {
      const result = await worker.request('tool.call', { name, args }, { ...options, graceMs: ANSWER_GRACE_MS });
      // The browser can die under a call whose answer still arrives (a closed-target error).
      const fault = this.recovery.faultOf(worker);
      if (fault) throw await this.recovery.errorFor(fault, name);
      record.replacementsInARow = 0;
      return notices.length ? withNotices(result, notices) : result;
    } catch (error) {
      record.notices.unshift(...notices);
      throw await this.explain(record, worker, name, toFleetError(error));
    }
  }

  /** Turns a failed call into the error the client reads, replacing a worker that stopped answering. */
  private async explain(record: SessionRecord, worker: WorkerHandle, name: string, error: FleetError): Promise<FleetError> {
    let fault = this.recovery.faultOf(worker);
    if (!fault && record.endReason) {
      const code = record.endReason === 'shutdown' ? 'SHUTTING_DOWN' : 'SESSION_CLOSED';
      return new FleetError(code, `${name} did not finish: the session was closed because ${ENDED_BECAUSE[record.endReason]}`);
    }
    if (!fault && error.code === 'WORKER_CRASHED' && this.sessions.get(record.id) === record) {
      fault = this.recovery.replace(record, worker, 'WORKER_CRASHED', "the session's worker process exited");
    }
    if (!fault && error.code === 'TOOL_TIMEOUT' && worker.alive && this.sessions.get(record.id) === record) {
      const answers = await worker.request('ping', {}, { timeoutMs: LIVENESS_PING_MS, graceMs: 0 }).then(() => true, () => false);
      if (!answers) fault = this.recovery.replace(record, worker, 'TOOL_TIMEOUT', `${error.message}, and the session's worker stopped responding`);
    }
    if (fault) return this.recovery.errorFor(fault, name);
    return error;
  }

  /** Calls a non-tool worker method for session `id`. */
  request<M extends keyof Methods>(id: string, method: M, params: Methods[M]['params'], timeoutMs: number): Promise<Methods[M]['result']> {
    return this.require(id).worker.request(method, params, { timeoutMs });
  }

  private refuse(error: FleetError): FleetError {
    this.emit('session.rejected', { code: error.code });
    return error;
  }

  private require(id: string): SessionRecord {
    const record = this.sessions.get(id);
    if (!record) throw new FleetError('SESSION_NOT_FOUND', `session ${id} not found`);
    return record;
  }

  private inFlightTotal(): number {
    let total = 0;
    for (const record of this.sessions.values()) total += record.inFlight;
    return total;
  }

  /** Ends session `id`: closes its browser, ends the worker's process groups, removes its files. */
  async end(id: string, reason: EndReason): Promise<void> {
    const record = this.sessions.get(id);
    if (!record) return;
    this.sessions.delete(id);
    record.endReason = reason;
    const dropped = this.dropWhenCallsSettled(record);
    this.closing++;
    try {
      await record.worker.close(this.config.shutdownTimeout > 0 ? Math.min(3000, this.config.shutdownTimeout) : 1000);
    } finally {
      this.closing--;
    }
    rmSync(record.outputDir, { recursive: true, force: true });
    this.log.info({ sessionId: id, reason }, 'session ended');
    this.emit('session.ended', { id, reason, ageMs: Date.now() - record.createdAt });
    this.pump();
    await dropped;
  }

  /**
   * Tells the front to drop the session's transport (later requests get 404) once the calls
   * still running delivered their answers, which say why.
   */
  private async dropWhenCallsSettled(record: SessionRecord): Promise<void> {
    if (record.inFlight > 0) await this.until(() => record.inFlight === 0, CALLS_SETTLE_MS);
    // A call that just finished hands its answer to the transport in the same turn; let it.
    await new Promise((resolve) => setImmediate(resolve));
    this.onSessionEnded?.(record.id, record.endReason!);
  }

  /** What /sessions shows. */
  async list(): Promise<SessionInfo[]> {
    const records = [...this.sessions.values()];
    const stats = treesStats(records.map((record) => record.worker.pid));
    return Promise.all(records.map(async (record) => {
      const status = await record.worker.request('status', {}, { timeoutMs: 1000 })
        .catch(() => ({ browserPid: record.worker.browserPid, pages: 0, url: '' }));
      return {
        id: record.id,
        workerPid: record.worker.pid,
        ...status,
        createdAt: new Date(record.createdAt).toISOString(),
        lastActivityAt: new Date(record.lastActivityAt).toISOString(),
        inFlight: record.inFlight,
        rssBytes: stats.get(record.worker.pid)?.rssBytes ?? 0,
      };
    }));
  }

  /**
   * Stops admitting (503 SHUTTING_DOWN), lets calls in flight finish for up to
   * `shutdownTimeout`, then ends every session and kills pre-started and starting workers.
   */
  shutdown(): Promise<void> {
    return this.shutdownPromise ??= (async () => {
      this.shuttingDown = true;
      this.heartbeat.stop();
      this.reaper.stop();
      this.queue.rejectAll(this.refuse(new FleetError('SHUTTING_DOWN', 'the server is shutting down', { retryAfter: RETRY_AFTER_SECONDS })));
      await Promise.all([this.pool.drain(), this.launcher.killStarting()]);
      await Promise.allSettled([...this.admissions]);
      if (this.inFlightTotal() > 0) {
        this.log.info({ inFlight: this.inFlightTotal(), timeoutMs: this.config.shutdownTimeout }, 'waiting for calls in flight');
        if (!(await this.until(() => this.inFlightTotal() === 0, this.config.shutdownTimeout))) this.log.warn({ inFlight: this.inFlightTotal() }, 'calls still in flight at the shutdown timeout; ending them');
      }
      await Promise.all([...this.sessions.keys()].map((id) => this.end(id, 'shutdown')));
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

/** Puts notices the client must hear (lost page state) at the top of a result. */
function withNotices(result: ToolResult, notices: string[]): ToolResult {
  const text = `### Notice\n${notices.map((notice) => `- ${notice}`).join('\n')}`;
  return { ...result, content: [{ type: 'text', text }, ...result.content] };
}
