import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Logger } from '../log.ts';
import type { Launch, WorkerLauncher } from './worker-launcher.ts';

/** A pre-started worker waiting for a session. */
export interface PooledWorker extends Launch {
  /** Whether READY arrived. */
  isReady: boolean;
}

/** How the pool is built. */
export interface PoolOptions {
  launcher: WorkerLauncher;
  log: Logger;
  /** Root of output directories; pool workers get `pool-<uuid>` under it until they join a session. */
  outputRoot: string;
  /** A pooled worker failed or died (its slot is free again), or became ready (the next may start). */
  onSlotFreed: () => void;
}

/**
 * Workers started ahead of demand, their browser already up, so admitting a session costs an IPC
 * round trip instead of a browser launch. The worker supply decides how many (`add`); the pool only
 * holds them, hands them out (`take`) and forgets the ones that fail or die.
 */
export class WorkerPool {
  private readonly entries: PooledWorker[] = [];

  constructor(private readonly options: PoolOptions) {}

  /** Pooled workers, starting or ready: each holds a slot of the session cap. */
  get size(): number {
    return this.entries.length;
  }

  /** Pooled workers still launching their browser. */
  get startingCount(): number {
    return this.entries.filter((entry) => !entry.isReady).length;
  }

  /** Pooled workers that are ready to serve at once. */
  get readyCount(): number {
    return this.entries.filter((entry) => entry.isReady).length;
  }

  /** Live pooled workers, for heartbeats. */
  workers(): WorkerHandle[] {
    return this.entries.filter((entry) => entry.isReady).map((entry) => entry.worker);
  }

  /** Starts one more pooled worker. Returns false when even forking failed. */
  add(): boolean {
    const outputDir = join(this.options.outputRoot, `pool-${randomUUID()}`);
    let launch: Launch;
    try {
      launch = this.options.launcher.launch(outputDir, this.options.log, { warmUp: true });
    } catch {
      rmSync(outputDir, { recursive: true, force: true });
      return false;
    }
    const entry: PooledWorker = { ...launch, isReady: false };
    this.entries.push(entry);
    entry.ready.then(() => {
      entry.isReady = true;
      this.options.onSlotFreed();
    }, () => this.forget(entry));
    // A start that fails is forgotten once the launcher has counted it, so the refill sees the streak.
    entry.worker.on('exit', () => {
      if (entry.isReady) this.forget(entry);
    });
    entry.worker.on('event', (event) => {
      if (event.name === 'browser.disconnected' && this.entries.includes(entry)) this.evict(entry.worker, 'lost its browser');
    });
    return true;
  }

  /** Hands out a ready worker, else the one closest to ready; the caller now owns it and its directory. */
  take(): PooledWorker | undefined {
    const index = this.entries.findIndex((entry) => entry.isReady && entry.worker.alive);
    const [entry] = this.entries.splice(index >= 0 ? index : 0, 1);
    return entry;
  }

  /** Kills a pooled worker that went bad (silent, browser lost); false when `worker` is not pooled. */
  evict(worker: WorkerHandle, why = 'stopped answering heartbeats'): boolean {
    const entry = this.entries.find((e) => e.worker === worker);
    if (!entry) return false;
    this.options.log.warn({ workerPid: worker.pid }, `pre-started worker ${why}; killed`);
    void worker.kill();
    return true;
  }

  /** Kills every pooled worker and removes their directories (shutdown). */
  async drain(): Promise<void> {
    const entries = this.entries.splice(0);
    await Promise.all(entries.map(async (entry) => {
      await entry.worker.kill();
      rmSync(entry.outputDir, { recursive: true, force: true });
    }));
  }

  private forget(entry: PooledWorker): void {
    const index = this.entries.indexOf(entry);
    if (index < 0) return; // taken, or already forgotten
    this.entries.splice(index, 1);
    rmSync(entry.outputDir, { recursive: true, force: true });
    this.options.onSlotFreed();
  }
}
