import { FleetError, toFleetError } from '../errors.ts';
import type { ToolResult } from '../ipc/protocol.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Recovery } from './recovery.ts';
import type { EndReason, SessionRecord } from './session-types.ts';

/** How long a worker whose call ran past its deadline may take to answer a ping, ms. */
const LIVENESS_PING_MS = 2000;
/** How long the front waits past a call's deadline for the worker's own account of it, ms. */
const ANSWER_GRACE_MS = 5000;

/** How a call that outlived its session explains the end. */
const ENDED_BECAUSE: Record<EndReason, string> = {
  deleted: 'its client ended it',
  idle: 'it was idle',
  lifetime: 'it reached its lifetime limit',
  crashed: 'its browser failed',
  admin: 'an administrator ended it',
  shutdown: 'the server is shutting down',
  'start-failed': 'its browser could not start',
};

/** What forwarding needs from the supervisor. */
export interface ForwardingHost {
  recovery: Recovery;
  /** Whether `record` is still in the session table. */
  isLive(record: SessionRecord): boolean;
}

/**
 * Sends one tool call to the session's worker and returns its result, with the notices the
 * client is owed on top. Whatever goes wrong under the call becomes an error that says what
 * happened and what became of the session.
 */
export async function forwardCall(
  host: ForwardingHost,
  record: SessionRecord,
  call: { name: string; args: Record<string, unknown> },
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<ToolResult> {
  const worker = record.worker;
  const notices = record.notices.splice(0);
  try {
    const result = await worker.request('tool.call', call, { ...options, graceMs: ANSWER_GRACE_MS });
    // The browser can die under a call whose answer still arrives (a closed-target error).
    const fault = host.recovery.faultOf(worker);
    if (fault) throw await host.recovery.errorFor(fault, call.name);
    record.replacementsInARow = 0;
    return notices.length ? withNotices(result, notices) : result;
  } catch (error) {
    record.notices.unshift(...notices);
    throw await explain(host, record, worker, call.name, toFleetError(error));
  }
}

/** Turns a failed call into the error the client reads, replacing a worker that stopped answering. */
async function explain(host: ForwardingHost, record: SessionRecord, worker: WorkerHandle, name: string, error: FleetError): Promise<FleetError> {
  let fault = host.recovery.faultOf(worker);
  if (!fault && record.endReason) {
    const code = record.endReason === 'shutdown' ? 'SHUTTING_DOWN' : 'SESSION_CLOSED';
    return new FleetError(code, `${name} did not finish: the session was closed because ${ENDED_BECAUSE[record.endReason]}`);
  }
  if (!fault && error.code === 'WORKER_CRASHED' && host.isLive(record)) {
    fault = host.recovery.replace(record, worker, 'WORKER_CRASHED', "the session's worker process exited");
  }
  if (!fault && error.code === 'TOOL_TIMEOUT' && worker.alive && host.isLive(record)) {
    const answers = await worker.request('ping', {}, { timeoutMs: LIVENESS_PING_MS, graceMs: 0 }).then(() => true, () => false);
    if (!answers) fault = host.recovery.replace(record, worker, 'TOOL_TIMEOUT', `${error.message}, and the session's worker stopped responding`);
  }
  return fault ? host.recovery.errorFor(fault, name) : error;
}

/** Puts notices the client must hear (lost page state) at the top of a result. */
function withNotices(result: ToolResult, notices: string[]): ToolResult {
  const text = `### Notice\n${notices.map((notice) => `- ${notice}`).join('\n')}`;
  return { ...result, content: [{ type: 'text', text }, ...result.content] };
}
