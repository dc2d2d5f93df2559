import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config.ts';
import type { SupervisorEvents } from '../../src/supervisor/session-types.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The browserless worker (see test/fixtures/fake-worker-lib.ts for what it can be told to do). */
export const FAKE_WORKER = fileURLToPath(new URL('../fixtures/fake-worker.ts', import.meta.url));
/** A worker that dies at start-up. */
export const CRASH_AT_START_WORKER = fileURLToPath(new URL('../fixtures/crash-at-start-worker.ts', import.meta.url));

/** A real server whose sessions run a fixture worker; heartbeats are quick unless overridden. */
export function startFixtureServer(overrides: ConfigInput = {}, workerEntry = FAKE_WORKER): Promise<TestServer> {
  return startTestServer({ heartbeatInterval: 200, heartbeatTimeout: 1000, ...overrides }, { workerEntry });
}

/** A raw `initialize` POST, for answers the SDK client would turn into exceptions. */
export function initialize(baseUrl: string): Promise<Response> {
  return fetch(new URL('/mcp', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'supervisor-test', version: '1' } },
    }),
  });
}

/** Records every payload of one supervisor event from now on. */
export function record<E extends keyof SupervisorEvents>(server: TestServer, event: E): SupervisorEvents[E][0][] {
  const seen: SupervisorEvents[E][0][] = [];
  server.supervisor.on(event, ((payload: SupervisorEvents[E][0]) => seen.push(payload)) as never);
  return seen;
}

/** The PID of the worker serving session `id`'s browser, once a call gave it one. */
export function workerPid(server: TestServer, id: string): number | undefined {
  return server.supervisor.get(id)?.browser?.worker.pid;
}

/** PIDs of the workers waiting warm in the pool. */
export function pooledPids(server: TestServer): number[] {
  return server.supervisor.poolWorkers().map((worker) => worker.pid);
}
