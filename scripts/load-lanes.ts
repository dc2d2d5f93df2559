// The load of the soak and chaos runs (issue #15, items 1 and 2), shared by scripts/soak.ts and
// scripts/chaos.ts: the real CLI on port 0 (test/helpers/cli.ts), a page server on 127.0.0.1, and
// lanes of real MCP clients (SDK v1 sessions, and SDK v2 stateless browsers on some lanes) that
// call a random mix of tools, end their sessions normally (DELETE, browser_close) or vanish (the
// client just drops, so the server's --idle-timeout must reap them), and start again, so browsers
// are recycled many times. Every call is timed and classified (ok, a tool error's [CODE], an
// HTTP or JSON-RPC error, a hang past its deadline) into a Tally.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { connectClient, resultText, type TestClient } from '../test/helpers/client.ts';
import { startCli, type CliInstance } from '../test/helpers/cli.ts';
import { connectModern, modernText, type ModernClient } from '../test/helpers/modern-client.ts';
import { startPageServer, type PageServer } from '../test/helpers/pages.ts';
import { isAlive, waitUntil } from '../test/helpers/processes.ts';
import { processTree } from '../src/supervisor/process-stats.ts';

export const ADMIN_TOKEN = 'reliability-admin-token-0123456789';
/** Two tenants: recycling is same-token, so each lane's browsers go back to its tenant's pool. */
export const CLIENT_TOKENS = ['reliability-tenant-a-0123456789', 'reliability-tenant-b-0123456789'];
/** The tenant of the chaos run's victims, so no lane is handed a worker a fault touched. */
export const VICTIM_TOKEN = 'reliability-victim-0123456789';

/** Slack over a call's own deadline before it counts as a hang: a cold start, a queue wait, a busy 2-core machine. */
export const HANG_SLACK_MS = 45_000;

// ---------------------------------------------------------------------------------------------
// The server under test

export interface Fleet {
  cli: CliInstance;
  pages: PageServer;
  base: string;
  /** The TMPDIR the server (and so its workers' `browser-fleet-worker-*` directories) ran with. */
  tempDir: string;
  maxBrowsers: number;
  queueTimeoutMs: number;
  /** fetch with the admin token, JSON back. */
  admin<T = unknown>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
}

export interface FleetOptions {
  maxBrowsers: number;
  idleTimeoutMs: number;
  queueTimeoutMs: number;
  /** More CLI flags (heartbeat settings for chaos). */
  args?: string[];
}

