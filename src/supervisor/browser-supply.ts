import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BYTES_PER_BROWSER, type Config } from '../config.ts';
import { FleetError } from '../errors.ts';
import { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Logger } from '../log.ts';
import { AdmissionQueue, RETRY_AFTER_SECONDS } from './admission-queue.ts';
import { treeStats } from './process-stats.ts';
import type { AcquiredHow, BrowserCounts } from './session-types.ts';
import { WorkerLauncher, type LauncherOptions } from './worker-launcher.ts';
import { WorkerPool, type PooledWorker } from './worker-pool.ts';

/** How long a pooled worker may take to join a lease, ms. */
const BIND_TIMEOUT_MS = 5000;
/** How long a worker may take to close its context and open a fresh one, ms. */
const RESET_TIMEOUT_MS = 5000;
/** How long a retired worker gets to close its browser before its process group is killed, ms. */
const RETIRE_GRACE_MS = 1000;
/** Longest a refill waits, past its hold, for a moment with no call in flight, ms. */
const REFILL_BUSY_MAX_MS = 10_000;
/** How often a refill held by calls in flight looks again, ms. */
const REFILL_RECHECK_MS = 250;
/** Leases acquired within this long of each other count as one burst, for the pool's size, ms. */
const BURST_WINDOW_MS = 2000;
/** A browser asked for within this long counts as activity that a refill waits out, ms. */
const ARRIVALS_BUSY_MS = 1000;
/** A released worker's memory is read every this many uses (see `tooLarge`). */
const MEMORY_CHECK_EVERY = 5;
/** How often the pool checks whether it may shrink and whether waiters can be helped, ms. */
const TICK_MS = 1000;

/**
 * When the pool may start its next worker. A lease that takes a pooled worker holds refills off
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

  /** A lease took a pooled worker at `now` (ms). */
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

/**
 * The recent peak of leases starting together, which the warm pool grows toward. A peak counts
 * for `quietMs` after it was seen; then it is forgotten and the pool shrinks back to its floor.
 */
export class Demand {
  private peak = 0;
  private peakAt = 0;

  constructor(private readonly quietMs: number) {}

  /** `together` leases are starting or just started at `now`. */
  sample(now: number, together: number): void {
    if (together >= this.at(now)) {
      this.peak = together;
      this.peakAt = now;
    }
  }

  /** The peak that still counts at `now`. */
  at(now: number): number {
    return now - this.peakAt > this.quietMs ? 0 : this.peak;
  }
}

/** What a waiting call is handed: a warm worker taken from the pool for it, or a slot to start one in. */
type Grant = { entry: PooledWorker } | { slot: true };

/** A cold start waiting for its turn to launch, which a warm worker may still serve. */
interface TurnWaiter {
  tenant: string;
  /** Gives the launch turn up; false once the launch began. */
  withdraw(): boolean;
  take(entry: PooledWorker): void;
}

/** How the supply is built. */
export interface SupplyOptions extends LauncherOptions {
  config: Config;
  /** Leases acquired within the last `ms` and still held: how many browsers a burst is using. */
  recentLeases: (ms: number) => number;
  /** Tool calls in flight over all leases: a refill waits for none, and for no new browser asked for in the last second, within limits (RefillHold). */
  callsInFlight: () => number;
  /** Why no browser should be started now (free memory below the floor), if so. */
  lowMemory: () => string | undefined;
  /** Free memory, bytes: the pool grows past its floor only while a browser more fits above the floor. */
  freeMemory: () => number;
  /** At the cap with calls waiting: ends the longest-idle lease that may be reclaimed; false when none may. */
  reclaim: () => boolean;
}

/** A worker for a lease, and how it was had. */
export interface Acquired {
  worker: WorkerHandle;
  how: AcquiredHow;
  /** Time spent waiting for a slot, ms. */
  waitedMs: number;
}

