import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { parseLocation } from '../../src/tools/debugger.ts';

// browser_resume (--caps devtools): a browser_run_code_unsafe script that calls page.pause() waits
// until another call resumes it, steps it action by action, or runs it on.

const SCRIPT = `async (page) => {
  await page.pause();
  await page.setContent('<title>first</title>');
  await page.setContent('<title>second</title>');
  return 'finished at ' + await page.title();
}`;

/** browser_resume, retried while the script has not reached its pause yet (bounded). */
async function resumeOncePaused(client: TestClient, args: Record<string, unknown>): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const result = await client.call('browser_resume', args);
    const text = resultText(result);
    if (!/Nothing is paused/.test(text)) {
      assert.notEqual(result.isError, true, text);
      return text;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('the script never paused');
}

describe('browser_resume (--caps devtools)', () => {
  let pages: PageServer;
  let server: TestServer;
  let client: TestClient;

  before(async () => {
    pages = await startPageServer();
    pages.route('/plain', '<!doctype html><title>Plain</title><p>plain</p>');
    server = await startTestServer({ caps: ['devtools', 'unsafe-code'], timeoutAction: 10_000 });
    client = await connectClient(server.url);
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await pages?.close();
  });

  test('with nothing paused it says how a script pauses', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/plain` });
    const result = await client.call('browser_resume', {});
    assert.equal(result.isError, true);
    assert.match(resultText(result), /Nothing is paused\. A script pauses when code run with browser_run_code_unsafe calls `page\.pause\(\)`/);
  });

  test('steps a paused script action by action, lets other tools look at the page meanwhile, and runs it to its end', async () => {
    const running = client.call('browser_run_code_unsafe', { code: SCRIPT });
    const stepped = await resumeOncePaused(client, { step: true });
    assert.match(stepped, /Resumed from "Pause"/);
    assert.match(stepped, /Paused again before "Set content"/);
    // Paused before the first setContent: the page is still the one navigated to.
    assert.match(await client.text('browser_snapshot'), /plain/);
    const second = await client.text('browser_resume', { step: true });
    assert.match(second, /Resumed from "Set content"[\s\S]*Paused again before "Set content"/);
    const resumed = await client.text('browser_resume', {});
    assert.match(resumed, /Resumed from "Set content"/);
    assert.doesNotMatch(resumed, /Paused again/);
    const finished = await running;
    assert.notEqual(finished.isError, true, resultText(finished));
    assert.match(resultText(finished), /finished at second/);
    assert.equal((await client.call('browser_resume', {})).isError, true, 'nothing is paused any more');
  });

  test('runs a paused script to a source line and pauses there', async () => {
    const running = client.call('browser_run_code_unsafe', { code: SCRIPT });
    // Line 4 of the code is the second setContent (the code's file is browser_run_code_unsafe).
    const ran = await resumeOncePaused(client, { location: 'browser_run_code_unsafe:4' });
    assert.match(ran, /Paused again before "Set content" at browser_run_code_unsafe:4/);
    assert.match(await client.text('browser_evaluate', { function: '() => document.title' }), /first/);
    await client.call('browser_resume', {});
    assert.match(resultText(await running), /finished at second/);
  });

  test('locations are <file>:<line>', () => {
    assert.deepEqual(parseLocation('script.js:12'), { file: 'script.js', line: 12 });
    assert.deepEqual(parseLocation('script.js'), { file: 'script.js' });
    assert.throws(() => parseLocation('script.js:twelve'), /expected <file>:<line>/);
  });
});
