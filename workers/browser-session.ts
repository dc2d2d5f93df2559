import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, selectors, type Browser, type BrowserContext, type Locator, type Page, type Video } from 'playwright-core';
import type { BrowserOptions, PageLog, WorkerSettings, WorkerStatus } from '../src/ipc/protocol.ts';
import { redactor } from '../src/tools/redact.ts';
import { truncateSnapshot, type RenderState } from '../src/tools/response.ts';
import type { BrowserChoices, ConsoleEntry, ModalState, RequestEntry, SettleOptions } from '../src/tools/tool.ts';
import { FleetError } from '../src/errors.ts';
import { contextOptionsOf, DEFAULT_VIEWPORT, enableDebugger, runInitPages } from './context-setup.ts';
import { Egress } from './egress.ts';
import { CHROMIUM_ARGS, childPids, launchableExecutable, sameLaunch } from './launch.ts';
import { describeModalStates } from './modal-states.ts';
import { PopupTracker } from './popup-tracker.ts';
import { confinePath } from './paths.ts';
import { SessionOutputs } from './session-outputs.ts';
import { settle } from './settle.ts';
import type { ProbedTab } from './stuck-page.ts';
import { Tabs } from './tabs.ts';

const REF_PATTERN = /^(f\d+)?e\d+$/;

/**
 * One browser, one context, its tabs. Owns launching, the selected tab, ref resolution,
 * snapshots and settling; tools reach it through a ToolContext.
 */
export class BrowserSession {
  private browser?: Browser;
  private context?: BrowserContext;
  browserPid?: number;
  /** Called when the browser goes away without being asked to. */
  onDisconnected?: (reason: string) => void;
  /** Called after every launch with the new browser's PID. */
  onLaunched?: (pid: number | undefined) => void;
  /** Files written and downloads saved in the output directory, reported with the next result. */
  readonly outputs = new SessionOutputs(() => this.settings.outputDir);
  /** A console error, uncaught page error or crashed tab, for the client's log (notifications/message). */
  onPageLog?: (log: PageLog) => void;
  private closing = false;
  /** What the browser may reach (schemes, origins, private networks); outlives relaunches. */
  private egress?: Egress;
  /** Open tabs, the selected one, and the recorders of each page. */
  private readonly tabs = new Tabs();
  /** PAGE_LIMIT errors for popups closed since the last tool call. */
  private blockedPopups: string[] = [];
  /** Videos of this context's tabs, closed ones too (--record video): written when the lease finishes. */
  private videos: Video[] = [];
  /** Tabs that crashed and were closed since the previous call, for the next result. */
  private crashNotices: string[] = [];
  /** Popups the browser is opening, so settling can wait for them. */
  private popups?: PopupTracker;

  /** The browser options the worker started with; a reset goes back to them. */
  private readonly startupBrowser: BrowserOptions;

  /** Hides --secrets values and --redact-url-params values in text a client will see. */
  readonly redact: (text: string) => string;
  /** Whether `redact` changes anything (there are secrets or parameters to hide). */
  readonly hidesText: boolean;

  constructor(readonly settings: WorkerSettings) {
    this.startupBrowser = structuredClone(settings.browser);
    this.redact = redactor(settings.secrets, settings.redactUrlParams);
    this.hidesText = Object.keys(settings.secrets).length > 0 || settings.redactUrlParams.length > 0;
  }


  /**
   * Runs the render path once on a throwaway document in the blank tab; setContent adds no
   * history entry, and the tab is blank again afterwards. Failures are ignored: it is only warm-up.
   */
  async warmUp(): Promise<void> {
    try {
      const page = await this.currentPage();
      await page.setContent('<title>warm-up</title><button>warm-up</button>');
      await page.title();
      await page.ariaSnapshot({ mode: 'ai' });
      await page.setContent('');
    } catch {
      // a pre-started worker that cannot warm up still serves
    }
  }

