import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { unknownDevice } from './browser/device-names.ts';
import { deviceNames } from './browser/devices.ts';
import { findBrowser } from './browser/find-browser.ts';
import { ConfigError, type Config } from './config.ts';
import { createApp, type SessionRoutes } from './front/app.ts';
import type { Logger } from './log.ts';
import { sourceProgram, workerProgram } from './ipc/worker-program.ts';
import { prepareOutputRoot } from './security/output-dir.ts';
import { prepareAuth } from './security/tokens.ts';
import { createMetrics } from './ops/metrics.ts';
import { SystemdNotifier, type SystemdSettings } from './ops/systemd-notify.ts';
import { Supervisor } from './supervisor/supervisor.ts';

/** A running browser-fleet server. */
export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8931 */
  url: string;
  port: number;
  supervisor: Supervisor;
  routes: SessionRoutes;
  /** Stops admitting, ends every session and browser and closes the listener. */
  close(): Promise<void>;
}

/** Options beyond the config, for tests. */
export interface StartOptions {
  /** Worker program to fork instead of the real one (fixture workers). */
  workerEntry?: string;
  /** systemd's NOTIFY_SOCKET and watchdog settings, read from the environment by the CLI entry. */
  systemd?: SystemdSettings;
}

/**
 * What every front starts from: the output root prepared, a browser found and a supervisor built
 * for it, not started yet. `workerEntry`: a worker program to fork instead of the real one.
 */
export async function createSupervisor(config: Config, log: Logger, workerEntry?: string): Promise<{ supervisor: Supervisor; browserPath: string }> {
  prepareOutputRoot(config.outputDir);
  // A device name is checked here, once, rather than by every worker that would fail to start.
  const deviceProblem = config.device ? unknownDevice(config.device, deviceNames()) : undefined;
  if (deviceProblem) throw new ConfigError(`--device: ${deviceProblem}`);
  const program = workerEntry ? sourceProgram(workerEntry) : await workerProgram(log);
  // Browsers on Playwright browser servers need no Chromium here.
  if (config.browserEndpoint.length > 0) {
    return { supervisor: new Supervisor({ config, log, executablePath: '', program }), browserPath: config.browserEndpoint.join(', ') };
  }
  const browser = findBrowser({ executablePath: config.executablePath, headed: !config.headless });
  if (!browser) throw new Error('no Chromium found: run `npm start` (it installs chromium-headless-shell) or pass --executable-path');
  return { supervisor: new Supervisor({ config, log, executablePath: browser.path, program }), browserPath: browser.path };
}

/** Starts the front: finds a browser, builds the supervisor and the app, listens. */
export async function startServer(config: Config, log: Logger, options: StartOptions = {}): Promise<RunningServer> {
  // Reads --auth-tokens-file and refuses a non-loopback bind without tokens (unless --no-auth).
  config = prepareAuth(config, log);
  const { supervisor, browserPath } = await createSupervisor(config, log, options.workerEntry);
  const metrics = createMetrics(supervisor);
  const { app, routes } = createApp({ config, supervisor, log, metrics });

  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  log.info({ url, browser: browserPath, maxBrowsers: config.maxBrowsers, maxSessions: config.maxSessions, prewarm: config.prewarm }, 'browser-fleet listening');
  supervisor.start();
  const notifier = options.systemd ? new SystemdNotifier(options.systemd, log) : undefined;
  await notifier?.ready(`listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = () => closing ??= (async () => {
    await notifier?.stopping();
    await supervisor.shutdown();
    routes.closeAll();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Last answers (calls that finished during the drain) get a moment to flush; then open SSE
      // streams, which would hold close() forever, are cut.
      setTimeout(() => (server as import('node:http').Server).closeAllConnections?.(), 250).unref();
    });
    metrics.close();
    await notifier?.close();
  })();
  return { url, port, supervisor, routes, close };
}
