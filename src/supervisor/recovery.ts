import { FleetError } from '../errors.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Logger } from '../log.ts';
import type { BrowserLease } from './session-types.ts';

/** Codes a call gets when the worker under it failed. */
export type FaultCode = 'WORKER_CRASHED' | 'BROWSER_CRASHED' | 'TOOL_TIMEOUT';

/** Why a session's worker was taken out of service, and how replacing it went. */
export interface Fault {
  code: FaultCode;
  /** What happened, as a clause: "the session's browser process exited unexpectedly". */
  what: string;
  /** True once a fresh worker serves the session; false when the session was closed instead. */
  recovered: Promise<boolean>;
  /** Why the session was closed, when it was. */
  closedBecause?: string;
}

/** What recovery needs from the supervisor. */
export interface RecoveryHost {
  log: Logger;
  /** Whether `lease` is still in the lease table. */
  isLive(lease: BrowserLease): boolean;
  /** Why no fresh worker may be started now (shutdown), if so. */
  blocker(): string | undefined;
  /** A worker bound to the lease's directory: a warm one of its tenant, or a new one. */
  freshWorker(lease: BrowserLease): Promise<WorkerHandle>;
  /** A fresh worker took over `lease`: watch it for faults. */
  adopt(lease: BrowserLease, worker: WorkerHandle): void;
  /** Kills a fresh worker that arrived after its lease ended. */
  discard(worker: WorkerHandle): Promise<void>;
  /** No fresh worker could be had: the lease's session (or the lease) is closed. */
  giveUp(lease: BrowserLease): Promise<void>;
  /** How a fault ended, for the supervisor's `browser.faulted` event. */
  reported(lease: BrowserLease, code: FaultCode, recovered: boolean): void;
}

/** Replacements without a call going through in between, after which the session is closed. */
export const MAX_REPLACEMENTS_IN_A_ROW = 3;

const LOST = 'the page state (open tabs, navigation history, cookies, storage) was lost';

function sentence(clause: string): string {
  return clause.charAt(0).toUpperCase() + clause.slice(1);
}

/**
 * Keeps a lease going when its worker or browser fails: the failed worker's process groups are
 * killed and a fresh worker is swapped in under the same lease, so its session keeps its id (MCP
 * clients do not re-initialize after a 404, so closing would strand the agent). The next result
 * carries a notice that the page state was lost. Only when no fresh worker can be had is the
 * session closed.
 */
export class Recovery {
  private readonly faults = new WeakMap<WorkerHandle, Fault>();

  constructor(private readonly host: RecoveryHost) {}

  /** The fault that took `worker` out of service, if one did. */
  faultOf(worker: WorkerHandle): Fault | undefined {
    return this.faults.get(worker);
  }

  /** Takes `worker` out of service for `lease` and swaps in a fresh one; once per worker. */
  replace(lease: BrowserLease, worker: WorkerHandle, code: FaultCode, what: string): Fault {
    const known = this.faults.get(worker);
    if (known) return known;
    const fault: Fault = { code, what, recovered: Promise.resolve(false) };
    this.faults.set(worker, fault);
    fault.recovered = this.swap(lease, worker, fault);
    void fault.recovered.then((recovered) => this.host.reported(lease, code, recovered));
    const recovering = fault.recovered.finally(() => {
      if (lease.recovering === recovering) lease.recovering = undefined;
    });
    lease.recovering = recovering;
    return fault;
  }

  /** The error of a call that was running on a worker when `fault` struck. */
  async errorFor(fault: Fault, tool: string): Promise<FleetError> {
    const recovered = await fault.recovered;
    const what = fault.code === 'TOOL_TIMEOUT' ? sentence(fault.what) : `${sentence(fault.what)} while ${tool} was running`;
    const next = recovered
      ? `A fresh browser was started for this session (same session id); ${LOST}, so navigate again to continue.`
      : `The session was closed because ${fault.closedBecause ?? 'no fresh browser could be started'}; start a new session.`;
    return new FleetError(fault.code, `${what}. ${next}`);
  }

  private async swap(lease: BrowserLease, worker: WorkerHandle, fault: Fault): Promise<boolean> {
    const log = this.host.log.child({ sessionId: lease.sessionId, browser: lease.id.slice(0, 8) });
    log.warn({ code: fault.code, workerPid: worker.pid, browserPid: worker.browserPid }, `${fault.what}; replacing the browser's worker`);
    await worker.kill();
    if (!this.host.isLive(lease)) return false;
    lease.replacementsInARow++;
    const blocker = this.host.blocker()
      ?? (lease.replacementsInARow > MAX_REPLACEMENTS_IN_A_ROW ? `its browser failed ${lease.replacementsInARow} times in a row` : undefined);
    if (blocker) return this.close(lease, fault, blocker, log);
    let fresh: WorkerHandle;
    try {
      fresh = await this.host.freshWorker(lease);
    } catch (error) {
      return this.close(lease, fault, `no fresh browser could be started (${(error as Error).message})`, log);
    }
    if (!this.host.isLive(lease)) {
      await this.host.discard(fresh);
      return false;
    }
    lease.worker = fresh;
    this.host.adopt(lease, fresh);
    lease.notices.push(`This session's browser was replaced because ${fault.what}; ${LOST}.`);
    log.info({ workerPid: fresh.pid, browserPid: fresh.browserPid }, 'browser goes on with a fresh worker');
    return true;
  }

  private async close(lease: BrowserLease, fault: Fault, because: string, log: Logger): Promise<false> {
    fault.closedBecause = because;
    log.error({ code: fault.code }, `closing the session: ${because}`);
    // Not awaited: ending waits for the calls in flight, which wait for this outcome.
    void this.host.giveUp(lease);
    return false;
  }
}
