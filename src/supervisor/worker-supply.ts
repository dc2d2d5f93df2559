import { rmSync } from 'node:fs';
import type { Config } from '../config.ts';
import { FleetError } from '../errors.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Logger } from '../log.ts';
import { AdmissionQueue } from './admission-queue.ts';
import { WorkerLauncher, type LauncherOptions } from './worker-launcher.ts';
import { WorkerPool } from './worker-pool.ts';

/** How long a pre-started worker may take to join a session, ms. */
const BIND_TIMEOUT_MS = 5000;
/** Longest a refill waits, past its hold, for a moment with no call in flight, ms. */
const REFILL_BUSY_MAX_MS = 10_000;
/** How often a refill held by calls in flight looks again, ms. */
const REFILL_RECHECK_MS = 250;

/**
 * When the pool may start its next worker. A session that takes a pooled worker holds refills off
 * for `delayMs` (--prewarm-delay), so the sessions of a burst reach their first pages before a
 * browser launch competes with them for the CPU; after that, a refill still waits for a moment
 * with no call in flight, at most `busyMaxMs` more. The first take of a burst sets the time;
 * later takes within it do not push it back, so a steady stream of sessions still gets its pool
 * refilled.
 */
export class RefillHold {
  private notBefore = 0;
  /** Until when calls in flight may hold a refill; set by the first take after the last one ran out. */
  private busyUntil = 0;

  constructor(private readonly delayMs: number, private readonly busyMaxMs = REFILL_BUSY_MAX_MS) {}

  /** A session took a pooled worker at `now` (ms). */
  taken(now: number): void {
    if (this.notBefore <= now) this.notBefore = now + this.delayMs;
    if (this.busyUntil <= now) this.busyUntil = this.notBefore + this.busyMaxMs;
  }

  /** How long from `now` until a refill may start, ms; 0 when it may start now. `busy`: calls are in flight. */
  waitAt(now: number, busy = false): number {
    if (this.notBefore > now) return this.notBefore - now;
    return busy && this.busyUntil > now ? Math.min(REFILL_RECHECK_MS, this.busyUntil - now) : 0;
  }
}

/** How the supply is built. */
export interface SupplyOptions extends LauncherOptions {
  config: Config;
  /** Sessions open now; each holds a slot. */
  sessionCount: () => number;
  /** Tool calls in flight over all sessions: a refill waits for none, within limits (RefillHold). */
  callsInFlight: () => number;
  /** Why no worker should be pre-started now (free memory below the floor), if so. */
  lowMemory: () => string | undefined;
}

/**
 * The slots of the session cap and the workers that fill them. Every slot is held by a session,
 * an admission under way, a pre-started worker or an ended session's worker still closing, so
 * sessions + pool never exceed the cap. A freed slot goes to the oldest queued admission first,
 * then to the pool.
 */
export class WorkerSupply {
  readonly pool: WorkerPool;
  private readonly launcher: WorkerLauncher;
  private readonly queue: AdmissionQueue;
  private opening = 0;
  private closing = 0;
  private stopped = false;
  private readonly refillHold: RefillHold;
  private refillTimer?: NodeJS.Timeout;

  constructor(private readonly options: SupplyOptions) {
    const { config, log } = options;
    this.launcher = new WorkerLauncher(options);
    this.pool = new WorkerPool({ launcher: this.launcher, log, outputRoot: config.outputDir, onSlotFreed: () => this.pump() });
    this.queue = new AdmissionQueue(config.queueSize, config.queueTimeout, config.maxSessions);
    this.refillHold = new RefillHold(config.prewarmDelay);
  }

  /** Admissions waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether an admission would get a slot without waiting. */
  get hasRoom(): boolean {
    return this.pool.size > 0 || this.used < this.options.config.maxSessions;
  }

  private get used(): number {
    return this.options.sessionCount() + this.opening + this.pool.size + this.closing;
  }

  /**
   * Takes a slot for a new session: at once when there is room, else after waiting in the queue.
   * Resolves with the time waited; rejects with SESSION_LIMIT. Pair with `release`.
   */
  async reserve(): Promise<number> {
    if (!this.hasRoom) return this.queue.wait();
    this.opening++;
    return 0;
  }

  /** The admission holding a slot is over: its session now holds the slot, or it is free again. */
  release(): void {
    this.opening--;
    this.pump();
  }

  /** A worker for a session writing to `outputDir`: a pre-started one joins it, else a new one starts. */
  async acquire(sessionId: string, outputDir: string, log: Logger): Promise<WorkerHandle> {
    const pooled = this.pool.take();
    if (pooled) {
      this.refillHold.taken(Date.now());
      this.pump();
      const worker = await pooled.ready.catch(() => undefined);
      rmSync(pooled.outputDir, { recursive: true, force: true });
      if (worker?.alive) {
        try {
          await worker.request('session.bind', { sessionId, outputDir }, { timeoutMs: BIND_TIMEOUT_MS });
          worker.bindLog(log);
          return worker;
        } catch (error) {
          log.warn({ workerPid: worker.pid, err: (error as Error).message }, 'pre-started worker could not join the session; starting another');
          await worker.kill();
        }
      }
    }
    // Shutdown may have killed the pooled worker under us: do not start a browser only to discard it.
    if (this.stopped) throw new FleetError('SHUTTING_DOWN', 'the server is shutting down');
    return this.launcher.launch(outputDir, log).ready;
  }

  /** An ended session's worker holds its slot until `closed` settles. */
  async whileClosing<T>(closed: Promise<T>): Promise<T> {
    this.closing++;
    try {
      return await closed;
    } finally {
      this.closing--;
      this.pump();
    }
  }

  /**
   * Hands free slots to queued admissions, then tops the pool up to `prewarm` while memory is
   * above the floor and starts are not failing in a row. The pool starts one worker at a time,
   * and not while a burst of sessions holds refills off (RefillHold): a browser launch competes
   * with the sessions the burst just admitted for the CPU (measured: first page at 8 sessions
   * about 1.5x slower with all refills at once; at 1 session, 115-123 against 93-97 ms per
   * navigation with a refill under way or not).
   */
  pump(): void {
    if (this.stopped) return;
    const { maxSessions, prewarm } = this.options.config;
    while (this.queue.length > 0 && this.used < maxSessions) {
      this.opening++;
      if (!this.queue.admitNext()) this.opening--;
    }
    const wait = this.refillHold.waitAt(Date.now(), this.options.callsInFlight() > 0);
    if (wait > 0) {
      this.refillTimer ??= setTimeout(() => {
        this.refillTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    while (this.queue.length === 0 && this.pool.size < prewarm && this.pool.startingCount === 0 && this.used < maxSessions && !this.launcher.halted && !this.options.lowMemory()) {
      if (!this.pool.add()) break;
    }
  }

  /** Refuses queued admissions with `error`, kills pre-started and starting workers (shutdown). */
  async stop(error: FleetError): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refillTimer);
    this.queue.rejectAll(error);
    await Promise.all([this.pool.drain(), this.launcher.killStarting()]);
  }
}
