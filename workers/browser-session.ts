import { readdirSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { BrowserOptions, WorkerSettings, WorkerStatus } from '../src/ipc/protocol.ts';
import { truncateSnapshot, type RenderState } from '../src/tools/response.ts';
import { FleetError } from '../src/errors.ts';
import { Egress } from './egress.ts';

/** Flags that keep Chromium quiet on a closed network and quick to start. */
const CHROMIUM_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-gpu',
];

/** Most time spent waiting for what an action started (navigation, requests), ms. */
const SETTLE_CAP_MS = 3000;

const REF_PATTERN = /^(f\d+)?e\d+$/;

/** Direct children of this process: the browser Playwright launched. Found by parentage, never by name. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/**
 * One browser, one context, its tabs. Owns launching, the selected tab, ref resolution,
 * snapshots and settling; tools reach it through a ToolContext.
 */
export class BrowserSession {
  private browser?: Browser;
  private context?: BrowserContext;
  private current?: Page;
  browserPid?: number;
  /** Called when the browser goes away without being asked to. */
  onDisconnected?: (reason: string) => void;
  private closing = false;
  /** What the browser may reach (schemes, origins, private networks); outlives relaunches. */
  private egress?: Egress;

  constructor(readonly settings: WorkerSettings) {}

  get browserOptions(): BrowserOptions {
    return this.settings.browser;
  }

  /** Launches the browser over a pipe (it dies with this process) with one context and one page. */
  async launch(): Promise<void> {
    const options = this.settings.browser;
    const before = new Set(childPids());
    const isRoot = process.getuid?.() === 0;
    this.closing = false;
    const egress = this.egress ??= await Egress.start(this.settings);
    const { args: egressArgs, ...egressLaunch } = egress.launchOptions();
    const browser = await chromium.launch({
      executablePath: options.executablePath,
      headless: options.headless,
      chromiumSandbox: !isRoot,
      args: [...CHROMIUM_ARGS, ...egressArgs],
      timeout: 30_000,
      ...egressLaunch,
    });
    this.browser = browser;
    this.browserPid = childPids().find((pid) => !before.has(pid));
    browser.on('disconnected', () => {
      const expected = this.closing;
      this.browser = undefined;
      this.context = undefined;
      this.current = undefined;
      this.browserPid = undefined;
      if (!expected) this.onDisconnected?.('the browser process exited unexpectedly');
    });
    this.context = await browser.newContext({
      viewport: options.viewport,
      userAgent: options.userAgent,
      ignoreHTTPSErrors: options.ignoreHttpsErrors,
      acceptDownloads: true,
      ...egress.contextOptions(),
    });
    await egress.install(this.context);
    this.context.setDefaultTimeout(this.settings.timeoutAction);
    this.context.setDefaultNavigationTimeout(this.settings.timeoutNavigation);
    this.context.on('page', (page) => this.onPage(page));
    this.current = await this.context.newPage();
  }

  /** Closes the browser; safe to call twice. */
  async close(): Promise<void> {
    this.closing = true;
    const browser = this.browser;
    this.browser = undefined;
    this.context = undefined;
    this.current = undefined;
    await browser?.close().catch(() => {});
  }

  get isOpen(): boolean {
    return this.browser !== undefined && this.browser.isConnected();
  }

  private onPage(page: Page): void {
    page.on('close', () => {
      if (this.current === page) this.current = this.context?.pages().at(-1);
    });
  }

  /** The selected tab; launches a browser or opens a tab when there is none. */
  async currentPage(): Promise<Page> {
    if (!this.isOpen) await this.launch();
    if (!this.current || this.current.isClosed()) this.current = this.context!.pages().at(-1) ?? await this.context!.newPage();
    return this.current;
  }

  currentPageOrUndefined(): Page | undefined {
    return this.current && !this.current.isClosed() ? this.current : undefined;
  }

  pages(): Page[] {
    return this.context?.pages() ?? [];
  }

  async resolveTarget(target: string): Promise<Locator> {
    const page = await this.currentPage();
    const trimmed = target.trim();
    const locator = REF_PATTERN.test(trimmed) ? page.getByRef(trimmed) : page.locator(trimmed);
    let count: number;
    try {
      count = await locator.count();
    } catch (error) {
      if (REF_PATTERN.test(trimmed)) throw new FleetError('TOOL_FAILED', `Ref ${trimmed} not found in the current page snapshot. Try capturing a new snapshot.`);
      throw new FleetError('TOOL_FAILED', `"${trimmed}" is not a valid ref or selector: ${(error as Error).message.split('\n')[0]}`);
    }
    if (count === 0) {
      throw new FleetError('TOOL_FAILED', REF_PATTERN.test(trimmed)
        ? `Ref ${trimmed} not found in the current page snapshot. Try capturing a new snapshot.`
        : `No element matches selector "${trimmed}".`);
    }
    if (count > 1) throw new FleetError('TOOL_FAILED', `Selector "${trimmed}" matches ${count} elements; use a ref from the snapshot or a more specific selector.`);
    return locator;
  }

  /**
   * Runs `action` and waits only for what it started: a main-frame navigation to reach
   * DOMContentLoaded, and the requests it issued to finish, each within SETTLE_CAP_MS in total.
   */
  async settleAfter<T>(action: () => Promise<T>): Promise<T> {
    const page = await this.currentPage();
    const pending = new Set<import('playwright-core').Request>();
    let navigated = false;
    const onRequest = (request: import('playwright-core').Request) => {
      pending.add(request);
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigated = true;
    };
    const onDone = (request: import('playwright-core').Request) => pending.delete(request);
    page.on('request', onRequest);
    page.on('requestfinished', onDone);
    page.on('requestfailed', onDone);
    try {
      const result = await action();
      if (navigated || pending.size) {
        const deadline = Date.now() + SETTLE_CAP_MS;
        if (navigated) await page.waitForLoadState('domcontentloaded', { timeout: SETTLE_CAP_MS }).catch(() => {});
        while (pending.size && Date.now() < deadline && !page.isClosed()) {
          await Promise.race([
            new Promise((resolve) => page.once('requestfinished', resolve).once('requestfailed', resolve)),
            new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
          ]);
        }
      }
      return result;
    } finally {
      page.off('request', onRequest);
      page.off('requestfinished', onDone);
      page.off('requestfailed', onDone);
    }
  }

  /** The page state the serializer prints after a tool ran. */
  async renderState(snapshot: { include: boolean; target?: string; depth?: number; boxes?: boolean }): Promise<RenderState> {
    const page = this.currentPageOrUndefined();
    if (!page) return {};
    const state: RenderState = { page: { url: page.url(), title: await page.title().catch(() => '') } };
    const pages = this.pages();
    state.tabs = await Promise.all(pages.map(async (p, index) => ({
      index, current: p === page, url: p.url(), title: await p.title().catch(() => ''),
    })));
    if (snapshot.include) {
      const options = { mode: 'ai' as const, depth: snapshot.depth, boxes: snapshot.boxes };
      const text = snapshot.target
        ? await (await this.resolveTarget(snapshot.target)).ariaSnapshot(options)
        : await page.ariaSnapshot(options);
      state.snapshot = truncateSnapshot(text, this.settings.snapshotMaxChars);
    }
    return state;
  }

  status(): WorkerStatus {
    const page = this.currentPageOrUndefined();
    return { browserPid: this.browserPid, pages: this.pages().length, url: page?.url() ?? '' };
  }
}
