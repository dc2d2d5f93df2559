import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  IPC_VERSION, isFromWorker,
  type EventMessage, type Events, type FromWorker, type Method, type Methods, type ToWorker, type WorkerSettings,
} from './protocol.ts';
import { sourceProgram, type WorkerProgram } from './worker-program.ts';


/** How a worker is started. */
export interface WorkerHandleOptions {
  settings: WorkerSettings;
  log: Logger;
  /** Program to fork; defaults to the real worker's source through tsx. */
  program?: WorkerProgram;
  /** How long the worker may take to answer READY, ms. */
  startTimeout: number;
  /** More environment for the worker (e.g. where Playwright finds ffmpeg). */
  env?: Record<string, string>;
}

/** How far a call has got, as the worker reports it. */
export type CallProgress = Omit<Events['call.progress'], 'requestId'>;

/** Options of one request to a worker. */
export interface RequestOptions {
  timeoutMs: number;
  /** How long past the deadline to wait for the worker's own answer, ms. */
  graceMs?: number;
  /** Cancels the request: the worker is told to abandon it. */
  signal?: AbortSignal;
  /** Receives the worker's progress reports for this request. */
  onProgress?: (progress: CallProgress) => void;
}

interface Pending {
  method: Method;
  onProgress?: (progress: CallProgress) => void;
  resolve: (value: unknown) => void;
  reject: (error: FleetError) => void;
  timer: NodeJS.Timeout;
}

/** Why a worker ended, as the supervisor reports it. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the front asked for the end (close, kill); false for a crash. */
  expected: boolean;
}

/**
 * The front's side of one worker process: start-up handshake, typed requests with deadlines and
 * cancellation, events, and ending the whole process group.
 */
