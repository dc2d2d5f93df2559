import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { isAlive, waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { initialize, record } from '../integration/fixture-server.ts';

let pages: PageServer;
/** Requests of the HTTP-cached resource that reached the server. */
let cachedHits = 0;
/** Cookie headers the page server received, per path. */
const cookiesSeen: string[] = [];

before(async () => {
  pages = await startPageServer();
  pages.route('/', (req, res) => {
    cookiesSeen.push(req.headers.cookie ?? '');
    res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'fromHeader=planted; Path=/' })
      .end('<!doctype html><title>Recycled</title><p>state lives here</p>');
  });
  pages.route('/other', '<!doctype html><title>Second tab</title><p>another tab</p>');
  pages.route('/sw.js', 'self.addEventListener("fetch", () => {});', 'text/javascript');
  pages.route('/cached', (_req, res) => {
    cachedHits++;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=3600' }).end(`hit ${cachedHits}`);
  });
  pages.route('/planted-request', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
});

after(async () => {
  await pages?.close();
});

async function evaluate(client: TestClient, fn: string): Promise<unknown> {
  const text = await client.text('browser_evaluate', { function: fn });
  const json = text.match(/### Result\n([\s\S]*?)(\n\n###|$)/);
  assert.ok(json, `a result in:\n${text}`);
  return JSON.parse(json[1]);
}

function workerPidOf(server: TestServer, client: TestClient): number {
  return server.supervisor.get(client.sessionId)!.browser!.worker.pid;
}

const PLANT = `async () => {
  document.cookie = 'fromScript=planted; path=/';
  localStorage.setItem('planted', 'yes');
  sessionStorage.setItem('planted', 'yes');
  await new Promise((resolve, reject) => {
    const open = indexedDB.open('planted-db', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('store');
    open.onsuccess = () => { open.result.close(); resolve(true); };
    open.onerror = () => reject(open.error);
  });
  const cache = await caches.open('planted-cache');
  await cache.put('/planted-entry', new Response('cached body'));
  const registration = await navigator.serviceWorker.register('/sw.js');
  await new Promise((resolve) => {
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    if (!worker || worker.state === 'activated') return resolve(true);
    worker.addEventListener('statechange', () => worker.state === 'activated' && resolve(true));
  });
  await (await fetch('/cached')).text();
  await (await fetch('/cached')).text();
  await fetch('/planted-request');
  console.log('planted console entry');
  return true;
}`;

const READ = `async () => ({
  cookie: document.cookie,
  localStorage: localStorage.length,
  sessionStorage: sessionStorage.length,
  databases: (await indexedDB.databases()).map((db) => db.name),
  caches: await caches.keys(),
  serviceWorkers: (await navigator.serviceWorker.getRegistrations()).length,
  cached: await (await fetch('/cached')).text(),
})`;

describe('a recycled browser keeps nothing of the session before', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ maxBrowsers: 4, prewarm: 0 });
  });
  after(async () => {
    await server?.close();
  });

  test('the next session in the same worker process sees none of what the last one planted', async () => {
    const first = await connectClient(server.url);
    await first.call('browser_navigate', { url: `${pages.url}/` });
    const hitsAtPlant = cachedHits;
    assert.equal(await evaluate(first, PLANT), true);
    const planted = await evaluate(first, READ) as Record<string, unknown>;
    assert.match(String(planted.cookie), /fromScript=planted/, 'the plant took: a cookie');
    assert.deepEqual(planted.databases, ['planted-db']);
    assert.deepEqual(planted.caches, ['planted-cache']);
    assert.equal(planted.serviceWorkers, 1);
    // Chromium's HTTP cache is on (no request interception by default): three fetches, one request.
    assert.equal(planted.cached, `hit ${hitsAtPlant + 1}`, 'the plant took: an HTTP-cached response');
    assert.equal(cachedHits, hitsAtPlant + 1);
    await first.call('browser_tabs', { action: 'new' });
    await first.call('browser_navigate', { url: `${pages.url}/other` });
    assert.match(await first.text('browser_tabs', { action: 'list' }), /Second tab/);
    const file = await first.text('browser_take_screenshot', { filename: 'planted.png' });
    const lease = server.supervisor.get(first.sessionId)!.browser!;
    assert.ok(readdirSync(lease.outputDir).includes('planted.png'), `a file in the session's directory (${file})`);
    const pid = workerPidOf(server, first);
    const oldDir = lease.outputDir;
    await first.close();
    assert.ok(!existsSync(oldDir), 'the ended session\'s directory is gone');

    const hitsBefore = cachedHits;
    const cookiesBefore = cookiesSeen.length;
    const next = await connectClient(server.url);
    try {
      const tabs = await next.text('browser_tabs', { action: 'list' });
      assert.equal(workerPidOf(server, next), pid, 'the same worker process serves the next session');
      assert.doesNotMatch(tabs, /Second tab|Recycled/, 'no tab of the last session');
      assert.match(tabs, /about:blank/);
      await next.call('browser_navigate', { url: `${pages.url}/` });
      assert.equal(cookiesSeen.length, cookiesBefore + 1);
      assert.equal(cookiesSeen.at(-1), '', 'the browser sent no cookie of the last session');
      const seen = await evaluate(next, READ) as Record<string, unknown>;
      assert.deepEqual(seen, {
        cookie: 'fromHeader=planted', // set again by this navigation's own response, nothing older
        localStorage: 0,
        sessionStorage: 0,
        databases: [],
        caches: [],
        serviceWorkers: 0,
        cached: `hit ${hitsBefore + 1}`,
      });
      assert.equal(cachedHits, hitsBefore + 1, 'the HTTP-cached response was fetched again');
      assert.doesNotMatch(await next.text('browser_console_messages', { level: 'debug' }), /planted console entry/);
      assert.doesNotMatch(await next.text('browser_network_requests', {}), /planted-request/);
      const dir = server.supervisor.get(next.sessionId)!.browser!.outputDir;
      assert.notEqual(dir, oldDir, 'a new session directory');
      assert.ok(!readdirSync(dir).includes('planted.png'));
    } finally {
      await next.close();
    }
  });

  test('a browser browser_open set up with other options is back to the server\'s options for the next session', async () => {
    const first = await connectClient(server.url);
    await first.call('browser_open', { width: 640, height: 480 });
    assert.deepEqual(await evaluate(first, '() => [innerWidth, innerHeight]'), [640, 480]);
    const pid = workerPidOf(server, first);
    await first.close();
    const next = await connectClient(server.url);
    try {
      assert.deepEqual(await evaluate(next, '() => [innerWidth, innerHeight]'), [1280, 720]);
      assert.equal(workerPidOf(server, next), pid);
    } finally {
      await next.close();
    }
  });
});

