import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freeMemoryBytes, type Config } from '../config.ts';
import { FleetError, toFleetError } from '../errors.ts';
import type { BrowserOptions, Methods, ToolResult, WorkerSettings, WorkerStatus } from '../ipc/protocol.ts';
import { WorkerHandle } from '../ipc/worker-handle.ts';
import type { Logger } from '../log.ts';
import { treesStats } from './process-stats.ts';

/** Why a session ended; reported in logs and to listeners. */
export type EndReason = 'deleted' | 'idle' | 'lifetime' | 'crashed' | 'admin' | 'shutdown' | 'start-failed';

/** One MCP session and the worker that serves it. */
export interface SessionRecord {
  id: string;
  /** Who created it (a token fingerprint), so other tokens cannot use it. */
  owner?: string;
  worker: WorkerHandle;
  outputDir: string;
  createdAt: number;
  lastActivityAt: number;
  inFlight: number;
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
  /** A tool call finished; `outcome` is ok, error (isError result) or an error code. */
  'tool.called': [{ id: string; tool: string; outcome: string; ms: number }];
}

/** How the supervisor is built; tests swap the worker program and the browser path. */
export interface SupervisorOptions {
  config: Config;
  log: Logger;
  /** Chromium to launch (found at start-up). */
  executablePath: string;
  /** Worker program to fork; defaults to the real one. */
  workerEntry?: string;
  /** Free memory probe, bytes; tests replace it. */
  freeMemory?: () => number;
}

