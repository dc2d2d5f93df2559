// Samples the resources of a browser-fleet server from outside (issue #15, item 1): PSS of the
// front and of each browser (a worker and its Chromium tree, from /proc/PID/smaps_rollup through
// src/supervisor/process-stats.ts), open file descriptors (the front's, and the tree's total),
// live processes of the server's tree (zombies count as gone), worker TMPDIRs and --output-dir
// entries, the front's event-loop delay (prom-client's nodejs_eventloop_lag_p99_seconds from
// /metrics, and the time a GET /healthz takes); then the least-squares slope of each series per
// hour, and the bounds the soak and chaos runs judge them by.
import { readdirSync, readFileSync } from 'node:fs';
import { parentMap, processTree, treeStats } from '../src/supervisor/process-stats.ts';
import { ADMIN_TOKEN, outputEntries, workerTempDirs, type Fleet } from './load-lanes.ts';

const MB = 1024 * 1024;

export interface Sample {
  /** Seconds since sampling began. */
  t: number;
  frontPssMb: number;
  frontFds: number;
  /** Every browser's worker and Chromium tree, warm ones included. */
  browsers: { workerPid: number; pssMb: number; processes: number; fds: number }[];
  browsersPssMb: number;
  /** Mean PSS of one browser tree (0 when none). */
  meanBrowserPssMb: number;
  /** Open descriptors of every live process of the server's tree. */
  treeFds: number;
  /** Live processes of the server's tree, the front included. */
  processes: number;
  workerTempDirs: number;
  outputEntries: number;
  /** p99 of the front's event-loop delay since the previous scrape, ms. */
  lagP99Ms: number;
  healthzMs: number;
}

function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** A worker is a child of the front that runs the worker program (not esbuild's service, not systemd-notify). */
function isWorker(pid: number): boolean {
  try {
    return /\/worker[-.][^/]*\.(m?js|cjs|ts)\b|workers\/worker\.ts/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
  } catch {
    return false;
  }
}

export async function takeSample(fleet: Fleet, startedAt: number): Promise<Sample> {
  const front = fleet.cli.process.pid!;
  const healthStart = performance.now();
  await fetch(new URL('/healthz', fleet.base), { signal: AbortSignal.timeout(30_000) }).then((res) => res.text()).catch(() => '');
  const healthzMs = performance.now() - healthStart;
  const metrics = await fetch(new URL('/metrics', fleet.base), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: AbortSignal.timeout(30_000) })
    .then((res) => res.text()).catch(() => '');
  const lag = Number(metrics.match(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m)?.[1] ?? 0);
  const children = parentMap();
  const tree = processTree(front, children).filter(isLive);
  const frontStats = await treeStats(front, new Map());
  const workers = (children.get(front) ?? []).filter((pid) => isLive(pid) && isWorker(pid));
  const browsers = await Promise.all(workers.map(async (workerPid) => {
    const stats = await treeStats(workerPid, children);
    const live = stats.pids.filter(isLive);
    return { workerPid, pssMb: stats.pssBytes / MB, processes: live.length, fds: live.reduce((sum, pid) => sum + fdCount(pid), 0) };
  }));
  const browsersPssMb = browsers.reduce((sum, b) => sum + b.pssMb, 0);
  return {
    t: (Date.now() - startedAt) / 1000,
    frontPssMb: frontStats.pssBytes / MB,
    frontFds: fdCount(front),
    browsers,
    browsersPssMb,
    meanBrowserPssMb: browsers.length ? browsersPssMb / browsers.length : 0,
    treeFds: tree.reduce((sum, pid) => sum + fdCount(pid), 0),
    processes: tree.length,
    workerTempDirs: workerTempDirs(fleet).length,
    outputEntries: outputEntries(fleet).length,
    lagP99Ms: Number.isFinite(lag) ? lag * 1000 : 0,
    healthzMs,
  };
}

