// Where a cold worker's CPU goes: forks scripts/cold-start-probe.cjs or .mjs (a stand-in for a session
// worker that loads the real worker program, then launches Chromium, opens a context and a page,
// navigates and snapshots) N times, one at a time, and prints the CPU (user+sys) and wall time of
// each phase, the Node process apart from Chromium's.
//
//   node --import tsx scripts/cold-start.ts [--runs 10] [--warmup 1] [--pause 300] [--check] [--memory-each]
//        [--variant 'label;program=default|esm|tsx;node=--flag ...;chromium=--arg ...;drop=--arg ...;env=K=V ...'] ...
//        [--ready-after b|c|d|e] [--json results.json]      (a variant may also say ready=b|c|d|e)
//
// program=default is what the front forks (src/ipc/worker-program.ts), esm the previous plain ES
// module bundle, tsx the TypeScript source. --check also clicks a snapshot ref (page.getByRef), not
// timed; --memory-each logs the probe's anonymous memory at each mark. Several --variant options
// run interleaved (A B C A B C ...), so a load that comes and goes on a shared machine hits them
// alike; warm-up runs (which also write a missing code cache) are left out of the tables.
// Node CPU is the probe's getrusage (µs); Chromium's is utime+stime+cutime+cstime of every
// descendant from /proc/<pid>/stat, in 10 ms clock ticks per process, so single Chromium phases
// are coarse; medians over runs are the figure to read.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findBrowser } from '../src/browser/find-browser.ts';
import type { Logger } from '../src/log.ts';
import * as programs from '../src/ipc/worker-program.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The probe's main module is of the worker program's kind: CommonJS, or an ES module (tsx's too). */
const probeFor = (entry: string) => fileURLToPath(new URL(/\.c?js$/.test(entry) ? './cold-start-probe.cjs' : './cold-start-probe.mjs', import.meta.url));
const TICK_MS = 1000 / 100; // USER_HZ
const PHASES = [
  ['a', 'Node start → first line of the entry'],
  ['b', 'load the worker program and its imports'],
  ['c', 'chromium.launch'],
  ['d', 'newContext + newPage'],
  ['e', 'first goto (local http) + ariaSnapshot ai'],
] as const;
type Phase = (typeof PHASES)[number][0];

/** The flags workers/browser-session.ts launches Chromium with, read from its source. */
function chromiumArgs(): string[] {
  const fallback = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--disable-gpu'];
  try {
    const source = readFileSync(join(ROOT, 'workers', 'browser-session.ts'), 'utf8');
    const body = /const CHROMIUM_ARGS = \[([\s\S]*?)\];/.exec(source)?.[1];
    const args = body ? [...body.matchAll(/'([^']+)'/g)].map((m) => m[1]) : [];
    if (args.length) return args;
  } catch { /* fall through */ }
  console.error('warning: could not read CHROMIUM_ARGS from workers/browser-session.ts; using a copy');
  return fallback;
}

const PAGE = `<!doctype html><html><head><title>cold start</title></head><body>
<header><nav>${Array.from({ length: 12 }, (_, i) => `<a href="/p${i}">Section ${i}</a>`).join(' ')}</nav></header>
<main><h1>Cold start</h1>
${Array.from({ length: 10 }, (_, i) => `<h2>Part ${i}</h2><p>Paragraph ${i} with <a href="/l${i}">a link</a> and some text to lay out.</p>`).join('\n')}
<form><label>Name <input name="name"></label><label>Mail <input type="email" name="mail"></label>
<select name="s"><option>one</option><option>two</option></select><textarea name="t"></textarea></form>
<button onclick="document.getElementById('count').textContent = String(Number(document.getElementById('count').textContent) + 1)">Count</button>
<output id="count">0</output>
<table><tr><th>k</th><th>v</th></tr>${Array.from({ length: 8 }, (_, i) => `<tr><td>k${i}</td><td>v${i}</td></tr>`).join('')}</table>
</main></body></html>`;

interface Variant {
  label: string;
  program: 'default' | 'esm' | 'tsx';
  nodeFlags: string[];
  extraChromium: string[];
  drop: string[];
  env: Record<string, string>;
  /** The phase after which the probe says READY, as a worker does after its start (and warm-up). */
  readyAfter?: string;
}

