import type { WorkerHandle } from '../ipc/worker-handle.ts';

/** How long an endpoint whose browser failed (a connect refused, a connection lost) is passed over, ms. */
const FAILED_COOLDOWN_MS = 15_000;

/**
 * The Playwright browser servers of --browser-endpoint, and which worker uses which: a new
 * worker goes to the endpoint with the fewest, passing over one that failed recently (a browser
 * host that died) while another is there.
 */
export class BrowserEndpoints {
  private readonly load = new Map<string, number>();
  private readonly failedAt = new Map<string, number>();

  constructor(endpoints: readonly string[], private readonly now: () => number = Date.now) {
    for (const endpoint of endpoints) this.load.set(endpoint, 0);
  }

  get size(): number {
    return this.load.size;
  }

  /** The endpoint for a new worker, or undefined when browsers are launched locally. */
  pick(): string | undefined {
    if (this.load.size === 0) return undefined;
    const now = this.now();
    const healthy = [...this.load.keys()].filter((endpoint) => now - (this.failedAt.get(endpoint) ?? -Infinity) >= FAILED_COOLDOWN_MS);
    const candidates = healthy.length > 0 ? healthy : [...this.load.keys()];
    return candidates.reduce((best, endpoint) => (this.load.get(endpoint)! < this.load.get(best)! ? endpoint : best));
  }

  /** `worker` uses `endpoint` until it exits; a lost browser there marks the endpoint failed. */
  attach(worker: WorkerHandle, endpoint: string): void {
    this.load.set(endpoint, (this.load.get(endpoint) ?? 0) + 1);
    const onEvent = (event: { name: string }) => {
      if (event.name === 'browser.disconnected') this.failed(endpoint);
    };
    worker.on('event', onEvent);
    worker.once('exit', () => {
      worker.off('event', onEvent);
      this.load.set(endpoint, Math.max(0, (this.load.get(endpoint) ?? 1) - 1));
    });
  }

  failed(endpoint: string): void {
    this.failedAt.set(endpoint, this.now());
  }

  /** Workers per endpoint, for metrics and tests. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.load);
  }
}
