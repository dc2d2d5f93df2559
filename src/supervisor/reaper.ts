import type { EndReason } from './session-types.ts';

/** What the reaper watches: a session, or a browser opened by handle. */
export interface Reapable {
  inFlight: number;
  createdAt: number;
  lastActivityAt: number;
}

/** How the reaper is built. */
export interface ReaperOptions<T extends Reapable> {
  /** End what had no call for this long, ms; 0: never. */
  idleTimeout: number;
  /** End what started this long ago, ms; 0: never. */
  sessionLifetime: number;
  items: () => Iterable<T>;
  end: (item: T, reason: Extract<EndReason, 'idle' | 'lifetime'>) => void;
}

/** Sweeps often enough that an item ends within a tenth of its limit, within bounds. */
function sweepInterval(limits: number[]): number {
  const shortest = Math.min(...limits.filter((ms) => ms > 0));
  return Math.min(5000, Math.max(100, Math.floor(shortest / 10)));
}

/**
 * Ends idle sessions and browsers, and those past their lifetime. Nothing with a call in flight
 * is reaped: the idle clock starts when the last call ends, and an item past its lifetime ends
 * once its calls are done.
 */
export class Reaper<T extends Reapable> {
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: ReaperOptions<T>) {}

  start(): void {
    const { idleTimeout, sessionLifetime } = this.options;
    if (idleTimeout === 0 && sessionLifetime === 0) return;
    this.timer ??= setInterval(() => this.sweep(Date.now()), sweepInterval([idleTimeout, sessionLifetime])).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A call of `item` ended: past its lifetime, it ends now rather than at the next sweep. */
  afterCall(item: T, now: number): void {
    const { sessionLifetime } = this.options;
    if (item.inFlight === 0 && sessionLifetime > 0 && now - item.createdAt >= sessionLifetime) this.options.end(item, 'lifetime');
  }

  /** Ends everything due at `now`. */
  sweep(now: number): void {
    const { idleTimeout, sessionLifetime } = this.options;
    for (const item of [...this.options.items()]) {
      if (item.inFlight > 0) continue;
      if (sessionLifetime > 0 && now - item.createdAt >= sessionLifetime) this.options.end(item, 'lifetime');
      else if (idleTimeout > 0 && now - item.lastActivityAt >= idleTimeout) this.options.end(item, 'idle');
    }
  }
}
