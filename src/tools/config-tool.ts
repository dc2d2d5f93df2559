import { z } from 'zod';
import type { WorkerSettings } from '../ipc/protocol.ts';
import { defineTool } from './tool.ts';

/**
 * A browser endpoint without what may authenticate it: user info and the query string (hosted
 * browser services take `?token=`), so the answer can be shown to a model and logged.
 */
function redactEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    const hidden = Boolean(url.username || url.password || url.search);
    url.username = '';
    url.password = '';
    url.search = '';
    return hidden ? `${url.href} (credentials and query removed)` : url.href;
  } catch {
    return '(not a valid URL)';
  }
}

/**
 * The settings this browser runs with, as a model may use them: what the browser is, the limits
 * and deadlines a call meets, where files go and which sites it may reach. Process internals
 * (the worker's TMPDIR, its warm-up flag) are left out; WorkerSettings holds no tokens, the
 * fields that could carry credentials (endpoint and proxy URLs) are redacted, and of --secrets
 * only the names are shown.
 */
export function describeSettings(settings: WorkerSettings): Record<string, unknown> {
  const { browser } = settings;
  return {
    browser: {
      browserName: 'chromium',
      executablePath: settings.browserEndpoint ? undefined : browser.executablePath,
      remoteEndpoint: settings.browserEndpoint ? redactEndpoint(settings.browserEndpoint) : undefined,
      headless: browser.headless,
      viewport: browser.viewport,
      device: browser.device,
      userAgent: browser.userAgent,
      ignoreHttpsErrors: browser.ignoreHttpsErrors,
      locale: browser.locale,
      timezoneId: browser.timezoneId,
      colorScheme: browser.colorScheme,
      permissions: browser.permissions,
      blockServiceWorkers: browser.blockServiceWorkers,
      initScripts: browser.initScripts,
      proxyServer: browser.proxy ? redactEndpoint(browser.proxy.server) : undefined,
      proxyBypass: browser.proxy?.bypass,
    },
    testIdAttribute: settings.testIdAttribute,
    console: { level: settings.consoleLevel },
    snapshot: { mode: settings.snapshotMode },
    imageResponses: settings.imageResponses,
    redactUrlParams: settings.redactUrlParams,
    // Names only: a model types a secret's name, never its value.
    secrets: Object.keys(settings.secrets),
    capabilities: settings.caps,
    outputDir: settings.outputDir,
    uploadRoot: settings.uploadRoot,
    timeouts: { action: settings.timeoutAction, navigation: settings.timeoutNavigation },
    limits: { maxPages: settings.maxPages, snapshotMaxChars: settings.snapshotMaxChars, imageMaxBytes: settings.imageMaxBytes },
    network: {
      allowedOrigins: settings.allowedOrigins,
      blockedOrigins: settings.blockedOrigins,
      blockPrivateNetworks: settings.blockPrivateNetworks,
    },
    record: settings.record,
  };
}

const getConfig = defineTool({
  name: 'browser_get_config',
  title: 'Get config',
  description: 'Show the configuration this browser runs with, as JSON: browser (headless, viewport, user agent), enabled capabilities, ' +
    'deadlines in ms, limits, the output directory, and which origins it may reach. The server\'s own settings (ports, tokens) are not included.',
  input: z.object({}),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  capability: 'config',
  async handle(ctx, _args, response) {
    response.addResult(JSON.stringify(describeSettings(ctx.settings), null, 2));
  },
});

/** Showing the browser's effective configuration (--caps config). */
export const configTools = [getConfig];
