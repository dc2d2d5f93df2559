import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { treesStats } from '../supervisor/process-stats.ts';
import type { SupervisorEvents } from '../supervisor/session-types.ts';

const PREFIX = 'browser_fleet_';

let processRegistry: Registry | undefined;

/**
 * The front's own process metrics (CPU, memory, event loop, GC). They describe the process, not a
 * server instance, so they are collected once per process and merged into every scrape; a second
 * collectDefaultMetrics per server would add observers that are never released.
 */
function frontProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The Prometheus metrics of one server instance, fed by supervisor events. */
export interface Metrics {
  /** This server's own registry (not prom-client's global one, so servers in one process don't clash). */
  registry: Registry;
  /** Content-Type of the exposition text. */
  contentType: string;
  /** The exposition text: fleet metrics plus the front's process metrics. */
  render(): Promise<string>;
  /** Stops listening to the supervisor. */
  close(): void;
}

/**
 * Creates the metrics of a server and subscribes them to `supervisor`'s events. Per-browser memory
 * and CPU are read from /proc at scrape time, over each worker's process tree (its Chromium too).
 */
export function createMetrics(supervisor: Supervisor): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, value: () => number) => new Gauge({ name: `${PREFIX}${name}`, help, registers, collect() { this.set(value()); } });

  gauge('sessions_active', 'MCP sessions open now', () => supervisor.size);
  gauge('browsers_active', 'Browsers held by sessions now', () => supervisor.browserCount);
  gauge('browsers_max', 'Most browsers at once (--max-browsers)', () => supervisor.readiness().browsers.max);
  gauge('browsers_warm', 'Warm browsers in the pool (fresh or recycled, ready or starting)', () => supervisor.poolSize);
  gauge('browsers_warm_target', 'What the warm pool is sized for now: its floor, or the recent peak of a burst', () => supervisor.poolTarget);
  gauge('browsers_queued', 'First calls waiting for a browser', () => supervisor.queued);
  const opened = new Counter({ name: `${PREFIX}sessions_opened_total`, help: 'MCP sessions opened', registers });
  const rejected = new Counter({ name: `${PREFIX}sessions_rejected_total`, help: 'New sessions refused, by error code', labelNames: ['code'], registers });
  const ended = new Counter({ name: `${PREFIX}sessions_ended_total`, help: 'Sessions ended, by reason (idle and lifetime are reaped)', labelNames: ['reason'], registers });
  const acquired = new Counter({ name: `${PREFIX}browsers_acquired_total`, help: 'Browsers handed to sessions, by how: warm (fresh from the pool), recycled or cold', labelNames: ['how'], registers });
  const acquireSeconds = new Histogram({
    name: `${PREFIX}browser_acquire_seconds`, help: 'Time from a first call to its browser, by how it was had', labelNames: ['how'], registers,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  });
  const waited = new Histogram({
    name: `${PREFIX}browser_wait_seconds`, help: 'Time a first call waited for a slot at the browser cap', registers,
    buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
  });
  const refused = new Counter({ name: `${PREFIX}browsers_refused_total`, help: 'First calls that got no browser, by error code', labelNames: ['code'], registers });
  const released = new Counter({
    name: `${PREFIX}browsers_ended_total`, help: 'Browser leases ended, by reason and whether the worker was recycled into the pool',
    labelNames: ['reason', 'recycled'], registers,
  });
  const faults = new Counter({
    name: `${PREFIX}browser_faults_total`, help: 'Worker or browser failures under a lease (crash, hang), by code and whether a fresh worker took over',
    labelNames: ['code', 'recovered'], registers,
  });
  const starts = new Counter({ name: `${PREFIX}worker_starts_total`, help: 'Worker starts, by whether the worker answered READY', labelNames: ['ok'], registers });
  const startSeconds = new Histogram({
    name: `${PREFIX}worker_start_seconds`, help: 'Time from fork to READY (browser launched) of a worker', labelNames: ['ok'], registers,
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
  });
  const toolSeconds = new Histogram({
    name: `${PREFIX}tool_call_seconds`, help: 'Tool call latency seen by the front, by tool and outcome (ok, error or an error code)',
    labelNames: ['tool', 'outcome'], registers,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const memory = new Gauge({ name: `${PREFIX}browser_memory_bytes`, help: 'Memory of a session\'s browser: its worker and Chromium (pss: shared pages split between sharers)', labelNames: ['session', 'kind'], registers });
  const cpu = new Gauge({ name: `${PREFIX}browser_cpu_seconds`, help: 'CPU time (user + system) of a session\'s worker and Chromium, live processes only', labelNames: ['session'], registers });

  const listeners: { [E in keyof SupervisorEvents]?: (...args: SupervisorEvents[E]) => void } = {
    'session.opened': () => opened.inc(),
    'session.rejected': ({ code }) => rejected.inc({ code }),
    'session.ended': ({ reason }) => ended.inc({ reason }),
    'browser.acquired': ({ how, waitedMs, ms }) => {
      acquired.inc({ how });
      acquireSeconds.observe({ how }, ms / 1000);
      waited.observe(waitedMs / 1000);
    },
    'browser.refused': ({ code }) => refused.inc({ code }),
    'browser.ended': ({ reason, recycled }) => released.inc({ reason, recycled: String(recycled) }),
    'worker.started': ({ ms, ok }) => {
      starts.inc({ ok: String(ok) });
      startSeconds.observe({ ok: String(ok) }, ms / 1000);
    },
    'browser.faulted': ({ code, recovered }) => faults.inc({ code, recovered: String(recovered) }),
    'tool.called': ({ tool, outcome, ms }) => toolSeconds.observe({ tool, outcome }, ms / 1000),
  };
  for (const [event, listener] of Object.entries(listeners)) supervisor.on(event as 'session.ended', listener as never);

  const collectBrowsers = async () => {
    const bySession = new Map(supervisor.browsers().flatMap((lease) => (lease.sessionId ? [[lease.worker.pid, lease.sessionId] as const] : [])));
    const all = await treesStats([...bySession.keys()]);
    memory.reset();
    cpu.reset();
    for (const [pid, stats] of all) {
      const session = bySession.get(pid)!;
      memory.set({ session, kind: 'pss' }, stats.pssBytes);
      memory.set({ session, kind: 'rss' }, stats.rssBytes);
      cpu.set({ session }, stats.cpuSeconds);
    }
  };

  return {
    registry,
    contentType: registry.contentType,
    render: async () => {
      await collectBrowsers();
      return Registry.merge([frontProcessRegistry(), registry]).metrics();
    },
    close: () => {
      for (const [event, listener] of Object.entries(listeners)) supervisor.off(event as 'session.ended', listener as never);
    },
  };
}