/**
 * The slots of the browser cap and the workers that fill them. Every slot is held by a lease, an
 * acquisition under way, a pooled worker, or a released worker being reset or closed, so
 * browsers never exceed --max-browsers. A freed slot or warm worker goes to the oldest waiting
 * call first, then to the pool. Released workers are recycled into the pool for their own tenant
 * only; the pool follows demand between --prewarm and --prewarm-max.
 */
export class BrowserSupply {
  readonly pool: WorkerPool;
  private readonly launcher: WorkerLauncher;
  private readonly queue: AdmissionQueue<Grant>;
  private readonly refillHold: RefillHold;
  private readonly demand: Demand;
  /** Leases that hold a worker. */
  private leased = 0;
  /** Grants being turned into a lease (a pooled worker joining, a cold start). */
  private opening = 0;
  /** Released workers being reset or closed. */
  private closing = 0;
  /** Acquisitions under way, granted or waiting. */
  private acquiring = 0;
  private stopped = false;
  private readonly turnWaiters: TurnWaiter[] = [];
  /** When the last acquisition began: the pool keeps its surplus until a quiet period has passed. */
  private lastAcquiredAt = 0;
  private refillTimer?: NodeJS.Timeout;
  private tickTimer?: NodeJS.Timeout;

  constructor(private readonly options: SupplyOptions) {
    const { config, log } = options;
    this.launcher = new WorkerLauncher(options);
    this.pool = new WorkerPool({ launcher: this.launcher, log, outputRoot: config.outputDir, onChange: () => this.pump() });
    this.queue = new AdmissionQueue(config.queueSize, config.queueTimeout, config.maxBrowsers);
    this.refillHold = new RefillHold(config.prewarmDelay);
    this.demand = new Demand(config.prewarmShrinkAfter);
  }

  private get used(): number {
    return this.leased + this.opening + this.pool.size + this.closing;
  }

  counts(): BrowserCounts {
    return { inUse: this.leased, max: this.options.config.maxBrowsers, warm: this.pool.size, queued: this.queue.length, closing: this.closing };
  }

  /** True when a first call now could only be refused: every slot taken, nothing warm, the queue full. */
  get isFull(): boolean {
    return this.used >= this.options.config.maxBrowsers && this.pool.size === 0 && this.queue.isFull;
  }

  /** How big the warm pool should be now: its floor, or the recent peak of a burst up to its ceiling. */
  poolTarget(now = Date.now()): number {
    const { prewarm, prewarmMax } = this.options.config;
    return Math.max(prewarm, Math.min(prewarmMax, this.demand.at(now)));
  }

  /** Starts the background work: the first warm workers, and the pool's shrink check. */
  start(): void {
    this.tickTimer ??= setInterval(() => this.tick(), TICK_MS).unref();
    this.pump();
  }

  /**
   * A worker for a new lease of `tenant` writing to `outputDir`: a warm one from the pool (one
   * recycled for this tenant first), else a cold start within the cap, else a wait in the queue.
   * Rejects with BROWSER_LIMIT (queue full or timed out), LOW_MEMORY, CANCELLED (`signal`),
   * WORKER_START_FAILED or SHUTTING_DOWN.
   */
  async acquire(tenant: string, outputDir: string, log: Logger, signal?: AbortSignal): Promise<Acquired> {
    if (this.stopped) throw new FleetError('SHUTTING_DOWN', 'the server is shutting down');
    this.acquiring++;
    this.lastAcquiredAt = Date.now();
    this.demand.sample(this.lastAcquiredAt, this.acquiring + this.options.recentLeases(BURST_WINDOW_MS));
    let waitedMs = 0;
    try {
      for (;;) {
        let grant = this.grantNow(tenant);
        if (!grant) {
          const low = this.options.lowMemory();
          if (low && this.used < this.options.config.maxBrowsers) {
            throw new FleetError('LOW_MEMORY', `No browser can be started: ${low}. Retry in ${RETRY_AFTER_SECONDS} s.`, { retryAfter: RETRY_AFTER_SECONDS });
          }
          const since = Date.now();
          const waiting = this.queue.wait(tenant, signal);
          this.pump(); // room may be made for this waiter (a foreign pooled worker, a reclaim)
          grant = await waiting;
          waitedMs += Date.now() - since;
        }
        const filled = await this.fill(grant, tenant, outputDir, log);
        if (filled) return { ...filled, waitedMs };
      }
    } finally {
      this.acquiring--;
    }
  }

