import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Logger } from '../log.ts';
import type { Launch, WorkerLauncher } from './worker-launcher.ts';

/** A warm worker waiting for a lease: fresh (never served anyone) or recycled (reset after serving `tenant`). */
export interface PooledWorker extends Launch {
  /** Whether READY arrived. */
  isReady: boolean;
  /** Whose lease a recycled worker served; it serves only that tenant again. Undefined: fresh, for anyone. */
  tenant?: string;
  /** When it joined the pool, ms. */
  since: number;
  /** Removes the pool's listeners from the worker once it leaves the pool. */
  unwatch?: () => void;
}

/** How the pool is built. */
export interface PoolOptions {
  launcher: WorkerLauncher;
  log: Logger;
  /** Root of output directories; pooled workers get `pool-<uuid>` under it until they join a lease. */
  outputRoot: string;
  /** A pooled worker failed or died (its slot is free again), or became ready (it can be handed out). */
  onChange: () => void;
}

/** A pooled worker may serve `tenant`: it is fresh, or it was recycled after serving the same tenant. */
function serves(entry: PooledWorker, tenant: string): boolean {
  return entry.tenant === undefined || entry.tenant === tenant;
}

/**
 * Warm workers, their browser already up, so a lease costs an IPC round trip instead of a browser
 * launch. The browser supply decides how many (`add`, `trim`) and which worker comes back
 * (`addRecycled`); the pool only holds them, hands them out (`take`) and forgets the ones that
 * fail or die.
 */
export class WorkerPool {
  private readonly entries: PooledWorker[] = [];

  constructor(private readonly options: PoolOptions) {}

  /** Pooled workers, starting or ready: each holds a slot of the browser cap. */
  get size(): number {
    return this.entries.length;
  }

  /** Pooled workers still launching their browser. */
  get startingCount(): number {
    return this.entries.filter((entry) => !entry.isReady).length;
  }

  /** Live pooled workers, for heartbeats. */
  workers(): WorkerHandle[] {
    return this.entries.filter((entry) => entry.isReady).map((entry) => entry.worker);
  }

  /** Starts one more fresh worker. Returns false when even forking failed. */
  add(): boolean {
    const outputDir = join(this.options.outputRoot, `pool-${randomUUID()}`);
    let launch: Launch;
    try {
      launch = this.options.launcher.launch(outputDir, this.options.log, { warmUp: true });
    } catch {
      rmSync(outputDir, { recursive: true, force: true });
      return false;
    }
    const entry: PooledWorker = { ...launch, isReady: false, since: Date.now() };
    this.entries.push(entry);
    entry.ready.then(() => {
      entry.isReady = true;
      this.options.onChange();
    }, () => this.forget(entry));
    this.watch(entry);
    return true;
  }

  /** A worker whose lease ended and whose context was reset joins the pool, for `tenant` only. */
  addRecycled(worker: WorkerHandle, outputDir: string, tenant: string): void {
    const entry: PooledWorker = { worker, outputDir, ready: Promise.resolve(worker), isReady: true, tenant, since: Date.now() };
    this.entries.push(entry);
    this.watch(entry);
    this.options.onChange();
  }

  /** Whether a worker could be handed to `tenant` now (`ready`), or now or once it has started. */
  hasFor(tenant: string, ready = false): boolean {
    return this.entries.some((entry) => serves(entry, tenant) && entry.worker.alive && (!ready || entry.isReady));
  }

  /**
   * Hands out a worker for `tenant`: a ready one recycled for it, else a ready fresh one, else a
   * fresh one still starting. The caller now owns it and its directory.
   */
  take(tenant: string): PooledWorker | undefined {
    const usable = (entry: PooledWorker) => serves(entry, tenant) && entry.worker.alive;
    const index = [
      this.entries.findIndex((entry) => usable(entry) && entry.isReady && entry.tenant === tenant),
      this.entries.findIndex((entry) => usable(entry) && entry.isReady),
      this.entries.findIndex((entry) => usable(entry)),
    ].find((i) => i >= 0);
    return index === undefined ? undefined : this.remove(index);
  }

  /**
   * Removes the oldest worker that none of `tenants` may use (recycled for someone else), so its
   * slot can go to a fresh browser; the caller ends it. Undefined when there is none.
   */
  takeForeign(tenants: string[]): PooledWorker | undefined {
    const index = this.entries.findIndex((entry) => !tenants.some((tenant) => serves(entry, tenant)));
    return index < 0 ? undefined : this.remove(index);
  }

  /** Removes the oldest ready workers past `keep`, for the caller to end (the pool shrinks). */
  takeSurplus(keep: number): PooledWorker[] {
    const surplus: PooledWorker[] = [];
    while (this.entries.length > keep) {
      const index = this.entries.findIndex((entry) => entry.isReady);
      if (index < 0) break;
      surplus.push(this.remove(index));
    }
    return surplus;
  }

  /** Kills a pooled worker that went bad (silent, browser lost); false when `worker` is not pooled. */
  evict(worker: WorkerHandle, why = 'stopped answering heartbeats'): boolean {
    const entry = this.entries.find((e) => e.worker === worker);
    if (!entry) return false;
    this.options.log.warn({ workerPid: worker.pid }, `pooled worker ${why}; killed`);
    void worker.kill();
    return true;
  }

  /** Removes every pooled worker for the caller to end (shutdown). */
  takeAll(): PooledWorker[] {
    const all: PooledWorker[] = [];
    while (this.entries.length) all.push(this.remove(0));
    return all;
  }

  private remove(index: number): PooledWorker {
    const [entry] = this.entries.splice(index, 1);
    entry.unwatch?.();
    return entry;
  }

  private watch(entry: PooledWorker): void {
    // A start that fails is forgotten once the launcher has counted it, so the refill sees the streak.
    const onExit = () => {
      if (entry.isReady) this.forget(entry);
    };
    const onEvent = (event: { name: string }) => {
      if (event.name === 'browser.disconnected' && this.entries.includes(entry)) this.evict(entry.worker, 'lost its browser');
    };
    entry.worker.on('exit', onExit);
    entry.worker.on('event', onEvent);
    entry.unwatch = () => {
      entry.worker.off('exit', onExit);
      entry.worker.off('event', onEvent);
    };
  }

  private forget(entry: PooledWorker): void {
    const index = this.entries.indexOf(entry);
    if (index < 0) return; // taken, or already forgotten
    this.remove(index);
    rmSync(entry.outputDir, { recursive: true, force: true });
    this.options.onChange();
  }
}
