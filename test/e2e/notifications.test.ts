import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { nextEvent } from '../helpers/browsers.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { connectModern, modernText, type ModernClient } from '../helpers/modern-client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const LOG_LEVEL_KEY = 'io.modelcontextprotocol/logLevel';

interface LogMessage { level: string; logger?: string; data: { browser: string; kind: string; text: string; url: string } }

describe('logging, progress and cancellation in both eras', () => {
  let server: TestServer;
  let pages: PageServer;
  let legacy: TestClient;
  let modern: ModernClient;
  const legacyLogs: LogMessage[] = [];

  before(async () => {
    pages = await startPageServer();
    pages.route('/errors', `<!doctype html><title>Errors</title>
      <button onclick="console.error('clicked-error')">Fail</button>
      <button onclick="setTimeout(() => console.error('later-error'), 300)">Later</button>
      <button onclick="setTimeout(() => { throw new Error('uncaught-error') }, 0)">Throw</button>`);
    pages.route('/slow', `<!doctype html><title>Slow</title><p id="p">waiting</p>
      <script>setTimeout(() => { document.getElementById('p').textContent = 'ready now'; }, 2500)</script>`);
    server = await startTestServer({ prewarm: 0, caps: ['unsafe-code'] });
    legacy = await connectClient(server.url);
    legacy.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void legacyLogs.push(n.params as LogMessage));
    modern = await connectModern(server.url);
  });
  after(async () => {
    await legacy?.close();
    await modern?.close();
    await server?.close();
    await pages?.close();
  });

  test('a 2025-11-25 session hears its page\'s console.error as notifications/message, during a call and after it', async () => {
    await legacy.call('browser_navigate', { url: `${pages.url}/errors` });
    const handle = server.supervisor.get(legacy.sessionId)!.browser!.handle;
    await legacy.call('browser_click', { target: 'text=Fail' });
    assert.ok(await waitUntil(() => legacyLogs.some((log) => log.data.text === 'clicked-error'), 5000), JSON.stringify(legacyLogs));
    const during = legacyLogs.find((log) => log.data.text === 'clicked-error')!;
    assert.equal(during.level, 'error');
    assert.equal(during.logger, 'browser');
    assert.deepEqual({ ...during.data, url: undefined }, { browser: handle, kind: 'console', text: 'clicked-error', url: undefined });
    assert.match(during.data.url, /\/errors$/);
    // Logged 300 ms after the click's result: no call is in flight, it comes on the session's own stream.
    await legacy.call('browser_click', { target: 'text=Later' });
    assert.ok(await waitUntil(() => legacyLogs.some((log) => log.data.text === 'later-error'), 5000), 'the later error arrived outside any call');
    await legacy.call('browser_click', { target: 'text=Throw' });
    assert.ok(await waitUntil(() => legacyLogs.some((log) => log.data.kind === 'pageerror' && /uncaught-error/.test(log.data.text)), 5000));
  });

  test('a crashed tab arrives as a critical log message', async () => {
    const crasher = await connectClient(server.url);
    const logs: LogMessage[] = [];
    crasher.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params as LogMessage));
    try {
      await crasher.call('browser_navigate', { url: `${pages.url}/errors` });
      // DevTools' Page.crash kills the tab's renderer, as an out-of-memory page would.
      const crashed = await crasher.call('browser_run_code_unsafe', { code: 'async (page) => { const cdp = await page.context().newCDPSession(page); await cdp.send("Page.crash").catch(() => {}); }' });
      assert.ok(await waitUntil(() => logs.some((log) => log.data.kind === 'crash'), 10_000), JSON.stringify(logs));
      const crash = logs.find((log) => log.data.kind === 'crash')!;
      assert.equal(crash.level, 'critical');
      assert.match(crash.data.url, /\/errors$/);
      // The crashed tab was closed: the next call works in a fresh one; the result of the call
      // under which it crashed (or, if the crash came later, the next one) says what happened.
      const next = await crasher.call('browser_navigate', { url: `${pages.url}/errors` });
      assert.notEqual(next.isError, true, resultText(next));
      assert.match(`${resultText(crashed)}\n${resultText(next)}`, /crashed \(its renderer process died\) and was closed/);
    } finally {
      await crasher.close();
    }
  });

  test('a 2026-07-28 call that asks for a log level hears the console errors of the browser it names', async () => {
    const handle = await modern.open();
    try {
      await modern.call('browser_navigate', { browser: handle, url: `${pages.url}/errors` });
      const logs: LogMessage[] = [];
      modern.client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params as LogMessage));
      const result = await modern.client.callTool({ name: 'browser_click', arguments: { browser: handle, target: 'text=Fail' }, _meta: { [LOG_LEVEL_KEY]: 'info' } });
      assert.notEqual(result.isError, true, modernText(result));
      assert.ok(await waitUntil(() => logs.some((log) => log.data.text === 'clicked-error'), 5000), JSON.stringify(logs));
      assert.equal(logs.find((log) => log.data.text === 'clicked-error')!.data.browser, handle);
    } finally {
      await modern.call('browser_close', { browser: handle });
    }
  });

  test('browser_wait_for with a progress token reports progress every second, in both eras', async () => {
    const seen: { progress: number; total?: number; message?: string }[] = [];
    const result = await legacy.client.callTool({ name: 'browser_wait_for', arguments: { time: 2.5 } }, undefined, { onprogress: (p) => void seen.push(p) });
    assert.notEqual(result.isError, true, resultText(result as never));
    assert.ok(seen.length >= 2, JSON.stringify(seen));
    assert.deepEqual(seen.map((p) => p.total), seen.map(() => 2.5));
    assert.ok(seen.every((p, i) => i === 0 || p.progress > seen[i - 1].progress), 'progress only grows');
    assert.match(seen[0].message!, /Waiting for 2.5 s: 1 s so far/);

    const handle = await modern.open();
    try {
      await modern.call('browser_navigate', { browser: handle, url: `${pages.url}/slow` });
      const modernSeen: { progress: number; message?: string }[] = [];
      const waited = await modern.call('browser_wait_for', { browser: handle, text: 'ready now' }, { onprogress: (p) => void modernSeen.push(p) });
      assert.match(modernText(waited), /Waited for ready now/);
      assert.ok(modernSeen.length >= 1, JSON.stringify(modernSeen));
      assert.match(modernSeen[0].message!, /Waiting for "ready now" to appear/);
    } finally {
      await modern.call('browser_close', { browser: handle });
    }
  });

  test('browser_navigate with a progress token reports its stages', async () => {
    const seen: { progress: number; total?: number; message?: string }[] = [];
    await legacy.client.callTool({ name: 'browser_navigate', arguments: { url: `${pages.url}/errors` } }, undefined, { onprogress: (p) => void seen.push(p) });
    assert.deepEqual(seen.map((p) => p.progress), [0, 1, 2]);
    assert.match(seen[0].message!, /Navigating to http/);
    assert.ok(seen.every((p) => p.total === 3));
  });

  test('cancelling a call aborts the browser action, in both eras, and the browser serves the next call at once', async () => {
    for (const era of ['legacy', 'modern'] as const) {
      const handle = era === 'modern' ? await modern.open() : undefined;
      try {
        const called = nextEvent(server, 'tool.called', (e) => e.tool === 'browser_wait_for');
        const controller = new AbortController();
        const started = Date.now();
        const call = era === 'legacy'
          ? legacy.client.callTool({ name: 'browser_wait_for', arguments: { time: 20 } }, undefined, { signal: controller.signal })
          : modern.call('browser_wait_for', { browser: handle, time: 20 }, { signal: controller.signal });
        setTimeout(() => controller.abort(), 500);
        await assert.rejects(call);
        const event = await called;
        assert.equal(event.outcome, 'CANCELLED', `${era}: the front saw the cancellation`);
        assert.ok(event.ms < 5000, `${era}: the call ended ${event.ms} ms after it began, not after its 20 s`);
        const next = era === 'legacy'
          ? await legacy.call('browser_evaluate', { function: '() => 1 + 1' })
          : await modern.call('browser_evaluate', { browser: handle, function: '() => 1 + 1' });
        assert.match(era === 'legacy' ? resultText(next as never) : modernText(next), /2/);
        assert.ok(Date.now() - started < 10_000, `${era}: the browser was not busy with the abandoned wait`);
      } finally {
        if (handle) await modern.call('browser_close', { browser: handle });
      }
    }
  });
});
