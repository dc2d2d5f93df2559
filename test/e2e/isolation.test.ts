import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectClient, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let pages: PageServer;

before(async () => {
  pages = await startPageServer();
  pages.route('/', '<!doctype html><title>Shared origin</title><p>same origin for everyone</p>');
  server = await startTestServer({ maxSessions: 4 });
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

    const sessions = await server.supervisor.list();
    assert.equal(sessions.length, 4);
    const workerPids = new Set(sessions.map((s) => s.workerPid));
    const browserPids = new Set(sessions.map((s) => s.browserPid));
    assert.equal(workerPids.size, 4, 'each session has its own worker process');
    assert.equal(browserPids.size, 4, 'each session has its own browser process');
    for (const s of sessions) {
      assert.ok(s.browserPid && isAlive(s.browserPid) && isAlive(s.workerPid));
      assert.ok(!workerPids.has(s.browserPid!), 'browser and worker are different processes');
      assert.notEqual(s.workerPid, process.pid, 'workers are not the front process');
    }
  } finally {
    const sessions = await server.supervisor.list();
    await Promise.all(clients.map((client) => client.close()));
    const pids = sessions.flatMap((s) => [s.workerPid, s.browserPid!]);
    assert.ok(await waitUntil(() => pids.every((pid) => !isAlive(pid)), 8000), 'every worker and browser exited after DELETE');
  }
});
