import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { connectClient, type TestClient } from '../helpers/client.ts';
import { waitUntil } from '../helpers/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const NOISY_WORKER = fileURLToPath(new URL('../fixtures/ops-noisy-worker.ts', import.meta.url));

describe('logs: JSON lines about a session carry its sessionId', () => {
  let server: TestServer;
  let client: TestClient;
  let sessionId: string;

  before(async () => {
    server = await startTestServer({ timeoutAction: 2000 }, { workerEntry: NOISY_WORKER });
    client = await connectClient(server.url);
    sessionId = client.sessionId;
    await client.call('browser_navigate', { url: 'data:text/html,<title>logs</title><p>hi</p>' });
    await client.call('browser_snapshot');
    await client.close();
    assert.ok(await waitUntil(() => server.logs.some((l) => l.msg === 'session ended' && l.sessionId === sessionId), 5000));
  });

  after(async () => {
    await server?.close();
  });

  test('every line is a JSON object with level, time and message', () => {
    assert.ok(server.logs.length > 3);
    for (const line of server.logs) {
      assert.equal(typeof line.level, 'number');
      assert.equal(typeof line.time, 'string');
      assert.equal(typeof line.msg, 'string');
    }
  });

  test('the lines of the session\'s life all carry its sessionId', () => {
    const about = server.logs.filter((l) => JSON.stringify(l).includes(sessionId));
    assert.ok(about.some((l) => l.msg === 'session opened'), 'the open is logged');
    assert.ok(about.some((l) => l.msg === 'browser acquired'), 'its first call getting a browser is logged');
    assert.ok(about.some((l) => l.msg === 'session ended'), 'the end is logged');
    for (const line of about) assert.equal(line.sessionId, sessionId, `line carries sessionId: ${JSON.stringify(line)}`);
  });

  test('what the worker prints on stdout and stderr is logged, tagged with stream, worker PID and session', () => {
    for (const stream of ['stdout', 'stderr']) {
      const line = server.logs.find((l) => l.stream === stream && String(l.msg).includes(`ops-noisy-worker says hello on ${stream}`));
      assert.ok(line, `the worker's ${stream} line is in the logs`);
      assert.equal(line.sessionId, sessionId);
      assert.equal(typeof line.workerPid, 'number');
    }
  });
});

test('--log-level drops lines below the level', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
  const log = createLogger('warn', sink).child({ sessionId: 's-1' });
  log.info('not written');
  log.warn('written');
  assert.deepEqual(lines.map((l) => [l.msg, l.sessionId]), [['written', 's-1']]);
});
