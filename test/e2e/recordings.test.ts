import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../helpers/browsers.ts';
import { connectClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readZip } from '../helpers/zip.ts';

const OWNER = 'token-owner-0123456789';
const OTHER = 'token-other-0123456789';
const ADMIN = 'token-admin-0123456789';
const auth = (token?: string): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

/** A session of `token` that navigates and clicks, then ends; resolves with its id once its recording is saved. */
async function recordedSession(server: TestServer, pages: PageServer, token?: string): Promise<string> {
  const client = await connectClient(server.url, { token });
  await client.call('browser_navigate', { url: `${pages.url}/form` });
  await client.call('browser_click', { target: 'text=Press me' });
  const id = server.supervisor.get(client.sessionId)!.browser!.id;
  const ended = nextEvent(server, 'browser.ended', (e) => e.id === id);
  await client.close();
  await ended;
  return client.sessionId;
}

describe('recordings (--record both)', () => {
  let server: TestServer;
  let pages: PageServer;
  let sessionId: string;

  before(async () => {
    pages = await startPageServer();
    pages.route('/form', '<!doctype html><title>Form</title><button onclick="this.textContent = \'pressed\'">Press me</button>');
    server = await startTestServer({ record: 'both', authToken: [OWNER, OTHER], adminToken: [ADMIN], prewarm: 0 });
    sessionId = await recordedSession(server, pages, OWNER);
  });
  after(async () => {
    await server?.close();
    await pages?.close();
  });

  test('the trace downloads as a zip with the trace and network entries, and holds the navigation and the click', async () => {
    const res = await fetch(`${server.url}/sessions/${sessionId}/trace`, { headers: auth(OWNER) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const entries = readZip(Buffer.from(await res.arrayBuffer()));
    assert.ok(entries.has('trace.trace') && entries.has('trace.network'), [...entries.keys()].join(', '));
    const trace = entries.get('trace.trace')!.toString('utf8');
    assert.match(trace, /"method":"goto"[^\n]*\/form/, 'the navigation');
    assert.match(trace, /"method":"click"/, 'the click');
    assert.match(entries.get('trace.network')!.toString('utf8'), /\/form/);
  });

  test('the video downloads as WebM', async () => {
    const res = await fetch(`${server.url}/sessions/${sessionId}/video`, { headers: auth(OWNER) });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.deepEqual([...body.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], 'an EBML (WebM) header');
    assert.ok(body.length > 1000);
  });

  test('the owner and an admin may download; another token gets 404, no token 401', async () => {
    const get = (token?: string) => fetch(`${server.url}/sessions/${sessionId}/trace`, { headers: auth(token) }).then((r) => r.status);
    assert.equal(await get(ADMIN), 200);
    assert.equal(await get(OTHER), 404);
    assert.equal(await get(), 401);
    assert.equal(await fetch(`${server.url}/sessions/not-a-session/trace`, { headers: auth(ADMIN) }).then((r) => r.status), 404);
  });

  test('the dashboard lists the recording with its links', async () => {
    const { recordings } = await (await fetch(`${server.url}/dashboard/recordings`, { headers: auth(ADMIN) })).json() as { recordings: { sessionId: string; files: string[] }[] };
    const mine = recordings.find((r) => r.sessionId === sessionId);
    assert.ok(mine, JSON.stringify(recordings));
    assert.deepEqual(mine.files, ['trace.zip', 'video.webm']);
    assert.ok(!JSON.stringify(recordings).includes('owner'), 'no token fingerprint on the page');
  });
});

describe('recording retention', () => {
  let server: TestServer;
  let pages: PageServer;

  before(async () => {
    pages = await startPageServer();
    pages.route('/form', '<!doctype html><title>Form</title><button>Press me</button>');
    server = await startTestServer({ record: 'trace', recordRetention: 1500, prewarm: 0 });
  });
  after(async () => {
    await server?.close();
    await pages?.close();
  });

  test('a recording is removed once --record-retention has passed', async () => {
    const sessionId = await recordedSession(server, pages);
    const status = () => fetch(`${server.url}/sessions/${sessionId}/trace`).then((r) => r.status);
    assert.equal(await status(), 200);
    assert.ok(await waitUntil(async () => (await status()) === 404, 10_000), 'gone after its retention');
  });
});
