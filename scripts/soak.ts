// Soak (issue #15, item 1): a real browser-fleet server (the CLI on port 0, real Chromium) under 8
// lanes of MCP clients (scripts/load-lanes.ts: a random mix of tools, sessions that end and
// sessions that vanish, browsers recycled many times) for a bounded time, sampled every 30 s
// (scripts/fleet-sampler.ts). It reports the slope per hour of each series after a warm-up, the
// errors by code and the calls served, and fails when a sample passes what --max-browsers
// browsers may use, a slope after the warm-up passes its limit, an unexpected error appears,
// or anything (process, directory, session) is left at the end. The bounds and why they are what
// they are: docs/reliability.md. The short form is test/e2e/soak.test.ts.
//
// Usage: npm run soak -- [--minutes N] [--sample-sec S] [--lanes L]
//   --minutes N     how long the load runs (default 20)
//   --sample-sec S  sampling interval (default 30)
//   --lanes L       client lanes (default 8; every 4th lane is an SDK v2 stateless client)
import { pathToFileURL } from 'node:url';
import { formatJudgement, judge, startSampler, type Judgement, type Sample } from './fleet-sampler.ts';
import { DEFAULT_LANES, fleetCounters, finishFleet, runLanes, startFleet, watchFleetTree, type Fleet, type Tally } from './load-lanes.ts';
import { flag, runLength } from './cli-flags.ts';

export interface SoakOptions {
  minutes: number;
  sampleEveryMs: number;
  lanes?: number;
  log?: (line: string) => void;
}

/** The server the soak runs: a cap the lanes exceed, and reaping within the run. */
export const SOAK_SERVER = {
  maxBrowsers: 6,
  /** Vanished sessions are reaped after 20 s idle, or reclaimed after 8 s when a call waits for their browser. */
  idleTimeoutMs: 20_000,
  queueTimeoutMs: 20_000,
  args: ['--reclaim-idle-after', '8000', '--prewarm', '2', '--prewarm-max', '4'],
};

/** Codes a lane may see without a defect: the documented answer at the cap (a tool error, or 503 to initialize). */
export const EXPECTED_CODES = new Set(['BROWSER_LIMIT', 'HTTP_503']);

export interface SoakReport {
  minutes: number;
  tally: Tally;
  /** Codes outside EXPECTED_CODES, with counts. */
  unexpected: Record<string, number>;
  samples: Sample[];
  warmupSeconds: number;
  judgement: Judgement;
  /** The server's counters at the end (scripts/load-lanes.ts fleetCounters). */
  counters: Record<string, number>;
  /** What was wrong at the end (leftovers), if anything. */
  afterwards: string[];
  ms: number;
}

export function soakFailed(report: SoakReport): boolean {
  return Object.keys(report.unexpected).length > 0 || report.judgement.problems.length > 0 || report.afterwards.length > 0 || report.tally.ok === 0;
}

/** The warm-up excluded from the slopes: the pool filling, V8 growing its heap, the first vanished sessions not yet reaped. */
export function warmupFor(minutes: number): number {
  return Math.min(180, minutes * 60 * 0.2);
}

export function unexpectedCodes(tally: Tally): Record<string, number> {
  return Object.fromEntries(Object.entries(tally.byCode).filter(([code]) => !EXPECTED_CODES.has(code)));
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const fleet: Fleet = await startFleet(SOAK_SERVER);
  const tree = watchFleetTree(fleet);
  log(`server ${fleet.base} (pid ${fleet.cli.process.pid}), max ${fleet.maxBrowsers} browsers, ${options.lanes ?? DEFAULT_LANES.lanes} lanes, ${options.minutes} min`);
  const sampler = startSampler(fleet, options.sampleEveryMs, (s) => log(`t=${s.t.toFixed(0)}s front ${s.frontPssMb.toFixed(0)} MB/${s.frontFds} fds, ${s.browsers.length} browsers ${s.browsersPssMb.toFixed(0)} MB, ${s.processes} processes, ${s.treeFds} fds, ${s.workerTempDirs} tmp + ${s.outputEntries} out dirs, lag p99 ${s.lagP99Ms.toFixed(1)} ms, healthz ${s.healthzMs.toFixed(0)} ms`));
  const lanes = runLanes(fleet, { ...DEFAULT_LANES, lanes: options.lanes ?? DEFAULT_LANES.lanes });
  const progress = setInterval(() => log(`  ${lanes.tally.calls} calls, ${lanes.tally.ok} ok, ${JSON.stringify(lanes.tally.byCode)}, sessions ${JSON.stringify(lanes.tally.sessions)}`), 60_000);
  await new Promise((resolve) => setTimeout(resolve, options.minutes * 60_000));
  clearInterval(progress);
  await lanes.stop();
  const samples = await sampler.stop();
  const warmupSeconds = warmupFor(options.minutes);
  const judgement = judge(samples, fleet.maxBrowsers, warmupSeconds);
  const counters = await fleetCounters(fleet).catch(() => ({}));
  const afterwards = await finishFleet(fleet, lanes.leftovers, tree);
  return { minutes: options.minutes, tally: lanes.tally, unexpected: unexpectedCodes(lanes.tally), samples, warmupSeconds, judgement, counters, afterwards, ms: Date.now() - started };
}

export function formatSoak(report: SoakReport): string {
  const { tally } = report;
  const lines = [
    `soak: ${report.minutes} min of load, ${(report.ms / 1000).toFixed(0)} s in all, ${report.samples.length} samples (warm-up ${report.warmupSeconds.toFixed(0)} s)`,
    `calls: ${tally.calls}, ok ${tally.ok}; sessions ${JSON.stringify(tally.sessions)}`,
    `errors by code: ${JSON.stringify(tally.byCode)}`,
    ...Object.entries(tally.examples).map(([code, example]) => `  e.g. ${code}: ${example.replace(/\n/g, ' ')}`),
    `calls by tool: ${JSON.stringify(tally.byTool)}`,
    `server counters: ${JSON.stringify(report.counters)}`,
    ...formatJudgement(report.judgement),
  ];
  for (const [code, n] of Object.entries(report.unexpected)) lines.push(`UNEXPECTED ${n} x ${code}`);
  for (const problem of report.judgement.problems.slice(0, 30)) lines.push(`BOUND ${problem}`);
  for (const problem of report.afterwards) lines.push(`AFTERWARDS ${problem}`);
  lines.push(soakFailed(report) ? 'soak: FAILED' : 'soak: every bound held');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { minutes, sampleEveryMs } = runLength(20);
  const lanes = flag('--lanes') === undefined ? undefined : Number(flag('--lanes'));
  const report = await runSoak({ minutes, sampleEveryMs, lanes, log: (line) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`) });
  process.stdout.write(`${formatSoak(report)}\n`);
  process.stdout.write(`samples: ${JSON.stringify(report.samples.map(({ browsers, ...rest }) => ({ ...rest, browsers: browsers.length })))}\n`);
  process.exitCode = soakFailed(report) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
