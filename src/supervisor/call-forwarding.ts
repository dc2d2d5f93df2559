import { FleetError, toFleetError } from '../errors.ts';
import type { ToolResult } from '../ipc/protocol.ts';
import type { CallProgress, WorkerHandle } from '../ipc/worker-handle.ts';
import type { Recovery } from './recovery.ts';
import type { BrowserEndReason, BrowserLease } from './session-types.ts';

/** How long a worker whose call ran past its deadline may take to answer a ping, ms. */
const LIVENESS_PING_MS = 2000;
/**
 * How long the front waits past the worker's deadline for its account of the call, ms: with the
 * worker's reserve (500 ms, src/front/tool-calls.ts) the front gives up 900 ms after the tool's
 * deadline, which leaves the answer 100 ms to reach the client within the deadline plus a second.
 */
const ANSWER_GRACE_MS = 400;

/** How a call that outlived its browser explains the end. */
const ENDED: Record<BrowserEndReason, string> = {
  deleted: 'the session was closed because its client ended it',
  idle: 'the session was closed because it was idle',
  lifetime: 'the session was closed because it reached its lifetime limit',
  crashed: 'the session was closed because its browser failed',
  admin: 'the session was closed because an administrator ended it',
  shutdown: 'the session was closed because the server is shutting down',
  'start-failed': 'the session was closed because its browser could not start',
  closed: 'browser_close closed the browser it ran in',
  reclaimed: 'its browser was closed to make room for another client',
};

/** How one tool call runs: its deadline, its cancellation, where its progress goes. */
export interface CallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (progress: CallProgress) => void;
}

/** What forwarding needs from the supervisor. */
export interface ForwardingHost {
  recovery: Recovery;
  /** Whether `lease` is still in the lease table. */
  isLive(lease: BrowserLease): boolean;
}

/**
 * Sends one tool call to the lease's worker and returns its result, with the notices the client
 * is owed on top. Whatever goes wrong under the call becomes an error that says what happened
 * and what became of the session.
 */
export async function forwardCall(
  host: ForwardingHost,
  lease: BrowserLease,
  call: { name: string; args: Record<string, unknown> },
  options: CallOptions,
): Promise<ToolResult> {
  const worker = lease.worker;
  try {
    const result = await worker.request('tool.call', call, { ...options, graceMs: ANSWER_GRACE_MS });
    // The browser can die under a call whose answer still arrives (a closed-target error).
    const fault = host.recovery.faultOf(worker);
    if (fault) throw await host.recovery.errorFor(fault, call.name);
    lease.replacementsInARow = 0;
    // Taken now, not before the call: what the worker reported while it ran (a stuck tab it closed first) belongs here.
    const notices = lease.notices.splice(0);
    return notices.length ? withNotices(result, notices) : result;
  } catch (error) {
    throw await explain(host, lease, worker, call.name, toFleetError(error));
  }
}

/** Turns a failed call into the error the client reads, replacing a worker that stopped answering. */
async function explain(host: ForwardingHost, lease: BrowserLease, worker: WorkerHandle, name: string, error: FleetError): Promise<FleetError> {
  let fault = host.recovery.faultOf(worker);
  if (!fault && lease.endReason) {
    const code = lease.endReason === 'shutdown' ? 'SHUTTING_DOWN' : 'SESSION_CLOSED';
    return new FleetError(code, `${name} did not finish: ${ENDED[lease.endReason]}`);
  }
  if (!fault && error.code === 'WORKER_CRASHED' && host.isLive(lease)) {
    fault = host.recovery.replace(lease, worker, 'WORKER_CRASHED', "the session's worker process exited");
  }
  if (!fault && error.code === 'TOOL_TIMEOUT' && worker.alive && host.isLive(lease)) {
    // Answered now; a worker that does not answer a ping either is replaced, and the lease's next call waits for that.
    void worker.request('ping', {}, { timeoutMs: LIVENESS_PING_MS, graceMs: 0 }).then(() => {}, () => {
      if (worker.alive && host.isLive(lease) && lease.worker === worker) host.recovery.replace(lease, worker, 'TOOL_TIMEOUT', `${error.message}, and the session's worker stopped responding`);
    });
  }
  return fault ? host.recovery.errorFor(fault, name) : error;
}

/** Puts notices the client must hear (lost page state) at the top of a result. */
export function withNotices(result: ToolResult, notices: string[]): ToolResult {
  const text = `### Notice\n${notices.map((notice) => `- ${notice}`).join('\n')}`;
  return { ...result, content: [{ type: 'text', text }, ...result.content] };
}
