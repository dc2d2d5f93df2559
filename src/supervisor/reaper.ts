import type { EndReason, SessionRecord } from './session-types.ts';

/** How the reaper is built. */
export interface ReaperOptions {
  /** Close a session with no call for this long, ms; 0: never. */
  idleTimeout: number;
  /** Close a session this long after it started, ms; 0: never. */
  sessionLifetime: number;
  sessions: () => Iterable<SessionRecord>;
  end: (id: string, reason: EndReason) => void;
}

/** Sweeps often enough that a session ends within a tenth of its limit, within bounds. */
function sweepInterval(limits: number[]): number {
  const shortest = Math.min(...limits.filter((ms) => ms > 0));
  return Math.min(5000, Math.max(100, Math.floor(shortest / 10)));
}

/**
 * Ends idle sessions and those past their lifetime. A session with a call in flight is never
 * reaped: the idle clock starts when its last call ends, and a session past its lifetime ends
 * once its calls are done.
 */
export class Reaper {
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: ReaperOptions) {}

  start(): void {
    const { idleTimeout, sessionLifetime } = this.options;
    if (idleTimeout === 0 && sessionLifetime === 0) return;
    this.timer ??= setInterval(() => this.sweep(Date.now()), sweepInterval([idleTimeout, sessionLifetime])).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A call of `record` ended: a session past its lifetime ends now rather than at the next sweep. */
  afterCall(record: SessionRecord, now: number): void {
    const { sessionLifetime } = this.options;
    if (record.inFlight === 0 && sessionLifetime > 0 && now - record.createdAt >= sessionLifetime) this.options.end(record.id, 'lifetime');
  }

  /** Ends every session due at `now`. */
  sweep(now: number): void {
    const { idleTimeout, sessionLifetime } = this.options;
    for (const record of [...this.options.sessions()]) {
      if (record.inFlight > 0) continue;
      if (sessionLifetime > 0 && now - record.createdAt >= sessionLifetime) this.options.end(record.id, 'lifetime');
      else if (idleTimeout > 0 && now - record.lastActivityAt >= idleTimeout) this.options.end(record.id, 'idle');
    }
  }
}
