import { FleetError } from '../errors.ts';

/** Seconds a refused client is told to wait before it tries again. */
export const RETRY_AFTER_SECONDS = 5;

interface Waiter {
  since: number;
  resolve: (waitedMs: number) => void;
  reject: (error: FleetError) => void;
  timer: NodeJS.Timeout;
}

/**
 * New sessions waiting for a slot when the server is at its cap: a bounded FIFO. A waiter is
 * admitted when a slot frees (`admitNext`), or refused with SESSION_LIMIT when the queue is full
 * or its wait passes `timeoutMs`.
 */
export class AdmissionQueue {
  private readonly waiters: Waiter[] = [];

  constructor(
    /** Most sessions that may wait; 0 refuses at once. */
    private readonly limit: number,
    /** Longest wait, ms; 0 refuses at once. */
    private readonly timeoutMs: number,
    /** The cap, for error messages. */
    private readonly cap: number,
  ) {}

  get length(): number {
    return this.waiters.length;
  }

  /**
   * Waits for a slot. Resolves with the time waited once the caller owns the slot; rejects with
   * SESSION_LIMIT and a Retry-After when the queue is full or the wait times out.
   */
  wait(): Promise<number> {
    if (this.waiters.length >= this.limit || this.timeoutMs === 0) {
      return Promise.reject(this.limitError(`the server is at its limit of ${this.cap} sessions${this.limit > 0 ? ` and ${this.limit} are already waiting` : ''}`));
    }
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        since: Date.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(waiter);
          reject(this.limitError(`the server is at its limit of ${this.cap} sessions and no slot freed within ${this.timeoutMs} ms`));
        }, this.timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Gives a freed slot to the oldest waiter. Returns false when nobody waits. */
  admitNext(): boolean {
    const waiter = this.waiters.shift();
    if (!waiter) return false;
    clearTimeout(waiter.timer);
    waiter.resolve(Date.now() - waiter.since);
    return true;
  }

  /** Refuses every waiter with `error` (shutdown). */
  rejectAll(error: FleetError): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  private remove(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  private limitError(message: string): FleetError {
    return new FleetError('SESSION_LIMIT', message, { retryAfter: RETRY_AFTER_SECONDS });
  }
}