describe('which browsers are recycled', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ authToken: ['token-a', 'token-b'], maxBrowsers: 4, prewarm: 0, caps: ['unsafe-code'], timeoutAction: 1500 });
  });
  after(async () => {
    await server?.close();
  });

  test('sessions that only initialize and list tools start no worker or browser', async () => {
    const started = record(server, 'worker.started');
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectClient(server.url, { token: 'token-a' })));
    try {
      for (const client of clients) assert.ok((await client.client.listTools()).tools.some((t) => t.name === 'browser_navigate'));
      assert.equal((await initialize(server.url)).status, 401, 'a raw initialize without a token is still refused');
      assert.equal(started.length, 0);
      assert.equal(server.supervisor.browserCount, 0);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  test('a worker never serves two tokens', async () => {
    const a = await connectClient(server.url, { token: 'token-a' });
    await a.call('browser_navigate', { url: `${pages.url}/` });
    const pidA = workerPidOf(server, a);
    await a.close();
    const b = await connectClient(server.url, { token: 'token-b' });
    const a2 = await connectClient(server.url, { token: 'token-a' });
    try {
      await b.call('browser_navigate', { url: `${pages.url}/` });
      assert.notEqual(workerPidOf(server, b), pidA, 'token-b does not get token-a\'s recycled browser');
      await a2.call('browser_navigate', { url: `${pages.url}/` });
      assert.equal(workerPidOf(server, a2), pidA, 'token-a does');
    } finally {
      await b.close();
      await a2.close();
    }
  });

  for (const [what, fault] of [
    ['crashed', async (client: TestClient) => {
      process.kill(server.supervisor.get(client.sessionId)!.browser!.worker.pid, 'SIGKILL');
      assert.match(resultText(await client.call('browser_snapshot')), /replaced|WORKER_CRASHED|fresh browser/);
    }],
    ['hung', async (client: TestClient) => {
      const result = await client.call('browser_evaluate', { function: '() => { while (true) {} }' });
      assert.equal(result.isError, true);
      assert.match(resultText(result), /TOOL_TIMEOUT|did not finish/);
    }],
    ['ran unsafe code', async (client: TestClient) => {
      assert.match(resultText(await client.call('browser_run_code_unsafe', { code: 'async (page) => page.url()' })), /about:blank|127\.0\.0\.1/);
    }],
  ] as const) {
    test(`a worker that ${what} is retired, not recycled`, async () => {
      const ended = record(server, 'browser.ended');
      const client = await connectClient(server.url, { token: 'token-a' });
      await client.call('browser_navigate', { url: `${pages.url}/` });
      const pid = workerPidOf(server, client);
      await fault(client);
      const last = workerPidOf(server, client);
      await client.close();
      // A crashed worker is replaced under the lease at once; its healthy replacement may be recycled.
      const retired = what === 'crashed' ? [pid] : [pid, last];
      assert.ok(await waitUntil(() => retired.every((p) => !isAlive(p)), 10_000), 'the worker is gone');
      assert.ok(server.supervisor.poolWorkers().every((worker) => !retired.includes(worker.pid)), 'it did not go back to the pool');
      if (what !== 'crashed') {
        assert.equal(ended[0].recycled, false);
        assert.match(ended[0].retiredBecause ?? '', what === 'hung' ? /timed out|hung/ : /browser_run_code_unsafe/);
      }
    });
  }
});

