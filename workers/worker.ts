// The worker: one OS process per browser lease, owning one browser, recycled from lease to lease. It speaks only the IPC
// protocol of src/ipc/protocol.ts, never HTTP or MCP, and exits when its IPC channel closes.
import { mkdirSync, rmSync } from 'node:fs';
import { FleetError, toFleetError } from '../src/errors.ts';
import {
  IPC_VERSION, isToWorker,
  type EventMessage, type EventName, type Events, type FromWorker, type Methods, type PageLog, type RequestMessage, type WorkerSettings,
} from '../src/ipc/protocol.ts';
import { processTree } from '../src/supervisor/process-stats.ts';
import { redactDeep } from '../src/tools/redact.ts';
import { Annotations } from './annotations.ts';
import { BrowserSession } from './browser-session.ts';
import { closeStuckTabs, describeStuck } from './stuck-page.ts';
import { runTool } from './tool-runner.ts';

// Every answer and event passes here, so no result, log line or notice shows a --secrets value
// or a --redact-url-params value, whichever tool or page produced it.
const send = (message: FromWorker) => {
  if (process.connected) process.send!(session?.hidesText ? redactDeep(message, session.redact) : message);
};
const emit = <E extends EventName>(name: E, data: Events[E]) => send({ type: 'event', name, data } as EventMessage);

let session: BrowserSession | undefined;
/** browser_annotate's requests waiting for a person at the dashboard. */
const annotations = new Annotations((name, data) => emit(name, data));
const running = new Map<number, AbortController>();

/** Most page log events sent per second; past it they are counted, and the count is sent once the second is over. */
const PAGE_LOGS_PER_SECOND = 20;
let pageLogWindow = { start: 0, sent: 0, dropped: 0 };

/** Forwards a page problem to the front, at most PAGE_LOGS_PER_SECOND a second: a page can log in a loop. */
function forwardPageLog(log: PageLog): void {
  const now = Date.now();
  if (now - pageLogWindow.start >= 1000) {
    if (pageLogWindow.dropped > 0) emit('page.log', { ...log, text: `${pageLogWindow.dropped} more page errors in one second were not sent` });
    pageLogWindow = { start: now, sent: 0, dropped: 0 };
  }
  if (pageLogWindow.sent >= PAGE_LOGS_PER_SECOND) {
    pageLogWindow.dropped++;
    return;
  }
  pageLogWindow.sent++;
  emit('page.log', { ...log, text: log.text.slice(0, 2000) });
}

async function exitSoon(code: number): Promise<never> {
  const exit = () => process.exit(code);
  // The browser dies with this process anyway (pipe transport); closing first is only politeness,
  // and a browser still launching may never answer it.
  setTimeout(exit, 2000).unref();
  await session?.close();
  return exit();
}

/**
 * Nobody is left to remove this worker's files (the front died, perhaps by SIGKILL): do it here.
 * The browser, if it did not close in time, would outlive this process for a moment and could
 * write its profile (in our TMPDIR) again after the removal: stop our children first.
 */
