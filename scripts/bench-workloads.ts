// The servers, sessions and workloads of scripts/bench.ts (which prints the tables). Every wait here
// is bounded: by a session's own bound, and by the run's deadline (`Ctx.deadline`).
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { processTree, treeStats } from '../src/supervisor/process-stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LEVELS = [1, 8, 16];
export const ROUNDS_AT_ONE = 5; // single-session figures are noisy: repeat that level
export const CYCLES = 2; // snapshot, type, click per level session, after the first navigate
export const TOOLS = ['navigate', 'snapshot', 'type', 'click'] as const;
type Tool = (typeof TOOLS)[number];

export const PAGE = `<!doctype html><title>Bench</title>
<label>Name <input id="name"></label>
<button onclick="document.getElementById('out').textContent = 'Hello ' + document.getElementById('name').value">Greet</button>
<p id="out">nobody</p>`;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** `work`, or nothing once `ms` passed; the timer goes with it, so nothing lingers after the run. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, ms)); })]);
  clearTimeout(timer);
}

/** What every workload needs: the page to load and the run's deadline (epoch ms). */
export interface Ctx { pageUrl: string; deadline: number }
const left = (ctx: Ctx) => ctx.deadline - Date.now();

export type TargetName = 'ours' | 'tuned' | 'theirs';