function parseVariant(spec: string): Variant {
  const [label, ...parts] = spec.split(';');
  const variant: Variant = { label: label.trim(), program: 'default', nodeFlags: [], extraChromium: [], drop: [], env: {} };
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const words = part.slice(eq + 1).trim().split(/\s+/).filter(Boolean);
    if (key === 'program') variant.program = words[0] as Variant['program'];
    else if (key === 'node') variant.nodeFlags = words;
    else if (key === 'chromium') variant.extraChromium = words;
    else if (key === 'drop') variant.drop = words;
    else if (key === 'ready') variant.readyAfter = words[0];
    else if (key === 'env') for (const w of words) variant.env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
    else throw new Error(`unknown variant key ${key} in ${spec}`);
  }
  if (!['default', 'esm', 'tsx'].includes(variant.program)) throw new Error(`unknown program ${variant.program}`);
  return variant;
}

const silentLog = { warn: (o: unknown, m?: string) => console.error('worker-program:', m, o) } as unknown as Logger;

async function programOf(variant: Variant): Promise<programs.WorkerProgram> {
  if (variant.program === 'tsx') return programs.sourceProgram();
  if (variant.program === 'esm') {
    const esm = (programs as Record<string, unknown>).esmBundleProgram as ((log: Logger) => Promise<programs.WorkerProgram>) | undefined;
    if (!esm) throw new Error('src/ipc/worker-program.ts has no esmBundleProgram; use program=default');
    return esm(silentLog);
  }
  return programs.workerProgram(silentLog);
}

interface Mark { name: Phase; wall: number; nodeUs: number; procs: { pid: number; type: string; ticks: number }[] }
interface RunResult {
  phases: Record<Phase, { node: number; chromium: number; wall: number }>;
  byType: Record<string, number>;
  others: number;
  /** The probe's Node CPU from start to just before exit (after closing the browser), ms. */
  toExit: number;
  /** The probe's own memory at the end of (e). */
  memory: { pssKb: number; rssKb: number; anonKb: number; heapUsedKb: number; heapTotalKb: number; externalKb: number };
  check?: unknown;
}

/** Busy jiffies of the whole machine, for the CPU others used during a run. */
function machineBusyTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7];
}

function runOnce(variant: Variant, program: programs.WorkerProgram, job: Record<string, unknown>): Promise<RunResult> {
  const temp = mkdtempSync(join(tmpdir(), 'cold-start-'));
  const busyBefore = machineBusyTicks();
  const spawnedAt = performance.timeOrigin + performance.now();
  const child = fork(probeFor(program.entry), [], {
    execArgv: [...program.execArgv, ...variant.nodeFlags],
    env: { ...process.env, ...variant.env, TMPDIR: temp, COLD_START_JOB: JSON.stringify({ ...job, entry: program.entry, readyAfter: variant.readyAfter ?? job.readyAfter }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  return new Promise<RunResult>((resolve, reject) => {
    let result: { marks: Mark[]; endUs: number; memory: RunResult['memory']; check?: unknown } | undefined;
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      reject(new Error('probe timed out'));
    }, 90_000);
    child.on('message', (message: any) => {
      if (message?.type === 'cold-start') result = message;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(temp, { recursive: true, force: true });
      if (!result) return reject(new Error(`probe exited (${code ?? signal}) without a result`));
      const busy = (machineBusyTicks() - busyBefore) * TICK_MS;
      const marks = result.marks;
      if (job.memoryEach) console.error(`${variant.label} anonymous MB at each mark: ${marks.map((m: any) => `${m.name} ${((m.anonKb ?? NaN) / 1024).toFixed(1)}`).join(', ')}`);
      const phases = {} as RunResult['phases'];
      let prevWall = spawnedAt;
      let prevNode = 0;
      let prevTicks = new Map<number, number>();
      for (const m of marks) {
        const ticks = new Map(m.procs.map((p) => [p.pid, p.ticks]));
        let chromiumTicks = 0;
        for (const [pid, t] of ticks) chromiumTicks += t - (prevTicks.get(pid) ?? 0);
        phases[m.name] = { node: (m.nodeUs - prevNode) / 1000, chromium: chromiumTicks * TICK_MS, wall: m.wall - prevWall };
        prevWall = m.wall;
        prevNode = m.nodeUs;
        prevTicks = ticks;
      }
      const byType: Record<string, number> = {};
      for (const p of marks[marks.length - 1].procs) byType[p.type] = (byType[p.type] ?? 0) + p.ticks * TICK_MS;
      const ours = Object.values(phases).reduce((sum, p) => sum + p.node + p.chromium, 0);
      resolve({ phases, byType, others: Math.max(0, busy - ours), toExit: result.endUs / 1000, memory: result.memory, check: result.check });
    });
  });
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.ceil(pos)] - sorted[lo]) * (pos - lo);
}
const fmt = (values: number[]) => `${quantile(values, 0.5).toFixed(0)} (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`;
const p50 = (values: number[]) => quantile(values, 0.5);

