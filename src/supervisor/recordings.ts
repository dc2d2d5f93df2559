import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What is kept of one recorded browser, in `meta.json` beside its files. */
export interface RecordingMeta {
  /** The browser lease's id: the recording's own name. */
  id: string;
  /** The MCP session whose browser it was, if any. */
  sessionId: string | null;
  /** The owner's token fingerprint (only the owner, or an admin, may download it). */
  owner: string | null;
  endedAt: string;
  /** File names in the recording's directory: trace.zip, video.webm, video-2.webm, ... */
  files: string[];
  sizeBytes: number;
}

/**
 * Finished recordings under `root` (one directory per browser), kept for `retentionMs` after
 * their browser ended and within `maxBytes` all together, oldest removed first.
 */
export class Recordings {
  constructor(private readonly root: string, private readonly retentionMs: number, private readonly maxBytes: number) {}

  /** A fresh directory for the recording of lease `id`, for the worker to write into. */
  prepare(id: string): string {
    const dir = join(this.root, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /** Notes what the worker wrote into `id`'s directory; drops an empty one. Returns the meta, if any was written. */
  finish(id: string, sessionId: string | undefined, owner: string | undefined): RecordingMeta | undefined {
    const dir = join(this.root, id);
    const files = this.filesOf(dir);
    if (files.length === 0) {
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
    const sizeBytes = files.reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
    const meta: RecordingMeta = { id, sessionId: sessionId ?? null, owner: owner ?? null, endedAt: new Date().toISOString(), files, sizeBytes };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    this.prune();
    return meta;
  }

  /** Every finished recording, newest first. */
  list(): RecordingMeta[] {
    const metas: RecordingMeta[] = [];
    let entries;
    try {
      entries = readdirSync(this.root, { withFileTypes: true });
    } catch {
      return metas; // nothing recorded yet
    }
    for (const name of entries.filter((e) => e.isDirectory()).map((e) => e.name)) {
      try {
        metas.push(JSON.parse(readFileSync(join(this.root, name, 'meta.json'), 'utf8')) as RecordingMeta);
      } catch {
        // being written, or not a recording
      }
    }
    return metas.sort((a, b) => b.endedAt.localeCompare(a.endedAt));
  }

  /** The newest recording of session or browser `id` with a file of `kind`, and that file's path. */
  find(id: string, kind: 'trace' | 'video'): { meta: RecordingMeta; path: string } | undefined {
    for (const meta of this.list()) {
      if (meta.id !== id && meta.sessionId !== id) continue;
      const file = meta.files.find((f) => (kind === 'trace' ? f === 'trace.zip' : f.endsWith('.webm')));
      if (file) return { meta, path: join(this.root, meta.id, file) };
    }
    return undefined;
  }

  /** Removes recordings past their retention, then the oldest until the rest fit in `maxBytes`. */
  prune(now = Date.now()): void {
    let total = 0;
    for (const meta of this.list()) {
      const expired = now - Date.parse(meta.endedAt) >= this.retentionMs;
      if (expired || total + meta.sizeBytes > this.maxBytes) rmSync(join(this.root, meta.id), { recursive: true, force: true });
      else total += meta.sizeBytes;
    }
  }

  private filesOf(dir: string): string[] {
    try {
      return readdirSync(dir).filter((f) => f !== 'meta.json' && statSync(join(dir, f)).isFile()).sort();
    } catch {
      return [];
    }
  }
}