/** A server under test: its MCP URL, the PID whose process tree it is, how to stop it. */
export interface Target {
  name: TargetName;
  url: string;
  pid: number;
  /** Waits (bounded) until the server is as idle and warm as between two bursts of real traffic. */
  settle(ctx: Ctx): Promise<void>;
  /** PSS of each session's own processes, when the server can tell (ours: /metrics). */
  sessionPss?(): Promise<number[]>;
  /** Browsers started and waiting for a session (ours: /metrics), undefined when not told. */
  warm?(): Promise<number | undefined>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- servers

/** Servers started and not yet stopped: stopped by PID on a deadline or a signal. */
export const live = new Set<Target>();

function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: (line: string) => string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with code ${code} before listening`)); });
    createInterface({ input: child[stream]! }).on('line', (line) => {
      const found = pattern(line);
      if (found) { clearTimeout(timer); resolve(found); }
    });
  });
}

/** Stops a server by its PID: SIGTERM, then SIGKILL for anything of its tree still alive. */
async function stopTree(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const pids = processTree(child.pid!);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await within(15_000, exited);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

/** CPU of `pid`'s tree under 5% of a core for `holdMs` in a row, or `boundMs` passed. */
async function quiet(pid: number, holdMs: number, boundMs: number, ctx: Ctx): Promise<void> {
  const until = Date.now() + Math.min(boundMs, left(ctx));
  let before = (await treeStats(pid)).cpuSeconds;
  let quietSince = Date.now();
  while (Date.now() < until) {
    await sleep(250);
    const now = (await treeStats(pid)).cpuSeconds;
    if (now - before > 0.0125) quietSince = Date.now();
    else if (Date.now() - quietSince >= holdMs) return;
    before = now;
  }
}

/** Options the front reads from BROWSER_FLEET_* variables: dropped, so ours runs on its flags alone. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BROWSER_FLEET_')));
}

const gauge = (metrics: string, name: string) => {
  const found = metrics.match(new RegExp(`^${name} (\\S+)`, 'm'));
  return found ? Number(found[1]) : undefined;
};

/**
 * Ours, on its default configuration: only --port 0 --executable-path --output-dir (`extra` is the
 * optional "tuned" configuration, empty by default).
 */
export async function startOurs(browser: string, dir: string, name: 'ours' | 'tuned' = 'ours', extra: string[] = []): Promise<Target> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/browser-fleet.js'),
    '--port', '0', '--executable-path', browser, '--output-dir', join(dir, 'out'), ...extra],
  { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout!.resume(); // its log: read and dropped, never left to fill the pipe
  const target: Target = {
    name, url: '', pid: child.pid!,
    settle: async () => {}, stop: async () => { live.delete(target); await stopTree(child); },
  };
  live.add(target);
  try {
    target.url = await waitForLine(child, 'stdout', (line) => {
      try { const entry = JSON.parse(line); return entry.msg === 'browser-fleet listening' ? entry.url : undefined; } catch { return undefined; }
    });
  } catch (error) {
    await target.stop();
    throw error;
  }
  const metrics = async () => {
    const res = await fetch(`${target.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return res.text();
  };
  // The warm pool's gauge: browser_fleet_browsers_warm where the server has it, else the older name.
  target.warm = async () => {
    const text = await metrics().catch(() => '');
    return gauge(text, 'browser_fleet_browsers_warm') ?? gauge(text, 'browser_fleet_workers_prewarmed');
  };
  // What the server sizes its warm pool for now (its floor, or a recent burst's peak).
  const warmTarget = async () => gauge(await metrics().catch(() => ''), 'browser_fleet_browsers_warm_target');
  target.settle = async (ctx) => {
    // As a server that has been up a while: its warm pool filled to what it is sized for (refills
    // start after --prewarm-delay of calm, one at a time), then 2.5 s of quiet.
    const until = Date.now() + Math.min(60_000, left(ctx));
    while (Date.now() < until && ((await target.warm!()) ?? 0) < ((await warmTarget()) ?? 0)) await sleep(250);
    await quiet(child.pid!, 2500, until - Date.now(), ctx);
  };
  target.sessionPss = async () => {
    const text = await metrics();
    return [...text.matchAll(/^browser_fleet_(?:worker|browser|session)_memory_bytes\{[^}]*kind="pss"[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
  };
  return target;
}

/** @playwright/mcp 0.0.83 --isolated --headless --no-sandbox: a browser per session, as today. */
export async function startTheirs(browser: string, dir: string): Promise<Target> {
  // cwd: it writes snapshot files under the working directory.
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/@playwright/mcp/cli.js'),
    '--isolated', '--headless', '--no-sandbox', '--port', '0', '--host', '127.0.0.1', '--executable-path', browser, '--output-dir', join(dir, 'out')],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const target: Target = {
    name: 'theirs', url: '', pid: child.pid!,
    settle: (ctx) => quiet(child.pid!, 1000, 30_000, ctx), stop: async () => { live.delete(target); await stopTree(child); },
  };
  live.add(target);
  try {
    target.url = await waitForLine(child, 'stderr', (line) => line.match(/Listening on (\S+)/)?.[1]);
  } catch (error) {
    await target.stop();
    throw error;
  }
  child.stderr!.resume();
  return target;
}

// ---------------------------------------------------------------- one session

function text(result: CallToolResult): string {
  return result.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text).join('\n');
}

function ref(snapshot: string, needle: string): string {
  const found = snapshot.split('\n').find((l) => l.includes(needle))?.match(/\[ref=([^\]]+)\]/)?.[1];
  if (!found) throw new Error(`no ref for ${needle}`);
  return found;
}

/** An error's message; a refusal's JSON-RPC error as "CODE: message" rather than the SDK's wrapping of its body. */
function short(error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  const body = message.match(/\{"jsonrpc".*\}/)?.[0];
  if (body) {
    try {
      const { error: rpc } = JSON.parse(body) as { error?: { message?: string; data?: { code?: string } } };
      if (rpc?.message) return `${rpc.data?.code ?? 'refused'}: ${rpc.message}`.slice(0, 300);
    } catch { /* not JSON after all */ }
  }
  return message.slice(0, 300);
}

/** An MCP client whose every request, and the whole session, ends by `boundMs` (or the deadline). */
class Session {
  readonly transport: StreamableHTTPClientTransport;
  readonly client = new Client({ name: 'browser-fleet-bench', version: '1.0.0' });
  readonly bound: number;
  timedOut = false;
  private readonly timer: NodeJS.Timeout;

