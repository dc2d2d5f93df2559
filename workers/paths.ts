import { lstatSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { FleetError } from '../src/errors.ts';

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `path` really points: the real path of its deepest existing part (every symlink on the
 * way followed) joined with the part that does not exist yet. A dangling symlink or a loop
 * throws, since writing through it would land wherever it points.
 */
function realTarget(path: string): string {
  let existing = path;
  while (!exists(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  return resolve(realpathSync(existing), relative(existing, path));
}

function denied(requested: string, why: string): FleetError {
  return new FleetError('NOT_ALLOWED', `File access denied: ${JSON.stringify(requested.slice(0, 300))} ${why}`);
}

/**
 * Resolves `requested` (relative to the first root, or absolute) and returns its real path, or
 * throws NOT_ALLOWED unless it lies strictly inside one of `roots` once every symlink is
 * followed. Refuses `..` escapes, absolute paths elsewhere, symlinks (dangling ones too) that lead
 * out, NUL bytes, and a root itself. Writers should write to the returned path.
 */
export function confinePath(requested: string, roots: string[]): string {
  if (typeof requested !== 'string' || requested.trim() === '') throw denied(String(requested), 'is empty');
  if (requested.includes('\0')) throw denied(requested, 'contains a NUL byte');
  const [primary] = roots;
  if (!primary) throw denied(requested, 'cannot be used: no directory is configured for files');
  const candidate = resolve(primary, requested);
  let real: string;
  try {
    real = realTarget(candidate);
  } catch {
    throw denied(requested, 'goes through a broken or looping symlink');
  }
  for (const root of roots) {
    let realRoot: string;
    try {
      realRoot = realpathSync(root);
    } catch {
      continue; // an upload root that does not exist allows nothing
    }
    if (isInside(realRoot, real)) return real;
  }
  const where = roots.length > 1 ? 'the session directory or the upload root' : 'the session directory';
  throw denied(requested, `is outside ${where}`);
}
