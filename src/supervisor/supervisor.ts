import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { freeMemoryBytes, type Config } from '../config.ts';
import { FleetError, toFleetError } from '../errors.ts';
import type { ToolResult } from '../ipc/protocol.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { WorkerProgram } from '../ipc/worker-program.ts';
import type { Logger } from '../log.ts';
import { RETRY_AFTER_SECONDS } from './admission-queue.ts';
import { forwardCall } from './call-forwarding.ts';
import { Heartbeat } from './heartbeat.ts';
import { treesStats } from './process-stats.ts';
import { Reaper } from './reaper.ts';
import { Recovery } from './recovery.ts';
import type { EndReason, Readiness, SessionInfo, SessionRecord, SupervisorEvents } from './session-types.ts';
import { WorkerSupply } from './worker-supply.ts';

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

/** How long an ended session's calls in flight get to deliver their answers, ms. */
const CALLS_SETTLE_MS = 5000;

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
  private readonly supply: WorkerSupply;
  private readonly recovery: Recovery;
  private readonly heartbeat: Heartbeat;
  private readonly reaper: Reaper;
  private readonly admissions = new Set<Promise<unknown>>();
  /** Checked whenever a call ends: waits for calls to settle (shutdown, ended sessions). */
  private readonly callWatchers = new Set<() => void>();
  private shuttingDown = false;
  private shutdownPromise?: Promise<void>;
  /** Called after a session ended, whatever the reason; the front drops its transport. */
  onSessionEnded?: (id: string, reason: EndReason) => void;

  constructor(private readonly options: SupervisorOptions) {
    super();
    const { config, log } = options;
    this.config = config;
    this.log = log;
    this.supply = new WorkerSupply({
      ...options,
      onStarted: (report) => this.emit('worker.started', report),
      sessionCount: () => this.sessions.size,
      callsInFlight: () => this.inFlightTotal(),
      lowMemory: () => this.lowMemory(),
    });
    this.recovery = new Recovery({
      log,
      isLive: (record) => this.isLive(record),
      blocker: () => (this.shuttingDown ? 'the server is shutting down' : undefined),
      freshWorker: (record) => this.supply.acquire(record.id, record.outputDir, log.child({ sessionId: record.id })),
      adopt: (record, worker) => this.watch(record, worker),
      discard: (record, worker) => this.discard(worker, record.outputDir),
      end: (id, reason) => this.end(id, reason),
      reported: (id, code, recovered) => this.emit('session.faulted', { id, code, recovered }),
    });
    this.heartbeat = new Heartbeat({
      intervalMs: config.heartbeatInterval,
      timeoutMs: config.heartbeatTimeout,
      workers: () => [...[...this.sessions.values()].map((record) => record.worker), ...this.supply.pool.workers()],
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
    this.supply.pump();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Pre-started workers, starting or ready. */
  get poolSize(): number {
    return this.supply.pool.size;
  }

  /** New sessions waiting for a slot. */
  get queued(): number {
    return this.supply.queued;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  get(id: string): SessionRecord | undefined {
    return this.sessions.get(id);
  }

  private isLive(record: SessionRecord): boolean {
    return this.sessions.get(record.id) === record;
  }

  private lowMemory(): string | undefined {
    const free = (this.options.freeMemory ?? freeMemoryBytes)();
    if (free >= this.config.minFreeMemoryMb * 1024 * 1024) return undefined;
    return `free memory ${Math.round(free / 1048576)} MB is below the floor of ${this.config.minFreeMemoryMb} MB`;
  }

  /** Whether a new session would be admitted right now. */
  readiness(): Readiness {
    if (this.shuttingDown) return { ready: false, code: 'SHUTTING_DOWN', reason: 'the server is shutting down' };
    if (!this.supply.hasRoom) return { ready: false, code: 'SESSION_LIMIT', reason: `the server is at its limit of ${this.config.maxSessions} sessions` };
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
    const readiness = this.readiness();
    if (readiness.code === 'SHUTTING_DOWN' || readiness.code === 'LOW_MEMORY') {
      throw this.refuse(new FleetError(readiness.code, readiness.reason!, { retryAfter: RETRY_AFTER_SECONDS }));
    }
    const waitedMs = await this.supply.reserve().catch((error: FleetError) => { throw this.refuse(error); });
    const log = this.log.child({ sessionId: id });
    const outputDir = join(this.config.outputDir, id);
    const started = Date.now();
    let worker: WorkerHandle;
    try {
      worker = await this.supply.acquire(id, outputDir, log);
      if (this.shuttingDown) {
        await this.discard(worker, outputDir);
        throw new FleetError('SHUTTING_DOWN', 'the server is shutting down');
      }
    } catch (error) {
      rmSync(outputDir, { recursive: true, force: true });
      this.supply.release();
      const fleetError = toFleetError(error, 'WORKER_START_FAILED');
      throw this.refuse(new FleetError(fleetError.code, fleetError.message, { retryAfter: RETRY_AFTER_SECONDS }));
    }
    const now = Date.now();
    const record: SessionRecord = { id, owner, worker, outputDir, createdAt: now, lastActivityAt: now, inFlight: 0, notices: [], replacementsInARow: 0 };
    this.sessions.set(id, record);
    this.supply.release();
    this.watch(record, worker);
    log.info({ workerPid: worker.pid, browserPid: worker.browserPid, waitedMs, ms: now - started }, 'session opened');
    this.emit('session.admitted', { id, waitedMs, startMs: now - started });
    return record;
  }

  private async discard(worker: WorkerHandle, outputDir: string): Promise<void> {
    await worker.close(1000);
    rmSync(outputDir, { recursive: true, force: true });
  }

  /** Watches a session's worker: a crash, a lost browser or a notice from the worker. */
  private watch(record: SessionRecord, worker: WorkerHandle): void {
    const log = this.log.child({ sessionId: record.id });
    worker.on('exit', (exit) => {
      if (exit.expected || record.worker !== worker || !this.isLive(record)) return;
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
    if (this.supply.pool.evict(worker)) return;
    const record = [...this.sessions.values()].find((r) => r.worker === worker);
    if (!record) return;
    this.recovery.replace(record, worker, 'WORKER_CRASHED', `the session's worker stopped answering heartbeats (none within ${this.config.heartbeatTimeout} ms)`);
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
      const result = await forwardCall({ recovery: this.recovery, isLive: (r) => this.isLive(r) }, record, { name, args }, options);
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
      if (this.isLive(record)) this.reaper.afterCall(record, Date.now());
    }
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
    const graceMs = this.config.shutdownTimeout > 0 ? Math.min(3000, this.config.shutdownTimeout) : 1000;
    await this.supply.whileClosing(record.worker.close(graceMs));
    rmSync(record.outputDir, { recursive: true, force: true });
    this.log.info({ sessionId: id, reason }, 'session ended');
    this.emit('session.ended', { id, reason, ageMs: Date.now() - record.createdAt });
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

  /** What /sessions shows: the sessions of `owner` (a token fingerprint), or every session. */
  async list(filter: { owner?: string } = {}): Promise<SessionInfo[]> {
    const records = [...this.sessions.values()].filter((record) => filter.owner === undefined || record.owner === filter.owner);
    const stats = await treesStats(records.map((record) => record.worker.pid));
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
      await this.supply.stop(new FleetError('SHUTTING_DOWN', 'the server is shutting down', { retryAfter: RETRY_AFTER_SECONDS }));
      await Promise.allSettled([...this.admissions]);
      if (this.inFlightTotal() > 0) {
        this.log.info({ inFlight: this.inFlightTotal(), timeoutMs: this.config.shutdownTimeout }, 'waiting for calls in flight');
        const done = await this.until(() => this.inFlightTotal() === 0, this.config.shutdownTimeout);
        if (!done) this.log.warn({ inFlight: this.inFlightTotal() }, 'calls still in flight at the shutdown timeout; ending them');
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
