// The session worker: one OS process per MCP session, owning one browser. It speaks only the IPC
// protocol of src/ipc/protocol.ts, never HTTP or MCP, and exits when its IPC channel closes.
import { mkdirSync } from 'node:fs';
import { FleetError, toFleetError } from '../src/errors.ts';
import {
  IPC_VERSION, isToWorker,
  type EventMessage, type EventName, type Events, type FromWorker, type Methods, type RequestMessage, type WorkerSettings,
} from '../src/ipc/protocol.ts';
import { Response } from '../src/tools/response.ts';
import { allTools } from '../src/tools/registry.ts';
import { normalizeLegacyArgs, type Tool, type ToolContext } from '../src/tools/tool.ts';
import { BrowserSession } from './browser-session.ts';

const send = (message: FromWorker) => {
  if (process.connected) process.send!(message);
};
const emit = <E extends EventName>(name: E, data: Events[E]) => send({ type: 'event', name, data } as EventMessage);

let session: BrowserSession | undefined;
const running = new Map<number, AbortController>();
const toolsByName = new Map<string, Tool>(allTools.map((tool) => [tool.name, tool]));

async function exitSoon(code: number): Promise<never> {
  // The browser dies with this process anyway (pipe transport); closing first is only politeness.
  const timer = setTimeout(() => process.exit(code), 2000);
  timer.unref();
  await session?.close();
  process.exit(code);
}

async function start(settings: WorkerSettings): Promise<void> {
  try {
    mkdirSync(settings.outputDir, { recursive: true });
    session = new BrowserSession(settings);
    session.onDisconnected = (reason) => emit('browser.disconnected', { reason });
    await session.launch();
    send({ type: 'ready', version: IPC_VERSION, workerPid: process.pid, browserPid: session.browserPid });
  } catch (error) {
    send({ type: 'start-failed', error: toFleetError(error, 'WORKER_START_FAILED').toWire() });
    await exitSoon(1);
  }
}

async function callTool(params: Methods['tool.call']['params'], signal: AbortSignal): Promise<Methods['tool.call']['result']> {
  const tool = toolsByName.get(params.name);
  if (!tool || (tool.capability && !session!.settings.caps.includes(tool.capability))) throw new FleetError('UNKNOWN_TOOL', `Tool "${params.name}" not found`);
  const parsed = tool.input.safeParse(normalizeLegacyArgs(params.args));
  if (!parsed.success) throw new FleetError('INVALID_ARGUMENTS', parsed.error.message);
  const browser = session!;
  const context: ToolContext = {
    settings: browser.settings,
    signal,
    currentPage: () => browser.currentPage(),
    currentPageOrUndefined: () => browser.currentPageOrUndefined(),
    resolveTarget: (target) => browser.resolveTarget(target),
    settleAfter: (action) => browser.settleAfter(action),
    closeBrowser: () => browser.close(),
  };
  const response = new Response();
  try {
    await tool.handle(context, parsed.data, response);
  } catch (error) {
    response.addError(errorText(error));
  }
  const state = await browser.renderState({ include: response.includeSnapshot && !response.isError, ...response.snapshotOptions })
    .catch((error) => ({ notices: [`Could not capture the page state: ${errorText(error)}`] }));
  return response.serialize(state);
}

/** Playwright messages carry a call log after the first lines; keep what a model can act on. */
function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\nCall log:')[0].trim();
}

async function handle(message: RequestMessage): Promise<unknown> {
  const controller = new AbortController();
  running.set(message.id, controller);
  const timer = setTimeout(() => controller.abort(new FleetError('TOOL_TIMEOUT', `${describe(message)} did not finish before its deadline`)),
    Math.max(0, message.deadline - Date.now()));
  try {
    const work = run(message, controller.signal);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    return await Promise.race([work, aborted]);
  } finally {
    clearTimeout(timer);
    running.delete(message.id);
  }
}

function describe(message: RequestMessage): string {
  return message.method === 'tool.call' ? (message.params as Methods['tool.call']['params']).name : message.method;
}

async function run(message: RequestMessage, signal: AbortSignal): Promise<unknown> {
  switch (message.method) {
    case 'tool.call': return callTool(message.params as Methods['tool.call']['params'], signal);
    case 'status': return session!.status();
    case 'ping': return { at: Date.now() };
    case 'browser.reopen': {
      const params = message.params as Methods['browser.reopen']['params'];
      await session!.close();
      const browser = session!.settings.browser;
      if (params.headless !== undefined) browser.headless = params.headless;
      if (params.width !== undefined || params.height !== undefined) {
        browser.viewport = { width: params.width ?? browser.viewport.width, height: params.height ?? browser.viewport.height };
      }
      await session!.launch();
      return session!.status();
    }
    case 'shutdown':
      setImmediate(() => void exitSoon(0));
      return { closed: true };
    default:
      throw new FleetError('BAD_REQUEST', `unknown method ${String(message.method)}`);
  }
}

process.on('message', (raw: unknown) => {
  if (!isToWorker(raw)) {
    process.stderr.write(`worker: dropped a malformed frame: ${String(JSON.stringify(raw)).slice(0, 200)}\n`);
    return;
  }
  if (raw.type === 'startup') {
    if (raw.version !== IPC_VERSION) {
      send({ type: 'start-failed', error: { code: 'PROTOCOL_MISMATCH', message: `worker speaks IPC version ${IPC_VERSION}, front sent ${raw.version}` } });
      void exitSoon(1);
      return;
    }
    void start(raw.settings);
  } else if (raw.type === 'cancel') {
    running.get(raw.id)?.abort(new FleetError('CANCELLED', raw.reason ?? 'cancelled'));
  } else {
    const id = raw.id;
    handle(raw).then(
      (result) => send({ type: 'response', id, ok: true, result } as FromWorker),
      (error) => send({ type: 'response', id, ok: false, error: toFleetError(error).toWire() }),
    );
  }
});

// The front is gone (closed the channel, or died, even by SIGKILL): take the browser down with us.
process.on('disconnect', () => void exitSoon(0));
