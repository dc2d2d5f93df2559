import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import type { Download, Request } from 'playwright-core';

/** Longest a call's result waits for downloads still being written, ms. */
const DOWNLOAD_WAIT_MS = 5000;
/**
 * Longest a call's result waits for a download to begin after a navigation request of a tab
 * that did not navigate (what a download looks like until Chromium says it is one), ms.
 */
const DOWNLOAD_BEGIN_MS = 500;

/** A name a download may be saved under: no directories, no control characters, not empty. */
function safeFileName(suggested: string): string {
  // eslint-disable-next-line no-control-regex
  const name = basename(suggested.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return name && name !== '.' && name !== '..' ? name : 'download';
}

/**
 * The files a lease leaves in its output directory, as its client learns of them: every file a
 * tool wrote (screenshots and PDFs with `filename`, traces, storage state) and every download
 * the page triggered, saved under `downloads/`. Each call's result lists those that appeared
 * since the previous call (the front turns them into resource links the client can read).
 */
export class SessionOutputs {
  private written: string[] = [];
  private notes: string[] = [];
  private readonly downloading = new Set<Promise<void>>();
  /** Navigation requests of tabs since the last take: one that led nowhere may be a download still to begin. */
  private navigations: Request[] = [];
  /** URLs of downloads that began since the last take. */
  private begun = new Set<string>();
  private onBegin?: () => void;

  constructor(private readonly outputDir: () => string) {}

  /** A tool wrote `path` (absolute, inside the output directory). */
  wrote(path: string): void {
    this.written.push(relative(this.outputDir(), path));
  }

  /** A tab asked for a document (a link, a form, a location change). */
  navigationRequested(request: Request): void {
    this.navigations.push(request);
  }

  /** Saves a download of the page under downloads/, never overwriting an earlier one. */
  download(download: Download): void {
    this.begun.add(download.url());
    this.onBegin?.();
    const dir = join(this.outputDir(), 'downloads');
    const name = safeFileName(download.suggestedFilename());
    const ext = extname(name);
    let file = name;
    for (let n = 2; existsSync(join(dir, file)); n++) file = `${name.slice(0, name.length - ext.length)} (${n})${ext}`;
    const path = join(dir, file);
    const saving = (async () => {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await download.saveAs(path);
        const { size } = await stat(path);
        this.wrote(path);
        this.notes.push(`Downloaded "${name}" (${size} bytes) from ${download.url().slice(0, 300)}, saved as downloads/${file}`);
      } catch (error) {
        this.notes.push(`The download of "${name}" failed: ${(error as Error).message.split('\n')[0]}`);
      }
    })();
    this.downloading.add(saving);
    void saving.finally(() => this.downloading.delete(saving));
  }

  /**
   * Lets the call that started a download report it: waits (within `budgetMs`) for a download to
   * begin after a navigation request that did not navigate its tab, then for downloads still being
   * written.
   */
  async settle(budgetMs: number): Promise<void> {
    const pending = this.navigations.filter((request) => !this.begun.has(request.url()) && !request.redirectedTo() && request.frame().url() !== request.url());
    this.navigations = [];
    if (pending.length > 0 && budgetMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(budgetMs, DOWNLOAD_BEGIN_MS));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.onBegin = () => {
          if (pending.every((request) => this.begun.has(request.url()))) done();
        };
      });
      this.onBegin = undefined;
    }
    if (this.downloading.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, Math.min(budgetMs, DOWNLOAD_WAIT_MS))); });
    await Promise.race([Promise.all(this.downloading), cap]);
    clearTimeout(timer);
  }

  /** What appeared since the last take: files (relative paths) and lines about downloads. */
  take(): { files: string[]; downloads: string[] } {
    this.begun.clear();
    return { files: this.written.splice(0), downloads: this.notes.splice(0) };
  }

  /** Forgets everything (the lease ended; its directory goes with it). */
  clear(): void {
    this.written = [];
    this.notes = [];
    this.navigations = [];
    this.begun.clear();
  }
}
