import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { prepareOutputRoot } from '../../src/security/output-dir.ts';

const base = mkdtempSync(join(tmpdir(), 'bf-outroot-'));
after(() => rmSync(base, { recursive: true, force: true }));

test('a new output root is created private to this user', () => {
  const root = join(base, 'new', 'root');
  prepareOutputRoot(root);
  assert.equal(statSync(root).mode & 0o777, 0o700);
});

test('an existing output root readable by others is made private', () => {
  const root = join(base, 'open');
  mkdirSync(root);
  chmodSync(root, 0o755);
  prepareOutputRoot(root);
  assert.equal(statSync(root).mode & 0o777, 0o700);
});

test('a symlink as output root is refused', () => {
  const real = join(base, 'real');
  mkdirSync(real);
  const link = join(base, 'link');
  symlinkSync(real, link);
  assert.throws(() => prepareOutputRoot(link), /--output-dir .* is not a plain directory/);
});

test('an output root owned by another user is refused', () => {
  // As root, hand a directory to "nobody"; as anyone else, / already belongs to another user.
  let root = '/';
  if (process.getuid?.() === 0) {
    root = join(base, 'theirs');
    mkdirSync(root);
    chownSync(root, 65534, 65534);
  }
  assert.throws(() => prepareOutputRoot(root), /belongs to user \d+, not to this server's user/);
});
