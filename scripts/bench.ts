// Benchmark: browser-fleet against @playwright/mcp (--isolated --headless, same Chromium), the same
// MCP workload at 1, 8 and 16 concurrent sessions, one server at a time. Prints a markdown table
// (figure | ours | theirs | ratio) and the targets with pass/fail. Usage: npm run bench [-- --json FILE --passes N --prewarm N]
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { findBrowser } from '../src/browser/find-browser.ts';
import { processTree, treeStats } from '../src/supervisor/process-stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LEVELS = [1, 8, 16];
const ROUNDS_AT_ONE = 5; // single-session figures are noisy: repeat that level
/** Times the whole sequence (ours, then theirs) runs; `--passes N` changes it. */
const PASSES = Number(argValue('--passes') ?? 2);
const CYCLES = 2; // snapshot, type, click per session, after the first navigate
/** Pre-started workers for ours: sized to the burst expected (8 parallel jobs), as an operator would. */
const PREWARM = Number(argValue('--prewarm') ?? 8);
const DEADLINE_MS = 9.5 * 60_000;
const TOOLS = ['navigate', 'snapshot', 'type', 'click'] as const;

const PAGE = `<!doctype html><title>Bench</title>
<label>Name <input id="name"></label>
<button onclick="document.getElementById('out').textContent = 'Hello ' + document.getElementById('name').value">Greet</button>
<p id="out">nobody</p>`;

/** A server under test: its MCP URL, the PID whose process tree it is, how to stop it. */
interface Target {
  name: 'ours' | 'theirs';
  url: string;
  pid: number;
  /** Waits until the server is as idle and warm as between two bursts of real traffic. */
  settle(): Promise<void>;
  /** PSS of each session's own processes, when the server can tell (ours: /metrics). */
  sessionPss?(): Promise<number[]>;
  stop(): Promise<void>;
}

/** Latency samples (ms) and peak memory of one concurrency level. */
interface LevelResult {
  firstPage: number[];
  tools: Record<(typeof TOOLS)[number], number[]>;
  peakPssBytes: number;
  /** The tree's PSS before the level started: front, idle pool, or a lone server process. */
  idlePssBytes: number;
  /** What one more session costs: its own processes (ours), or the tree's growth per session (theirs). */
  perSessionPss: number[];
  sessions: number;
  errors: string[];
}

function argValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits (up to 30 s) until the process tree of `pid` is idle: under 5% of a core over half a second. */
async function quiet(pid: number): Promise<void> {
  const until = Date.now() + 30_000;
  let before = (await treeStats(pid)).cpuSeconds;
  while (Date.now() < until) {
    await sleep(500);
    const now = (await treeStats(pid)).cpuSeconds;
    if (now - before < 0.025) return;
    before = now;
  }
}

function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: (line: string) => string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`server exited with code ${code} before listening`)));
    createInterface({ input: child[stream]! }).on('line', (line) => {
      const found = pattern(line);
      if (found) { clearTimeout(timer); resolve(found); }
    });
  });
}

/** Stops a server by its PID: SIGTERM, then SIGKILL for anything of its tree still alive. */
async function stopTree(child: ChildProcess): Promise<void> {
  const pids = processTree(child.pid!);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

async function startOurs(browser: string, dir: string): Promise<Target> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/browser-fleet.js'),
    '--port', '0', '--max-sessions', '16', '--prewarm', String(PREWARM), '--executable-path', browser, '--output-dir', join(dir, 'out')],
  { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await waitForLine(child, 'stdout', (line) => {
    try { const entry = JSON.parse(line); return entry.msg === 'browser-fleet listening' ? entry.url : undefined; } catch { return undefined; }
  });
  const prewarmed = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(text.match(/^browser_fleet_workers_prewarmed (\d+)/m)?.[1] ?? 0);
  };
  return {
    name: 'ours', url, pid: child.pid!,
    settle: async () => {
      const until = Date.now() + 30_000;
      while (Date.now() < until && await prewarmed() < PREWARM) await sleep(200);
      await quiet(child.pid!); // the pool's workers have launched their browsers
    },
    sessionPss: async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return [...text.matchAll(/^browser_fleet_worker_memory_bytes\{[^}]*kind="pss"[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
    },
    stop: () => stopTree(child),
  };
}

async function startTheirs(browser: string, dir: string): Promise<Target> {
  // cwd: it writes snapshot files under the working directory.
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/@playwright/mcp/cli.js'),
    '--isolated', '--headless', '--no-sandbox', '--port', '0', '--host', '127.0.0.1', '--executable-path', browser, '--output-dir', join(dir, 'out')],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await waitForLine(child, 'stderr', (line) => line.match(/Listening on (\S+)/)?.[1]);
  return { name: 'theirs', url, pid: child.pid!, settle: () => quiet(child.pid!), stop: () => stopTree(child) };
}

function text(result: CallToolResult): string {
  return result.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text).join('\n');
}

function ref(snapshot: string, needle: string): string {
  const found = snapshot.split('\n').find((l) => l.includes(needle))?.match(/\[ref=([^\]]+)\]/)?.[1];
  if (!found) throw new Error(`no ref for ${needle}`);
  return found;
}