  constructor(target: Target, ctx: Ctx, boundMs: number) {
    this.transport = new StreamableHTTPClientTransport(new URL('/mcp', target.url));
    this.bound = Math.max(1000, Math.min(boundMs, left(ctx)));
    // Closing the client aborts its requests: every await below then rejects.
    this.timer = setTimeout(() => { this.timedOut = true; void this.client.close().catch(() => {}); }, this.bound);
  }

  connect() { return this.client.connect(this.transport, { timeout: this.bound }); }

  async call(tool: string, args: Record<string, unknown>, into?: number[]): Promise<string> {
    const start = performance.now();
    const called = await this.client.callTool({ name: `browser_${tool}`, arguments: args }, undefined, { timeout: this.bound }) as CallToolResult;
    into?.push(performance.now() - start);
    if (called.isError) throw new Error(`${tool}: ${text(called).slice(0, 300)}`);
    return text(called);
  }

  listTools() { return this.client.listTools(undefined, { timeout: this.bound }); }

  message(error: unknown): string {
    return this.timedOut ? `timed out after ${(this.bound / 1000).toFixed(0)} s` : short(error);
  }

  /** DELETE (bounded to 10 s) then close; `vanish`: close only, as a client that died would. */
  async end(how: 'delete' | 'vanish'): Promise<void> {
    clearTimeout(this.timer);
    if (how === 'delete' && !this.timedOut) await within(10_000, this.transport.terminateSession().catch(() => {}));
    await this.client.close().catch(() => {});
  }
}

export interface Outcome { ok: boolean; firstPageMs?: number; error?: string }

interface Plan { listTools?: boolean; navigate?: boolean; snapshot?: boolean; click?: boolean; end: 'delete' | 'vanish'; boundMs: number }

/** One session of a workload. First page: ms from starting connect to the navigate result. */
async function session(target: Target, ctx: Ctx, plan: Plan): Promise<Outcome> {
  const s = new Session(target, ctx, plan.boundMs);
  const out: Outcome = { ok: false };
  try {
    const start = performance.now();
    await s.connect();
    if (plan.listTools) await s.listTools();
    if (plan.navigate) {
      await s.call('navigate', { url: ctx.pageUrl });
      out.firstPageMs = performance.now() - start;
    }
    const snapshot = plan.snapshot ? await s.call('snapshot', {}) : '';
    if (plan.click) await s.call('click', { element: 'Greet', target: ref(snapshot, 'button "Greet"') });
    out.ok = true;
  } catch (error) {
    out.error = s.message(error);
  } finally {
    await s.end(plan.end);
  }
  return out;
}

const many = (n: number, work: () => Promise<Outcome>) => Promise.all(Array.from({ length: n }, work));
const errorsOf = (outcomes: Outcome[]) => outcomes.filter((o) => !o.ok).map((o) => o.error ?? 'unknown error');
const pages = (outcomes: Outcome[]) => outcomes.flatMap((o) => (o.ok && o.firstPageMs !== undefined ? [o.firstPageMs] : []));

// ---------------------------------------------------------------- levels (1, 8, 16 at once)

/** Latency samples (ms) and memory of one concurrency level, over its rounds and passes. */
export interface LevelResult {
  firstPage: number[];
  tools: Record<Tool, number[]>;
  peakPssBytes: number;
  /** The tree's PSS before the level started: front, idle pool, or a lone server process. */
  idlePssBytes: number;
  /** Sessions that were open (navigated) when memory was read, most of any round. */
  openSessions: number;
  /** What one more session costs: its own processes (ours, /metrics), or the tree's growth per open session. */
  perSessionPss: number[];
  sessions: number;
  errors: string[];
}

export const newLevel = (sessions: number): LevelResult => ({
  firstPage: [], tools: { navigate: [], snapshot: [], type: [], click: [] }, peakPssBytes: 0, idlePssBytes: 0, openSessions: 0, perSessionPss: [], sessions, errors: [],
});