/** Samples every `intervalMs` until `stop()`, which takes a last sample and returns them all. */
export function startSampler(fleet: Fleet, intervalMs: number, onSample?: (sample: Sample) => void): { samples: Sample[]; stop(): Promise<Sample[]> } {
  const startedAt = Date.now();
  const samples: Sample[] = [];
  let busy: Promise<void> = Promise.resolve();
  const sample = () => {
    busy = busy.then(async () => {
      const s = await takeSample(fleet, startedAt);
      samples.push(s);
      onSample?.(s);
    }).catch(() => {});
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    samples,
    stop: async () => {
      clearInterval(timer);
      sample();
      await busy;
      return samples;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Slopes and bounds

/** Least-squares slope of `ys` over `ts` (seconds), per hour; 0 with fewer than 2 points. */
export function slopePerHour(ts: number[], ys: number[]): number {
  const n = ts.length;
  if (n < 2) return 0;
  const mt = ts.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (ts[i] - mt) * (ys[i] - my);
    den += (ts[i] - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

/** The series a run reports, with how each is read from a sample. */
export const SERIES: Record<string, { unit: string; of: (s: Sample) => number }> = {
  frontPssMb: { unit: 'MB', of: (s) => s.frontPssMb },
  browsersPssMb: { unit: 'MB', of: (s) => s.browsersPssMb },
  meanBrowserPssMb: { unit: 'MB', of: (s) => s.meanBrowserPssMb },
  frontFds: { unit: 'fds', of: (s) => s.frontFds },
  treeFds: { unit: 'fds', of: (s) => s.treeFds },
  processes: { unit: 'processes', of: (s) => s.processes },
  browsers: { unit: 'browsers', of: (s) => s.browsers.length },
  workerTempDirs: { unit: 'dirs', of: (s) => s.workerTempDirs },
  outputEntries: { unit: 'dirs', of: (s) => s.outputEntries },
  lagP99Ms: { unit: 'ms', of: (s) => s.lagP99Ms },
  healthzMs: { unit: 'ms', of: (s) => s.healthzMs },
};

/**
 * The bounds a run is judged by, for `maxBrowsers` browsers. Vanished sessions hold their browser
 * until --idle-timeout reaps them, so the tree legitimately grows up to the cap; what must not
 * happen is growth past what the cap allows, or growth that keeps going after the warm-up.
 * Figures from the runs recorded in docs/reliability.md, with room for a busier machine.
 */
export function boundsFor(maxBrowsers: number) {
  return {
    /** One worker and its Chromium with up to --max-pages (5) tabs: 1 + browser, 2 zygotes, GPU, network, storage, 5+ renderers. */
    processesPerBrowser: 20,
    /** The front, esbuild's service processes (2), a systemd-notify or two. */
    frontProcesses: 6,
    /** A worker and its Chromium; --recycle-max-memory-mb is 1024, checked every 5th session. */
    browserPssMb: 1200,
    frontPssMb: 400,
    frontFds: 400,
    /** A worker and its Chromium; Chromium's processes each hold tens of descriptors. */
    fdsPerBrowser: 700,
    /** Worker TMPDIRs and lease directories: one per browser, plus a few being removed. */
    dirsOver: 3,
    /** A GET /healthz on a busy 2-core machine. */
    healthzMs: 5000,
    /** Slopes per hour after the warm-up, for runs long enough to have one (see slopeChecked). */
    slopes: { frontPssMb: 150, frontFds: 60, meanBrowserPssMb: 400, lagP99Ms: 500 } as Record<string, number>,
    maxBrowsers,
  };
}

/** Slopes are judged only on runs with at least this much time after the warm-up: on shorter ones they are noise. */
export const SLOPE_MIN_SECONDS = 300;

export interface Judgement {
  /** Slope per hour of every series, after the warm-up. */
  slopes: Record<string, number>;
  /** Highest value of every series. */
  peaks: Record<string, number>;
  slopeChecked: boolean;
  problems: string[];
}

/** Checks every sample against the bounds, and the slopes after `warmupSeconds`. */
export function judge(samples: Sample[], maxBrowsers: number, warmupSeconds: number): Judgement {
  const bounds = boundsFor(maxBrowsers);
  const problems: string[] = [];
  // Browsers in the cap are in use, warm or closing; a killed worker's group may still be on its way out.
  const browserSlots = maxBrowsers + 1;
  for (const s of samples) {
    const at = `at ${s.t.toFixed(0)} s`;
    if (s.browsers.length > browserSlots) problems.push(`${at}: ${s.browsers.length} browser trees, the cap is ${maxBrowsers}`);
    const maxProcesses = bounds.frontProcesses + browserSlots * bounds.processesPerBrowser;
    if (s.processes > maxProcesses) problems.push(`${at}: ${s.processes} processes in the tree, more than ${maxProcesses}`);
    for (const b of s.browsers) {
      if (b.processes > bounds.processesPerBrowser) problems.push(`${at}: worker ${b.workerPid}'s tree has ${b.processes} processes, more than ${bounds.processesPerBrowser}`);
      if (b.pssMb > bounds.browserPssMb) problems.push(`${at}: worker ${b.workerPid}'s tree has ${b.pssMb.toFixed(0)} MB PSS, more than ${bounds.browserPssMb}`);
    }
    if (s.frontPssMb > bounds.frontPssMb) problems.push(`${at}: the front has ${s.frontPssMb.toFixed(0)} MB PSS, more than ${bounds.frontPssMb}`);
    if (s.frontFds > bounds.frontFds) problems.push(`${at}: the front has ${s.frontFds} descriptors open, more than ${bounds.frontFds}`);
    const maxFds = bounds.frontFds + browserSlots * bounds.fdsPerBrowser;
    if (s.treeFds > maxFds) problems.push(`${at}: the tree has ${s.treeFds} descriptors open, more than ${maxFds}`);
    if (s.workerTempDirs > maxBrowsers + bounds.dirsOver) problems.push(`${at}: ${s.workerTempDirs} worker TMPDIRs, more than ${maxBrowsers + bounds.dirsOver}`);
    if (s.outputEntries > maxBrowsers + bounds.dirsOver) problems.push(`${at}: ${s.outputEntries} entries under --output-dir, more than ${maxBrowsers + bounds.dirsOver}`);
    if (s.healthzMs > bounds.healthzMs) problems.push(`${at}: GET /healthz took ${s.healthzMs.toFixed(0)} ms, more than ${bounds.healthzMs}`);
  }
  const after = samples.filter((s) => s.t >= warmupSeconds);
  const slopeChecked = after.length >= 8 && after[after.length - 1].t - after[0].t >= SLOPE_MIN_SECONDS;
  const slopes: Record<string, number> = {};
  const peaks: Record<string, number> = {};
  for (const [name, series] of Object.entries(SERIES)) {
    slopes[name] = slopePerHour(after.map((s) => s.t), after.map(series.of));
    peaks[name] = Math.max(0, ...samples.map(series.of));
    const limit = bounds.slopes[name];
    if (slopeChecked && limit !== undefined && slopes[name] > limit) {
      problems.push(`${name} grows ${slopes[name].toFixed(1)} ${series.unit}/h after the warm-up, more than ${limit}`);
    }
  }
  return { slopes, peaks, slopeChecked, problems };
}

export function formatJudgement(j: Judgement): string[] {
  const lines = [`slopes per hour after the warm-up${j.slopeChecked ? '' : ' (too short a run to judge them; reported only)'}, and peaks:`];
  for (const [name, series] of Object.entries(SERIES)) {
    lines.push(`  ${name.padEnd(17)} ${j.slopes[name] >= 0 ? '+' : ''}${j.slopes[name].toFixed(1)} ${series.unit}/h, peak ${j.peaks[name].toFixed(name.endsWith('Mb') || name.endsWith('Ms') ? 1 : 0)}`);
  }
  return lines;
}
