import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { FleetError } from '../src/errors.ts';

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
function realish(path: string): string {
  let existing = path;
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  return resolve(realpathSync(existing), relative(existing, path));
}

/**
 * Resolves `requested` (relative to the first root) and refuses it unless it stays inside one of
 * `roots` after following symlinks: `..` and symlink escapes are NOT_ALLOWED errors.
 */
export function confinePath(requested: string, roots: string[]): string {
  const [primary] = roots;
  const candidate = resolve(primary, requested);
  const real = realish(candidate);
  for (const root of roots) {
    if (isInside(realish(root), real)) return candidate;
  }
  throw new FleetError('NOT_ALLOWED', `File access denied: ${requested} is outside the allowed directories`);
}