function table(variant: Variant, runs: RunResult[]): string {
  const lines = [
    `### ${variant.label} (program=${variant.program}${variant.nodeFlags.length ? `, node ${variant.nodeFlags.join(' ')}` : ''}` +
      `${variant.extraChromium.length ? `, chromium +${variant.extraChromium.join(' ')}` : ''}${variant.drop.length ? `, chromium −${variant.drop.join(' ')}` : ''}` +
      `${Object.keys(variant.env).length ? `, ${Object.entries(variant.env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}; ${runs.length} runs)`,
    '',
    '| phase | Node CPU ms p50 (min–max) | Chromium CPU ms p50 (min–max) | CPU ms p50, both | wall ms p50 (min–max) |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const [key, title] of PHASES) {
    const node = runs.map((r) => r.phases[key].node);
    const chromium = runs.map((r) => r.phases[key].chromium);
    const both = runs.map((r) => r.phases[key].node + r.phases[key].chromium);
    lines.push(`| (${key}) ${title} | ${fmt(node)} | ${key < 'c' ? '–' : fmt(chromium)} | ${p50(both).toFixed(0)} | ${fmt(runs.map((r) => r.phases[key].wall))} |`);
  }
  const sum = (r: RunResult, f: 'node' | 'chromium' | 'wall') => PHASES.reduce((s, [k]) => s + r.phases[k][f], 0);
  lines.push(`| **total** | **${fmt(runs.map((r) => sum(r, 'node')))}** | **${fmt(runs.map((r) => sum(r, 'chromium')))}** | ` +
    `**${p50(runs.map((r) => sum(r, 'node') + sum(r, 'chromium'))).toFixed(0)}** | **${fmt(runs.map((r) => sum(r, 'wall')))}** |`);
  const types = [...new Set(runs.flatMap((r) => Object.keys(r.byType)))].sort();
  lines.push('', `Chromium CPU by process type at the end of (e), ms p50: ${types.map((t) => `${t} ${p50(runs.map((r) => r.byType[t] ?? 0)).toFixed(0)}`).join(', ')}.`);
  lines.push(`Node CPU from start to exit (after closing the browser), ms p50 (min–max): ${fmt(runs.map((r) => r.toExit))}.`);
  lines.push(`Node process memory at the end of (e), MB p50: PSS ${p50(runs.map((r) => r.memory.pssKb / 1024)).toFixed(1)}, ` +
    `RSS ${p50(runs.map((r) => r.memory.rssKb / 1024)).toFixed(1)} (anonymous ${p50(runs.map((r) => r.memory.anonKb / 1024)).toFixed(1)}), ` +
    `V8 heap used ${p50(runs.map((r) => r.memory.heapUsedKb / 1024)).toFixed(1)} of ${p50(runs.map((r) => r.memory.heapTotalKb / 1024)).toFixed(1)}, ` +
    `external ${p50(runs.map((r) => r.memory.externalKb / 1024)).toFixed(1)}.`);
  lines.push(`Machine CPU used by other processes during a run, ms p50 (min–max): ${fmt(runs.map((r) => r.others))}.`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '1' },
      pause: { type: 'string', default: '300' },
      variant: { type: 'string', multiple: true },
      check: { type: 'boolean', default: false },
      json: { type: 'string' },
      'ready-after': { type: 'string', default: 'e' },
      'memory-each': { type: 'boolean', default: false },
    },
  });
  const variants = (values.variant?.length ? values.variant : ['current;program=default']).map(parseVariant);
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  const executablePath = findBrowser()?.path;
  if (!executablePath) throw new Error('no Chromium found');
  const baseArgs = chromiumArgs();

  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const prepared = await Promise.all(variants.map(async (variant) => ({
    variant,
    program: await programOf(variant),
    job: {
      root: join(ROOT, 'package.json'),
      executablePath,
      url,
      check: values.check,
      memoryEach: values['memory-each'],
      readyAfter: values['ready-after'],
      chromiumArgs: [...baseArgs.filter((a) => !variant.drop.includes(a)), ...variant.extraChromium],
    },
    results: [] as RunResult[],
    first: undefined as RunResult | undefined,
  })));
  console.error(`chromium ${executablePath}; args ${baseArgs.join(' ')}; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  for (const p of prepared) console.error(`${p.variant.label}: fork ${p.program.entry} ${p.program.execArgv.join(' ')}`);

  try {
    for (let i = 0; i < warmup + runs; i++) {
      for (const p of prepared) {
        const result = await runOnce(p.variant, p.program, p.job);
        if (i === 0) p.first = result;
        if (i >= warmup) p.results.push(result);
        if (result.check) console.error(`${p.variant.label} check:`, JSON.stringify(result.check));
        const node = PHASES.reduce((s, [k]) => s + result.phases[k].node, 0);
        const chromium = PHASES.reduce((s, [k]) => s + result.phases[k].chromium, 0);
        console.error(`${i < warmup ? 'warm-up' : `run ${i - warmup + 1}`} ${p.variant.label}: node ${node.toFixed(0)} ms ` +
          `(a ${result.phases.a.node.toFixed(0)} b ${result.phases.b.node.toFixed(0)} c ${result.phases.c.node.toFixed(0)} ` +
          `d ${result.phases.d.node.toFixed(0)} e ${result.phases.e.node.toFixed(0)}), chromium ${chromium.toFixed(0)} ms, others ${result.others.toFixed(0)} ms`);
        await new Promise((resolve) => setTimeout(resolve, Number(values.pause)));
      }
    }
  } finally {
    server.close();
  }

  console.log(`Node ${process.version}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} CPUs, ` +
    `load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
  for (const p of prepared) console.log(`${table(p.variant, p.results)}\n`);
  if (prepared.length > 1) {
    const nodeTotal = (r: RunResult) => PHASES.reduce((s, [k]) => s + r.phases[k].node, 0);
    const chromiumTotal = (r: RunResult) => PHASES.reduce((s, [k]) => s + r.phases[k].chromium, 0);
    const base = prepared[0];
    console.log('| variant | Node CPU ms p50 | Δ Node | Chromium CPU ms p50 | Δ Chromium | wall (a–e) ms p50 | first run: Node / Chromium / Node to exit ms |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of prepared) {
      const n = p50(p.results.map(nodeTotal));
      const c = p50(p.results.map(chromiumTotal));
      const dn = n - p50(base.results.map(nodeTotal));
      const dc = c - p50(base.results.map(chromiumTotal));
      const wall = p50(p.results.map((r) => PHASES.reduce((s, [k]) => s + r.phases[k].wall, 0)));
      console.log(`| ${p.variant.label} | ${n.toFixed(0)} | ${p === base ? '–' : `${dn >= 0 ? '+' : ''}${dn.toFixed(0)}`} | ${c.toFixed(0)} | ` +
        `${p === base ? '–' : `${dc >= 0 ? '+' : ''}${dc.toFixed(0)}`} | ${wall.toFixed(0)} | ${p.first ? `${nodeTotal(p.first).toFixed(0)} / ${chromiumTotal(p.first).toFixed(0)} / ${p.first.toExit.toFixed(0)}` : ''} |`);
    }
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(prepared.map((p) => ({ variant: p.variant, first: p.first, runs: p.results })), null, 2));
}

await main();
