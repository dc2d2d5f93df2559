import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { browserOf } from '../helpers/browsers.ts';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { freePort } from '../helpers/ports.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { descendants, isAlive, waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Browsers on Playwright's own browser server: two stock `playwright-core run-server`s (through
// scripts/browser-server.ts, which points them at Debian's Chromium) on loopback.

const SCRIPT = fileURLToPath(new URL('../../scripts/browser-server.ts', import.meta.url));

interface BrowserServer { process: ChildProcess; endpoint: string }

async function startBrowserServer(): Promise<BrowserServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--port', String(port), '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const listening = line.match(/Listening on (ws:\/\/\S+)/);
      if (listening) resolve(listening[1]);
    });
    child.once('exit', () => reject(new Error('the browser server exited before listening')));
  });
  return { process: child, endpoint };
}

async function stopBrowserServer(server?: BrowserServer): Promise<void> {
  if (!server) return;
  const tree = [server.process.pid!, ...descendants(server.process.pid!)];
  for (const pid of tree) if (isAlive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  await waitUntil(() => tree.every((pid) => !isAlive(pid)), 5000);
}

describe('browsers on remote Playwright browser servers (--browser-endpoint)', () => {
  let pages: PageServer;
  let hosts: BrowserServer[] = [];
  let server: TestServer;
  const clients: TestClient[] = [];

  before(async () => {
    pages = await startPageServer();
    pages.route('/page', '<!doctype html><title>Remote</title><p>remote</p>');
    hosts = await Promise.all([startBrowserServer(), startBrowserServer()]);
    server = await startTestServer({ browserEndpoint: hosts.map((h) => h.endpoint), prewarm: 0 });
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await server?.close();
    for (const host of hosts) await stopBrowserServer(host);
    await pages?.close();
  });

  test('sessions spread over both browser servers, each in a browser of its own, none launched here', async () => {
    for (let i = 0; i < 4; i++) clients.push(await connectClient(server.url));
    for (const [i, client] of clients.entries()) await client.call('browser_navigate', { url: `${pages.url}/page?n=${i}` });
    for (const [i, client] of clients.entries()) {
      assert.match(await client.text('browser_evaluate', { function: '() => location.search' }), new RegExp(`"\\?n=${i}"`));
    }
    const endpoints = await Promise.all(clients.map(async (client) => (await browserOf(server, client.sessionId)).endpoint));
    for (const host of hosts) {
      assert.equal(endpoints.filter((e) => e === host.endpoint).length, 2, `two of four sessions on ${host.endpoint}: ${endpoints}`);
      assert.ok(descendants(host.process.pid!).length > 0, 'the browser runs under the browser server');
    }
    for (const lease of server.supervisor.browsers()) assert.deepEqual(descendants(lease.worker.pid), [], 'the worker launched no browser of its own');
  });

  test('kill -9 of one browser server: its sessions get the crash error and recover on the other, the rest are unaffected', async () => {
    const [dead, alive] = hosts;
    const byEndpoint = await Promise.all(clients.map(async (client) => ({ client, info: await browserOf(server, client.sessionId) })));
    const victims = byEndpoint.filter((b) => b.info.endpoint === dead.endpoint);
    const others = byEndpoint.filter((b) => b.info.endpoint === alive.endpoint);
    assert.ok(victims.length > 0 && others.length > 0);
    await stopBrowserServer(dead);
    for (const { client } of victims) {
      // The lost connection is noticed at once or by the call; either way a fresh browser follows.
      const first = await client.call('browser_navigate', { url: `${pages.url}/page?after=1` });
      const text = resultText(first);
      const second = first.isError ? await client.call('browser_navigate', { url: `${pages.url}/page?after=1` }) : first;
      assert.notEqual(second.isError, true, resultText(second));
      assert.match(`${text}\n${resultText(second)}`, /browser server|page state was lost|lost/i, 'the client is told its browser was lost');
      assert.equal((await browserOf(server, client.sessionId)).endpoint, alive.endpoint, 'recovered on the other browser server');
    }
    for (const { client, info } of others) {
      assert.match(await client.text('browser_evaluate', { function: '() => location.search' }), /"\?n=\d"/, 'the other sessions kept their pages');
      assert.equal((await browserOf(server, client.sessionId)).workerPid, info.workerPid);
    }
  });
});
