import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Recordings } from '../../src/supervisor/recordings.ts';

test('recordings past the size quota go oldest first, and the newest that fit stay', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bf-recordings-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const recordings = new Recordings(root, 60_000, 2500);
  for (const id of ['first', 'second', 'third']) {
    writeFileSync(join(recordings.prepare(id), 'trace.zip'), Buffer.alloc(1000));
    recordings.finish(id, `session-${id}`, 'owner');
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct end times
  }
  assert.deepEqual(recordings.list().map((r) => r.id), ['third', 'second'], 'the oldest went when the third passed 2500 bytes');
  assert.equal(existsSync(join(root, 'first')), false);
  assert.equal(recordings.find('session-second', 'trace')?.meta.id, 'second');
  assert.equal(recordings.find('session-second', 'video'), undefined);
});

test('recordings past their retention are removed, and a browser that wrote nothing leaves no recording', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bf-recordings-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const recordings = new Recordings(root, 1000, 1e9);
  writeFileSync(join(recordings.prepare('old'), 'trace.zip'), 'x');
  recordings.finish('old', undefined, undefined);
  recordings.prepare('empty');
  assert.equal(recordings.finish('empty', undefined, undefined), undefined);
  assert.equal(existsSync(join(root, 'empty')), false);
  recordings.prune(Date.now() + 500);
  assert.equal(recordings.list().length, 1);
  recordings.prune(Date.now() + 1500);
  assert.equal(recordings.list().length, 0);
});
