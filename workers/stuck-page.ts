import type { Page } from 'playwright-core';

/** How long a healthy tab takes at most to run a trivial script, even on a busy host, ms. */
const PROBE_MS = 2000;
/** How long closing a stuck tab may take before the whole browser is restarted, ms. */
const CLOSE_MS = 3000;

/** What became of the selected tab after a call was abandoned. */
export type StuckOutcome =
  | { kind: 'responsive' }
  /** The tab did not answer and was closed; the session opens a blank one. */
  | { kind: 'tab-replaced'; url: string }
  /** Closing the tab did not work; the browser was closed and starts afresh with the next call. */
  | { kind: 'browser-restarted'; url: string }
  /** Not even the browser would close: only a fresh worker helps. */
  | { kind: 'wedged'; url: string };

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true, () => true), timeout]).finally(() => clearTimeout(timer));
}

/**
 * A tab whose script never yields (`while (true) {}`) hangs every later call on it, so after a
 * call was abandoned (deadline or cancel) the selected tab is probed. One that does not answer
 * is closed without beforeunload, which lets the browser drop its renderer. `blockedByDialog`
 * says the tab shows a dialog: it cannot run scripts then, yet it is not stuck.
 */
export async function replaceIfStuck(
  page: Page | undefined,
  options: { blockedByDialog: boolean; closeBrowser: () => Promise<void> },
): Promise<StuckOutcome> {
  if (!page || page.isClosed() || options.blockedByDialog) return { kind: 'responsive' };
  if (await settlesWithin(page.evaluate(() => true), PROBE_MS)) return { kind: 'responsive' };
  const url = page.url();
  if (await settlesWithin(page.close({ runBeforeUnload: false }), CLOSE_MS)) return { kind: 'tab-replaced', url };
  if (await settlesWithin(options.closeBrowser(), CLOSE_MS)) return { kind: 'browser-restarted', url };
  return { kind: 'wedged', url };
}

/** The sentence the client reads about a stuck tab. */
export function describeStuck(outcome: Exclude<StuckOutcome, { kind: 'responsive' }>): string {
  const what = `The tab at ${outcome.url} stopped responding (a script in it may be stuck in an endless loop)`;
  if (outcome.kind === 'tab-replaced') return `${what}, so it was closed and replaced by a blank tab; its page state was lost.`;
  if (outcome.kind === 'browser-restarted') return `${what} and could not be closed, so the browser was restarted; the page state of every tab was lost.`;
  return `${what} and neither it nor the browser would close, so the session's worker is being replaced; the page state of every tab was lost.`;
}
