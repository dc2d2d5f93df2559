import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { treesStats } from '../supervisor/process-stats.ts';

const PREFIX = 'browser_fleet_';

/** Getters the supervisor may expose as its queue and pool land; read when present, else 0. */
interface OptionalCounts {
  queued?: number;
  poolSize?: number;
}

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
 * Creates the metrics of a server and subscribes them to `supervisor`'s events. Per-worker memory
 * and CPU are read from /proc at scrape time, over each worker's process tree (its browser too).
 */
export function createMetrics(supervisor: Supervisor): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const counts = supervisor as Supervisor & OptionalCounts;
  const sessions = new Set<string>();

  new Gauge({ name: `${PREFIX}sessions_active`, help: 'Sessions open now', registers, collect() { this.set(supervisor.size); } });
  new Gauge({ name: `${PREFIX}sessions_queued`, help: 'New sessions waiting for a slot', registers, collect() { this.set(counts.queued ?? 0); } });
  new Gauge({ name: `${PREFIX}workers_prewarmed`, help: 'Started workers waiting for a session', registers, collect() { this.set(counts.poolSize ?? 0); } });
  const admitted = new Counter({ name: `${PREFIX}sessions_admitted_total`, help: 'Sessions admitted', registers });
  const rejected = new Counter({ name: `${PREFIX}sessions_rejected_total`, help: 'New sessions refused, by error code', labelNames: ['code'], registers });
  const ended = new Counter({ name: `${PREFIX}sessions_ended_total`, help: 'Sessions ended, by reason (idle and lifetime are reaped; crashed)', labelNames: ['reason'], registers });
  const reaped = new Counter({ name: `${PREFIX}sessions_reaped_total`, help: 'Sessions closed by the idle or lifetime limit', labelNames: ['reason'], registers });
  const crashed = new Counter({ name: `${PREFIX}sessions_crashed_total`, help: 'Sessions ended because their worker crashed', registers });
  const faults = new Counter({
    name: `${PREFIX}session_faults_total`, help: 'Worker or browser failures of a session (crash, hang), by code and whether a fresh worker took over',
    labelNames: ['code', 'recovered'], registers,
  });
  const waited = new Histogram({
    name: `${PREFIX}session_wait_seconds`, help: 'Time an admitted session waited in the queue', registers,
    buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
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
  const memory = new Gauge({ name: `${PREFIX}worker_memory_bytes`, help: 'Memory of a session worker and its browser (pss: shared pages split between sharers)', labelNames: ['session', 'kind'], registers });
  const cpu = new Gauge({ name: `${PREFIX}worker_cpu_seconds`, help: 'CPU time (user + system) of a session worker and its browser, live processes only', labelNames: ['session'], registers });

  const listeners = {
    'session.admitted': ({ id, waitedMs }: { id: string; waitedMs: number }) => {
      sessions.add(id);
      admitted.inc();
      waited.observe(waitedMs / 1000);
    },
    'session.rejected': ({ code }: { code: string }) => rejected.inc({ code }),
    'session.ended': ({ id, reason }: { id: string; reason: string }) => {
      sessions.delete(id);
      ended.inc({ reason });
      if (reason === 'idle' || reason === 'lifetime') reaped.inc({ reason });
      if (reason === 'crashed') crashed.inc();
    },
    'worker.started': ({ ms, ok }: { ms: number; ok: boolean }) => {
      starts.inc({ ok: String(ok) });
      startSeconds.observe({ ok: String(ok) }, ms / 1000);
    },
    'session.faulted': ({ code, recovered }: { code: string; recovered: boolean }) => faults.inc({ code, recovered: String(recovered) }),
    'tool.called': ({ tool, outcome, ms }: { tool: string; outcome: string; ms: number }) => toolSeconds.observe({ tool, outcome }, ms / 1000),
  } as const;
  for (const [event, listener] of Object.entries(listeners)) supervisor.on(event as 'session.ended', listener as never);

  const collectWorkers = async () => {
    const byPid = new Map<number, string>();
    for (const id of sessions) {
      const pid = supervisor.get(id)?.worker.pid;
      if (pid !== undefined) byPid.set(pid, id);
    }
    const all = await treesStats([...byPid.keys()]);
    memory.reset();
    cpu.reset();
    for (const [pid, stats] of all) {
      const session = byPid.get(pid)!;
      memory.set({ session, kind: 'pss' }, stats.pssBytes);
      memory.set({ session, kind: 'rss' }, stats.rssBytes);
      cpu.set({ session }, stats.cpuSeconds);
    }
  };

  return {
    registry,
    contentType: registry.contentType,
    render: async () => {
      await collectWorkers();
      return Registry.merge([frontProcessRegistry(), registry]).metrics();
    },
    close: () => {
      for (const [event, listener] of Object.entries(listeners)) supervisor.off(event as 'session.ended', listener as never);
    },
  };
}
