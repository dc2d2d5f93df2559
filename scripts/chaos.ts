// Chaos (issue #15, item 2): the soak's load (scripts/load-lanes.ts: 8 lanes of real MCP clients
// against the real CLI and real Chromium) and, at random moments, one fault at a time on a victim
// session of its own tenant: kill -9 of its worker or its browser (PIDs from GET /sessions with
// the admin token), SIGSTOP of its worker past --heartbeat-timeout (and a pause shorter than it),
// a call cancelled or its connection dropped mid-call, its session DELETEd mid-call, and the
// browser cap filled with one session more than it. Each fault is judged: the victim was told
// (its in-flight or next call names what happened, within its deadline and a few seconds), it
// recovered (a new call or a new session works), and nothing of it is left (its old processes are
// gone). The lanes are never targeted: every one must keep succeeding, with no error but the cap's
// documented BROWSER_LIMIT. At the end, as for the soak: no session listed after every one was
// DELETEd, and after SIGTERM no process of the server's tree alive (zombies count as gone) and no
// directory left. Every SIGSTOPped PID is sent SIGCONT if it is still alive. The short form is
// test/e2e/chaos.test.ts.
//
// Usage: npm run chaos -- [--minutes N] [--sample-sec S]
//   --minutes N     how long the load runs (default 10); faults start every 3-15 s, each kind in turn
//                   in a shuffled order
//   --sample-sec S  resource sampling interval (default 30)
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { processTree } from '../src/supervisor/process-stats.ts';
import { connectClient, type TestClient } from '../test/helpers/client.ts';
import { isAlive, waitUntil } from '../test/helpers/processes.ts';
import { formatJudgement, judge, startSampler, type Judgement } from './fleet-sampler.ts';
import {
  DEFAULT_LANES, HANG_SLACK_MS, VICTIM_TOKEN, finishFleet, fleetCounters, listSessions, processSet, runLanes, startFleet, stillAlive, timedCall, v1Text,
  watchFleetTree, within, type Fleet, type Outcome, type ProcessSet, type Tally,
} from './load-lanes.ts';
import { unexpectedCodes, warmupFor } from './soak.ts';
import { runLength } from './cli-flags.ts';

export const HEARTBEAT_INTERVAL_MS = 500;
/** Short, so a SIGSTOPped worker is found out within seconds; not so short that a busy 2-core machine trips it. */
export const HEARTBEAT_TIMEOUT_MS = 3000;

export const CHAOS_SERVER = {
  maxBrowsers: 6,
  idleTimeoutMs: 20_000,
  queueTimeoutMs: 15_000,
  args: ['--heartbeat-interval', String(HEARTBEAT_INTERVAL_MS), '--heartbeat-timeout', String(HEARTBEAT_TIMEOUT_MS), '--reclaim-idle-after', '8000', '--prewarm', '2', '--prewarm-max', '4'],
};

export const FAULT_KINDS = ['kill-worker', 'kill-browser', 'stop-worker', 'pause-worker', 'cancel-call', 'drop-connection', 'delete-mid-call', 'fill-cap'] as const;
export type FaultKind = typeof FAULT_KINDS[number];

/** How long past a call's own deadline the victim may wait to be told: a fresh browser, a busy machine. */
const TOLD_SLACK_MS = 15_000;
const WAIT_SECONDS = 3;
/** browser_wait_for's deadline: its time plus the action timeout. */
const WAIT_DEADLINE_MS = WAIT_SECONDS * 1000 + 5000;
const NAV_MS = 60_000;

export interface FaultResult {
  kind: FaultKind;
  /** Whether the fault hit a call in flight (else the victim was idle and its next call is told). */
  inFlight: boolean;
  /** What the victim saw: the code and the start of the text of the call that was told. */
  told: string;
  recovered: boolean;
  problems: string[];
  ms: number;
}

