import { randomUUID } from 'node:crypto';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Config } from './config.ts';
import { createMcpSession } from './front/mcp-session.ts';
import type { Logger } from './log.ts';
import { createSupervisor } from './server.ts';
import type { Supervisor } from './supervisor/supervisor.ts';

/** browser-fleet serving one MCP client on stdin/stdout (--stdio). */
export interface RunningStdio {
  supervisor: Supervisor;
  /** The one session the client's calls run in, for the life of the process. */
  sessionId: string;
  /** Resolves, saying why, once the client is gone: stdin ended or failed, stdout broke, or the transport closed. */
  clientGone: Promise<string>;
  /** Ends the session and every browser (calls in flight get --shutdown-timeout), then closes the transport. */
  close(): Promise<void>;
}

/**
 * Serves one MCP client on stdin/stdout with the same supervisor as the HTTP front: its limits,
 * recovery and recycling, one worker per browser. The MCP server is the one an HTTP session gets;
 * its HTTP transport is left unconnected. stdout carries the MCP messages only: the logger must
 * write to stderr, and workers' output is already captured into the log.
 */
export async function startStdio(config: Config, log: Logger): Promise<RunningStdio> {
  const { supervisor, browserPath } = await createSupervisor(config, log);
  const sessionId = randomUUID();
  // Throws a FleetError (LOW_MEMORY) when no browser could be started now: start-up fails with its message.
  supervisor.openSession(sessionId);
  const { server } = createMcpSession({ sessionId, config, supervisor });
  const clientName = () => server.getClientVersion()?.name;

  // Over HTTP a session that ended (its browser could not be recovered, --idle-timeout,
  // --session-lifetime) is followed by a new one the client initializes; on a pipe the client
  // cannot do that, so the session opens again under the same id and the next call gets a fresh browser.
  supervisor.on('session.ended', ({ id, reason }) => {
    if (id !== sessionId || reason === 'shutdown') return;
    try {
      supervisor.openSession(sessionId, undefined, clientName());
    } catch (error) {
      log.error({ sessionId, err: (error as Error).message }, 'the stdio session could not be opened again; calls will fail');
    }
  });

  let gone!: (why: string) => void;
  const clientGone = new Promise<string>((resolve) => (gone = resolve));
  process.stdin.once('end', () => gone('stdin ended'));
  process.stdin.once('close', () => gone('stdin closed'));
  // EPIPE when the client exited with answers still to write; without a listener the error would throw.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => gone(`stdout failed (${error.code ?? error.message})`));
  server.onclose = () => gone('transport closed');
  server.oninitialized = () => log.info({ sessionId, clientName: clientName() }, 'stdio client initialized');

  await server.connect(new StdioServerTransport());
  supervisor.start();
  log.info({ sessionId, browser: browserPath, maxBrowsers: config.maxBrowsers, prewarm: config.prewarm }, 'browser-fleet serving one client on stdio');

  let closing: Promise<void> | undefined;
  const close = () => closing ??= (async () => {
    await supervisor.shutdown();
    await server.close();
  })();
  return { supervisor, sessionId, clientGone, close };
}