describe('the warm pool follows demand (real browsers)', () => {
  test('it grows after a burst and shrinks back to its floor after a quiet period', async () => {
    // The quiet period is counted from the burst's last first call. On a loaded machine the two
    // cold starts of the burst can take seconds, so it is long enough to outlast them.
    const quietMs = 8000;
    const server = await startTestServer({ prewarm: 1, prewarmMax: 3, prewarmShrinkAfter: quietMs, maxBrowsers: 6 });
    try {
      assert.ok(await waitUntil(() => server.supervisor.poolWorkers().length === 1, 20_000), 'the floor is warm');
      const burstAt = Date.now();
      let sizedFor = 0;
      const watch = setInterval(() => {
        sizedFor = Math.max(sizedFor, server.supervisor.poolTarget);
      }, 10);
      const clients = await Promise.all([0, 1, 2].map(() => connectClient(server.url)));
      await Promise.all(clients.map((client) => client.call('browser_navigate', { url: `${pages.url}/other` })));
      clearInterval(watch);
      assert.equal(Math.max(sizedFor, server.supervisor.poolTarget), 3, 'sized for the burst of three');
      const pids = clients.map((client) => workerPidOf(server, client));
      await Promise.all(clients.map((client) => client.close()));
      assert.ok(server.supervisor.poolSize >= 3, `the burst's browsers stay warm (${server.supervisor.poolSize})`);
      assert.ok(await waitUntil(() => server.supervisor.poolSize === 1, quietMs + 15_000), 'back at the floor');
      assert.ok(Date.now() - burstAt >= quietMs, 'not before the quiet period');
      assert.ok(await waitUntil(() => pids.filter(isAlive).length <= 1, 10_000), 'the surplus browsers were closed');
    } finally {
      await server.close();
    }
  });
});