  /**
   * Launches the browser over a pipe (it dies with this process), or connects to the Playwright
   * browser server of --browser-endpoint (the browser lives as long as the connection), with one
   * context and one page.
   */
  async launch(): Promise<void> {
    const options = this.settings.browser;
    const endpoint = this.settings.browserEndpoint;
    const before = new Set(childPids());
    this.closing = false;
    const egress = this.egress ??= await Egress.start(this.settings, { remote: endpoint !== undefined, upstream: this.startupBrowser.proxy });
    selectors.setTestIdAttribute(this.settings.testIdAttribute);
    let browser: Browser;
    if (endpoint) {
      // A stock run-server takes only safe launch options from its clients (headless, not the
      // executable or its arguments): it runs the browser it was set up with.
      browser = await chromium.connect(endpoint, {
        timeout: 30_000,
        headers: { 'x-playwright-launch-options': JSON.stringify({ headless: options.headless }) },
      });
    } else {
      const executablePath = launchableExecutable(options);
      const { args: egressArgs, ...egressLaunch } = egress.launchOptions();
      browser = await chromium.launch({
        executablePath,
        headless: options.headless,
        chromiumSandbox: process.getuid?.() !== 0,
        args: [...CHROMIUM_ARGS, ...egressArgs],
        timeout: 30_000,
        ...egressLaunch,
      });
    }
    this.browser = browser;
    this.browserPid = childPids().find((pid) => !before.has(pid));
    this.onLaunched?.(this.browserPid);
    browser.on('disconnected', () => {
      const expected = this.closing;
      this.browser = undefined;
      this.context = undefined;
      this.tabs.clear();
      this.isolated.clear();
      this.browserPid = undefined;
      if (!expected) this.onDisconnected?.(endpoint ? `the connection to the browser server ${endpoint} was lost` : 'the browser process exited unexpectedly');
    });
    this.popups = await PopupTracker.start(browser);
    await this.openContext(browser, egress);
  }

  /** The default context with one page, recorded when --record asks (trace, video). */
  private async openContext(browser: Browser, egress: Egress): Promise<void> {
    const context = await this.newConfiguredContext(browser, egress, true);
    this.context = context;
    this.videos = [];
    const page = await context.newPage();
    if (this.settings.caps.includes('devtools') && this.settings.caps.includes('unsafe-code')) await enableDebugger(context, page);
    this.tabs.select(await this.ready(page));
  }

  /**
   * One fresh BrowserContext (off the record: nothing of it reaches the disk), set up with the
   * context options (device, storage state, permissions...), init scripts and egress checks.
   */
  private async newConfiguredContext(browser: Browser, egress: Egress, recorded: boolean): Promise<BrowserContext> {
    const options = contextOptionsOf(this.settings.browser);
    const context = await browser.newContext({
      ...options,
      acceptDownloads: true,
      ...egress.contextOptions(),
      ...(recorded && this.recording('video') && { recordVideo: { dir: join(this.settings.tempDir ?? tmpdir(), 'videos'), size: options.viewport ?? undefined } }),
    }).catch((error: Error) => {
      throw new FleetError('TOOL_FAILED', `Could not open a browser context with these options: ${error.message.split('\n')[0]}`);
    });
    if (recorded && this.recording('trace')) await context.tracing.start({ screenshots: true, snapshots: true, title: 'browser-fleet' });
    for (const path of this.settings.browser.initScripts) await context.addInitScript({ path });
    await egress.install(context);
    context.setDefaultTimeout(this.settings.timeoutAction);
    context.setDefaultNavigationTimeout(this.settings.timeoutNavigation);
    context.on('page', (page) => this.onPage(page));
    return context;
  }

  /** Named contexts of browser_tabs' `isolatedContext`, closed with the default one. */
  private isolated = new Map<string, Promise<BrowserContext>>();

  /** Closes every isolated context (a reset, a new default context, the end of a lease). */
  private async closeIsolated(): Promise<void> {
    const contexts = [...this.isolated.values()];
    this.isolated.clear();
    await Promise.all(contexts.map(async (context) => (await context.catch(() => undefined))?.close().catch(() => {})));
  }

  /** `page` once the --init-page modules ran on it. */
  private async ready(page: Page): Promise<Page> {
    await this.tabs.recordsOf(page).initialized;
    return page;
  }

  /** The viewport the selected tab has (a device's, when one is emulated). */
  viewport(): { width: number; height: number } {
    return this.currentPageOrUndefined()?.viewportSize() ?? contextOptionsOf(this.settings.browser).viewport ?? DEFAULT_VIEWPORT;
  }

  /**
   * Makes this worker fit for another lease: closes the context, which takes every tab, cookie,
   * storage area, cache, service worker, permission and download with it, and opens a fresh one
   * writing to `outputDir`. A browser that a lease relaunched with other options (browser_open)
   * or closed is launched again with the start-up options. What stays is the browser process,
   * its profile directory and the DNS cache (docs/operations.md, Recycling).
   */
  async reset(outputDir: string): Promise<void> {
    this.settings.outputDir = outputDir;
    this.blockedPopups = [];
    this.crashNotices = [];
    this.outputs.clear();
    const relaunch = !this.isOpen || !this.egress || !sameLaunch(this.settings.browser, this.startupBrowser);
    this.settings.browser = structuredClone(this.startupBrowser);
    if (relaunch) {
      await this.close();
      await this.launch();
    } else {
      await this.replaceContext();
    }
  }

