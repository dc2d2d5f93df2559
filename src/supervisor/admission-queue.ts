import { FleetError } from '../errors.ts';

/** Seconds a refused client is told to wait before it tries again. */
export const RETRY_AFTER_SECONDS = 5;

/** One first call waiting for a browser. */
export interface Waiter<T> {
  /** Whose call it is; a recycled worker serves only its own tenant. */
  tenant: string;
  since: number;
  /** Hands the waiter its turn: what the supply freed for it. */
  resolve: (grant: T) => void;
  reject: (error: FleetError) => void;
  timer: NodeJS.Timeout;
  cleanup: () => void;
}

/**
 * First calls waiting for a browser when every slot of the cap is taken: a bounded FIFO. A
 * waiter is handed its grant (`grant`) by the supply when a slot or a usable warm worker frees,
 * or refused with BROWSER_LIMIT when the queue is full or its wait passes `timeoutMs`.
 */
export class AdmissionQueue<T> {
  private readonly waiters: Waiter<T>[] = [];

  constructor(
    /** Most calls that may wait; 0 refuses at once. */
    private readonly limit: number,
    /** Longest wait, ms; 0 refuses at once. */
    private readonly timeoutMs: number,
    /** The cap, for error messages. */
    private readonly cap: number,
  ) {}

  get length(): number {
    return this.waiters.length;
  }

  /** Whether another caller would be refused at once. */
  get isFull(): boolean {
    return this.waiters.length >= this.limit || this.timeoutMs === 0;
  }

  /** Waiters, oldest first (a copy: granting removes them). */
  list(): Waiter<T>[] {
    return [...this.waiters];
  }

  /**
   * Waits for a grant. Rejects with BROWSER_LIMIT and a Retry-After when the queue is full or
   * the wait times out, and with CANCELLED when `signal` aborts (the caller went away).
   */
  wait(tenant: string, signal?: AbortSignal): Promise<T> {
    if (this.isFull) {
      return Promise.reject(this.limitError(`every one of the ${this.cap} browsers this server allows is in use${this.limit > 0 ? ` and ${this.limit} calls are already waiting` : ''}`));
    }
    if (signal?.aborted) return Promise.reject(new FleetError('CANCELLED', 'the call was cancelled while it waited for a browser'));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        reject(new FleetError('CANCELLED', 'the call was cancelled while it waited for a browser'));
      };
      const waiter: Waiter<T> = {
        tenant,
        since: Date.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(waiter);
          reject(this.limitError(`every one of the ${this.cap} browsers this server allows stayed in use for ${this.timeoutMs} ms`));
        }, this.timeoutMs),
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Hands `grant` to `waiter` and removes it from the queue. */
  grant(waiter: Waiter<T>, grant: T): void {
    if (!this.remove(waiter)) return;
    waiter.resolve(grant);
  }

  /** Refuses every waiter with `error` (shutdown). */
  rejectAll(error: FleetError): void {
    for (const waiter of [...this.waiters]) {
      this.remove(waiter);
      waiter.reject(error);
    }
  }

  private remove(waiter: Waiter<T>): boolean {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return false;
    this.waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.cleanup();
    return true;
  }

  private limitError(what: string): FleetError {
    return new FleetError('BROWSER_LIMIT', `No browser is free: ${what}. Retry in ${RETRY_AFTER_SECONDS} s.`, { retryAfter: RETRY_AFTER_SECONDS });
  }
}
