import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { FleetError } from '../errors.ts';
import type { ContentBlock } from '../ipc/protocol.ts';

// The files a browser leaves in its output directory (screenshots and PDFs saved with `filename`,
// traces, storage state, downloads) as MCP resources, so that a client on another machine can
// fetch what it made: browser-fleet://browser/<handle>/<path inside the directory>.

/** The prefix of every file resource's URI. */
export const FILE_URI_SCHEME = 'browser-fleet://browser/';
/** Largest file resources/read answers, bytes; bigger ones are refused with their size. */
export const MAX_RESOURCE_BYTES = 32 * 1024 * 1024;
/** Most files listed per browser, and how deep into its directory. */
const MAX_LISTED = 500;
const MAX_DEPTH = 6;

const MIME_TYPES: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf', '.json': 'application/json', '.zip': 'application/zip', '.webm': 'video/webm', '.mp4': 'video/mp4',
  '.txt': 'text/plain', '.log': 'text/plain', '.md': 'text/markdown', '.yml': 'text/yaml', '.yaml': 'text/yaml',
  '.html': 'text/html', '.htm': 'text/html', '.csv': 'text/csv', '.xml': 'application/xml', '.js': 'text/javascript', '.css': 'text/css',
};

export function mimeTypeOf(file: string): string {
  return MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function isText(mimeType: string): boolean {
  return mimeType.startsWith('text/') || mimeType === 'application/json' || mimeType === 'application/xml' || mimeType === 'image/svg+xml';
}

/** The resource URI of `file` (a path relative to the output directory) of browser `handle`. */
export function fileUri(handle: string, file: string): string {
  // A lone surrogate (written as U+FFFD on disk) becomes U+FFFD here too, so every name gets a URI.
  const wellFormed = (part: string) => part.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return FILE_URI_SCHEME + [handle, ...file.split(sep)].map((part) => encodeURIComponent(wellFormed(part))).join('/');
}

/** The handle and relative path a resource URI names, or undefined when it is not one of ours. */
export function parseFileUri(uri: string): { handle: string; file: string } | undefined {
  if (!uri.startsWith(FILE_URI_SCHEME)) return undefined;
  let segments: string[];
  try {
    segments = uri.slice(FILE_URI_SCHEME.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const [handle, ...path] = segments;
  if (!handle || path.length === 0 || path.some((s) => s === '' || s === '.' || s === '..' || s.includes(sep) || s.includes('\0'))) return undefined;
  return { handle, file: path.join(sep) };
}

/** A tool result's new files as resource links the client can read (resources/read). */
export function resourceLinks(handle: string, files: string[]): ContentBlock[] {
  return files.map((file) => ({ type: 'resource_link', uri: fileUri(handle, file), name: file, mimeType: mimeTypeOf(file) }));
}

/** One listed file, as resources/list shows it. */
export interface FileResource {
  uri: string;
  name: string;
  mimeType: string;
  size: number;
}

/** The regular files under `dir` (no symbolic links followed), at most MAX_LISTED. */
export async function listFiles(handle: string, dir: string): Promise<FileResource[]> {
  const found: FileResource[] = [];
  const walk = async (at: string, depth: number): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (found.length >= MAX_LISTED) return;
      const path = join(at, entry.name);
      if (entry.isDirectory() && depth < MAX_DEPTH) await walk(path, depth + 1);
      else if (entry.isFile()) {
        const file = relative(dir, path);
        const size = (await lstat(path).catch(() => undefined))?.size ?? 0;
        found.push({ uri: fileUri(handle, file), name: file, mimeType: mimeTypeOf(file), size });
      }
    }
  };
  await walk(dir, 0);
  return found;
}

/** One file's contents as resources/read returns them: text, or Base64 for a binary file. */
export type FileContents = { uri: string; mimeType: string; text: string } | { uri: string; mimeType: string; blob: string };

/** The contents of `file` under `dir`. */
export async function readLeaseFile(dir: string, file: string, uri: string): Promise<FileContents> {
  const notFound = () => new FleetError('BROWSER_NOT_FOUND', `Resource ${uri} not found: no such file, or its browser has ended. resources/list shows what there is.`);
  const path = join(dir, file);
  // Nothing outside the directory, whatever links inside it say.
  const [root, real] = await Promise.all([realpath(dir).catch(() => undefined), realpath(path).catch(() => undefined)]);
  if (!root || !real || !(real === root || real.startsWith(root + sep))) throw notFound();
  const info = await lstat(real).catch(() => undefined);
  if (!info?.isFile()) throw notFound();
  if (info.size > MAX_RESOURCE_BYTES) {
    throw new FleetError('PAYLOAD_TOO_LARGE', `Resource ${uri} is ${Math.round(info.size / 1048576)} MB, more than the ${MAX_RESOURCE_BYTES / 1048576} MB resources/read answers.`);
  }
  const data = await readFile(real);
  const mimeType = mimeTypeOf(file);
  return isText(mimeType) ? { uri, mimeType, text: data.toString('utf8') } : { uri, mimeType, blob: data.toString('base64') };
}
