import type { Browser, CDPSession } from 'playwright-core';

/**
 * Popups the browser has created that Playwright has not reported as pages yet. Chromium
 * announces a popup's target while the click that opened it is still running, but Playwright
 * reports the page some tens of milliseconds later; settling waits for that gap, so the click's
 * result already lists the new tab (or says it was refused).
 */
export class PopupTracker {
  private readonly opening = new Set<string>();
  private readonly listeners = new Set<() => void>();

  private constructor(session?: CDPSession) {
    session?.on('Target.targetCreated', ({ targetInfo }) => {
      if (targetInfo.type === 'page' && targetInfo.openerId) this.change(() => this.opening.add(targetInfo.targetId));
    });
    session?.on('Target.targetDestroyed', ({ targetId }) => this.change(() => this.opening.delete(targetId)));
  }

  /** Watches `browser` for new popup targets; without CDP (other engines) it tracks nothing. */
  static async start(browser: Browser): Promise<PopupTracker> {
    try {
      const session = await browser.newBrowserCDPSession();
      await session.send('Target.setDiscoverTargets', { discover: true });
      return new PopupTracker(session);
    } catch {
      return new PopupTracker();
    }
  }

  /** Popups announced by the browser and not yet seen as pages. */
  get pending(): number {
    return this.opening.size;
  }

  /** A page appeared in the context: the oldest announced popup is no longer pending. */
  pageArrived(): void {
    const [oldest] = this.opening;
    if (oldest !== undefined) this.change(() => this.opening.delete(oldest));
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private change(update: () => unknown): void {
    update();
    for (const listener of [...this.listeners]) listener();
  }
}
