import type { CDPSession, Page } from 'playwright-core';

/** Longest wait for the renderer to start reporting requests, ms. */
const ENABLE_CAP_MS = 250;

/**
 * Requests a page's renderer starts while an action runs, as a DevTools session of our own reports
 * them.
 *
 * Why not Playwright's `request` event alone: with request interception on (the egress check
 * under origin lists or --block-private-networks), Playwright emits `request` only once the browser process has paused the request
 * as well, and that can come after a round trip to the page. A click whose handler calls `fetch`
 * would then look like a click that started nothing. The renderer announces a request on every
 * session as it starts it, before it answers a later evaluate on that session, so a round trip on
 * this session is a barrier: every request the action started is known once it returns.
 */
export class RendererRequests {
  private session: Promise<CDPSession | undefined> | undefined;

  constructor(private readonly page: Page) {}

  /**
   * Starts watching and calls `onChange` whenever the set of unfinished requests changes. Undefined
   * when the page gives no session within ENABLE_CAP_MS (closed, or a script in a loop): callers then
   * rely on Playwright's events alone, and an action on a wedged page meets the call's deadline.
   */
  async watch(onChange: () => void): Promise<RequestWatch | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const capped = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ENABLE_CAP_MS);
    });
    const starting = this.start(onChange);
    const watch = await Promise.race([starting, capped]).finally(() => clearTimeout(timer));
    if (!watch) void starting.then((late) => late?.stop());
    return watch;
  }

  private async start(onChange: () => void): Promise<RequestWatch | undefined> {
    const session = await this.sessionOf();
    if (!session) return undefined;
    const watch = new RequestWatch(session, onChange);
    try {
      // No body buffering: this session only counts requests.
      await session.send('Network.enable', { maxTotalBufferSize: 0, maxResourceBufferSize: 0, maxPostDataSize: 0 });
      return watch;
    } catch {
      watch.stop();
      return undefined;
    }
  }

  private sessionOf(): Promise<CDPSession | undefined> {
    this.session ??= this.page.context().newCDPSession(this.page).catch(() => undefined);
    return this.session;
  }
}

/** One action's view of the renderer's requests; `stop` it when the action has settled. */
export class RequestWatch {
  private readonly unfinished = new Set<string>();
  private stopped = false;
  private readonly onStart = (event: { requestId: string; type?: string }) => {
    // A navigation's document is followed to DOMContentLoaded by the caller, not to its last byte.
    if (event.type === 'Document') return;
    this.unfinished.add(event.requestId);
    this.onChange();
  };
  private readonly onEnd = (event: { requestId: string }) => {
    if (this.unfinished.delete(event.requestId)) this.onChange();
  };

  constructor(private readonly session: CDPSession, private readonly onChange: () => void) {
    session.on('Network.requestWillBeSent', this.onStart);
    session.on('Network.loadingFinished', this.onEnd);
    session.on('Network.loadingFailed', this.onEnd);
  }

  /** Requests started since the watch began that have neither finished nor failed. */
  get pending(): number {
    return this.unfinished.size;
  }

  /** Resolves once every request the renderer started before this call is known here. */
  async barrier(): Promise<void> {
    await this.session.send('Runtime.evaluate', { expression: '0' }).catch(() => {});
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.session.off('Network.requestWillBeSent', this.onStart);
    this.session.off('Network.loadingFinished', this.onEnd);
    this.session.off('Network.loadingFailed', this.onEnd);
    this.unfinished.clear();
    this.session.send('Network.disable').catch(() => {});
  }
}
