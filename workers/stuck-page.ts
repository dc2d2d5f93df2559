import type { Page } from 'playwright-core';

/** How long a healthy tab takes at most to run a trivial script, even on a busy host (a few ms when idle), ms; the next call waits for this check. */
const PROBE_MS = 1000;
/** How long closing stuck tabs may take before the whole browser is restarted, ms. */
const CLOSE_MS = 3000;

/** A tab as the probe sees it. */
export interface ProbedTab {
  page: Page;
  /** The session's selected tab. */
  selected: boolean;
  /** A dialog is open: the tab cannot run scripts, yet it is not stuck. */
  blockedByDialog: boolean;
}

/** What became of the session's tabs after a call was abandoned. */
export type StuckOutcome =
  | { kind: 'responsive' }
  /** The tabs that did not answer were closed; `selectedClosed` when the selected one was among them. */
  | { kind: 'tabs-closed'; urls: string[]; selectedClosed: boolean }
  /** Closing them did not work; the browser was closed and starts afresh with the next call. */
  | { kind: 'browser-restarted'; urls: string[] }
  /** Not even the browser would close: only a fresh worker helps. */
  | { kind: 'wedged'; urls: string[] };

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true, () => true), timeout]).finally(() => clearTimeout(timer));
}

/**
 * A tab whose script never yields (`while (true) {}`) hangs every later call on it and burns a
 * core, selected or not, so after a call was abandoned (deadline or cancel) every tab is probed at
 * once. Those that do not answer are closed without beforeunload, which lets the browser drop
 * their renderers; if that fails, the browser is closed.
 */
export async function closeStuckTabs(tabs: ProbedTab[], closeBrowser: () => Promise<void>): Promise<StuckOutcome> {
  const probed = await Promise.all(tabs.map(async (tab) => ({
    tab,
    stuck: !tab.page.isClosed() && !tab.blockedByDialog && !await settlesWithin(tab.page.evaluate(() => true), PROBE_MS),
  })));
  const stuck = probed.filter((p) => p.stuck).map((p) => p.tab);
  if (stuck.length === 0) return { kind: 'responsive' };
  const urls = stuck.map((tab) => tab.page.url());
  const closed = await settlesWithin(Promise.all(stuck.map((tab) => tab.page.close({ runBeforeUnload: false }))), CLOSE_MS);
  if (closed) return { kind: 'tabs-closed', urls, selectedClosed: stuck.some((tab) => tab.selected) };
  if (await settlesWithin(closeBrowser(), CLOSE_MS)) return { kind: 'browser-restarted', urls };
  return { kind: 'wedged', urls };
}

/**
 * The sentence the client reads about stuck tabs. `replacement` says what the session shows now
 * when the selected tab was closed: a blank tab, or another open tab.
 */
export function describeStuck(outcome: Exclude<StuckOutcome, { kind: 'responsive' }>, replacement: 'blank' | 'other' = 'blank'): string {
  const many = outcome.urls.length > 1;
  const what = `${many ? 'The tabs at' : 'The tab at'} ${outcome.urls.join(', ')} stopped responding (a script in ${many ? 'them' : 'it'} may be stuck in an endless loop)`;
  if (outcome.kind === 'tabs-closed') {
    const closed = many ? 'they were closed' : 'it was closed';
    const lost = many ? 'their page state was lost' : 'its page state was lost';
    if (!outcome.selectedClosed) return `${what}, so ${closed}; ${lost}. The selected tab was not affected.`;
    return replacement === 'blank'
      ? `${what}, so ${closed} and replaced by a blank tab; ${lost}.`
      : `${what}, so ${closed}; ${lost}. Another open tab is now selected.`;
  }
  if (outcome.kind === 'browser-restarted') return `${what} and could not be closed, so the browser was restarted; the page state of every tab was lost.`;
  return `${what} and neither ${many ? 'they' : 'it'} nor the browser would close, so the session's worker is being replaced; the page state of every tab was lost.`;
}
