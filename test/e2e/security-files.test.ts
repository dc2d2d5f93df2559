import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../helpers/browsers.ts';
import { resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import type { TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

describe('security: file paths stay in the session directory or the upload root', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient | undefined;
  let base: string;
  let outside: string;
  let uploads: string;
  let sessionDir: string;

  before(async () => {
    base = mkdtempSync(join(tmpdir(), 'bf-files-'));
    outside = join(base, 'outside');
    uploads = join(base, 'uploads');
    mkdirSync(outside);
    mkdirSync(uploads);
    writeFileSync(join(uploads, 'allowed.txt'), 'allowed upload');
    writeFileSync(join(outside, 'private.txt'), 'not for the browser');
    ({ pages, server, client } = await openSession({ timeoutAction: 3000, uploadRoot: uploads }, (p) => {
      p.route('/upload', '<!doctype html><title>Upload</title><input type="file" id="file" aria-label="Pick a file">');
    }));
    await client.call('browser_navigate', { url: `${pages.url}/upload` });
    // The session's directory is its browser lease's, known once its first call got the browser.
    const lease = server.supervisor.get(client.sessionId)!.browser!;
    sessionDir = lease.outputDir;
    assert.equal(sessionDir, join(server.outputDir, lease.id));
  });

  after(async () => {
    await closeSession({ client, server, pages });
    if (base) rmSync(base, { recursive: true, force: true });
  });

  const refusedScreenshot = async (filename: string) => {
    const result = await client!.call('browser_take_screenshot', { filename });
    assert.equal(result.isError, true, filename);
    assert.match(resultText(result), /File access denied/, filename);
  };

  test('a screenshot filename inside the session directory is written there', async () => {
    const result = await client!.call('browser_take_screenshot', { filename: 'shots/inside.png' });
    assert.notEqual(result.isError, true, resultText(result));
    assert.ok(existsSync(join(sessionDir, 'shots', 'inside.png')));
  });

  test('a screenshot filename with .. is refused and nothing is written', async () => {
    await refusedScreenshot('../escape.png');
    await refusedScreenshot('shots/../../../escape.png');
    assert.ok(!existsSync(join(dirname(sessionDir), 'escape.png')));
    assert.ok(!existsSync(join(dirname(dirname(sessionDir)), 'escape.png')));
  });

  test('an absolute path outside and a symlink that leads out are refused, nothing written', async () => {
    await refusedScreenshot(join(outside, 'absolute.png'));
    symlinkSync(outside, join(sessionDir, 'link-out'));
    await refusedScreenshot('link-out/through-link.png');
    await refusedScreenshot('name\u0000.png');
    assert.deepEqual(readdirSync(outside), ['private.txt']);
  });

  test('a snapshot filename outside the session directory is refused too', async () => {
    const result = await client!.call('browser_snapshot', { filename: '../snapshot.md' });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /File access denied/);
    assert.ok(!existsSync(join(dirname(sessionDir), 'snapshot.md')));
  });

  test('file_upload refuses files outside the session directory and the upload root, and takes one inside', async () => {
    await client!.call('browser_click', { element: 'file input', target: '#file' });
    const denied = await client!.call('browser_file_upload', { paths: [join(outside, 'private.txt')] });
    assert.equal(denied.isError, true);
    assert.match(resultText(denied), /File access denied/);
    const traversal = await client!.call('browser_file_upload', { paths: [`../../${'..'}/etc/passwd`] });
    assert.equal(traversal.isError, true);
    assert.match(resultText(traversal), /File access denied/);
    const allowed = await client!.call('browser_file_upload', { paths: [join(uploads, 'allowed.txt')] });
    assert.notEqual(allowed.isError, true, resultText(allowed));
    const name = await client!.text('browser_evaluate', { function: '() => document.getElementById("file").files[0]?.name ?? "none"' });
    assert.match(name, /"allowed\.txt"/);
  });

  test('ending the session removes its directory and everything written in it', async () => {
    assert.ok(existsSync(join(sessionDir, 'shots', 'inside.png')), 'the earlier screenshot is still there');
    const lease = server.supervisor.get(client!.sessionId)!.browser!;
    const ended = nextEvent(server, 'browser.ended', (e) => e.id === lease.id);
    await client!.close();
    client = undefined;
    await ended;
    assert.ok(!existsSync(sessionDir), `${sessionDir} was removed`);
    assert.deepEqual(readdirSync(outside), ['private.txt'], 'the removal did not follow the symlink out of it');
    assert.deepEqual(readdirSync(server.outputDir).filter((name) => !name.startsWith('pool-')), [], 'no lease directory is left');
  });
});