  /** A warm worker for `tenant` or a free slot, without waiting; queued calls keep their turn for slots. */
  private grantNow(tenant: string): Grant | undefined {
    return this.grantFor(tenant, this.queue.length === 0);
  }

  /**
   * Takes what a lease of `tenant` may have now, holding its slot as `opening`: a warm worker,
   * else (when `slots` allows) a free slot to start one in; undefined when neither is there.
   */
  private grantFor(tenant: string, slots: boolean): Grant | undefined {
    const entry = this.takeWarm(tenant);
    if (!entry && !(slots && this.hasFreeSlot())) return undefined;
    this.opening++;
    return entry ? { entry } : { slot: true };
  }

  /** A warm worker from the pool for `tenant`; taking one holds the refill off (RefillHold). */
  private takeWarm(tenant: string): PooledWorker | undefined {
    const entry = this.pool.take(tenant);
    if (entry) this.refillHold.taken(Date.now());
    return entry;
  }

  private hasFreeSlot(): boolean {
    return this.used < this.options.config.maxBrowsers && !this.options.lowMemory();
  }

  /**
   * Turns a grant into a worker bound to `outputDir`, held by a lease from then on (`leased`
   * counts it in the same turn, so no slot is ever counted twice or not at all); undefined when a
   * pooled worker failed to join.
   */
  private async fill(grant: Grant, tenant: string, outputDir: string, log: Logger, leases = true): Promise<Omit<Acquired, 'waitedMs'> | undefined> {
    let filled: Omit<Acquired, 'waitedMs'> | undefined;
    try {
      const entry = 'slot' in grant ? await this.coldStart(tenant, outputDir, log) : grant.entry;
      if (entry instanceof WorkerHandle) {
        filled = { worker: entry, how: 'cold' };
      } else {
        const worker = await this.bind(entry, outputDir, log);
        if (worker) filled = { worker, how: entry.tenant === undefined ? 'warm' : 'recycled' };
      }
      return filled;
    } finally {
      this.opening--;
      if (filled && leases) this.leased++;
      this.pump();
    }
  }

  /**
   * A paced cold start for `tenant`, unless a warm worker for it turns up (a recycled one, say)
   * before its turn to launch comes: then that worker, and no launch. In a burst larger than the
   * pool, the browsers of sessions that already ended serve the later ones this way.
   */
  private async coldStart(tenant: string, outputDir: string, log: Logger): Promise<WorkerHandle | PooledWorker> {
    const paced = this.launcher.launchPaced(outputDir, log);
    let waiter!: TurnWaiter;
    const swapped = new Promise<PooledWorker>((resolve) => {
      waiter = { tenant, withdraw: () => paced.withdraw(), take: resolve };
    });
    this.turnWaiters.push(waiter);
    try {
      return await Promise.race([paced.ready, swapped]);
    } finally {
      this.turnWaiters.splice(this.turnWaiters.indexOf(waiter), 1);
    }
  }

  private async bind(entry: PooledWorker, outputDir: string, log: Logger): Promise<WorkerHandle | undefined> {
    const worker = await entry.ready.catch(() => undefined);
    rmSync(entry.outputDir, { recursive: true, force: true });
    if (!worker?.alive) return undefined;
    try {
      await worker.request('lease.bind', { outputDir }, { timeoutMs: BIND_TIMEOUT_MS });
      worker.bindLog(log);
      return worker;
    } catch (error) {
      log.warn({ workerPid: worker.pid, err: (error as Error).message }, 'pooled worker could not join the lease; taking another');
      await this.retire(worker);
      return undefined;
    }
  }