/** One session: initialize, navigate (time to first page), CYCLES × (snapshot, type, click), check, wait, DELETE. */
async function runSession(target: Target, pageUrl: string, result: LevelResult, allOpen: Promise<void>, opened: () => void): Promise<void> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', target.url));
  const client = new Client({ name: 'browser-fleet-bench', version: '1.0.0' });
  const timed = async (tool: (typeof TOOLS)[number], args: Record<string, unknown>) => {
    const start = performance.now();
    const called = await client.callTool({ name: `browser_${tool}`, arguments: args }) as CallToolResult;
    result.tools[tool].push(performance.now() - start);
    if (called.isError) throw new Error(`${tool}: ${text(called).slice(0, 300)}`);
    return text(called);
  };
  try {
    const start = performance.now();
    await client.connect(transport);
    await timed('navigate', { url: pageUrl });
    result.firstPage.push(performance.now() - start);
    for (let i = 0; i < CYCLES; i++) {
      const snapshot = await timed('snapshot', {});
      await timed('type', { element: 'Name', target: ref(snapshot, 'textbox "Name"'), text: `Ada${i}` });
      await timed('click', { element: 'Greet', target: ref(snapshot, 'button "Greet"') });
    }
    const last = await timed('snapshot', {});
    if (!last.includes(`Hello Ada${CYCLES - 1}`)) throw new Error('the page did not change as the workload expects');
  } catch (error) {
    result.errors.push((error as Error).message);
  } finally {
    opened();
    await allOpen; // every session is live at once: the moment memory is sampled
    await transport.terminateSession().catch(() => {});
    await client.close().catch(() => {});
  }
}

/**
 * One level: `sessions` sessions at once. Memory is read once, when every session is open and its
 * workload done, not sampled while latencies are timed: reading smaps of a tree of ~60-110
 * processes (ours: a worker and a browser per session) takes 75-200 ms of this process's event
 * loop and of a core, which would slow the clients of the server with more processes.
 */
async function runLevel(target: Target, pageUrl: string, sessions: number, into: LevelResult): Promise<void> {
  await target.settle();
  const idle = (await treeStats(target.pid)).pssBytes;
  into.idlePssBytes = Math.max(into.idlePssBytes, idle);
  let count = 0;
  let release!: () => void;
  const allOpen = new Promise<void>((resolve) => { release = resolve; });
  const opened = () => {
    if (++count < sessions) return;
    void (async () => {
      const peak = (await treeStats(target.pid)).pssBytes;
      into.peakPssBytes = Math.max(into.peakPssBytes, peak);
      into.perSessionPss.push(...await (target.sessionPss?.() ?? [(peak - idle) / sessions]));
    })().catch(() => {}).finally(release);
  };
  await Promise.all(Array.from({ length: sessions }, () => runSession(target, pageUrl, into, allOpen, opened)));
}

