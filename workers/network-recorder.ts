import type { Page, Request } from 'playwright-core';
import type { RequestEntry } from '../src/tools/tool.ts';

/** Most requests kept per page; older ones are dropped first (their numbers are not reused). */
const MAX_ENTRIES = 1000;

function isMainNavigation(page: Page, request: Request): boolean {
  try {
    return request.isNavigationRequest() && request.frame() === page.mainFrame() && !request.redirectedFrom();
  } catch {
    // Service worker requests have no frame.
    return false;
  }
}

/**
 * Requests of one page, numbered from 1, recorded from the moment the page opened. Responses
 * and failures are read from the Request itself when listed.
 */
export class NetworkRecorder {
  private entries: RequestEntry[] = [];
  private lastIndex = 0;
  /** Requests numbered above this belong to the current document. */
  private navigationIndex = 0;

  constructor(page: Page) {
    page.on('request', (request) => {
      if (isMainNavigation(page, request)) this.navigationIndex = this.lastIndex;
      this.entries.push({ index: ++this.lastIndex, request });
      if (this.entries.length > MAX_ENTRIES) this.entries.shift();
    });
  }

  /** Requests since the main document last navigated (that document's own request included). */
  sinceNavigation(): RequestEntry[] {
    return this.entries.filter((entry) => entry.index > this.navigationIndex);
  }

  /** Every request still kept, since the page opened. */
  all(): RequestEntry[] {
    return [...this.entries];
  }

  /** Request number `index`, unless it was dropped for age. */
  byIndex(index: number): RequestEntry | undefined {
    return this.entries.find((entry) => entry.index === index);
  }
}
