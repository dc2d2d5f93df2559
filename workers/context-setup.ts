import { devices, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { unknownDevice } from '../src/browser/device-names.ts';
import { FleetError } from '../src/errors.ts';
import type { BrowserOptions } from '../src/ipc/protocol.ts';

// How a browser context is set up beyond Playwright's defaults: the context options of the
// server's flags and browser_open (device first, then what was set explicitly), --init-page
// modules on every new tab, and Playwright's debugger for browser_resume.

/** The viewport without --viewport-size or a device. */
export const DEFAULT_VIEWPORT = { width: 1280, height: 720 };

/** A device of Playwright's list, or a tool error naming close ones. */
function deviceDescriptor(name: string): typeof devices[string] {
  const problem = unknownDevice(name, Object.keys(devices));
  if (problem) throw new FleetError('TOOL_FAILED', `Cannot emulate this device: ${problem}.`);
  return devices[name];
}

/** The context options of `options`: the device's first, then what was set explicitly. */
export function contextOptionsOf(options: BrowserOptions): BrowserContextOptions {
  const { defaultBrowserType: _type, ...device }: Partial<typeof devices[string]> = options.device ? deviceDescriptor(options.device) : {};
  return {
    ...device,
    viewport: options.viewport ?? device.viewport ?? DEFAULT_VIEWPORT,
    userAgent: options.userAgent ?? device.userAgent,
    ignoreHTTPSErrors: options.ignoreHttpsErrors,
    locale: options.locale,
    timezoneId: options.timezoneId,
    colorScheme: options.colorScheme,
    storageState: options.storageState,
    permissions: options.permissions,
    ...(options.blockServiceWorkers && { serviceWorkers: 'block' }),
  };
}

/** Longest wait for the pause that enables the debugger, ms. */
const DEBUGGER_ENABLE_MS = 2000;

/**
 * Makes `page.pause()` in browser_run_code_unsafe code pause, for browser_resume to resume.
 * Playwright's debugger pauses there only once it is enabled, which it does by itself for headed
 * browsers and under Playwright Test only; a pause of its own (requested, hit by a throwaway
 * action on the blank page, resumed at once) enables it, and nothing else pauses afterwards.
 */
export async function enableDebugger(context: BrowserContext, page: Page): Promise<void> {
  const debug = context.debugger;
  if (debug.pausedDetails()) return;
  let timer: NodeJS.Timeout | undefined;
  const paused = new Promise<void>((resolve) => {
    const changed = () => {
      if (!debug.pausedDetails()) return;
      debug.off('pausedstatechanged', changed);
      resolve();
    };
    debug.on('pausedstatechanged', changed);
    timer = setTimeout(() => {
      debug.off('pausedstatechanged', changed);
      resolve();
    }, DEBUGGER_ENABLE_MS);
  });
  await debug.requestPause();
  const action = page.setContent('').catch(() => {});
  await paused;
  clearTimeout(timer);
  if (debug.pausedDetails()) await debug.resume();
  await action;
}

/** Runs every --init-page module (its default export, given `{ page }`) on a new page. */
export async function runInitPages(page: Page, modules: string[]): Promise<void> {
  if (modules.length === 0) return;
  // tsx loads TypeScript (and JavaScript) on demand; only servers with --init-page pay for it.
  // Its CommonJS API, through `require` in the CommonJS worker bundle: a dynamic import() there
  // has no loader to call (and tsx's ES module API cannot be required). Run as source, import().
  const { require: load } = typeof require === 'function' ? require('tsx/cjs/api') as typeof import('tsx/cjs/api') : await import('tsx/cjs/api');
  for (const file of modules) {
    try {
      const loaded = load(file, file) as { default?: unknown };
      const run = typeof loaded.default === 'function' ? loaded.default : typeof loaded === 'function' ? loaded : undefined;
      if (typeof run !== 'function') throw new Error('its default export is not a function');
      await (run as (arg: { page: Page }) => unknown)({ page });
    } catch (error) {
      throw new FleetError('TOOL_FAILED', `The init page ${file} failed: ${(error as Error).message}`);
    }
  }
}