  /**
   * A worker for a lease whose worker failed: the lease keeps its slot, so this takes a warm
   * worker for `tenant` or starts one in its turn, without waiting for a slot.
   */
  async replacement(tenant: string, outputDir: string, log: Logger): Promise<WorkerHandle> {
    for (;;) {
      if (this.stopped) throw new FleetError('SHUTTING_DOWN', 'the server is shutting down');
      const entry = this.pool.take(tenant);
      if (!entry) return this.launcher.launchPaced(outputDir, log).ready;
      this.opening++;
      const filled = await this.fill({ entry }, tenant, outputDir, log, false);
      if (filled) return filled.worker;
    }
  }

  /**
   * A lease ended: its worker resets its context (every tab, cookie, storage, cache and file
   * gone) and rejoins the pool for `tenant`, unless `retireBecause` says it must not serve again
   * or it is old, large, unwanted or fails to reset; then it is closed. Resolves with why it
   * was retired, or undefined when it was recycled.
   */
  async release(worker: WorkerHandle, tenant: string, retireBecause: string | undefined, log: Logger): Promise<string | undefined> {
    this.leased--;
    this.closing++;
    try {
      let why = retireBecause ?? this.unfitReason(worker) ?? await this.tooLarge(worker);
      if (!why) {
        const outputDir = join(this.options.config.outputDir, `pool-${randomUUID()}`);
        why = await worker.request('lease.reset', { outputDir }, { timeoutMs: RESET_TIMEOUT_MS }).then(
          () => (this.stopped ? 'the server is shutting down' : this.wanted(tenant) ? undefined : 'the warm pool is full'),
          (error: Error) => `its context could not be reset (${error.message})`,
        );
        if (!why) {
          worker.bindLog(this.options.log);
          this.pool.addRecycled(worker, outputDir, tenant);
          return undefined;
        }
        rmSync(outputDir, { recursive: true, force: true });
      }
      log.info({ workerPid: worker.pid, why }, 'browser retired');
      await worker.close(RETIRE_GRACE_MS);
      return why;
    } finally {
      this.closing--;
      this.pump();
    }
  }

  /** Why `worker` must not be recycled whatever its lease did, if so. */
  private unfitReason(worker: WorkerHandle): string | undefined {
    const { recycle, recycleMaxUses } = this.options.config;
    if (this.stopped) return 'the server is shutting down';
    if (recycle === 'never') return 'recycling is off (--recycle never)';
    if (!worker.alive) return 'its process is gone';
    if (worker.uses >= recycleMaxUses) return `it served ${worker.uses} sessions (--recycle-max-uses ${recycleMaxUses})`;
    return undefined;
  }

  /**
   * Whether the worker and its Chromium have grown past --recycle-max-memory-mb. Read every
   * MEMORY_CHECK_EVERY uses only: reading PSS walks the page tables of every process of the tree
   * (kernel time, and the front's event loop waits on it), which was the largest cost of a release
   * in the front's profile under churn, while what a reset context leaves behind grows slowly.
   */
  private async tooLarge(worker: WorkerHandle): Promise<string | undefined> {
    if (worker.uses % MEMORY_CHECK_EVERY !== 0) return undefined;
    const limit = this.options.config.recycleMaxMemoryMb;
    const mb = Math.round((await treeStats(worker.pid)).pssBytes / 1048576);
    return mb > limit ? `it grew to ${mb} MB (--recycle-max-memory-mb ${limit})` : undefined;
  }

  /**
   * Whether a recycled worker of `tenant` should stay warm: the pool is below its ceiling, or a
   * call of that tenant waits. Up to the ceiling, not the target: under churn the next session
   * takes it back, where retiring it would cost a browser launch for the refill. The surplus goes
   * after a quiet period (`tick`).
   */
  private wanted(tenant: string): boolean {
    return this.pool.size < this.options.config.prewarmMax || this.queue.list().some((waiter) => waiter.tenant === tenant);
  }

  /** Closes a worker taken out of the pool, and removes its directory. */
  private retirePooled(entry: PooledWorker): Promise<void> {
    rmSync(entry.outputDir, { recursive: true, force: true });
    return this.retire(entry.worker);
  }

