import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserOf } from '../helpers/browsers.ts';
import { connectClient, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PAGE = '<!doctype html><title>Ops</title><button onclick="this.textContent=\'done\'">Go</button>';

/** The value of one sample line of a Prometheus exposition, e.g. `name{label="x"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function initialize(url: string): Promise<Response> {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'ops-test', version: '1' } } }),
  });
}

describe('ops: /healthz, /readyz and /metrics on a server capped at one session and one browser', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient | undefined;

  before(async () => {
    pages = await startPageServer();
    pages.route('/ops', PAGE);
    server = await startTestServer({ maxSessions: 1, maxBrowsers: 1, queueSize: 0, queueTimeout: 200, timeoutAction: 2000 });
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await pages?.close();
  });

  test('/healthz answers 200 while the process serves', async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('/readyz is 200 with a free slot and flips to 503 SESSION_LIMIT at the cap', async () => {
    const free = await fetch(`${server.url}/readyz`);
    assert.equal(free.status, 200);
    assert.deepEqual(await free.json(), {
      ready: true,
      sessions: { open: 0, max: 1 },
      browsers: { inUse: 0, max: 1, warm: 0, queued: 0, closing: 0 },
    });

    client = await connectClient(server.url);
    const full = await fetch(`${server.url}/readyz`);
    assert.equal(full.status, 503);
    assert.ok(full.headers.get('retry-after'));
    const body = await full.json() as { ready: boolean; code: string; reason: string; sessions: unknown; browsers: unknown };
    assert.equal(body.ready, false);
    assert.equal(body.code, 'SESSION_LIMIT');
    assert.match(body.reason, /limit of 1 session/);
    assert.deepEqual(body.sessions, { open: 1, max: 1 });
    assert.deepEqual(body.browsers, { inUse: 0, max: 1, warm: 0, queued: 0, closing: 0 }, 'the session has no browser before its first call');

    const refused = await initialize(server.url);
    assert.equal(refused.status, 503, 'a new session is refused, as /readyz said');
  });

  test('/metrics reports sessions, browsers, calls by tool and outcome, and the browser\'s memory and CPU', async () => {
    assert.ok(client, 'the session of the previous test is open');
    await client.call('browser_navigate', { url: `${pages.url}/ops` });
    await client.call('browser_snapshot');
    await client.call('browser_snapshot');
    const failed = await client.call('browser_click', { element: 'nothing', target: 'e9999' });
    assert.equal(failed.isError, true);

    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const id = client.sessionId;
    assert.equal(sample(text, 'browser_fleet_sessions_active'), 1);
    assert.equal(sample(text, 'browser_fleet_sessions_opened_total'), 1);
    assert.equal(sample(text, 'browser_fleet_sessions_rejected_total{code="SESSION_LIMIT"}'), 1);
    assert.equal(sample(text, 'browser_fleet_browsers_active'), 1);
    assert.equal(sample(text, 'browser_fleet_browsers_max'), 1);
    assert.equal(sample(text, 'browser_fleet_browsers_warm'), 0);
    assert.equal(sample(text, 'browser_fleet_browsers_queued'), 0);
    assert.equal(sample(text, 'browser_fleet_browsers_acquired_total{how="cold"}'), 1, 'the first call started the session\'s browser');
    assert.equal(sample(text, 'browser_fleet_browser_acquire_seconds_count{how="cold"}'), 1);
    assert.ok(sample(text, 'browser_fleet_browser_acquire_seconds_sum{how="cold"}')! > 0);
    assert.equal(sample(text, 'browser_fleet_browser_wait_seconds_count'), 1);
    assert.equal(sample(text, 'browser_fleet_browser_wait_seconds_sum'), 0, 'a free slot: no wait');
    assert.equal(sample(text, 'browser_fleet_worker_starts_total{ok="true"}'), 1);
    assert.equal(sample(text, 'browser_fleet_worker_start_seconds_count{ok="true"}'), 1);
    assert.ok(sample(text, 'browser_fleet_worker_start_seconds_sum{ok="true"}')! > 0);
    assert.equal(sample(text, 'browser_fleet_tool_call_seconds_count{tool="browser_navigate",outcome="ok"}'), 1);
    assert.equal(sample(text, 'browser_fleet_tool_call_seconds_count{tool="browser_snapshot",outcome="ok"}'), 2);
    assert.equal(sample(text, 'browser_fleet_tool_call_seconds_count{tool="browser_click",outcome="error"}'), 1);
    assert.ok(text.includes('browser_fleet_tool_call_seconds_bucket{le="+Inf",tool="browser_snapshot",outcome="ok"} 2'));
    // The worker and its browser: tens of MB at least, and some CPU spent launching Chromium.
    const pss = sample(text, `browser_fleet_browser_memory_bytes{session="${id}",kind="pss"}`)!;
    const rss = sample(text, `browser_fleet_browser_memory_bytes{session="${id}",kind="rss"}`)!;
    assert.ok(pss > 20e6 && rss >= pss, `pss ${pss} rss ${rss}`);
    assert.ok(sample(text, `browser_fleet_browser_cpu_seconds{session="${id}"}`)! > 0);
    assert.ok(sample(text, 'process_resident_memory_bytes')! > 0, 'the front\'s own process metrics are there');
  });

  test('a worker killed with SIGKILL counts as a recovered WORKER_CRASHED fault, and the session\'s series follow the fresh worker', async () => {
    const id = client!.sessionId;
    const lease = await browserOf(server, id);
    const victim = lease.workerPid;
    process.kill(victim, 'SIGKILL');
    const series = 'browser_fleet_browser_faults_total{code="WORKER_CRASHED",recovered="true"}';
    let text = '';
    assert.ok(await waitUntil(async () => {
      text = await (await fetch(`${server.url}/metrics`)).text();
      const worker = server.supervisor.get(id)?.browser?.worker;
      return sample(text, series) === 1 && worker !== undefined && worker.pid !== victim;
    }, 15_000), `fault counted: ${text.split('\n').filter((l) => l.includes('fault')).join(' | ')}`);
    const after = await client!.call('browser_snapshot');
    assert.notEqual(after.isError, true, 'the session goes on with a fresh worker');
    assert.equal((await browserOf(server, id)).id, lease.id, 'under the same lease');
    text = await (await fetch(`${server.url}/metrics`)).text();
    assert.ok(sample(text, `browser_fleet_browser_memory_bytes{session="${id}",kind="pss"}`)! > 20e6);
    assert.equal(sample(text, 'browser_fleet_sessions_active'), 1, 'still the same one session');
    assert.equal(sample(text, 'browser_fleet_browsers_active'), 1, 'still the same one browser');
  });

  test('after the session ends /metrics counts the end and drops its browser series, and /readyz is 200 again', async () => {
    const id = client!.sessionId;
    await client!.close();
    client = undefined;
    assert.ok(await waitUntil(async () => (await fetch(`${server.url}/readyz`)).status === 200, 5000));
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(sample(text, 'browser_fleet_sessions_active'), 0);
    assert.equal(sample(text, 'browser_fleet_sessions_ended_total{reason="deleted"}'), 1);
    assert.equal(sample(text, 'browser_fleet_browsers_active'), 0);
    // The fresh worker that took over after the crash is sound: it goes back to the pool.
    assert.equal(sample(text, 'browser_fleet_browsers_ended_total{reason="deleted",recycled="true"}'), 1);
    assert.equal(sample(text, 'browser_fleet_browsers_warm'), 1);
    assert.ok(!text.includes(id), 'no series left for the ended session');
  });

  test('/readyz says SHUTTING_DOWN once shutdown has begun', async () => {
    // A session with a browser makes shutdown take long enough to ask.
    client = await connectClient(server.url);
    await client.call('browser_snapshot');
    const closing = server.close();
    const response = await fetch(`${server.url}/readyz`).catch(() => undefined);
    await closing;
    client = undefined;
    assert.ok(response, 'the listener was still open while sessions ended');
    assert.equal(response.status, 503);
    assert.equal((await response.json() as { code: string }).code, 'SHUTTING_DOWN');
  });
});

describe('ops: readiness and metrics of other servers in the same process', () => {
  let lowMemory: TestServer;

  before(async () => {
    // A floor no machine meets: readiness must say LOW_MEMORY without opening anything.
    lowMemory = await startTestServer({ minFreeMemoryMb: 10_000_000 });
  });
  after(async () => { await lowMemory?.close(); });

  test('/readyz is 503 LOW_MEMORY below the free-memory floor', async () => {
    const response = await fetch(`${lowMemory.url}/readyz`);
    assert.equal(response.status, 503);
    const body = await response.json() as { code: string; reason: string };
    assert.equal(body.code, 'LOW_MEMORY');
    assert.match(body.reason, /below the floor of 10000000 MB/);
  });

  test('each server has its own registry: counts of one do not leak into another', async () => {
    const text = await (await fetch(`${lowMemory.url}/metrics`)).text();
    assert.equal(sample(text, 'browser_fleet_sessions_opened_total'), 0);
    assert.equal(sample(text, 'browser_fleet_browsers_acquired_total{how="cold"}'), undefined);
    assert.equal(sample(text, 'browser_fleet_tool_call_seconds_count{tool="browser_snapshot",outcome="ok"}'), undefined);
  });
});