  /** Whether --record asks for `what`. */
  private recording(what: 'trace' | 'video'): boolean {
    return this.settings.record === what || this.settings.record === 'both';
  }

  /**
   * The lease ends: writes its trace, then closes the context (its videos are finished only then)
   * and writes its videos, into `dir`. The next lease gets a fresh context either way.
   */
  async finishRecording(dir: string): Promise<{ files: string[] }> {
    const context = this.context;
    if (!context) return { files: [] };
    const files: string[] = [];
    if (this.recording('trace')) {
      await context.tracing.stop({ path: join(dir, 'trace.zip') });
      files.push('trace.zip');
      // Parts cut off when the client traced a span of its own (browser_start_tracing), oldest first.
      files.push(...await this.collectTraceParts(dir));
    }
    const videos = this.videos.splice(0);
    this.context = undefined;
    this.tabs.clear();
    await this.closeIsolated();
    await context.close();
    for (const [index, video] of videos.entries()) {
      const name = index === 0 ? 'video.webm' : `video-${index + 1}.webm`;
      await video.saveAs(join(dir, name));
      await video.delete().catch(() => {});
      files.push(name);
    }
    return { files };
  }

  /** Moves the lease trace parts kept in this worker's TMPDIR (src/tools/devtools.ts) into `dir` as trace-part-N.zip. */
  private async collectTraceParts(dir: string): Promise<string[]> {
    const tempDir = this.settings.tempDir;
    if (!tempDir) return [];
    const parts = (await readdir(tempDir).catch(() => [] as string[])).filter((name) => name.startsWith('lease-trace-')).sort();
    const names: string[] = [];
    for (const [index, part] of parts.entries()) {
      const name = `trace-part-${index + 1}.zip`;
      await copyFile(join(tempDir, part), join(dir, name));
      await rm(join(tempDir, part), { force: true });
      names.push(name);
    }
    return names;
  }

  /** Closes the context with every tab in it and opens a fresh one with the current options. */
  private async replaceContext(): Promise<void> {
    const context = this.context;
    this.context = undefined;
    this.tabs.clear();
    await this.closeIsolated();
    await context?.close();
    await this.openContext(this.browser!, this.egress!);
  }

  /** Closes the browser; safe to call twice. */
  async close(): Promise<void> {
    this.closing = true;
    const browser = this.browser;
    this.browser = undefined;
    this.context = undefined;
    this.tabs.clear();
    this.isolated.clear();
    await browser?.close().catch(() => {});
  }

  get isOpen(): boolean {
    return this.browser !== undefined && this.browser.isConnected();
  }

  /** Every page, ours or a popup, passes here before it can run anything we would miss. */
  private onPage(page: Page): void {
    this.popups?.pageArrived();
    if (this.tabs.count >= this.settings.maxPages) {
      this.blockedPopups.push(`A popup was closed: this session already has ${this.tabs.count} tabs, the most it may have ` +
        `(--max-pages ${this.settings.maxPages}) [PAGE_LIMIT]. Close a tab with browser_tabs first.`);
      void page.close().catch(() => {});
      return;
    }
    const initialized = runInitPages(page, this.settings.initPage);
    initialized.catch(() => {}); // awaited (and reported) by whoever hands the page to a tool
    this.tabs.track(page, initialized);
    const video = page.video();
    if (video) this.videos.push(video);
    page.on('console', (message) => {
      if (message.type() === 'error') this.onPageLog?.({ level: 'error', kind: 'console', text: message.text(), url: page.url() });
    });
    page.on('pageerror', (error) => this.onPageLog?.({ level: 'error', kind: 'pageerror', text: error.message, url: page.url() }));
    page.on('download', (download) => this.outputs.download(download));
    page.on('request', (request) => {
      if (request.isNavigationRequest()) this.outputs.navigationRequested(request);
    });
    page.on('crash', () => this.onCrash(page));
  }

  /**
   * A tab whose renderer died (out of memory, a crash) answers nothing again: it is closed, so the
   * next call acts in another tab or a fresh one, and the client hears of it in the log and in
   * the next result.
   */
  private onCrash(page: Page): void {
    const url = page.url();
    this.onPageLog?.({ level: 'critical', kind: 'crash', text: 'the tab crashed', url });
    this.crashNotices.push(`The tab showing ${url.slice(0, 300)} crashed (its renderer process died) and was closed; its page state was lost.`);
    void page.close().catch(() => {});
  }