/**
 * The session table and the workers behind it: admits sessions, forwards calls with deadlines,
 * and ends sessions, making sure every end takes the worker, its browser and temp files with it.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly config: Config;
  private readonly log: Logger;
  private readonly options: SupervisorOptions;
  private shuttingDown = false;
  /** Called after a session ended, whatever the reason; the front drops its transport. */
  onSessionEnded?: (id: string, reason: EndReason) => void;

  constructor(options: SupervisorOptions) {
    super();
    this.options = options;
    this.config = options.config;
    this.log = options.log;
  }

  private freeMemory(): number {
    return (this.options.freeMemory ?? freeMemoryBytes)();
  }

  get size(): number {
    return this.sessions.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  get(id: string): SessionRecord | undefined {
    return this.sessions.get(id);
  }

  /** Settings for a new worker whose files live in `outputDir`. */
  private workerSettings(outputDir: string): WorkerSettings {
    const [width, height] = this.config.viewportSize.split('x').map(Number);
    const browser: BrowserOptions = {
      executablePath: this.options.executablePath,
      headless: this.config.headless,
      viewport: { width, height },
      userAgent: this.config.userAgent,
      ignoreHttpsErrors: this.config.ignoreHttpsErrors,
    };
    return {
      browser,
      outputDir,
      uploadRoot: this.config.uploadRoot,
      timeoutAction: this.config.timeoutAction,
      timeoutNavigation: this.config.timeoutNavigation,
      snapshotMaxChars: this.config.snapshotMaxChars,
      imageMaxBytes: this.config.imageMaxBytes,
      maxPages: this.config.maxPages,
      caps: [...this.config.caps],
      allowedOrigins: [...this.config.allowedOrigins],
      blockedOrigins: [...this.config.blockedOrigins],
      blockPrivateNetworks: this.config.blockPrivateNetworks,
    };
  }

  /** Whether a new session would be admitted right now. */
  readiness(): Readiness {
    if (this.shuttingDown) return { ready: false, code: 'SHUTTING_DOWN', reason: 'the server is shutting down' };
    if (this.sessions.size >= this.config.maxSessions) {
      return { ready: false, code: 'SESSION_LIMIT', reason: `the server is at its limit of ${this.config.maxSessions} sessions` };
    }
    const free = this.freeMemory();
    const floor = this.config.minFreeMemoryMb * 1024 * 1024;
    if (free < floor) {
      return { ready: false, code: 'LOW_MEMORY', reason: `free memory ${Math.round(free / 1048576)} MB is below the floor of ${this.config.minFreeMemoryMb} MB` };
    }
    return { ready: true };
  }

  /** Admits session `id`: starts its worker and waits for READY. Throws a FleetError when refused. */
  async open(id: string, owner?: string): Promise<SessionRecord> {
    const readiness = this.readiness();
    if (!readiness.ready) throw this.refuse(new FleetError(readiness.code!, readiness.reason!, { retryAfter: 5 }));
    const outputDir = join(this.config.outputDir, id);
    mkdirSync(outputDir, { recursive: true });
    const log = this.log.child({ sessionId: id });
    const worker = new WorkerHandle({ settings: this.workerSettings(outputDir), log, entry: this.options.workerEntry, startTimeout: this.config.workerStartTimeout });
    const now = Date.now();
    const record: SessionRecord = { id, owner, worker, outputDir, createdAt: now, lastActivityAt: now, inFlight: 0 };
    this.sessions.set(id, record);
    try {
      await worker.ready;
      this.emit('worker.started', { pid: worker.pid, ms: Date.now() - now, ok: true });
    } catch (error) {
      this.emit('worker.started', { pid: worker.pid, ms: Date.now() - now, ok: false });
      await this.end(id, 'start-failed');
      throw this.refuse(toFleetError(error, 'WORKER_START_FAILED'));
    }
    worker.on('exit', (exit) => {
      if (!exit.expected && this.sessions.get(id) === record) {
        log.warn({ code: exit.code, signal: exit.signal }, 'session worker exited unexpectedly');
        void this.end(id, 'crashed');
      }
    });
    worker.on('event', (event) => {
      if (event.name === 'log') log.info({ worker: event.data }, 'worker event');
      else log.warn({ event: event.name, data: event.data }, 'worker event');
    });
    log.info({ workerPid: worker.pid, browserPid: worker.browserPid, ms: Date.now() - now }, 'session opened');
    this.emit('session.admitted', { id, waitedMs: 0, startMs: Date.now() - now });
    return record;
  }

  /** Forwards a tool call to the session's worker, within the call's deadline. */
  async callTool(id: string, name: string, args: Record<string, unknown>, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ToolResult> {
    const record = this.require(id);
    record.inFlight++;
    const started = record.lastActivityAt = Date.now();
    let outcome = 'ok';
    try {
      const result = await record.worker.request('tool.call', { name, args }, options);
      if (result.isError) outcome = 'error';
      return result;
    } catch (error) {
      outcome = toFleetError(error).code;
      throw error;
    } finally {
      record.inFlight--;
      record.lastActivityAt = Date.now();
      this.emit('tool.called', { id, tool: name, outcome, ms: Date.now() - started });
    }
  }

  /** Calls a non-tool worker method for session `id`. */
  request<M extends keyof Methods>(id: string, method: M, params: Methods[M]['params'], timeoutMs: number): Promise<Methods[M]['result']> {
    return this.require(id).worker.request(method, params, { timeoutMs });
  }

  private refuse(error: FleetError): FleetError {
    this.emit('session.rejected', { code: error.code });
    return error;
  }

  private require(id: string): SessionRecord {
    const record = this.sessions.get(id);
    if (!record) throw new FleetError('SESSION_NOT_FOUND', `session ${id} not found`);
    return record;
  }

  /** Ends session `id`: closes its browser, ends the worker's process group, removes its files. */
  async end(id: string, reason: EndReason): Promise<void> {
    const record = this.sessions.get(id);
    if (!record) return;
    this.sessions.delete(id);
    await record.worker.close(this.config.shutdownTimeout > 0 ? Math.min(3000, this.config.shutdownTimeout) : 1000);
    rmSync(record.outputDir, { recursive: true, force: true });
    this.log.info({ sessionId: id, reason }, 'session ended');
    this.emit('session.ended', { id, reason, ageMs: Date.now() - record.createdAt });
    this.onSessionEnded?.(id, reason);
  }

  /** What /sessions shows. */
  async list(): Promise<SessionInfo[]> {
    const stats = treesStats([...this.sessions.values()].map((record) => record.worker.pid));
    return Promise.all([...this.sessions.values()].map(async (record) => {
      const status = await record.worker.request('status', {}, { timeoutMs: 1000 })
        .catch(() => ({ browserPid: record.worker.browserPid, pages: 0, url: '' }));
      return {
        id: record.id,
        workerPid: record.worker.pid,
        ...status,
        createdAt: new Date(record.createdAt).toISOString(),
        lastActivityAt: new Date(record.lastActivityAt).toISOString(),
        inFlight: record.inFlight,
        rssBytes: stats.get(record.worker.pid)?.rssBytes ?? 0,
      };
    }));
  }

  /** Stops admitting and ends every session. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([...this.sessions.keys()].map((id) => this.end(id, 'shutdown')));
  }
}
