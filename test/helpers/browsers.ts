import type { BrowserInfo, SessionInfo, SupervisorEvents } from '../../src/supervisor/session-types.ts';
import type { TestServer } from './server.ts';

/** What `server.supervisor.list()` (and GET /sessions) shows of session `sessionId`; undefined once it ended. */
export async function sessionInfo(server: TestServer, sessionId: string): Promise<SessionInfo | undefined> {
  return (await server.supervisor.list()).find((session) => session.id === sessionId);
}

/**
 * The browser of session `sessionId` as /sessions shows it (lease id, worker and browser PIDs,
 * pages, uses). Throws when the session is gone or has no browser yet (before its first call).
 */
export async function browserOf(server: TestServer, sessionId: string): Promise<BrowserInfo> {
  const session = await sessionInfo(server, sessionId);
  if (!session) throw new Error(`session ${sessionId} is not open`);
  if (!session.browser) throw new Error(`session ${sessionId} has no browser (no tool call has needed one yet)`);
  return session.browser;
}

/**
 * Resolves with the next `event` of the server's supervisor that `match` accepts; rejects after
 * `timeoutMs`. Subscribe before doing what emits it.
 */
export function nextEvent<E extends keyof SupervisorEvents>(
  server: TestServer,
  event: E,
  match: (payload: SupervisorEvents[E][0]) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<SupervisorEvents[E][0]> {
  const promise = new Promise<SupervisorEvents[E][0]>((resolve, reject) => {
    const listener = ((payload: SupervisorEvents[E][0]) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      server.supervisor.off(event, listener);
      resolve(payload);
    }) as never;
    const timer = setTimeout(() => {
      server.supervisor.off(event, listener);
      reject(new Error(`no matching ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    server.supervisor.on(event, listener);
  });
  promise.catch(() => {}); // awaited by the caller; not an unhandled rejection if it is awaited late
  return promise;
}

/** Records every payload of one supervisor event from now on. */
export function recordEvents<E extends keyof SupervisorEvents>(server: TestServer, event: E): SupervisorEvents[E][0][] {
  const seen: SupervisorEvents[E][0][] = [];
  server.supervisor.on(event, ((payload: SupervisorEvents[E][0]) => seen.push(payload)) as never);
  return seen;
}
