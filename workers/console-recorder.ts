import type { ConsoleMessage, Page } from 'playwright-core';
import { CONSOLE_LEVELS, type ConsoleEntry } from '../src/tools/tool.ts';

/** Most entries kept per page; older ones are dropped first. */
const MAX_ENTRIES = 1000;
/** Longest line of "New console messages" in a tool result. */
const MAX_NEW_LINE = 500;

/** Severity of a console message type, as @playwright/mcp groups them. */
export function consoleLevel(type: string): ConsoleEntry['level'] {
  switch (type) {
    case 'assert':
    case 'error':
      return 'error';
    case 'warning':
      return 'warning';
    case 'clear': case 'debug': case 'endGroup': case 'profile': case 'profileEnd':
    case 'startGroup': case 'startGroupCollapsed': case 'trace':
      return 'debug';
    default:
      return 'info';
  }
}

function fromMessage(message: ConsoleMessage): ConsoleEntry {
  const { url, lineNumber } = message.location();
  const where = url ? ` @ ${url}:${lineNumber}` : '';
  return { level: consoleLevel(message.type()), line: `[${message.type().toUpperCase()}] ${message.text()}${where}` };
}

function fromPageError(error: Error): ConsoleEntry {
  return { level: 'error', line: `[ERROR] ${error.stack || error.message}` };
}

/**
 * Console messages and uncaught errors of one page, recorded from the moment the page opened
 * (attached in the context's `page` event, before the page runs anything we could miss).
 */
export class ConsoleRecorder {
  private entries: ConsoleEntry[] = [];
  /** Where the current document's messages start. */
  private navigationMark = 0;
  /** Entries already shown as new in a tool result. */
  private reported = 0;

  constructor(page: Page) {
    page.on('console', (message) => this.add(fromMessage(message)));
    page.on('pageerror', (error) => this.add(fromPageError(error)));
    // The main document's response is the last moment before the new document can log; a
    // same-document navigation (pushState) has no request and keeps the messages, as it should.
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && response.frame() === page.mainFrame()) this.navigationMark = this.entries.length;
    });
  }

  private add(entry: ConsoleEntry): void {
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) {
      this.entries.shift();
      this.navigationMark = Math.max(0, this.navigationMark - 1);
      this.reported = Math.max(0, this.reported - 1);
    }
  }

  /** Messages since the last navigation, or all since the page opened. */
  messages(all = false): ConsoleEntry[] {
    return all ? [...this.entries] : this.entries.slice(this.navigationMark);
  }

  /** Lines logged since the previous call at `level` or more severe, for a tool result; at most `limit`, newest kept. */
  takeNew(level: ConsoleEntry['level'] = 'debug', limit = 20): string[] {
    const threshold = CONSOLE_LEVELS.indexOf(level);
    const fresh = this.entries.slice(this.reported).filter((entry) => CONSOLE_LEVELS.indexOf(entry.level) <= threshold);
    this.reported = this.entries.length;
    const lines = fresh.map((entry) => entry.line.length > MAX_NEW_LINE ? `${entry.line.slice(0, MAX_NEW_LINE)}…` : entry.line);
    if (lines.length <= limit) return lines;
    return [`… ${lines.length - limit} earlier messages (see browser_console_messages)`, ...lines.slice(-limit)];
  }
}
