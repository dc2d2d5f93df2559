// How the worker starts its Chromium: the flags, which executable a launch may use, when two
// option sets need separate browser processes, and how the launched browser's PID is found.
import { basename } from 'node:path';
import { findBrowser } from '../src/browser/find-browser.ts';
import { FleetError } from '../src/errors.ts';
import type { BrowserOptions } from '../src/ipc/protocol.ts';
import { parentMap } from '../src/supervisor/process-stats.ts';

/** Flags that keep Chromium quiet on a closed network and quick to start. */
export const CHROMIUM_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-gpu',
];

/**
 * The Chromium to launch with `options`, or why it cannot be launched. Checked before the
 * running browser is closed, so a refused browser_open leaves the session as it was.
 */
export function launchableExecutable(options: BrowserOptions): string {
  if (options.headless) return options.executablePath;
  // DISPLAY is the browser's environment, not one of our options, so only process.env knows it.
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    throw new FleetError('TOOL_FAILED', 'Headed mode needs a display, and this server has none (DISPLAY is not set). ' +
      'Start the server under an X server or with `xvfb-run`, or keep headless: true.');
  }
  if (!/headless/.test(basename(options.executablePath))) return options.executablePath;
  const full = findBrowser({ headed: true });
  if (!full) throw new FleetError('TOOL_FAILED', `Headed mode needs full Chromium; ${options.executablePath} is headless-only. Install chromium or pass --executable-path.`);
  return full.path;
}

/** Whether two option sets run the same browser process, told apart at most by context options. */
export function sameLaunch(a: BrowserOptions, b: BrowserOptions): boolean {
  return a.executablePath === b.executablePath && a.headless === b.headless;
}

/** Direct children of this process: the browser Playwright launched. Found by parentage, never by name. */
export function childPids(): number[] {
  return parentMap().get(process.pid) ?? [];
}