export class WorkerHandle extends EventEmitter<{
  event: [EventMessage];
  exit: [WorkerExit];
}> {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The Playwright browser server this worker's browser runs on (--browser-endpoint); undefined: launched here. */
  readonly browserEndpoint?: string;
  /**
   * The worker's own TMPDIR: Playwright keeps the browser profile and artifacts there and removes
   * them only on a clean exit, so the front removes the whole folder when the worker is gone.
   */
  readonly tempDir: string;
  browserPid?: number;
  readonly startedAt = Date.now();
  /** Resolves once READY arrived; rejects when start-up failed. */
  readonly ready: Promise<void>;
  /** Set once READY arrived. */
  isReady = false;
  /** Leases this worker has served (or serves now): recycling retires it past --recycle-max-uses. */
  uses = 0;
  private log: Logger;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private ending = false;
  private exited = false;
  private readonly exitPromise: Promise<WorkerExit>;

  constructor(options: WorkerHandleOptions) {
    super();
    this.log = options.log;
    // detached: the worker leads its own process group, so its browser can be killed with it.
    const program = options.program ?? sourceProgram();
    this.tempDir = mkdtempSync(join(tmpdir(), 'browser-fleet-worker-'));
    this.child = fork(program.entry, [], {
      env: { ...process.env, ...options.env, TMPDIR: this.tempDir },
      execArgv: program.execArgv,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    if (this.child.pid === undefined) {
      rmSync(this.tempDir, { recursive: true, force: true });
      throw new FleetError('WORKER_START_FAILED', 'could not fork a worker process');
    }
    this.pid = this.child.pid;
    this.browserEndpoint = options.settings.browserEndpoint;
    this.captureOutput();

    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        this.removeTempDir();
        const exit = { code, signal, expected: this.ending };
        this.failPending(exit);
        resolve(exit);
        this.emit('exit', exit);
      });
    });

    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new FleetError('WORKER_START_FAILED', `worker did not start within ${options.startTimeout} ms`));
        this.kill();
      }, options.startTimeout);
      const onMessage = (raw: unknown) => {
        if (!isFromWorker(raw)) return;
        if (raw.type === 'ready') {
          clearTimeout(timer);
          this.child.off('message', onMessage);
          if (raw.version !== IPC_VERSION) {
            reject(new FleetError('PROTOCOL_MISMATCH', `worker speaks IPC version ${raw.version}, front speaks ${IPC_VERSION}`));
            this.kill();
            return;
          }
          this.browserPid = raw.browserPid;
          this.isReady = true;
          resolve();
        } else if (raw.type === 'start-failed') {
          clearTimeout(timer);
          this.child.off('message', onMessage);
          reject(new FleetError('WORKER_START_FAILED', raw.error.message));
        }
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new FleetError('WORKER_START_FAILED', `worker exited during start-up (code ${code}, signal ${signal})`));
      });
    });
    this.ready.catch(() => {});

    this.child.on('message', (raw) => this.onMessage(raw));
    this.child.on('error', (error) => this.log.warn({ err: error, workerPid: this.pid }, 'worker process error'));
    this.send({ type: 'startup', version: IPC_VERSION, settings: { ...options.settings, tempDir: this.tempDir } });
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Calls in flight on this worker. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Logs of this worker carry `sessionId` from now on (a pre-started worker joined a session). */
  bindLog(log: Logger): void {
    this.log = log;
  }

  /**
   * Runs `method` in the worker. The worker gives up at `timeoutMs` and answers why; the front
   * waits `graceMs` longer for that answer before it rejects with TOOL_TIMEOUT itself. Rejects
   * with CANCELLED when `signal` aborts (the worker is told to abandon the call), WORKER_CRASHED
   * when the worker dies.
   */
  request<M extends Method>(method: M, params: Methods[M]['params'], options: RequestOptions): Promise<Methods[M]['result']> {
    if (this.exited) return Promise.reject(new FleetError('WORKER_CRASHED', 'the session worker is not running'));
    const id = this.nextId++;
    const deadline = Date.now() + options.timeoutMs;
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(pending.timer);
        this.pending.delete(id);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        settle();
        this.send({ type: 'cancel', id, reason: 'cancelled by the client' });
        reject(new FleetError('CANCELLED', `${method} was cancelled by the client`));
      };
      const pending: Pending = {
        method,
        onProgress: options.onProgress,
        resolve: (value) => {
          settle();
          if (method === 'status') this.browserPid = (value as Methods['status']['result']).browserPid;
          resolve(value as Methods[M]['result']);
        },
        reject: (error) => { settle(); reject(error); },
        // Grace past the deadline, so the worker's own timeout error (which says what was stuck) wins.
        timer: setTimeout(() => {
          settle();
          this.send({ type: 'cancel', id, reason: 'deadline passed' });
          reject(new FleetError('TOOL_TIMEOUT', `${method} did not finish within ${options.timeoutMs} ms and the worker did not answer`));
        }, options.timeoutMs + (options.graceMs ?? 250)),
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, pending);
      this.send({ type: 'request', id, method, params, deadline });
    });
  }

  /** Asks the worker to close its browser and exit; kills the group if it has not within `graceMs`. */
  async close(graceMs = 3000): Promise<WorkerExit> {
    if (this.exited) return this.exitPromise;
    this.ending = true;
    this.request('shutdown', {}, { timeoutMs: graceMs }).catch(() => {});
    const timer = setTimeout(() => this.kill(), graceMs);
    const exit = await this.exitPromise;
    clearTimeout(timer);
    this.killGroup('SIGKILL'); // anything the worker left behind in its group
    return exit;
  }

  /** Ends the worker, its browser and everything in their process groups at once. */
  kill(): Promise<WorkerExit> {
    this.ending = true;
    this.killBrowserGroup();
    this.killGroup('SIGKILL');
    return this.exitPromise;
  }

  /**
   * At once, so a front about to exit leaves nothing; the browser may still be writing as it goes
   * down with its pipe, in which case a retry follows in the background.
   */
  private removeTempDir(): void {
    try {
      rmSync(this.tempDir, { recursive: true, force: true });
    } catch {
      void rm(this.tempDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(() => {});
    }
  }

  private killGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  /**
   * Playwright starts the browser as the leader of its own process group (renderers, zygote), so
   * the worker's group does not hold it. Killed only while it is still this worker's child, so a
   * reused PID is never hit; once the worker is gone the browser exits on its own (pipe closed).
   */
  private killBrowserGroup(): void {
    const pid = this.browserPid;
    if (!pid || this.exited) return;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === this.pid && Number(pgrp) === pid) process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }

  private send(message: ToWorker): void {
    if (this.exited || !this.child.connected) return;
    this.child.send(message, (error) => {
      if (error) this.log.debug({ err: error, workerPid: this.pid }, 'could not send to worker');
    });
  }

  private onMessage(raw: unknown): void {
    if (!isFromWorker(raw)) {
      this.log.warn({ workerPid: this.pid, frame: String(JSON.stringify(raw)).slice(0, 200) }, 'dropped a malformed frame from a worker');
      return;
    }
    const message: FromWorker = raw;
    if (message.type === 'response') {
      const pending = this.pending.get(message.id);
      if (!pending) return; // answered after its deadline or cancellation
      if (message.ok) pending.resolve(message.result);
      else pending.reject(FleetError.fromWire(message.error));
    } else if (message.type === 'event') {
      // Keep the PID current, so killing this worker also kills the group of its latest browser.
      if (message.name === 'browser.launched') this.browserPid = (message.data as Events['browser.launched']).pid;
      if (message.name === 'call.progress') {
        const { requestId, ...progress } = message.data as Events['call.progress'];
        this.pending.get(requestId)?.onProgress?.(progress);
        return;
      }
      this.emit('event', message);
    }
  }

  private failPending(exit: WorkerExit): void {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    for (const [, pending] of this.pending) {
      pending.reject(new FleetError('WORKER_CRASHED', `the session's worker process ${how} while running ${pending.method}`));
    }
  }

  private captureOutput(): void {
    const tag = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) this.log.info({ workerPid: this.pid, stream }, line.slice(0, 2000));
      }
    };
    this.child.stdout?.on('data', tag('stdout'));
    this.child.stderr?.on('data', tag('stderr'));
  }
}