/** Runs every level against `target`, adding its samples to `results` (one entry per level, across passes). */
async function benchTarget(target: Target, pageUrl: string, results: Map<number, LevelResult>): Promise<void> {
  for (const level of LEVELS) {
    const result = results.get(level) ?? { firstPage: [], tools: { navigate: [], snapshot: [], type: [], click: [] }, peakPssBytes: 0, idlePssBytes: 0, perSessionPss: [], sessions: level, errors: [] };
    results.set(level, result);
    for (let round = 0; round < (level === 1 ? ROUNDS_AT_ONE : 1); round++) await runLevel(target, pageUrl, level, result);
    console.error(`${target.name} @${level}: first page p50 ${percentile(result.firstPage, 50).toFixed(0)} ms so far, peak PSS ${mb(result.peakPssBytes)} MB${result.errors.length ? `, ${result.errors.length} errors: ${result.errors[0]}` : ''}`);
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

interface Row { figure: string; ours: number; theirs: number; unit: string }

function rows(ours: Map<number, LevelResult>, theirs: Map<number, LevelResult>): Row[] {
  const out: Row[] = [];
  for (const level of LEVELS) {
    const [o, t] = [ours.get(level)!, theirs.get(level)!];
    for (const p of [50, 95]) out.push({ figure: `first page p${p} @${level}`, ours: percentile(o.firstPage, p), theirs: percentile(t.firstPage, p), unit: 'ms' });
    for (const tool of TOOLS) {
      for (const p of [50, 95]) out.push({ figure: `${tool} p${p} @${level}`, ours: percentile(o.tools[tool], p), theirs: percentile(t.tools[tool], p), unit: 'ms' });
    }
    out.push({ figure: `PSS idle before @${level}`, ours: mb(o.idlePssBytes), theirs: mb(t.idlePssBytes), unit: 'MB' });
    out.push({ figure: `PSS total at peak @${level}`, ours: mb(o.peakPssBytes), theirs: mb(t.peakPssBytes), unit: 'MB' });
    out.push({ figure: `PSS total / sessions @${level}`, ours: mb(o.peakPssBytes / level), theirs: mb(t.peakPssBytes / level), unit: 'MB' });
    out.push({ figure: `PSS per added session @${level}`, ours: mb(percentile(o.perSessionPss, 50)), theirs: mb(percentile(t.perSessionPss, 50)), unit: 'MB' });
  }
  return out;
}

function machine(browser: string): string {
  let version = 'unknown';
  try { version = execFileSync(browser, ['--version'], { encoding: 'utf8' }).trim(); } catch { /* keep unknown */ }
  return `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${version} (${browser})`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg()[0];
  const deadline = setTimeout(() => { console.error('benchmark exceeded its 9.5 minute budget'); process.exit(1); }, DEADLINE_MS);
  deadline.unref();
  const browser = findBrowser()?.path;
  if (!browser) throw new Error('no Chromium found: run scripts/ensure-browser.ts first');
  const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
  const dir = mkdtempSync(join(tmpdir(), 'bf-bench-'));
  const results: Record<string, Map<number, LevelResult>> = {};
  try {
    // Ours, theirs, ours, theirs...: the two servers take turns, so a machine whose speed drifts
    // (shared cores) weighs on both alike; every figure is over the samples of all passes.
    for (let pass = 0; pass < PASSES; pass++) {
      for (const start of [startOurs, startTheirs]) {
        const target = await start(browser, mkdtempSync(join(dir, 'srv-')));
        try {
          await benchTarget(target, pageUrl, results[target.name] ??= new Map());
        } finally {
          await target.stop();
        }
      }
    }
  } finally {
    page.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const table = rows(results.ours, results.theirs);
  const find = (figure: string) => table.find((r) => r.figure === figure)!;
  const ratio = (r: Row) => r.ours / r.theirs;
  const targets = [
    { target: 'first page @1 ≤ 0.4× theirs', value: ratio(find('first page p50 @1')), ok: (v: number) => v <= 0.4, fmt: (v: number) => `${v.toFixed(2)}×` },
    { target: 'first page @8 ≤ 0.5× theirs', value: ratio(find('first page p50 @8')), ok: (v: number) => v <= 0.5, fmt: (v: number) => `${v.toFixed(2)}×` },
    { target: 'click ≤ 0.2× theirs (p50 @1)', value: ratio(find('click p50 @1')), ok: (v: number) => v <= 0.2, fmt: (v: number) => `${v.toFixed(2)}×` },
    { target: 'snapshot ≤ 1.2× theirs (p50 @1)', value: ratio(find('snapshot p50 @1')), ok: (v: number) => v <= 1.2, fmt: (v: number) => `${v.toFixed(2)}×` },
    ...LEVELS.map((level) => ({ target: `≤ 200 MB PSS per session @${level}`, value: find(`PSS per added session @${level}`).ours, ok: (v: number) => v <= 200, fmt: (v: number) => `${v} MB` })),
  ];
  const errors = Object.entries(results).flatMap(([name, levels]) => [...levels.values()].flatMap((r) => r.errors.map((e) => `${name} @${r.sessions}: ${e}`)));

  const out = [
    `Machine: ${machine(browser)}`,
    `Ours: --max-sessions 16 --prewarm ${PREWARM}. Theirs: @playwright/mcp 0.0.83 --isolated --headless --no-sandbox. Same Chromium, one server at a time.`,
    `Workload per session: initialize, navigate, ${CYCLES} × (snapshot, type, click), snapshot, DELETE; level 1 run ${ROUNDS_AT_ONE} times. ${PASSES} passes (ours, theirs, ours, ...), each server started afresh; p50 and p95 in ms over all samples.`,
    'PSS: whole process tree of each server, idle before the level and at peak (all sessions open, read once then, not sampled while timing). Per added session: ours = the session worker and its browser (/metrics); theirs = (peak - idle) / sessions.',
    `Load average (1 min) before / after: ${loadBefore.toFixed(1)} / ${loadavg()[0].toFixed(1)} on ${cpus().length} cores${loadBefore > cpus().length / 2 ? ' (the machine was busy: latencies are inflated)' : ''}.`,
    '',
    '| figure | ours | theirs | ratio ours/theirs |',
    '| --- | ---: | ---: | ---: |',
    ...table.map((r) => `| ${r.figure} (${r.unit}) | ${r.ours.toFixed(0)} | ${r.theirs.toFixed(0)} | ${ratio(r).toFixed(2)} |`),
    '',
    '| target | measured | result |',
    '| --- | ---: | --- |',
    ...targets.map((t) => `| ${t.target} | ${t.fmt(t.value)} | ${t.ok(t.value) ? 'pass' : 'FAIL'} |`),
    '',
    errors.length ? `Errors (${errors.length}):\n${errors.slice(0, 10).map((e) => `- ${e}`).join('\n')}` : 'Errors: none',
    `Run time: ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n');
  console.log(out);
  const jsonAt = process.argv.indexOf('--json');
  if (jsonAt > 0 && process.argv[jsonAt + 1]) {
    const plain = Object.fromEntries(Object.entries(results).map(([name, levels]) => [name, Object.fromEntries(levels)]));
    writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ machine: machine(browser), table, results: plain }, null, 2));
  }
  if (errors.length) process.exitCode = 1;
}

await main();
