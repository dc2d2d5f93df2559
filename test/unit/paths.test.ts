import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FleetError } from '../../src/errors.ts';
import { confinePath } from '../../workers/paths.ts';

describe('confinePath', () => {
  let base: string;
  let root: string;
  let uploads: string;
  let outside: string;

  before(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'bf-paths-')));
    root = join(base, 'session');
    uploads = join(base, 'uploads');
    outside = join(base, 'outside');
    for (const dir of [root, uploads, outside, join(root, 'sub')]) mkdirSync(dir, { recursive: true });
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    writeFileSync(join(uploads, 'doc.txt'), 'doc');
    symlinkSync(outside, join(root, 'escape-dir'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'escape-file'));
    symlinkSync(join(outside, 'not-yet.txt'), join(root, 'dangling'));
    symlinkSync(join(root, 'sub'), join(root, 'inner-link'));
    symlinkSync(join(root, 'loop'), join(root, 'loop'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  const refused = (requested: string, roots = [root], pattern?: RegExp) => {
    assert.throws(() => confinePath(requested, roots), (error: unknown) => {
      assert.ok(error instanceof FleetError);
      assert.equal(error.code, 'NOT_ALLOWED');
      if (pattern) assert.match(error.message, pattern);
      return true;
    }, requested);
  };

  test('a relative name resolves inside the first root, new subdirectories included', () => {
    assert.equal(confinePath('shot.png', [root]), join(root, 'shot.png'));
    assert.equal(confinePath('new/dir/shot.png', [root]), join(root, 'new/dir/shot.png'));
    assert.equal(confinePath('sub/../shot.png', [root]), join(root, 'shot.png'), '.. that stays inside is fine');
    assert.equal(confinePath('..name.png', [root]), join(root, '..name.png'), 'a name starting with dots is not ..');
    assert.equal(confinePath(join(root, 'abs.png'), [root]), join(root, 'abs.png'), 'an absolute path inside');
  });

  test('.. escapes and absolute paths outside are refused', () => {
    refused('../x.png', [root], /outside the session directory/);
    refused('sub/../../x.png');
    refused('../outside/secret.txt');
    refused(join(outside, 'x.png'));
    refused('/etc/passwd');
  });

  test('symlinks that lead out are refused, dangling and looping ones too', () => {
    refused('escape-dir/x.png');
    refused('escape-file');
    refused('dangling', [root], /broken or looping symlink/);
    refused('loop/x.png');
  });

  test('a symlink that stays inside is followed to its real path', () => {
    assert.equal(confinePath('inner-link/x.png', [root]), join(root, 'sub', 'x.png'));
  });

  test('NUL bytes, empty names and the root itself are refused', () => {
    refused('a\0.png', [root], /NUL/);
    refused('', [root], /empty/);
    refused('.');
    refused(root);
  });

  test('a second root (upload root) admits its own files, nothing else', () => {
    assert.equal(confinePath(join(uploads, 'doc.txt'), [root, uploads]), join(uploads, 'doc.txt'));
    refused(join(outside, 'secret.txt'), [root, uploads], /session directory or the upload root/);
    refused(join(uploads, 'doc.txt'), [root]);
  });

  test('an upload root that does not exist admits nothing', () => {
    refused(join(base, 'missing', 'doc.txt'), [root, join(base, 'missing')]);
  });
});