/** One level session: initialize, navigate, CYCLES × (snapshot, type, click), check, wait for all, DELETE. */
async function levelSession(target: Target, ctx: Ctx, result: LevelResult, allOpen: Promise<void>, opened: (ok: boolean) => void): Promise<void> {
  const s = new Session(target, ctx, 120_000);
  let open = false;
  try {
    const start = performance.now();
    await s.connect();
    await s.call('navigate', { url: ctx.pageUrl }, result.tools.navigate);
    result.firstPage.push(performance.now() - start);
    open = true;
    for (let i = 0; i < CYCLES; i++) {
      const snapshot = await s.call('snapshot', {}, result.tools.snapshot);
      await s.call('type', { element: 'Name', target: ref(snapshot, 'textbox "Name"'), text: `Ada${i}` }, result.tools.type);
      await s.call('click', { element: 'Greet', target: ref(snapshot, 'button "Greet"') }, result.tools.click);
    }
    const last = await s.call('snapshot', {}, result.tools.snapshot);
    if (!last.includes(`Hello Ada${CYCLES - 1}`)) throw new Error('the page did not change as the workload expects');
  } catch (error) {
    result.errors.push(s.message(error));
  } finally {
    opened(open);
    await within(left(ctx), allOpen); // every session is live at once: the moment memory is sampled
    await s.end('delete');
  }
}

/**
 * One level: `sessions` sessions at once. Memory is read once, when every session is open and its
 * workload done, not sampled while latencies are timed: reading smaps of a tree of ~60-110
 * processes takes 75-200 ms of this process's event loop and of a core, which would slow the
 * clients of the server with more processes.
 */
async function runLevel(target: Target, ctx: Ctx, sessions: number, into: LevelResult): Promise<void> {
  await target.settle(ctx);
  const idle = (await treeStats(target.pid)).pssBytes;
  into.idlePssBytes = Math.max(into.idlePssBytes, idle);
  let count = 0;
  let open = 0;
  let release!: () => void;
  const allOpen = new Promise<void>((resolve) => { release = resolve; });
  const opened = (ok: boolean) => {
    if (ok) open++;
    if (++count < sessions) return;
    void (async () => {
      const peak = (await treeStats(target.pid)).pssBytes;
      into.peakPssBytes = Math.max(into.peakPssBytes, peak);
      into.openSessions = Math.max(into.openSessions, open);
      const own = await target.sessionPss?.().catch(() => []) ?? [];
      into.perSessionPss.push(...(own.length ? own : open ? [(peak - idle) / open] : []));
    })().catch(() => {}).finally(release);
  };
  await Promise.all(Array.from({ length: sessions }, () => levelSession(target, ctx, into, allOpen, opened)));
}

export async function levels(target: Target, ctx: Ctx, results: Map<number, LevelResult>): Promise<void> {
  for (const level of LEVELS) {
    const result = results.get(level) ?? newLevel(level);
    results.set(level, result);
    for (let round = 0; round < (level === 1 ? ROUNDS_AT_ONE : 1) && left(ctx) > 0; round++) await runLevel(target, ctx, level, result);
  }
}

// ---------------------------------------------------------------- the workloads users run

/** 1. Sessions one after another: initialize, navigate, snapshot, DELETE. */
export async function sequential(target: Target, ctx: Ctx, n = 12) {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < n && left(ctx) > 0; i++) outcomes.push(await session(target, ctx, { navigate: true, snapshot: true, end: 'delete', boundMs: 60_000 }));
  return { sessions: outcomes.length, firstPage: pages(outcomes), errors: errorsOf(outcomes) };
}

/** Aggregate CPU jiffies of the machine: user+nice+system+irq+softirq+steal (not idle, iowait). */
function machineJiffies(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + (steal || 0);
}

