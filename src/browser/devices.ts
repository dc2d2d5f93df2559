import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

/** The device --mobile emulates: @playwright/mcp's generic mobile device for Chromium. */
export const MOBILE_DEVICE = 'Pixel 10';

let names: string[] | undefined;

/**
 * The names in Playwright's device list. The front never loads Playwright (a test holds it to
 * that), so a short child process reads the list; only a server started with --device pays it.
 */
export function deviceNames(): string[] {
  if (names) return names;
  const playwright = createRequire(import.meta.url).resolve('playwright-core');
  const child = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(Object.keys(require(${JSON.stringify(playwright)}).devices)))`], { encoding: 'utf8', timeout: 30_000 });
  if (child.status !== 0) throw new Error(`could not read Playwright's device list: ${child.stderr || child.error?.message || `exit ${child.status}`}`);
  names = JSON.parse(child.stdout) as string[];
  return names;
}
