import type { WorkerStatus } from '../ipc/protocol.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';

/** Why a session ended; reported in logs and to listeners. */
export type EndReason = 'deleted' | 'idle' | 'lifetime' | 'crashed' | 'admin' | 'shutdown' | 'start-failed';

/** One MCP session and the worker that serves it. */
export interface SessionRecord {
  id: string;
  /** Who created it (a token fingerprint), so other tokens cannot use it. */
  owner?: string;
  /** The worker serving the session now; swapped for a fresh one after a fault. */
  worker: WorkerHandle;
  outputDir: string;
  createdAt: number;
  lastActivityAt: number;
  inFlight: number;
  /** Told to the client with its next tool result (lost page state, a replaced tab). */
  notices: string[];
  /** Set while a fresh worker is being swapped in; true once it serves. */
  recovering?: Promise<boolean>;
  /** Worker replacements since a call last went through. */
  replacementsInARow: number;
  /** Set when the session ended, so calls still running can say why. */
  endReason?: EndReason;
}

/** What /sessions shows of a session. */
export interface SessionInfo extends WorkerStatus {
  id: string;
  workerPid: number;
  createdAt: string;
  lastActivityAt: string;
  inFlight: number;
  /** Resident memory of the worker and its browser, bytes. */
  rssBytes: number;
}

/** Whether a new session would be admitted now, and if not why (for /readyz). */
export interface Readiness {
  ready: boolean;
  code?: 'SESSION_LIMIT' | 'LOW_MEMORY' | 'SHUTTING_DOWN';
  reason?: string;
}

/**
 * What the supervisor reports as it works; metrics and logs subscribe here rather than reaching
 * into the supervisor. Every path that admits, refuses, ends or calls must emit these.
 */
export interface SupervisorEvents {
  /** A session was admitted; `waitedMs` is time spent in the queue, `startMs` the worker's start. */
  'session.admitted': [{ id: string; waitedMs: number; startMs: number }];
  /** A new session was refused (cap, memory, shutdown, start failure). */
  'session.rejected': [{ code: string }];
  /** A session ended. */
  'session.ended': [{ id: string; reason: EndReason; ageMs: number }];
  /** A worker process started and answered READY (or failed to). */
  'worker.started': [{ pid: number; ms: number; ok: boolean }];
  /** A session's worker or browser failed (`code`); `recovered`: a fresh worker took over, else the session was closed. */
  'session.faulted': [{ id: string; code: string; recovered: boolean }];
  /** A tool call finished; `outcome` is ok, error (isError result) or an error code. */
  'tool.called': [{ id: string; tool: string; outcome: string; ms: number }];
}
