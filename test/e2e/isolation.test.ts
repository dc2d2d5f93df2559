import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { browserOf } from '../helpers/browsers.ts';
import { connectClient, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let pages: PageServer;

before(async () => {
  pages = await startPageServer();
  pages.route('/', '<!doctype html><title>Shared origin</title><p>same origin for everyone</p>');
  // Ending a session must take its worker and browser with it here: no recycling.
  server = await startTestServer({ maxBrowsers: 4, recycle: 'never' });
});

after(async () => {
  await server?.close();
  await pages?.close();
});

async function evaluate(client: TestClient, fn: string): Promise<unknown> {
  const text = await client.text('browser_evaluate', { function: fn });
  return JSON.parse(text.match(/### Result\n([\s\S]*?)(\n\n###|$)/)![1]);
}

test('4 concurrent sessions on one origin see none of each other\'s storage or cookies', async () => {
  const clients = await Promise.all([0, 1, 2, 3].map(() => connectClient(server.url)));
  try {
    await Promise.all(clients.map(async (client, i) => {
      await client.call('browser_navigate', { url: `${pages.url}/` });
      await evaluate(client, `() => { localStorage.setItem('owner', 'client-${i}'); document.cookie = 'owner=client-${i}; path=/'; return true; }`);
    }));
    const seen = await Promise.all(clients.map((client) =>
      evaluate(client, '() => ({ storage: Object.entries(localStorage), cookie: document.cookie })')));
    seen.forEach((value, i) => {
      assert.deepEqual(value, { storage: [['owner', `client-${i}`]], cookie: `owner=client-${i}` }, `session ${i} sees only its own data`);
    });

    const browsers = await Promise.all(clients.map((client) => browserOf(server, client.sessionId)));
    assert.equal(server.supervisor.size, 4);
    const workerPids = new Set(browsers.map((b) => b.workerPid));
    const browserPids = new Set(browsers.map((b) => b.browserPid));
    assert.equal(workerPids.size, 4, 'each session has its own worker process');
    assert.equal(browserPids.size, 4, 'each session has its own browser process');
    for (const b of browsers) {
      assert.ok(b.browserPid && isAlive(b.browserPid) && isAlive(b.workerPid));
      assert.ok(!workerPids.has(b.browserPid!), 'browser and worker are different processes');
      assert.notEqual(b.workerPid, process.pid, 'workers are not the front process');
    }
  } finally {
    const browsers = (await server.supervisor.list()).flatMap((s) => (s.browser ? [s.browser] : []));
    await Promise.all(clients.map((client) => client.close()));
    const pids = browsers.flatMap((b) => [b.workerPid, b.browserPid!]);
    assert.ok(await waitUntil(() => pids.every((pid) => !isAlive(pid)), 8000), 'every worker and browser exited after DELETE');
  }
});