const LANE_PAGE = `<!doctype html><title>Lane page</title><h1>Lane</h1>
<label>Name <input id="name"></label> <button id="go" onclick="document.getElementById('out').textContent = 'clicked ' + Date.now(); console.log('clicked')">Go</button>
<select id="pick" aria-label="Pick"><option>one</option><option>two</option></select>
<div id="out"></div> <a href="/next">Next</a>`;

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const pages = await startPageServer();
  pages.route('/lane', LANE_PAGE);
  pages.route('/next', '<!doctype html><title>Next page</title><p>the next page</p>');
  // A TMPDIR of its own, so the server's worker directories can be counted apart from those of
  // other servers on this machine (the test suite runs several at once). The CLI inherits it.
  const tempDir = mkdtempSync(join(tmpdir(), 'bf-reliability-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tempDir;
  let cli: CliInstance;
  try {
    cli = await startCli([
      '--auth-token', ADMIN_TOKEN, ...[...CLIENT_TOKENS, VICTIM_TOKEN].flatMap((token) => ['--auth-token', token]), '--admin-token', ADMIN_TOKEN,
      '--max-browsers', String(options.maxBrowsers), '--idle-timeout', String(options.idleTimeoutMs),
      '--queue-timeout', String(options.queueTimeoutMs),
      ...(options.args ?? []),
    ]);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  const admin = async <T>(path: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(path, cli.url), { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers }, signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    let body: unknown = text;
    try { body = JSON.parse(text); } catch { /* not JSON: keep the text */ }
    return { status: res.status, body: body as T };
  };
  return { cli, pages, base: cli.url, tempDir, maxBrowsers: options.maxBrowsers, queueTimeoutMs: options.queueTimeoutMs, admin };
}

/** Worker TMPDIRs of the fleet's server that exist now. */
export function workerTempDirs(fleet: Fleet): string[] {
  try {
    return readdirSync(fleet.tempDir).filter((name) => name.startsWith('browser-fleet-worker-'));
  } catch {
    return [];
  }
}

/** Entries under the server's --output-dir (lease directories, recordings). */
export function outputEntries(fleet: Fleet): string[] {
  try {
    return readdirSync(fleet.cli.outputDir);
  } catch {
    return [];
  }
}

export function removeFleetTemp(fleet: Fleet): void {
  rmSync(fleet.tempDir, { recursive: true, force: true });
}

export interface SessionListing { id: string; browser: { workerPid: number; browserPid?: number } | null }
export interface BrowserListing { workerPid: number; sessionId: string | null; handlePrefix: string }

/**
 * The fleet's counters from /metrics (browsers acquired by how, ended by reason and whether
 * recycled, faults, worker starts), summed by their labels: what recycling and recovery did.
 */
export async function fleetCounters(fleet: Fleet): Promise<Record<string, number>> {
  const { body } = await fleet.admin<string>('/metrics');
  const counters: Record<string, number> = {};
  const wanted = /^browser_fleet_(browsers_acquired_total|browsers_ended_total|browser_faults_total|worker_starts_total|sessions_ended_total|browsers_refused_total)(\{[^}]*\})? (\S+)$/;
  for (const line of String(body).split('\n')) {
    const match = line.match(wanted);
    if (match) counters[`${match[1]}${match[2] ?? ''}`] = Number(match[3]);
  }
  return counters;
}

export async function listSessions(fleet: Fleet): Promise<SessionListing[]> {
  return (await fleet.admin<{ sessions: SessionListing[] }>('/sessions')).body.sessions;
}

export async function listBrowsers(fleet: Fleet): Promise<BrowserListing[]> {
  return (await fleet.admin<{ browsers: BrowserListing[] }>('/browsers')).body.browsers;
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/** Calls by outcome: `ok`, a tool error's code, `HTTP_<status>`, `RPC_<code>`, `HANG`, `EXCEPTION`. */
export class Tally {
  calls = 0;
  ok = 0;
  byCode: Record<string, number> = {};
  /** One example message per code. */
  examples: Record<string, string> = {};
  byTool: Record<string, number> = {};
  sessions = { opened: 0, deleted: 0, vanished: 0, modernBrowsers: 0 };

  add(tool: string, outcome: Outcome): void {
    this.calls++;
    this.byTool[tool] = (this.byTool[tool] ?? 0) + 1;
    if (outcome.code === 'ok') this.ok++;
    else {
      this.byCode[outcome.code] = (this.byCode[outcome.code] ?? 0) + 1;
      this.examples[outcome.code] ??= `${tool}: ${outcome.text.slice(0, 300)}`;
    }
  }
}

export interface Outcome {
  code: string;
  text: string;
  ms: number;
}

/** The code of a tool error's text ("… [BROWSER_LIMIT]"), or TOOL_ERROR when it names none. */
export function toolErrorCode(text: string): string {
  return text.match(/\[([A-Z][A-Z_]+)\]\s*$/m)?.[1] ?? 'TOOL_ERROR';
}

/** The code of anything a client threw: an HTTP status, a JSON-RPC code, or EXCEPTION. */
export function thrownCode(error: unknown): string {
  const e = error as { code?: unknown; name?: string; message?: string };
  if (e?.name === 'HangError') return 'HANG';
  if (typeof e?.code === 'number') return e.code >= 100 && e.code < 600 ? `HTTP_${e.code}` : `RPC_${e.code}`;
  const status = e?.message?.match(/HTTP (\d{3})|Error POSTing to endpoint \(HTTP (\d{3})\)/);
  if (status) return `HTTP_${status[1] ?? status[2]}`;
  return 'EXCEPTION';
}

class HangError extends Error {
  override name = 'HangError';
}

/** Awaits `promise`, rejecting with a HangError after `ms` (the call is left to settle on its own). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new HangError(`${what}: no answer within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

type Result = { isError?: boolean; content: unknown[] };

/** Runs one call and classifies it; never throws. `deadlineMs` is the call's own deadline. */
export async function timedCall(run: () => Promise<Result>, textOf: (result: Result) => string, deadlineMs: number, what: string): Promise<Outcome> {
  const started = Date.now();
  try {
    const result = await within(run(), deadlineMs + HANG_SLACK_MS, what);
    const text = textOf(result);
    return { code: result.isError ? toolErrorCode(text) : 'ok', text, ms: Date.now() - started };
  } catch (error) {
    return { code: thrownCode(error), text: (error as Error).message ?? String(error), ms: Date.now() - started };
  }
}

export const v1Text = (result: Result) => resultText(result as Parameters<typeof resultText>[0]);
export const v2Text = (result: Result) => modernText(result as Parameters<typeof modernText>[0]);

// ---------------------------------------------------------------------------------------------
// Lanes

export interface LaneOptions {
  lanes: number;
  /** Lanes with an index that is a multiple of this use SDK v2 stateless browsers (0: none). */
  modernEvery: number;
  /** Share of sessions that vanish instead of ending. */
  vanishShare: number;
  /** Calls per session, inclusive range. */
  callsPerSession: [number, number];
  /** Pause between calls, ms, inclusive range. */
  thinkMs: [number, number];
}

export const DEFAULT_LANES: LaneOptions = { lanes: 8, modernEvery: 4, vanishShare: 0.25, callsPerSession: [3, 12], thinkMs: [100, 600] };

/** What every session the lanes opened left for the clean-up: ids never DELETEd, handles never closed. */
export interface Leftovers {
  sessionIds: Set<string>;
  /** Handles of stateless browsers never closed, with their token. */
  handles: Map<string, string>;
}

export interface LaneRun {
  tally: Tally;
  /** Per lane: calls and ok calls, so a lane that stopped succeeding shows. */
  perLane: { calls: number; ok: number; lastOkAt: number }[];
  leftovers: Leftovers;
  /** Asks the lanes to stop after their call in flight; resolves when they have. */
  stop(): Promise<void>;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
const between = ([low, high]: [number, number]) => low + Math.floor(Math.random() * (high - low + 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One step of a lane: the calls it makes, as name and arguments; `lane` says whether the lane page is shown. */
type Step = (state: { onLanePage: boolean; url: string }) => [string, Record<string, unknown>, number][];

const ACTION_MS = 5000;
const NAV_MS = 60_000;
/** The tool mix, weighted by repetition. Element tools use selectors of the lane page, navigating there first when another page is shown. */
const STEPS: Step[] = [
  ({ url }) => [['browser_navigate', { url: `${url}/lane?step=${Math.random().toString(36).slice(2, 8)}` }, NAV_MS]],
  ({ url }) => [['browser_navigate', { url: `${url}/lane` }, NAV_MS]],
  () => [['browser_snapshot', {}, ACTION_MS]],
  () => [['browser_snapshot', {}, ACTION_MS]],
  () => [['browser_click', { element: 'Go button', target: '#go' }, ACTION_MS]],
  () => [['browser_click', { element: 'Go button', target: '#go' }, ACTION_MS]],
  () => [['browser_type', { element: 'Name', target: '#name', text: `lane ${Date.now()}` }, ACTION_MS]],
  () => [['browser_select_option', { element: 'Pick', target: '#pick', values: [pick(['one', 'two'])] }, ACTION_MS]],
  () => [['browser_hover', { element: 'Go button', target: '#go' }, ACTION_MS]],
  () => [['browser_press_key', { key: pick(['Tab', 'ArrowDown', 'Shift']) }, ACTION_MS]],
  () => [['browser_evaluate', { function: '() => document.title + " " + document.querySelectorAll("*").length' }, ACTION_MS]],
  () => [['browser_evaluate', { function: '() => { try { localStorage.setItem("k", String(Date.now())); return localStorage.length; } catch { return -1; } }' }, ACTION_MS]],
  () => [['browser_wait_for', { text: 'Lane' }, ACTION_MS]],
  () => [['browser_wait_for', { time: 0.3 }, ACTION_MS + 300]],
  () => [['browser_take_screenshot', {}, ACTION_MS]],
  () => [['browser_console_messages', {}, ACTION_MS]],
  () => [['browser_network_requests', {}, ACTION_MS]],
  () => [['browser_tabs', { action: 'list' }, ACTION_MS]],
  ({ url }) => [['browser_tabs', { action: 'new', url: `${url}/next` }, NAV_MS], ['browser_tabs', { action: 'close' }, ACTION_MS]],
  ({ url }) => [['browser_navigate', { url: `${url}/next` }, NAV_MS], ['browser_navigate_back', {}, NAV_MS]],
];
const NEEDS_LANE_PAGE = new Set(['browser_click', 'browser_type', 'browser_select_option', 'browser_hover', 'browser_wait_for']);

/** A session of either era, as a lane drives it. */
interface LaneSession {
  call(name: string, args: Record<string, unknown>, deadlineMs: number): Promise<Outcome>;
  /** Ends it normally (DELETE, browser_close). */
  end(): Promise<void>;
  /** Drops it without a word: the server must reap it. */
  vanish(): Promise<void>;
}

async function openV1(fleet: Fleet, token: string, leftovers: Leftovers): Promise<LaneSession> {
  const client: TestClient = await connectClient(fleet.base, { token });
  leftovers.sessionIds.add(client.sessionId);
  return {
    call: (name, args, deadlineMs) => timedCall(() => client.call(name, args), v1Text, deadlineMs, name),
    end: async () => {
      await client.close();
      leftovers.sessionIds.delete(client.sessionId);
    },
    vanish: async () => { await client.client.close().catch(() => {}); },
  };
}

async function openV2(fleet: Fleet, token: string, leftovers: Leftovers, tally: Tally): Promise<LaneSession | undefined> {
  const client: ModernClient = await connectModern(fleet.base, { token });
  let handle: string | undefined;
  const opened = await timedCall(async () => {
    const result = await client.call('browser_open', {});
    handle = (result.structuredContent as { browser?: string } | undefined)?.browser;
    return result;
  }, v2Text, 30_000, 'browser_open');
  tally.add('browser_open', opened);
  if (opened.code !== 'ok' || !handle) {
    await client.close().catch(() => {});
    return undefined;
  }
  const browser = handle;
  leftovers.handles.set(browser, token);
  tally.sessions.modernBrowsers++;
  return {
    call: (name, args, deadlineMs) => timedCall(() => client.call(name, { ...args, browser }), v2Text, deadlineMs, name),
    end: async () => {
      tally.add('browser_close', await timedCall(() => client.call('browser_close', { browser }), v2Text, ACTION_MS, 'browser_close'));
      leftovers.handles.delete(browser);
      await client.close().catch(() => {});
    },
    vanish: async () => { await client.close().catch(() => {}); },
  };
}

/**
 * Starts `options.lanes` lanes against `fleet`. Each lane opens a session (lane i uses tenant
 * i mod 2), makes a random number of calls from the mix with a think time between them, then ends
 * it or lets it vanish, and starts over, until `stop()`.
 */
export function runLanes(fleet: Fleet, options: LaneOptions = DEFAULT_LANES): LaneRun {
  const tally = new Tally();
  const leftovers: Leftovers = { sessionIds: new Set(), handles: new Map() };
  const perLane = Array.from({ length: options.lanes }, () => ({ calls: 0, ok: 0, lastOkAt: 0 }));
  let stopping = false;
  const lane = async (index: number) => {
    const token = CLIENT_TOKENS[index % CLIENT_TOKENS.length];
    const modern = options.modernEvery > 0 && index % options.modernEvery === options.modernEvery - 1;
    const record = (tool: string, outcome: Outcome) => {
      tally.add(tool, outcome);
      perLane[index].calls++;
      if (outcome.code === 'ok') {
        perLane[index].ok++;
        perLane[index].lastOkAt = Date.now();
      }
    };
    while (!stopping) {
      let session: LaneSession | undefined;
      try {
        session = modern ? await openV2(fleet, token, leftovers, tally) : await openV1(fleet, token, leftovers);
      } catch (error) {
        // initialize refused (a documented 503 at the cap) or the server gone: counted, then retried.
        record('initialize', { code: thrownCode(error), text: (error as Error).message, ms: 0 });
        await sleep(1000);
        continue;
      }
      if (!session) {
        await sleep(500);
        continue;
      }
      tally.sessions.opened++;
      const state = { onLanePage: false, url: fleet.pages.url };
      const calls = between(options.callsPerSession);
      for (let made = 0; made < calls && !stopping; made++) {
        let steps = pick(STEPS)(state);
        if (NEEDS_LANE_PAGE.has(steps[0][0]) && !state.onLanePage) steps = [['browser_navigate', { url: `${state.url}/lane` }, NAV_MS], ...steps];
        for (const [name, args, deadlineMs] of steps) {
          const outcome = await session.call(name, args, deadlineMs);
          record(name, outcome);
          if (name === 'browser_navigate' || name === 'browser_navigate_back') state.onLanePage = outcome.code === 'ok' && /Lane page/.test(outcome.text);
          if (name === 'browser_tabs' && args.action !== 'list') state.onLanePage = false;
        }
        await sleep(between(options.thinkMs));
      }
      if (!stopping && Math.random() < options.vanishShare) {
        await session.vanish();
        tally.sessions.vanished++;
      } else {
        await session.end().catch(() => {});
        tally.sessions.deleted++;
      }
      await sleep(between([0, 800]));
    }
  };
  const running = Promise.all(perLane.map((_, index) => lane(index)));
  return {
    tally, perLane, leftovers,
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

/**
 * Ends what the lanes left: DELETE for every session id never deleted (404 when the server already
 * reaped it), browser_close for every stateless browser never closed.
 */
export async function cleanUpLeftovers(fleet: Fleet, leftovers: Leftovers): Promise<void> {
  for (const id of leftovers.sessionIds) {
    await fleet.admin(`/sessions/${id}`, { method: 'DELETE' }).catch(() => {});
  }
  leftovers.sessionIds.clear();
  const byToken = new Map<string, string[]>();
  for (const [handle, token] of leftovers.handles) byToken.set(token, [...(byToken.get(token) ?? []), handle]);
  for (const [token, handles] of byToken) {
    const client = await connectModern(fleet.base, { token });
    for (const browser of handles) await within(client.call('browser_close', { browser }), 30_000, 'browser_close').catch(() => {});
    await client.close().catch(() => {});
  }
  leftovers.handles.clear();
}

// ---------------------------------------------------------------------------------------------
// The end of a run: nothing left

/**
 * When a process started (field 22 of /proc/PID/stat, clock ticks since boot): with its PID it
 * names one process, where a PID alone does not. PIDs wrap at 32768 here and a run spawns
 * thousands of processes, so a PID seen in the tree early may belong to another program later.
 */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Processes by PID and start time, for asking later which of them are still alive. */
export type ProcessSet = Map<number, string>;

export function processSet(pids: number[]): ProcessSet {
  const set: ProcessSet = new Map();
  for (const pid of pids) {
    const start = startTimeOf(pid);
    if (start !== undefined) set.set(pid, start);
  }
  return set;
}

/** The processes of `set` still alive: same PID, same start time, not a zombie. */
export function stillAlive(set: ProcessSet): number[] {
  return [...set].filter(([pid, start]) => isAlive(pid) && startTimeOf(pid) === start).map(([pid]) => pid);
}

/**
 * Every process the server's tree ever had, scanned every `intervalMs` (a process that outlives
 * its parent is reparented away from the tree, so what was seen is what to check afterwards).
 */
export function watchFleetTree(fleet: Fleet, intervalMs = 500): { seen: ProcessSet; stop(): ProcessSet } {
  const seen: ProcessSet = new Map();
  const scan = () => {
    for (const [pid, start] of processSet(processTree(fleet.cli.process.pid!))) seen.set(pid, start);
  };
  scan();
  const timer = setInterval(scan, intervalMs);
  return { seen, stop: () => (clearInterval(timer), scan(), seen) };
}

/**
 * Ends what the lanes left, checks that the server then lists no session and no browser, stops it
 * with SIGTERM, and checks that no process it ever had is alive (zombies count as gone) and that
 * no worker TMPDIR and nothing under --output-dir is left. Returns what was wrong; always stops
 * and removes everything, whatever it found.
 */
export async function finishFleet(fleet: Fleet, leftovers: Leftovers, tree: { stop(): ProcessSet }): Promise<string[]> {
  const problems: string[] = [];
  try {
    await cleanUpLeftovers(fleet, leftovers);
    let sessions: SessionListing[] = [];
    let browsers: BrowserListing[] = [];
    await waitUntil(async () => {
      sessions = await listSessions(fleet);
      browsers = await listBrowsers(fleet);
      return sessions.length === 0 && browsers.length === 0;
    }, 20_000);
    if (sessions.length) problems.push(`after every session was DELETEd, GET /sessions still lists ${sessions.length}: ${sessions.map((s) => s.id).join(', ')}`);
    if (browsers.length) problems.push(`after every session was DELETEd and browser closed, GET /browsers still lists ${browsers.length}`);
  } catch (error) {
    problems.push(`the clean-up failed: ${(error as Error).message}`);
  }
  const seen = tree.stop();
  fleet.cli.process.kill('SIGTERM');
  const exit = await Promise.race([fleet.cli.exited, delay(40_000, undefined, { ref: false })]);
  if (!exit) problems.push('the server did not exit within 40 s of SIGTERM');
  else if (exit.code !== 0) problems.push(`the server exited with ${exit.code ?? exit.signal} after SIGTERM`);
  await waitUntil(() => stillAlive(seen).length === 0, 10_000);
  const alive = stillAlive(seen);
  if (alive.length) problems.push(`processes of the server's tree alive after it exited: ${alive.map(describePid).join('; ')}`);
  const temps = workerTempDirs(fleet);
  if (temps.length) problems.push(`worker TMPDIRs left: ${temps.join(', ')}`);
  const outputs = outputEntries(fleet);
  if (outputs.length) problems.push(`entries left under --output-dir: ${outputs.join(', ')}`);
  await fleet.cli.stop(100); // it has exited (or had 40 s): kill what is left at once
  await fleet.pages.close();
  removeFleetTemp(fleet);
  return problems;
}

function describePid(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 100)}`;
  } catch {
    return String(pid);
  }
}