function removeSessionFiles(): void {
  for (const pid of processTree(process.pid).slice(1)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const { outputDir, tempDir } = session?.settings ?? {};
  for (const dir of [outputDir, tempDir]) if (dir) rmSync(dir, { recursive: true, force: true });
}

async function start(settings: WorkerSettings): Promise<void> {
  try {
    mkdirSync(settings.outputDir, { recursive: true, mode: 0o700 });
    session = new BrowserSession(settings);
    session.onDisconnected = (reason) => emit('browser.disconnected', { reason });
    session.onLaunched = (pid) => emit('browser.launched', { pid });
    session.onPageLog = forwardPageLog;
    await session.launch();
    if (settings.warmUp) await session.warmUp();
    send({ type: 'ready', version: IPC_VERSION, workerPid: process.pid, browserPid: session.browserPid });
  } catch (error) {
    send({ type: 'start-failed', error: toFleetError(error, 'WORKER_START_FAILED').toWire() });
    await exitSoon(1);
  }
}

/** The check of every tab after an abandoned call, while it runs: the next call waits for it. */
let tabCheck: Promise<void> | undefined;

async function handle(message: RequestMessage): Promise<unknown> {
  const controller = new AbortController();
  running.set(message.id, controller);
  const budgetMs = Math.max(0, message.deadline - Date.now());
  const timer = setTimeout(() => controller.abort(new FleetError('TOOL_TIMEOUT', `${describe(message)} did not finish within ${budgetMs} ms`)), budgetMs);
  try {
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    if (tabCheck && message.method === 'tool.call') await Promise.race([tabCheck, aborted]);
    const work = run(message, controller.signal);
    return await Promise.race([work, aborted]);
  } catch (error) {
    if (controller.signal.aborted && message.method === 'tool.call') {
      // The answer goes now, within the deadline; whether a tab is stuck is found out after it.
      tabCheck ??= checkAbandonedTabs().finally(() => { tabCheck = undefined; });
      const fleetError = toFleetError(error);
      throw new FleetError(fleetError.code, `${fleetError.message}. A tab stuck in a script is closed, and the next result says so`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
    running.delete(message.id);
  }
}

/**
 * An abandoned call may have left a tab stuck in script, which would hang every later call on it
 * and burn a core: close every such tab and say so in the next result (a notice).
 */
async function checkAbandonedTabs(): Promise<void> {
  if (!session?.isOpen) return;
  const outcome = await closeStuckTabs(session.tabStates(), () => session!.close());
  if (outcome.kind === 'responsive') return;
  if (outcome.kind === 'wedged') {
    // Not even the browser would close: exit, and the supervisor starts a fresh worker (its notice says the page state was lost).
    setTimeout(() => process.exit(1), 100);
    return;
  }
  // The selected tab was closed: another open tab takes its place, or a blank one is opened.
  const replacement = session.pages().length > 0 ? 'other' : 'blank';
  emit('notice', { text: describeStuck(outcome, replacement) });
  if (outcome.kind === 'tabs-closed' && outcome.selectedClosed) await session.currentPage().catch(() => {});
}

function describe(message: RequestMessage): string {
  return message.method === 'tool.call' ? (message.params as Methods['tool.call']['params']).name : message.method;
}

async function run(message: RequestMessage, signal: AbortSignal): Promise<unknown> {
  switch (message.method) {
    case 'tool.call': {
      const progress = (done: number, total: number | undefined, text: string) => emit('call.progress', { requestId: message.id, progress: done, total, message: text });
      return runTool(session!, message.params as Methods['tool.call']['params'], {
        signal, deadline: message.deadline, progress, annotate: (request) => annotations.request(request, signal),
      });
    }
    case 'status': return session!.status();
    case 'lease.finish': {
      const { dir } = message.params as Methods['lease.finish']['params'];
      return session!.finishRecording(dir);
    }
    case 'thumbnail': return session!.thumbnail((message.params as Methods['thumbnail']['params']).quality);
    case 'ping': return { at: Date.now() };
    case 'annotation.submit': return annotations.submit(message.params as Methods['annotation.submit']['params']);
    case 'lease.bind': {
      const { outputDir } = message.params as Methods['lease.bind']['params'];
      mkdirSync(outputDir, { recursive: true, mode: 0o700 });
      session!.settings.outputDir = outputDir;
      return { outputDir };
    }
    case 'lease.reset': {
      const { outputDir } = message.params as Methods['lease.reset']['params'];
      mkdirSync(outputDir, { recursive: true, mode: 0o700 });
      await session!.reset(outputDir);
      return { outputDir };
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
// However this process ends (the exit above, a failed start racing it, a wedged browser), once the
// front is gone nobody else will remove its files.
process.on('exit', () => {
  if (!process.connected) removeSessionFiles();
});
