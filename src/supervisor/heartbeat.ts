import type { WorkerHandle } from '../ipc/worker-handle.ts';

/** How the heartbeat is built. */
export interface HeartbeatOptions {
  /** Time between pings, ms. */
  intervalMs: number;
  /** A worker that has not answered a ping this long is silent, ms. */
  timeoutMs: number;
  /** Every worker to ping: those of sessions and those in the pool. */
  workers: () => Iterable<WorkerHandle>;
  /** A worker stayed silent; the caller kills and replaces it. */
  onSilent: (worker: WorkerHandle) => void;
}

/**
 * Pings every worker on a timer. A worker's event loop stays free while it awaits Playwright, so
 * even one busy in a long tool call answers; one that does not is wedged (a blocked event loop, a
 * stopped process) and is reported once.
 */
export class Heartbeat {
  private timer?: NodeJS.Timeout;
  private readonly waiting = new WeakSet<WorkerHandle>();

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const worker of this.options.workers()) {
      if (!worker.alive || !worker.isReady || this.waiting.has(worker)) continue;
      this.waiting.add(worker);
      worker.request('ping', {}, { timeoutMs: this.options.timeoutMs, graceMs: 0 }).then(
        () => this.waiting.delete(worker),
        (error: { code?: string }) => {
          this.waiting.delete(worker);
          // A worker that exited is the exit handler's business; only silence is ours.
          if (error.code === 'TOOL_TIMEOUT' && worker.alive) this.options.onSilent(worker);
        },
      );
    }
  }
}