  /** The selected tab; launches a browser or opens a tab when there is none. */
  private launching?: Promise<void>;

  async currentPage(): Promise<Page> {
    // Two calls arriving after browser_close share one launch rather than starting two browsers.
    if (!this.isOpen) await (this.launching ??= this.launch().finally(() => { this.launching = undefined; }));
    const page = this.tabs.selectedOpen() ?? this.tabs.select(this.tabs.newest() ?? await this.context!.newPage());
    return this.ready(page);
  }

  currentPageOrUndefined(): Page | undefined {
    return this.tabs.selectedOpen();
  }

  /** Open tabs in the order they opened. */
  pages(): Page[] {
    return this.tabs.open();
  }

  /** Opens a tab and selects it, in the isolated context of that name if one is given; refuses past --max-pages. */
  async newTab(isolatedContext?: string): Promise<Page> {
    const isolated = isolatedContext !== undefined && isolatedContext !== 'default';
    if (!this.isOpen && !isolated) return this.currentPage();
    if (!this.isOpen) await this.currentPage();
    const open = this.pages().length;
    if (open >= this.settings.maxPages) {
      throw new FleetError('PAGE_LIMIT', `This session already has ${open} tabs, the most it may have (--max-pages ${this.settings.maxPages}). ` +
        'Close one with browser_tabs action "close" first.');
    }
    let context = this.context!;
    if (isolated) {
      let named = this.isolated.get(isolatedContext);
      if (!named) {
        named = this.newConfiguredContext(this.browser!, this.egress!, false);
        this.isolated.set(isolatedContext, named);
        named.catch(() => this.isolated.delete(isolatedContext));
      }
      context = await named;
    }
    return this.ready(this.tabs.select(await context.newPage()));
  }

  /** Selects tab `index` and brings it to the front. */
  async selectTab(index: number): Promise<Page> {
    const page = this.pages()[index];
    if (!page) throw new FleetError('TOOL_FAILED', `Tab ${index} not found: ${this.tabs.describeCount()}.`);
    await page.bringToFront();
    return this.tabs.select(page);
  }

  /** Closes tab `index` (the selected one when omitted); returns its URL. */
  async closeTab(index?: number): Promise<string> {
    const page = index === undefined ? this.currentPageOrUndefined() : this.pages()[index];
    if (!page) throw new FleetError('TOOL_FAILED', index === undefined ? 'There is no open tab to close.' : `Tab ${index} not found: ${this.tabs.describeCount()}.`);
    const url = page.url();
    await page.close();
    return url;
  }

  /** PAGE_LIMIT messages of popups closed since the previous call. */
  takeBlockedPopups(): string[] {
    return this.blockedPopups.splice(0);
  }

  /** Every open tab for the stuck-tab probe: whether it is selected, whether a dialog holds it. */
  tabStates(): ProbedTab[] {
    return this.tabs.states();
  }

  /** Modal states open on the selected tab. */
  modalStates(): ModalState[] {
    const page = this.currentPageOrUndefined();
    return page ? this.tabs.recordsOf(page).modals.list() : [];
  }

  /** Forgets `state` once a tool handled it. */
  clearModalState(state: ModalState): void {
    for (const page of this.pages()) this.tabs.recordsOf(page).modals.clear(state);
  }

  /** Console entries of `page`: since its last navigation, or all with `all`. */
  consoleMessages(page: Page, options: { all?: boolean } = {}): ConsoleEntry[] {
    return this.tabs.recordsOf(page).console.messages(options.all);
  }

  /** Requests of `page` since its last navigation, or since it opened with `all`. */
  requests(page: Page, options: { all?: boolean } = {}): RequestEntry[] {
    const network = this.tabs.recordsOf(page).network;
    return options.all ? network.all() : network.sinceNavigation();
  }

  /** Request number `index` of `page`, while still recorded. */
  request(page: Page, index: number): RequestEntry | undefined {
    return this.tabs.recordsOf(page).network.byIndex(index);
  }

  /** Writes a file the client asked for, inside the session's output directory only. */
  async writeOutput(filename: string, data: string | Buffer): Promise<string> {
    const path = confinePath(filename, [this.settings.outputDir]);
    await mkdir(dirname(path), { recursive: true });
    // Text saved instead of answered (snapshots, console, requests) hides secrets as answers do.
    await writeFile(path, typeof data === 'string' ? this.redact(data) : data);
    this.outputs.wrote(path);
    return path;
  }

