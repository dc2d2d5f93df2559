import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCli, type CliInstance } from '../helpers/cli.ts';
import { connectClient, type TestClient } from '../helpers/client.ts';
import { startHaproxy, type HaproxyInstance } from '../helpers/haproxy.ts';
import { connectModern, modernText } from '../helpers/modern-client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { waitUntil } from '../helpers/processes.ts';

// Two real instances (the CLI, in processes of their own) behind Debian's haproxy running the
// shipped deploy/haproxy/haproxy.cfg, everything on loopback.

interface Fleet { pages: PageServer; nodes: [CliInstance, CliInstance]; haproxy: HaproxyInstance; clients: { close(): Promise<void> }[]; token?: string }

async function startFleet(args: [string[], string[]] = [[], []], token?: string): Promise<Fleet> {
  const pages = await startPageServer();
  pages.route('/page', '<!doctype html><title>Page</title><p>page</p>');
  const nodes = await Promise.all(args.map((extra) => startCli(['--prewarm', '0', ...(token ? ['--auth-token', token] : []), ...extra]))) as [CliInstance, CliInstance];
  const haproxy = await startHaproxy([nodes[0].port, nodes[1].port]);
  return { pages, nodes, haproxy, clients: [], token };
}

async function stopFleet(fleet?: Fleet): Promise<void> {
  if (!fleet) return;
  await Promise.all(fleet.clients.map((c) => c.close().catch(() => {})));
  await fleet.haproxy.stop();
  await Promise.all(fleet.nodes.map((node) => node.stop()));
  await fleet.pages.close();
}

async function sessionIds(node: CliInstance, token?: string): Promise<string[]> {
  const { sessions } = await (await fetch(`${node.url}/sessions`, { headers: token ? { Authorization: `Bearer ${token}` } : {} })).json() as { sessions: { id: string }[] };
  return sessions.map((s) => s.id);
}

async function handlePrefixes(node: CliInstance): Promise<string[]> {
  const { browsers } = await (await fetch(`${node.url}/browsers`)).json() as { browsers: { handlePrefix: string }[] };
  return browsers.map((b) => b.handlePrefix);
}

/** A session through HAProxy that landed on `node`: new sessions until one does (leastconn spreads them). */
async function sessionOn(fleet: Fleet, node: CliInstance): Promise<TestClient> {
  for (let i = 0; i < 8; i++) {
    const client = await connectClient(fleet.haproxy.url, { token: fleet.token });
    fleet.clients.push(client);
    await client.call('browser_navigate', { url: `${fleet.pages.url}/page` });
    if ((await sessionIds(node, fleet.token)).includes(client.sessionId)) return client;
  }
  throw new Error(`no session landed on ${node.url}`);
}

/** Resolves with the call's outcome, or 'hung' after `ms`. */
function within<T>(ms: number, work: Promise<T>): Promise<T | 'hung'> {
  return Promise.race([work, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))]);
}

describe('two instances behind HAProxy: routing', () => {
  let fleet: Fleet;
  before(async () => { fleet = await startFleet(); });
  after(() => stopFleet(fleet));

  test('8 sessions of 2025-11-25 spread over both instances, and every call lands on its own browser', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connectClient(fleet.haproxy.url)));
    fleet.clients.push(...clients);
    await Promise.all(clients.map((client, i) => client.call('browser_navigate', { url: `${fleet.pages.url}/page?n=${i}` })));
    for (const [i, client] of clients.entries()) {
      assert.match(await client.text('browser_evaluate', { function: '() => location.search' }), new RegExp(`"\\?n=${i}"`), `session ${i} sees its own page`);
    }
    const [one, two] = await Promise.all(fleet.nodes.map((node) => sessionIds(node)));
    assert.ok(one.length > 0 && two.length > 0, `both instances hold sessions (${one.length} and ${two.length})`);
    for (const client of clients) assert.equal(Number(one.includes(client.sessionId)) + Number(two.includes(client.sessionId)), 1, 'each session lives on exactly one instance');
  });

  test('2026-07-28 handles spread over both instances, and every call naming one reaches its owner', async () => {
    const modern = await connectModern(fleet.haproxy.url);
    fleet.clients.push(modern);
    const handles = [];
    for (let i = 0; i < 6; i++) handles.push(await modern.open());
    assert.ok(handles.every((h) => /^node[12]\.[A-Za-z0-9_-]{24}$/.test(h)), `handles carry the instance's name: ${handles}`);
    assert.ok(handles.some((h) => h.startsWith('node1.')) && handles.some((h) => h.startsWith('node2.')), `spread over both: ${handles}`);
    for (const [i, browser] of handles.entries()) {
      await modern.call('browser_navigate', { browser, url: `${fleet.pages.url}/page?h=${i}` });
      assert.match(modernText(await modern.call('browser_evaluate', { browser, function: '() => location.search' })), new RegExp(`"\\?h=${i}"`));
    }
    const [one, two] = await Promise.all(fleet.nodes.map(handlePrefixes));
    for (const handle of handles) {
      const owner = handle.startsWith('node1.') ? one : two;
      assert.ok(owner.includes(handle.slice(0, 8)), `${handle} lives on the instance its name says`);
    }
    for (const browser of handles) await modern.call('browser_close', { browser });
  });
});