let clockTicks: number | undefined;
function clkTck(): number {
  if (clockTicks === undefined) {
    try { clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { clockTicks = 100; }
  }
  return clockTicks;
}

/**
 * 2 and 3. Churn: `lanes` loops run sessions one after another (initialize, navigate, snapshot,
 * click, DELETE) until `total` have run; the whole machine's CPU over that time, per session.
 */
export async function churn(target: Target, ctx: Ctx, total = 40, lanes = 4) {
  const outcomes: Outcome[] = [];
  let started = 0;
  const jiffies = machineJiffies();
  const start = performance.now();
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (started < total && left(ctx) > 0) {
      started++;
      outcomes.push(await session(target, ctx, { navigate: true, snapshot: true, click: true, end: 'delete', boundMs: 90_000 }));
    }
  }));
  const wallMs = performance.now() - start;
  const cpuMs = ((machineJiffies() - jiffies) * 1000) / clkTck();
  const ok = outcomes.filter((o) => o.ok).length;
  return {
    sessions: outcomes.length, ok, wallMs, cpuMs,
    perMinute: ok / (wallMs / 60_000), cpuMsPerSession: ok ? cpuMs / ok : Number.NaN,
    firstPage: pages(outcomes), errors: errorsOf(outcomes),
  };
}

/** 4. Two bursts of 8 at once (navigate, snapshot, DELETE), the second 10 s after the first ended. */
export async function bursts(target: Target, ctx: Ctx, size = 8, gapMs = 10_000) {
  const burst = () => many(size, () => session(target, ctx, { navigate: true, snapshot: true, end: 'delete', boundMs: 90_000 }));
  const first = await burst();
  await sleep(Math.min(gapMs, left(ctx)));
  const second = left(ctx) > 0 ? await burst() : [];
  return { first: pages(first), second: pages(second), sessions: first.length + second.length, errors: [...errorsOf(first), ...errorsOf(second)] };
}

/**
 * 5. Abandoned clients: 12 initialize and navigate, 20 initialize and list tools, all vanish
 * without DELETE (the client closes its connections, as a process that died would); then one new
 * client, whose first page is the figure. The vanished clients' failures are not errors.
 */
export async function abandoned(target: Target, ctx: Ctx, navigating = 12, listing = 20) {
  const a = await many(navigating, () => session(target, ctx, { navigate: true, end: 'vanish', boundMs: 45_000 }));
  const b = await many(listing, () => session(target, ctx, { listTools: true, end: 'vanish', boundMs: 45_000 }));
  const next = await session(target, ctx, { navigate: true, end: 'delete', boundMs: 60_000 });
  return {
    navigated: a.filter((o) => o.ok).length, navigating, listed: b.filter((o) => o.ok).length, listing,
    vanishedErrors: [...errorsOf(a), ...errorsOf(b)],
    nextFirstPageMs: next.ok ? next.firstPageMs : undefined, nextError: next.ok ? undefined : next.error,
    sessions: 1, errors: errorsOf([next]),
  };
}

/** 6. Many sessions at once: initialize, navigate, DELETE, each bounded to 120 s. */
export async function atOnce(target: Target, ctx: Ctx, n = 48) {
  const outcomes = await many(n, () => session(target, ctx, { navigate: true, end: 'delete', boundMs: 120_000 }));
  const firstPage = pages(outcomes);
  return { sessions: n, ok: firstPage.length, firstPage, errors: errorsOf(outcomes) };
}

/**
 * The pool after a quiet period: polls the warm gauge every 5 s for up to `boundMs`; ends early
 * once nothing is warm, or the count has dropped and held for 30 s. Then the tree's PSS.
 */
export async function quietPool(target: Target, ctx: Ctx, boundMs: number) {
  const start = Date.now();
  const until = start + Math.max(0, Math.min(boundMs, left(ctx)));
  const series: number[] = [];
  let changedAt = start;
  for (;;) {
    const warm = await target.warm?.();
    if (warm === undefined) break;
    if (series.length && warm !== series[series.length - 1]) changedAt = Date.now();
    series.push(warm);
    if (warm === 0 || (warm < series[0] && Date.now() - changedAt >= 30_000) || Date.now() + 5000 > until) break;
    await sleep(5000);
  }
  const stats = await treeStats(target.pid);
  return { waitedMs: Date.now() - start, warm: series.at(-1), warmSeries: series, pssBytes: stats.pssBytes, processes: stats.pids.length };
}
