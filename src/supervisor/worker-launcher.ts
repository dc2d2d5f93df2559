import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { FleetError, toFleetError } from '../errors.ts';
import type { BrowserOptions, WorkerSettings } from '../ipc/protocol.ts';
import { MOBILE_DEVICE } from '../browser/devices.ts';
import { playwrightFfmpegDir, recordsVideo } from '../browser/playwright-browsers-path.ts';
import { BrowserEndpoints } from './endpoints.ts';
import { WorkerHandle } from '../ipc/worker-handle.ts';
import type { WorkerProgram } from '../ipc/worker-program.ts';
import type { Logger } from '../log.ts';

/** Start failures in a row after which the pool stops refilling until a start succeeds. */
export const MAX_START_FAILURES = 3;

/** A start waiting for its turn, or under way. */
export interface PacedLaunch {
  ready: Promise<WorkerHandle>;
  /** Gives the turn up if it has not come yet; false once the start began. */
  withdraw(): boolean;
}

/** A worker on its way up. */
export interface Launch {
  worker: WorkerHandle;
  /** The directory the worker writes to. */
  outputDir: string;
  /** Resolves with the worker once it answered READY; rejects with WORKER_START_FAILED. */
  ready: Promise<WorkerHandle>;
}

/** How the launcher is built. */
export interface LauncherOptions {
  config: Config;
  log: Logger;
  /** Chromium to launch. */
  executablePath: string;
  /** Worker program to fork; defaults to the real one's source. */
  program?: WorkerProgram;
  /** Told about every start, good or bad (the supervisor's `worker.started` event). */
  onStarted: (report: { pid: number; ms: number; ok: boolean }) => void;
  /** Most workers starting at once for `launchPaced`; defaults to the number of cores. */
  concurrency?: number;
}

/**
 * Forks workers and keeps score of how starting them goes: `halted` once MAX_START_FAILURES
 * starts in a row failed (so nothing respawns in a loop), cleared by the next success. Starts
 * for leases are paced (`launchPaced`): a browser launch keeps a core busy for most of a
 * second, so more launches than cores at once only make every one of them late, and the calls
 * of running sessions with them.
 */
export class WorkerLauncher {
  /** Start failures since the last success. */
  failuresInARow = 0;
  /** Workers forked but not yet READY, so shutdown can kill them mid-start. */
  private readonly starting = new Set<WorkerHandle>();
  /** Set at shutdown: workers killed mid-start then did not fail, they were stopped. */
  private stopped = false;
  /** Paced starts waiting for their turn, oldest first. */
  private readonly turns: (() => void)[] = [];
  private readonly concurrency: number;
  /** The Playwright browser servers workers connect to (--browser-endpoint), if any. */
  readonly endpoints: BrowserEndpoints;
  /** Environment every worker gets on top of ours. */
  private readonly env?: Record<string, string>;

  constructor(private readonly options: LauncherOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    this.endpoints = new BrowserEndpoints(options.config.browserEndpoint);
    if (recordsVideo(options.config)) {
      const ffmpeg = playwrightFfmpegDir();
      if (ffmpeg) this.env = { PLAYWRIGHT_BROWSERS_PATH: ffmpeg };
      else options.log.error('--record video needs ffmpeg on the PATH (apt-get install ffmpeg); browsers will fail to record video');
    }
  }

  /** No worker is starting and none waits for its turn: a pool refill competes with nobody. */
  get idle(): boolean {
    return this.starting.size === 0 && this.turns.length === 0;
  }