  /** Closes a worker that is no lease's, holding its slot until it is gone. */
  private async retire(worker: WorkerHandle): Promise<void> {
    this.closing++;
    try {
      await worker.close(RETIRE_GRACE_MS);
    } finally {
      this.closing--;
      this.pump();
    }
  }

  /**
   * Hands free slots and warm workers to waiting calls, oldest first; at the cap with calls still
   * waiting, gives up a pooled worker none of them may use, else reclaims a long-idle lease; then
   * tops the pool up toward its target. The pool starts one worker at a time, never while a lease
   * waits for a cold start, and not while a burst of sessions holds refills off (RefillHold): a
   * browser launch competes with the sessions the burst just admitted for the CPU.
   */
  pump(): void {
    if (this.stopped) return;
    const { maxBrowsers, minFreeMemoryMb } = this.options.config;
    // First come, first served across tenants: once a waiter gets nothing, later waiters get
    // nothing either (not even a worker warm for their own token), so that room is made for it
    // below; else two tenants' churn recycles every browser to each other and a third starves.
    // Below the memory floor no room can be made, so the warm workers go to whoever can use them.
    for (const waiter of this.queue.list()) {
      const grant = this.grantFor(waiter.tenant, true);
      if (grant) this.queue.grant(waiter, grant);
      else if (!this.options.lowMemory()) break;
    }
    // Cold starts still waiting for their turn take a warm worker that turned up instead.
    for (const waiter of [...this.turnWaiters]) {
      if (this.pool.hasFor(waiter.tenant, true) && waiter.withdraw()) waiter.take(this.takeWarm(waiter.tenant)!);
    }
    // Workers being closed will free their slots; make room only for the calls they will not serve.
    // Oldest first: a pooled worker the waiter cannot use gives its slot up, even one a later
    // waiter of its token could take.
    let short = this.queue.length - this.closing;
    for (const waiter of this.queue.list()) {
      if (short <= 0) break;
      if (this.pool.hasFor(waiter.tenant)) continue; // served as soon as those ahead of it are
      const foreign = this.pool.takeForeign([waiter.tenant]);
      if (foreign) {
        void this.retirePooled(foreign);
      } else if (!this.options.reclaim()) {
        break;
      }
      short--;
    }

    // Busy: calls in flight, or sessions still arriving (a churn of sessions is busy between its calls too).
    const now = Date.now();
    const wait = this.refillHold.waitAt(now, this.options.callsInFlight() > 0 || now - this.lastAcquiredAt < ARRIVALS_BUSY_MS);
    if (wait > 0) {
      this.refillTimer ??= setTimeout(() => {
        this.refillTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    const roomFor = () => this.options.freeMemory() - minFreeMemoryMb * 1048576 >= BYTES_PER_BROWSER;
    while (this.queue.length === 0 && this.pool.size < this.poolTarget() && this.pool.startingCount === 0 && this.launcher.idle
      && this.used < maxBrowsers && !this.launcher.halted && roomFor()) {
      if (!this.pool.add()) break;
    }
  }

  /** Once a second: past a quiet period the pool shrinks to its target; waiters get another look. */
  private tick(): void {
    const quiet = Date.now() - this.lastAcquiredAt >= this.options.config.prewarmShrinkAfter;
    for (const entry of quiet ? this.pool.takeSurplus(this.poolTarget()) : []) {
      this.options.log.debug({ workerPid: entry.worker.pid }, 'warm pool shrinks: worker retired');
      void this.retirePooled(entry);
    }
    this.pump();
  }

  /** Refuses waiting calls with `error`, kills pooled and starting workers (shutdown). */
  async stop(error: FleetError): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refillTimer);
    clearInterval(this.tickTimer);
    this.queue.rejectAll(error);
    await Promise.all([
      ...this.pool.takeAll().map(async (entry) => {
        await entry.worker.kill();
        rmSync(entry.outputDir, { recursive: true, force: true });
      }),
      this.launcher.killStarting(),
    ]);
  }
}