describe('two instances behind HAProxy: a full instance, a drained one', () => {
  let fleet: Fleet;
  before(async () => { fleet = await startFleet([['--max-browsers', '1', '--queue-size', '0', '--reclaim-idle-after', '0'], []]); });
  after(() => stopFleet(fleet));

  test('an instance at its --max-browsers gets no new sessions or browsers', async () => {
    const [full, other] = fleet.nodes;
    // Held directly, not through HAProxy: the full instance's one browser.
    const holder = await connectClient(full.url);
    fleet.clients.push(holder);
    await holder.call('browser_navigate', { url: `${fleet.pages.url}/page` });
    assert.equal((await fetch(`${full.url}/readyz`)).status, 503);
    const before = await sessionIds(full);
    const clients = await Promise.all(Array.from({ length: 4 }, () => connectClient(fleet.haproxy.url)));
    fleet.clients.push(...clients);
    for (const client of clients) assert.notEqual((await client.call('browser_navigate', { url: `${fleet.pages.url}/page` })).isError, true);
    assert.deepEqual(await sessionIds(full), before, 'no new session on the full instance');
    const onOther = await sessionIds(other);
    assert.ok(clients.every((c) => onOther.includes(c.sessionId)));
    const modern = await connectModern(fleet.haproxy.url);
    fleet.clients.push(modern);
    for (let i = 0; i < 3; i++) {
      const browser = await modern.open();
      assert.match(browser, /^node2\./, 'a stateless browser_open goes to the instance with room');
      await modern.call('browser_close', { browser });
    }
  });

  test('a drained instance gets no new sessions while its sessions keep working; SIGTERM then exits once they are gone', async () => {
    const [, node] = fleet.nodes;
    const staying = await sessionOn(fleet, node);
    const drained = await (await fetch(`${node.url}/admin/drain`, { method: 'POST' })).json() as { draining: boolean; sessions: number };
    assert.equal(drained.draining, true);
    assert.ok(drained.sessions >= 1);
    const ready = await fetch(`${node.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal((await ready.json() as { code: string }).code, 'DRAINING');
    // Both instances now refuse new work (the first is full): a new session gets a clear refusal, not a hang.
    const refused = await within(15_000, connectClient(fleet.haproxy.url).then(() => 'connected', (e: Error) => e.message));
    assert.notEqual(refused, 'hung');
    assert.match(String(refused), /503|DRAINING|BROWSER_LIMIT|Service Unavailable/i, String(refused));
    assert.match(await staying.text('browser_evaluate', { function: '() => document.title' }), /"Page"/, 'the drained instance\'s session keeps working');
    // Close what else this instance holds, then the last session: its exit follows that close.
    for (const id of await sessionIds(node)) if (id !== staying.sessionId) await fetch(`${node.url}/sessions/${id}`, { method: 'DELETE' });
    node.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(node.process.exitCode, null, 'still serving its last session a second after SIGTERM');
    const status = await (await fetch(`${node.url}/admin/drain`)).json() as { sessions: number; browsers: number };
    assert.deepEqual([status.sessions, status.browsers], [1, 1], 'what is left: the last session and its browser');
    const closedAt = Date.now();
    await staying.close();
    const exit = await within(15_000, node.exited);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() >= closedAt);
  });
});

describe('two instances behind HAProxy, with tokens: kill -9 of one', () => {
  const TOKEN = 'token-fleet-0123456789abcdef';
  let fleet: Fleet;
  // Tokens pass through HAProxy unchanged; its health checks need none.
  before(async () => { fleet = await startFleet([[], []], TOKEN); });
  after(() => stopFleet(fleet));

  test('the other instance\'s sessions and handles are unaffected, and the dead one\'s clients get a clear error', async () => {
    const [victim, survivor] = fleet.nodes;
    const doomed = await sessionOn(fleet, victim);
    const kept = await sessionOn(fleet, survivor);
    const modern = await connectModern(fleet.haproxy.url, { token: TOKEN });
    fleet.clients.push(modern);
    const handles: string[] = [];
    while (!handles.some((h) => h.startsWith('node2.'))) handles.push(await modern.open());
    victim.process.kill('SIGKILL');
    await victim.exited;
    const outcome = await within(20_000, doomed.call('browser_snapshot').then((r) => (r.isError ? 'tool error' : 'answered'), (e: Error) => e.message));
    assert.notEqual(outcome, 'hung', 'the dead instance\'s client is told, not left waiting');
    assert.notEqual(outcome, 'answered');
    assert.match(await kept.text('browser_evaluate', { function: '() => document.title' }), /"Page"/);
    for (const browser of handles.filter((h) => h.startsWith('node2.'))) {
      assert.notEqual((await modern.call('browser_snapshot', { browser })).isError, true, 'the survivor\'s handles still work');
    }
    const lost = handles.find((h) => h.startsWith('node1.'));
    if (lost) {
      const gone = await within(20_000, modern.call('browser_snapshot', { browser: lost }).then((r) => modernText(r), (e: Error) => e.message));
      assert.notEqual(gone, 'hung');
      assert.match(String(gone), /Unknown or expired browser handle|503|Service Unavailable|fetch failed/i, String(gone));
    }
    assert.ok(await waitUntil(async () => (await sessionIds(survivor, TOKEN)).includes(kept.sessionId)));
  });
});