  /**
   * Starts a worker once fewer than `concurrency` are starting, in the order asked; `ready`
   * resolves with it once READY and rejects with WORKER_START_FAILED, or SHUTTING_DOWN after
   * `killStarting`. `withdraw()` gives the turn up while it has not come (true), e.g. because a
   * warm worker turned up meanwhile; `ready` then never settles.
   */
  launchPaced(outputDir: string, log: Logger): PacedLaunch {
    let go!: () => void;
    const ready = new Promise<WorkerHandle>((resolve, reject) => {
      go = () => {
        if (this.stopped) return reject(new FleetError('SHUTTING_DOWN', 'the server is shutting down'));
        try {
          this.launch(outputDir, log).ready.then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      };
    });
    if (this.turns.length === 0 && this.starting.size < this.concurrency) go();
    else this.turns.push(go);
    return {
      ready,
      withdraw: () => {
        const index = this.turns.indexOf(go);
        if (index < 0) return false;
        this.turns.splice(index, 1);
        return true;
      },
    };
  }

  private nextTurn(): void {
    while (this.turns.length > 0 && this.starting.size < this.concurrency) this.turns.shift()!();
  }

  /** True while starts keep failing; the pool does not refill then. */
  get halted(): boolean {
    return this.failuresInARow >= MAX_START_FAILURES;
  }

  /** Forks a worker writing to `outputDir`. Throws WORKER_START_FAILED when it cannot even fork. */
  launch(outputDir: string, log: Logger, options: { warmUp?: boolean } = {}): Launch {
    const { config, program } = this.options;
    const started = Date.now();
    const endpoint = this.endpoints.pick();
    let worker: WorkerHandle;
    try {
      // The worker makes `outputDir` itself: a front that dies before the worker heard of it leaves none behind.
      worker = new WorkerHandle({ settings: { ...this.settings(outputDir), warmUp: options.warmUp, browserEndpoint: endpoint }, log, program, startTimeout: config.workerStartTimeout, env: this.env });
    } catch (error) {
      this.failed(log, toFleetError(error, 'WORKER_START_FAILED'));
      throw toFleetError(error, 'WORKER_START_FAILED');
    }
    this.starting.add(worker);
    if (endpoint) this.endpoints.attach(worker, endpoint);
    const ready = worker.ready.then(() => {
      this.starting.delete(worker);
      this.failuresInARow = 0;
      this.options.onStarted({ pid: worker.pid, ms: Date.now() - started, ok: true });
      log.debug({ workerPid: worker.pid, browserPid: worker.browserPid, ms: Date.now() - started }, 'worker started');
      this.nextTurn();
      return worker;
    }, async (error: unknown) => {
      this.starting.delete(worker);
      const fleetError = toFleetError(error, 'WORKER_START_FAILED');
      if (endpoint && !this.stopped) this.endpoints.failed(endpoint);
      if (!this.stopped) {
        this.options.onStarted({ pid: worker.pid, ms: Date.now() - started, ok: false });
        this.failed(log, fleetError);
      }
      this.nextTurn();
      await worker.kill();
      throw new FleetError('WORKER_START_FAILED', `could not start a browser worker: ${fleetError.message}`);
    });
    return { worker, outputDir, ready };
  }

  /** Kills every worker still starting (shutdown). */
  async killStarting(): Promise<void> {
    this.stopped = true;
    for (const go of this.turns.splice(0)) go();
    await Promise.all([...this.starting].map((worker) => worker.kill()));
  }

  private failed(log: Logger, error: FleetError): void {
    this.failuresInARow++;
    const fields = { code: error.code, err: error.message, failuresInARow: this.failuresInARow };
    if (this.failuresInARow === MAX_START_FAILURES) {
      log.error(fields, `${MAX_START_FAILURES} workers in a row failed to start; no more pre-started workers until a start succeeds`);
    } else {
      log.warn(fields, 'worker failed to start');
    }
  }

  /** What a worker writing to `outputDir` is told at start-up. */
  private settings(outputDir: string): WorkerSettings {
    const { config, executablePath } = this.options;
    const [width, height] = (config.viewportSize ?? '0x0').split('x').map(Number);
    const browser: BrowserOptions = {
      executablePath,
      headless: config.headless,
      // Without --viewport-size, a device brings its own.
      viewport: config.viewportSize || !(config.device || config.mobile) ? { width: width || 1280, height: height || 720 } : undefined,
      userAgent: config.userAgent,
      ignoreHttpsErrors: config.ignoreHttpsErrors,
      device: config.mobile ? MOBILE_DEVICE : config.device,
      storageState: config.storageState && resolve(config.storageState),
      permissions: [...config.grantPermissions],
      blockServiceWorkers: config.blockServiceWorkers,
      initScripts: config.initScript.map((file) => resolve(file)),
      proxy: config.proxyServer ? { server: config.proxyServer, bypass: config.proxyBypass } : undefined,
    };
    return {
      browser,
      outputDir,
      uploadRoot: config.uploadRoot,
      timeoutAction: config.timeoutAction,
      timeoutNavigation: config.timeoutNavigation,
      snapshotMaxChars: config.snapshotMaxChars,
      imageMaxBytes: config.imageMaxBytes,
      maxPages: config.maxPages,
      caps: [...config.caps],
      allowedOrigins: [...config.allowedOrigins],
      blockedOrigins: [...config.blockedOrigins],
      blockPrivateNetworks: config.blockPrivateNetworks,
      record: config.record,
      testIdAttribute: config.testIdAttribute,
      consoleLevel: config.consoleLevel,
      redactUrlParams: [...config.redactUrlParams],
      secrets: { ...config.secretValues },
      snapshotMode: config.snapshotMode,
      imageResponses: config.imageResponses,
      initPage: config.initPage.map((file) => resolve(file)),
      clientBrowserOptions: [...config.clientBrowserOptions],
    };
  }
}
