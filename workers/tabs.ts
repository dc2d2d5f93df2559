import type { Page } from 'playwright-core';
import { ConsoleRecorder } from './console-recorder.ts';
import { ModalStates } from './modal-states.ts';
import { NetworkRecorder } from './network-recorder.ts';
import { RendererRequests } from './renderer-requests.ts';
import type { ProbedTab } from './stuck-page.ts';

/** What is recorded about each page from the moment it opens. */
export interface PageRecords {
  console: ConsoleRecorder;
  network: NetworkRecorder;
  modals: ModalStates;
  /** Requests the page's renderer starts, seen without waiting for the interception layer. */
  requests: RendererRequests;
  /** The title when the page last answered; a page behind a dialog cannot. */
  title: string;
  /** --init-page modules run on this page; the page is handed to a tool only after them. */
  initialized: Promise<void>;
}

/** Longest wait for a tab's title when rendering a result, ms. */
const TITLE_WAIT_MS = 500;

function newRecords(page: Page, initialized: Promise<void> = Promise.resolve()): PageRecords {
  return { console: new ConsoleRecorder(page), network: new NetworkRecorder(page), modals: new ModalStates(page), requests: new RendererRequests(page), title: '', initialized };
}

/**
 * A session's tabs in the order they opened, the selected one, and the records of each page.
 * A tab that closes leaves the list, and when it was selected its neighbour is.
 */
export class Tabs {
  private list: Page[] = [];
  private selected?: Page;
  private readonly records = new WeakMap<Page, PageRecords>();

  /** Tabs tracked, closed ones whose close has not arrived yet included. */
  get count(): number {
    return this.list.length;
  }

  /** Starts tracking `page`, with its recorders attached before it can run anything. */
  track(page: Page, initialized: Promise<void>): void {
    this.records.set(page, newRecords(page, initialized));
    this.list.push(page);
    page.on('close', () => {
      const index = this.list.indexOf(page);
      if (index === -1) return;
      this.list.splice(index, 1);
      if (this.selected === page) this.selected = this.list[Math.min(index, this.list.length - 1)];
    });
  }

  /** Forgets every tab (their context is closed or gone). */
  clear(): void {
    this.list = [];
    this.selected = undefined;
  }

  /** The records of `page`, attached now if it was never tracked. */
  recordsOf(page: Page): PageRecords {
    let records = this.records.get(page);
    if (!records) {
      records = newRecords(page);
      this.records.set(page, records);
    }
    return records;
  }

  select(page: Page): Page {
    this.selected = page;
    return page;
  }

  /** The selected tab while it is open. */
  selectedOpen(): Page | undefined {
    return this.selected && !this.selected.isClosed() ? this.selected : undefined;
  }

  /** The tab opened last, open or not. */
  newest(): Page | undefined {
    return this.list.at(-1);
  }

  /** Open tabs in the order they opened. */
  open(): Page[] {
    return this.list.filter((page) => !page.isClosed());
  }

  /** "there are N tabs, numbered 0 to N-1", for errors that name a tab index. */
  describeCount(): string {
    const count = this.open().length;
    return count ? `there are ${count} tabs, numbered 0 to ${count - 1}` : 'there are no open tabs';
  }

  /** `work`, unless a modal state opens on `page` first (then undefined: a dialog would stall it). */
  async unlessModal<T>(page: Page, work: () => Promise<T>): Promise<T | undefined> {
    const modals = this.recordsOf(page).modals;
    if (modals.list().length) return undefined;
    const next = modals.next();
    try {
      return await Promise.race([work(), next.opened.then(() => undefined)]);
    } finally {
      next.dispose();
    }
  }

  /** `page`'s title, or the last one it gave while a dialog or a script in a loop holds it. */
  async titleOf(page: Page): Promise<string> {
    const records = this.recordsOf(page);
    if (records.modals.blocksScripts) return records.title;
    // A tab stuck in script never answers; its last known title must not hang every later result.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), TITLE_WAIT_MS);
    });
    const title = await Promise.race([this.unlessModal(page, () => page.title()).catch(() => undefined), late]);
    clearTimeout(timer);
    records.title = title ?? records.title;
    return records.title;
  }

  /** Every open tab for the stuck-tab probe: whether it is selected, whether a dialog holds it. */
  states(): ProbedTab[] {
    const selected = this.selectedOpen();
    return this.open().map((page) => ({ page, selected: page === selected, blockedByDialog: this.recordsOf(page).modals.blocksScripts }));
  }
}