export interface ChaosReport {
  minutes: number;
  tally: Tally;
  unexpected: Record<string, number>;
  perLane: { calls: number; ok: number; lastOkAt: number }[];
  faults: FaultResult[];
  judgement: Judgement;
  counters: Record<string, number>;
  /** Lanes that stopped succeeding. */
  laneProblems: string[];
  afterwards: string[];
  ms: number;
}

export function chaosFailed(report: ChaosReport): boolean {
  return Object.keys(report.unexpected).length > 0 || report.faults.some((f) => f.problems.length > 0) || report.judgement.problems.length > 0
    || report.laneProblems.length > 0 || report.afterwards.length > 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (low: number, high: number) => low + Math.floor(Math.random() * (high - low + 1));
const shuffled = <T>(items: readonly T[]): T[] => [...items].map((item) => [Math.random(), item] as const).sort((a, b) => a[0] - b[0]).map(([, item]) => item);
const brief = (outcome: Outcome) => `${outcome.code} after ${outcome.ms} ms: ${outcome.text.replace(/\s+/g, ' ').slice(0, 160)}`;

/** A victim: a session of its own tenant with a browser on the lane page, and that browser's PIDs. */
interface Victim {
  client: TestClient;
  workerPid: number;
  browserPid: number;
  /** Its worker's process tree before the fault. */
  tree: ProcessSet;
}

async function openVictim(fleet: Fleet): Promise<Victim> {
  const client = await connectClient(fleet.base, { token: VICTIM_TOKEN });
  const nav = await timedCall(() => client.call('browser_navigate', { url: `${fleet.pages.url}/lane` }), v1Text, NAV_MS, 'browser_navigate');
  if (nav.code !== 'ok') {
    await client.close();
    throw new Error(`the victim got no browser: ${brief(nav)}`);
  }
  const listed = (await listSessions(fleet)).find((s) => s.id === client.sessionId)?.browser;
  if (!listed?.workerPid || !listed.browserPid) {
    await client.close();
    throw new Error('GET /sessions does not list the victim\'s worker and browser PIDs');
  }
  return { client, workerPid: listed.workerPid, browserPid: listed.browserPid, tree: processSet(processTree(listed.workerPid)) };
}

const waitCall = (client: TestClient) => timedCall(() => client.call('browser_wait_for', { time: WAIT_SECONDS }), v1Text, WAIT_DEADLINE_MS, 'browser_wait_for');

/** A result or error that says the browser was lost: a crash code, or a notice that page state was lost. */
function toldOfLoss(outcome: Outcome): boolean {
  if (outcome.code === 'WORKER_CRASHED' || outcome.code === 'BROWSER_CRASHED') return true;
  return outcome.code === 'ok' && /### Notice[\s\S]*(lost|fresh browser)/i.test(outcome.text);
}

/** A new call on the victim's session works (it got a fresh browser when it needed one). */
async function recovers(victim: Victim, fleet: Fleet, problems: string[]): Promise<boolean> {
  const nav = await timedCall(() => victim.client.call('browser_navigate', { url: `${fleet.pages.url}/lane?recovered` }), v1Text, NAV_MS, 'browser_navigate');
  if (nav.code !== 'ok') problems.push(`the victim did not recover: ${brief(nav)}`);
  return nav.code === 'ok';
}

/** The victim's old processes are all gone (a killed worker takes its Chromium with it). */
async function oldTreeGone(victim: Victim, problems: string[]): Promise<void> {
  await waitUntil(() => stillAlive(victim.tree).length === 0, 15_000);
  const left = stillAlive(victim.tree);
  if (left.length) problems.push(`processes of the victim's old worker tree still alive 15 s after the fault: ${left.join(', ')}`);
}

async function crashFault(fleet: Fleet, kind: 'kill-worker' | 'kill-browser' | 'stop-worker', inFlight: boolean): Promise<Omit<FaultResult, 'kind' | 'ms'>> {
  const problems: string[] = [];
  const victim = await openVictim(fleet);
  const target = kind === 'kill-browser' ? victim.browserPid : victim.workerPid;
  const signal = kind === 'stop-worker' ? 'SIGSTOP' : 'SIGKILL';
  let told = '';
  try {
    const call = inFlight ? waitCall(victim.client) : undefined;
    if (call) await sleep(between(300, 1000));
    process.kill(target, signal);
    let outcome: Outcome;
    if (call) {
      outcome = await call;
    } else {
      // Idle: the fault is found (exit, or the heartbeat timeout) before the next call.
      const noticed = kind === 'stop-worker' ? HEARTBEAT_TIMEOUT_MS + 10_000 : 10_000;
      if (!(await waitUntil(() => !isAlive(target), noticed))) problems.push(`pid ${target} still alive ${noticed} ms after ${signal}`);
      await sleep(500);
      outcome = await timedCall(() => victim.client.call('browser_snapshot', {}), v1Text, 5000, 'browser_snapshot');
    }
    told = brief(outcome);
    const deadline = (call ? WAIT_DEADLINE_MS : 5000) + TOLD_SLACK_MS;
    if (!toldOfLoss(outcome)) problems.push(`the victim was not told its browser was lost: ${told}`);
    else if (kind === 'stop-worker' && outcome.code !== 'ok' && !/heartbeat/.test(outcome.text)) problems.push(`the error does not say the worker stopped answering heartbeats: ${told}`);
    if (outcome.ms > deadline) problems.push(`the victim was told only after ${outcome.ms} ms (deadline ${deadline})`);
  } finally {
    if (signal === 'SIGSTOP' && isAlive(target)) process.kill(target, 'SIGCONT');
  }
  const recovered = await recovers(victim, fleet, problems);
  await oldTreeGone(victim, problems);
  await victim.client.close();
  return { inFlight, told, recovered, problems };
}

/** SIGSTOP shorter than the heartbeat timeout: the call in flight finishes as if nothing happened, same worker. */
async function pauseFault(fleet: Fleet): Promise<Omit<FaultResult, 'kind' | 'ms'>> {
  const problems: string[] = [];
  const victim = await openVictim(fleet);
  let told = '';
  try {
    const call = waitCall(victim.client);
    await sleep(300);
    process.kill(victim.workerPid, 'SIGSTOP');
    await sleep(HEARTBEAT_TIMEOUT_MS / 3);
    process.kill(victim.workerPid, 'SIGCONT');
    const outcome = await call;
    told = brief(outcome);
    if (outcome.code !== 'ok') problems.push(`a pause shorter than the heartbeat timeout failed the call: ${told}`);
  } finally {
    if (isAlive(victim.workerPid)) process.kill(victim.workerPid, 'SIGCONT');
  }
  const recovered = await recovers(victim, fleet, problems);
  const now = (await listSessions(fleet)).find((s) => s.id === victim.client.sessionId)?.browser?.workerPid;
  if (now !== victim.workerPid) problems.push(`the paused worker ${victim.workerPid} was replaced (now ${now})`);
  await victim.client.close();
  return { inFlight: true, told, recovered, problems };
}

/** The client gives up mid-call: cancels it (notifications/cancelled) or closes its connection; the session goes on. */
async function abandonFault(fleet: Fleet, kind: 'cancel-call' | 'drop-connection'): Promise<Omit<FaultResult, 'kind' | 'ms'>> {
  const problems: string[] = [];
  const victim = await openVictim(fleet);
  const controller = new AbortController();
  const call = victim.client.client.callTool({ name: 'browser_wait_for', arguments: { time: WAIT_SECONDS } }, undefined, { signal: controller.signal }).then(() => 'answered', (error: Error) => `rejected: ${error.message}`);
  await sleep(between(300, 1000));
  if (kind === 'cancel-call') controller.abort('the chaos run cancels it');
  else await victim.client.transport.close();
  const ended = await within(call, 5000, 'the abandoned call').catch((error: Error) => `still pending: ${error.message}`);
  if (ended.startsWith('still pending')) problems.push(`the client's own call did not end when it gave up: ${ended}`);
  // Back on the same session (a new connection for a dropped one): it answers within its deadline.
  let client = victim.client;
  if (kind === 'drop-connection') {
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', fleet.base), { sessionId: victim.client.sessionId, requestInit: { headers: { Authorization: `Bearer ${VICTIM_TOKEN}` } } });
    const sdk = new Client({ name: 'browser-fleet-chaos-reconnect', version: '1.0.0' });
    await sdk.connect(transport);
    client = { ...victim.client, client: sdk, transport, call: async (name, args = {}) => await sdk.callTool({ name, arguments: args }) as Awaited<ReturnType<TestClient['call']>>, close: async () => { await transport.terminateSession().catch(() => {}); await sdk.close(); } };
  }
  const next = await timedCall(() => client.call('browser_snapshot', {}), v1Text, WAIT_DEADLINE_MS, 'browser_snapshot');
  const told = `${ended}; then ${brief(next)}`;
  if (next.code !== 'ok') problems.push(`the session did not go on after its client gave up a call: ${brief(next)}`);
  const recovered = next.code === 'ok';
  await client.close();
  return { inFlight: true, told, recovered, problems };
}

/** The session is DELETEd (by its client, or by an admin) while a call runs: the call ends, later calls get 404, a new session works. */
async function deleteFault(fleet: Fleet): Promise<Omit<FaultResult, 'kind' | 'ms'>> {
  const problems: string[] = [];
  const victim = await openVictim(fleet);
  const call = waitCall(victim.client);
  await sleep(between(300, 1000));
  const byAdmin = Math.random() < 0.5;
  const deleted = byAdmin
    ? await fleet.admin(`/sessions/${victim.client.sessionId}`, { method: 'DELETE' })
    : await fetch(new URL('/mcp', fleet.base), { method: 'DELETE', headers: { authorization: `Bearer ${VICTIM_TOKEN}`, 'mcp-session-id': victim.client.sessionId, 'mcp-protocol-version': '2025-11-25' } }).then((res) => ({ status: res.status }));
  if (deleted.status !== 200) problems.push(`DELETE ${byAdmin ? '/sessions/:id' : '/mcp'} answered ${deleted.status}`);
  const inFlight = await call;
  if (inFlight.ms > WAIT_DEADLINE_MS + TOLD_SLACK_MS) problems.push(`the call in flight ended only after ${inFlight.ms} ms`);
  const next = await timedCall(() => victim.client.call('browser_snapshot', {}), v1Text, 5000, 'browser_snapshot');
  if (next.code !== 'HTTP_404') problems.push(`a call on the DELETEd session got ${brief(next)}, not 404`);
  const told = `${byAdmin ? 'admin' : 'client'} DELETE; in flight: ${brief(inFlight)}; next: ${brief(next)}`;
  await victim.client.client.close().catch(() => {});
  const fresh = await connectClient(fleet.base, { token: VICTIM_TOKEN });
  const nav = await timedCall(() => fresh.call('browser_navigate', { url: `${fleet.pages.url}/lane` }), v1Text, NAV_MS, 'browser_navigate');
  if (nav.code !== 'ok') problems.push(`a new session after the DELETE did not work: ${brief(nav)}`);
  await fresh.close();
  return { inFlight: true, told, recovered: nav.code === 'ok', problems };
}

/** One session more than the cap, all calling at once: each gets a browser (maybe after waiting) or a clear BROWSER_LIMIT, never a hang or an undocumented 5xx. */
async function fillCapFault(fleet: Fleet): Promise<Omit<FaultResult, 'kind' | 'ms'>> {
  const problems: string[] = [];
  const count = fleet.maxBrowsers + 1;
  const outcomes = await Promise.all(Array.from({ length: count }, async () => {
    let client: TestClient;
    try {
      client = await connectClient(fleet.base, { token: VICTIM_TOKEN });
    } catch (error) {
      const message = (error as Error).message;
      // A refused initialize is a documented 503 with BROWSER_LIMIT (the queue is full).
      return { code: /503/.test(message) ? 'HTTP_503' : 'INITIALIZE_FAILED', text: message, ms: 0 } satisfies Outcome;
    }
    const outcome = await timedCall(() => client.call('browser_navigate', { url: `${fleet.pages.url}/lane?cap` }), v1Text, fleet.queueTimeoutMs + NAV_MS, 'browser_navigate');
    await client.close();
    return outcome;
  }));
  const byCode: Record<string, number> = {};
  for (const outcome of outcomes) {
    byCode[outcome.code] = (byCode[outcome.code] ?? 0) + 1;
    if (outcome.code === 'ok' || outcome.code === 'HTTP_503') continue;
    if (outcome.code === 'BROWSER_LIMIT') {
      if (!/Retry in/.test(outcome.text)) problems.push(`a BROWSER_LIMIT that does not say when to retry: ${brief(outcome)}`);
      if (outcome.ms > fleet.queueTimeoutMs + TOLD_SLACK_MS) problems.push(`a BROWSER_LIMIT after ${outcome.ms} ms, past the queue timeout`);
      continue;
    }
    problems.push(`at the cap a session got ${brief(outcome)}`);
  }
  const probe = await connectClient(fleet.base, { token: VICTIM_TOKEN });
  const nav = await timedCall(() => probe.call('browser_navigate', { url: `${fleet.pages.url}/lane` }), v1Text, fleet.queueTimeoutMs + NAV_MS, 'browser_navigate');
  if (nav.code !== 'ok') problems.push(`after the cap was filled, a new session did not work: ${brief(nav)}`);
  await probe.close();
  return { inFlight: true, told: `${count} sessions at once: ${JSON.stringify(byCode)}`, recovered: nav.code === 'ok', problems };
}

export async function injectFault(fleet: Fleet, kind: FaultKind): Promise<FaultResult> {
  const started = Date.now();
  const inFlight = Math.random() < 0.6;
  let result: Omit<FaultResult, 'kind' | 'ms'>;
  try {
    const run = (async () => {
      switch (kind) {
        case 'kill-worker': case 'kill-browser': case 'stop-worker': return crashFault(fleet, kind, inFlight);
        case 'pause-worker': return pauseFault(fleet);
        case 'cancel-call': case 'drop-connection': return abandonFault(fleet, kind);
        case 'delete-mid-call': return deleteFault(fleet);
        case 'fill-cap': return fillCapFault(fleet);
      }
    })();
    result = await within(run, 3 * NAV_MS + HANG_SLACK_MS, `fault ${kind}`);
  } catch (error) {
    result = { inFlight, told: '', recovered: false, problems: [`the fault could not be run or judged: ${(error as Error).message}`] };
  }
  return { kind, ...result, ms: Date.now() - started };
}

export interface ChaosOptions {
  minutes: number;
  sampleEveryMs: number;
  /** Pause between faults, ms. */
  gapMs?: [number, number];
  /** Client lanes (default 8). */
  lanes?: number;
  log?: (line: string) => void;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const [gapLow, gapHigh] = options.gapMs ?? [3000, 15_000];
  const fleet = await startFleet(CHAOS_SERVER);
  const tree = watchFleetTree(fleet);
  log(`server ${fleet.base} (pid ${fleet.cli.process.pid}), max ${fleet.maxBrowsers} browsers, ${options.lanes ?? DEFAULT_LANES.lanes} lanes, heartbeat ${HEARTBEAT_INTERVAL_MS}/${HEARTBEAT_TIMEOUT_MS} ms, ${options.minutes} min`);
  const sampler = startSampler(fleet, options.sampleEveryMs);
  const lanes = runLanes(fleet, { ...DEFAULT_LANES, lanes: options.lanes ?? DEFAULT_LANES.lanes });
  const faults: FaultResult[] = [];
  const endAt = started + options.minutes * 60_000;
  // Every kind in turn, in a fresh shuffled order each round, so a short run still has each once.
  let deck: FaultKind[] = [];
  await sleep(between(gapLow, gapHigh));
  while (Date.now() < endAt || faults.length < FAULT_KINDS.length) {
    if (deck.length === 0) deck = shuffled(FAULT_KINDS);
    const result = await injectFault(fleet, deck.shift()!);
    faults.push(result);
    log(`fault ${faults.length} ${result.kind}${result.inFlight ? ' (in flight)' : ''}: ${result.problems.length ? `PROBLEM ${result.problems.join(' | ')}` : 'survived'}; ${result.told}`);
    if (Date.now() >= endAt && faults.length >= FAULT_KINDS.length) break;
    await sleep(between(gapLow, gapHigh));
  }
  // The lanes were never targeted: each must have gone on succeeding until the end.
  const lastFaultAt = Date.now();
  await sleep(3000);
  await lanes.stop();
  const laneProblems = lanes.perLane.flatMap((lane, index) => lane.ok === 0 ? [`lane ${index} had no successful call`]
    : lane.lastOkAt < lastFaultAt - 30_000 ? [`lane ${index} had no successful call in the last 30 s of faults`] : []);
  const samples = await sampler.stop();
  const judgement = judge(samples, fleet.maxBrowsers, warmupFor(options.minutes));
  const counters = await fleetCounters(fleet).catch(() => ({}));
  const afterwards = await finishFleet(fleet, lanes.leftovers, tree);
  return { minutes: options.minutes, tally: lanes.tally, unexpected: unexpectedCodes(lanes.tally), perLane: lanes.perLane, faults, judgement, counters, laneProblems, afterwards, ms: Date.now() - started };
}

export function formatChaos(report: ChaosReport): string {
  const kinds: Record<string, { injected: number; survived: number; inFlight: number }> = {};
  for (const fault of report.faults) {
    const entry = kinds[fault.kind] ??= { injected: 0, survived: 0, inFlight: 0 };
    entry.injected++;
    if (fault.inFlight) entry.inFlight++;
    if (fault.problems.length === 0) entry.survived++;
  }
  const lines = [
    `chaos: ${report.minutes} min, ${(report.ms / 1000).toFixed(0)} s in all; ${report.faults.length} faults, ${report.faults.filter((f) => f.problems.length === 0).length} survived`,
    ...Object.entries(kinds).map(([kind, k]) => `  ${kind.padEnd(16)} ${k.injected} injected (${k.inFlight} mid-call), ${k.survived} survived`),
    `lanes: ${report.tally.calls} calls, ok ${report.tally.ok}; sessions ${JSON.stringify(report.tally.sessions)}; per lane ok ${report.perLane.map((l) => l.ok).join('/')}`,
    `lane errors by code: ${JSON.stringify(report.tally.byCode)}`,
    `server counters: ${JSON.stringify(report.counters)}`,
    ...Object.entries(report.tally.examples).map(([code, example]) => `  e.g. ${code}: ${example.replace(/\n/g, ' ')}`),
    ...formatJudgement(report.judgement),
  ];
  for (const fault of report.faults) for (const problem of fault.problems) lines.push(`FAULT ${fault.kind}: ${problem} (told: ${fault.told})`);
  for (const [code, n] of Object.entries(report.unexpected)) lines.push(`UNEXPECTED in an untargeted lane: ${n} x ${code}`);
  for (const problem of report.laneProblems) lines.push(`LANE ${problem}`);
  for (const problem of report.judgement.problems.slice(0, 30)) lines.push(`BOUND ${problem}`);
  for (const problem of report.afterwards) lines.push(`AFTERWARDS ${problem}`);
  lines.push(chaosFailed(report) ? 'chaos: FAILED' : 'chaos: every fault survived, every other session unaffected, nothing left');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { minutes, sampleEveryMs } = runLength(10);
  const report = await runChaos({ minutes, sampleEveryMs, log: (line) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`) });
  process.stdout.write(`${formatChaos(report)}\n`);
  process.exitCode = chaosFailed(report) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