  /** A file the client asks the browser to read: inside the output directory or --upload-root only. */
  inputPath(path: string): string {
    return confinePath(path, [this.settings.outputDir, ...(this.settings.uploadRoot ? [this.settings.uploadRoot] : [])]);
  }

  /**
   * browser_open: checks the new options can launch and name a known device, then opens a fresh
   * context with them, or relaunches the browser when headless changes.
   */
  async reopen(changes: BrowserChoices): Promise<void> {
    const browser = this.settings.browser;
    const { width, height, ...contextChanges } = changes;
    const sized = width !== undefined || height !== undefined;
    const current = this.viewport();
    const next: BrowserOptions = {
      ...browser,
      ...Object.fromEntries(Object.entries(contextChanges).filter(([, value]) => value !== undefined)),
      // A new device brings its own viewport unless a size is given too.
      viewport: sized ? { width: width ?? current.width, height: height ?? current.height } : changes.device ? undefined : browser.viewport,
    };
    launchableExecutable(next);
    contextOptionsOf(next);
    if (this.isOpen && this.egress && sameLaunch(browser, next)) {
      // Only context options change: a fresh context is enough, the process stays.
      Object.assign(browser, next);
      await this.replaceContext();
      return;
    }
    await this.close();
    Object.assign(browser, next);
    await this.launch();
  }

  /** The aria snapshot of the selected tab or of one element, untruncated. */
  async captureSnapshot(options: { target?: string; depth?: number; boxes?: boolean }): Promise<string> {
    const page = await this.currentPage();
    const snapshotOptions = { mode: 'ai' as const, depth: options.depth, boxes: options.boxes };
    return options.target
      ? (await this.resolveTarget(options.target)).ariaSnapshot(snapshotOptions)
      : page.ariaSnapshot(snapshotOptions);
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

  /** Runs `action` on the selected tab and waits for what it started; see workers/settle.ts. */
  async settleAfter(action: () => Promise<unknown>, deadline = Date.now() + this.settings.timeoutAction, options?: SettleOptions): Promise<void> {
    const page = await this.currentPage();
    await settle(page, this.tabs.recordsOf(page), this.popups, action, deadline, options);
  }

  /** The page state the serializer prints after a tool ran. */
  async renderState(snapshot: { include: boolean; target?: string; depth?: number; boxes?: boolean }): Promise<RenderState> {
    const crashes = this.crashNotices.splice(0);
    const page = this.currentPageOrUndefined();
    if (!page) return crashes.length ? { notices: crashes } : {};
    const records = this.tabs.recordsOf(page);
    // Titles and the snapshot are independent round trips to the browser: run them together.
    const [tabs, text] = await Promise.all([
      Promise.all(this.pages().map(async (p, index) => ({ index, current: p === page, url: p.url(), title: await this.tabs.titleOf(p) }))),
      snapshot.include ? this.tabs.unlessModal(page, () => this.captureSnapshot(snapshot)) : undefined,
    ]);
    const state: RenderState = { page: { url: page.url(), title: tabs.find((tab) => tab.current)?.title ?? records.title }, tabs };
    const fresh = records.console.takeNew(this.settings.consoleLevel);
    if (fresh.length) state.newConsole = fresh;
    if (text !== undefined) state.snapshot = truncateSnapshot(text, this.settings.snapshotMaxChars);
    const modals = records.modals.list();
    if (modals.length) state.modals = describeModalStates(modals);
    if (crashes.length) state.notices = crashes;
    return state;
  }

  /** The selected tab as a JPEG at half its size, for the dashboard; never opens a tab. */
  async thumbnail(quality: number): Promise<{ jpeg?: string }> {
    const page = this.currentPageOrUndefined();
    if (!page || page.isClosed()) return {};
    const viewport = page.viewportSize() ?? this.viewport();
    const cdp = await page.context().newCDPSession(page);
    try {
      // Page.captureScreenshot scales in the renderer: half the pixels to encode and send.
      const { data } = await cdp.send('Page.captureScreenshot', {
        format: 'jpeg', quality, clip: { x: 0, y: 0, width: viewport.width, height: viewport.height, scale: 0.5 },
      });
      return { jpeg: data };
    } finally {
      await cdp.detach().catch(() => {});
    }
  }

  async status(): Promise<WorkerStatus> {
    const page = this.currentPageOrUndefined();
    const title = await page?.title().catch(() => '') ?? '';
    return { browserPid: this.browserPid, pages: this.pages().length, url: page?.url() ?? '', title };
  }
}
