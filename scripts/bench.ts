// Benchmark: browser-fleet on its default configuration against @playwright/mcp 0.0.83 (--isolated
// --headless --no-sandbox, same Chromium), on what users do: sessions at 1, 8 and 16 at once,
// sessions one after another, churn through 4 lanes (with the machine's CPU per session), two
// bursts 10 s apart, abandoned clients, 48 at once. Prints markdown tables (figure | ours | theirs
// | ratio) and the targets with pass/FAIL. Workloads and servers: scripts/bench-workloads.ts.
//
// Usage: npm run bench [-- --json FILE] [--passes N] [--only levels,sequential,churn,bursts,abandoned,48]
//   [--no-quiet-check] [--quiet-wait S] [--budget-min M] [--tuned "--prewarm 8 --max-sessions 16"]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBrowser } from '../src/browser/find-browser.ts';
import {
  CYCLES, LEVELS, PAGE, ROUNDS_AT_ONE, TOOLS, abandoned, atOnce, bursts, churn, levels, live, quietPool, sequential, startOurs, startTheirs,
  type Ctx, type LevelResult, type Target, type TargetName,
} from './bench-workloads.ts';

function argValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const WORKLOADS = ['levels', 'sequential', 'churn', 'bursts', 'abandoned', '48'] as const;
type Workload = (typeof WORKLOADS)[number];
/** Passes of the levels workload (ours, theirs, ours, ...); the other workloads run once each. */
const PASSES = Number(argValue('--passes') ?? 1);
const ONLY = argValue('--only')?.split(',').map((w) => w.trim());
const RUN = WORKLOADS.filter((w) => !ONLY || ONLY.includes(w));
const QUIET_CHECK = !process.argv.includes('--no-quiet-check');
const QUIET_WAIT_MS = Number(argValue('--quiet-wait') ?? 150) * 1000;
/** Time for all workloads; past it every session and wait ends, and what was measured is reported. */
const BUDGET_MS = Number(argValue('--budget-min') ?? 11) * 60_000;
/** An optional second configuration of ours, labelled "tuned" everywhere; none by default. */
const TUNED = argValue('--tuned')?.split(/\s+/).filter(Boolean);
/** Rough worst case of one server's run of a workload: time kept for theirs after ours' quiet check. */
const ESTIMATE_MS: Record<Workload, number> = { levels: 150_000, sequential: 60_000, churn: 120_000, bursts: 90_000, abandoned: 120_000, 48: 150_000 };

if (!(PASSES >= 1) || !(BUDGET_MS > 0) || !(QUIET_WAIT_MS >= 0)) throw new Error('--passes, --budget-min and --quiet-wait take positive numbers');
for (const w of ONLY ?? []) if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`--only: no workload "${w}" (${WORKLOADS.join(', ')})`);

type Results = {
  levels: Map<number, LevelResult>;
  sequential?: Awaited<ReturnType<typeof sequential>>;
  churn?: Awaited<ReturnType<typeof churn>>;
  bursts?: Awaited<ReturnType<typeof bursts>>;
  abandoned?: Awaited<ReturnType<typeof abandoned>>;
  48?: Awaited<ReturnType<typeof atOnce>>;
};

function percentile(values: number[] | undefined, p: number): number {
  if (!values?.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const mb = (bytes: number) => bytes / 1048576;
const max = (values: number[] | undefined) => (values?.length ? Math.max(...values) : Number.NaN);

type Value = number | string | undefined;
interface Row { figure: string; unit: string; values: Partial<Record<TargetName, Value>>; digits?: number }

/** One row: `pick` applied to each target's results. */
function row(all: Partial<Record<TargetName, Results>>, figure: string, unit: string, pick: (r: Results) => Value, digits = 0): Row {
  return { figure, unit, digits, values: Object.fromEntries(Object.entries(all).map(([name, r]) => [name, pick(r!)])) };
}

function rows(all: Partial<Record<TargetName, Results>>): Row[] {
  const out: Row[] = [];
  if (RUN.includes('levels')) {
    for (const level of LEVELS) {
      const at = (r: Results) => r.levels.get(level);
      for (const p of [50, 95]) out.push(row(all, `first page p${p} @${level}`, 'ms', (r) => percentile(at(r)?.firstPage, p)));
      for (const tool of TOOLS) for (const p of [50, 95]) out.push(row(all, `${tool} p${p} @${level}`, 'ms', (r) => percentile(at(r)?.tools[tool], p)));
      out.push(row(all, `sessions open at peak @${level}`, 'of ' + level, (r) => at(r)?.openSessions));
      out.push(row(all, `PSS idle before @${level}`, 'MB', (r) => mb(at(r)?.idlePssBytes ?? Number.NaN)));
      out.push(row(all, `PSS total at peak @${level}`, 'MB', (r) => mb(at(r)?.peakPssBytes ?? Number.NaN)));
      out.push(row(all, `PSS total / open sessions @${level}`, 'MB', (r) => mb((at(r)?.peakPssBytes ?? Number.NaN) / (at(r)?.openSessions || Number.NaN))));
      out.push(row(all, `PSS per added session @${level}`, 'MB', (r) => mb(percentile(at(r)?.perSessionPss, 50))));
    }
  }
  const sq = (r: Results) => r.sequential;
  if (RUN.includes('sequential')) {
    out.push(row(all, 'sequential ×12: first page p50', 'ms', (r) => percentile(sq(r)?.firstPage, 50)));
    out.push(row(all, 'sequential ×12: first page p95', 'ms', (r) => percentile(sq(r)?.firstPage, 95)));
  }
  if (RUN.includes('churn')) {
    out.push(row(all, 'churn 40 / 4 lanes: sessions per minute', '/min', (r) => r.churn?.perMinute, 1));
    out.push(row(all, 'churn: sessions completed', 'of 40', (r) => r.churn?.ok));
    out.push(row(all, 'churn: first page p50', 'ms', (r) => percentile(r.churn?.firstPage, 50)));
    out.push(row(all, 'churn: first page p95', 'ms', (r) => percentile(r.churn?.firstPage, 95)));
    out.push(row(all, 'churn: machine CPU per session', 'ms', (r) => r.churn?.cpuMsPerSession));
    out.push(row(all, 'churn: wall time', 's', (r) => (r.churn ? r.churn.wallMs / 1000 : undefined), 1));
  }
  if (RUN.includes('bursts')) {
    out.push(row(all, 'burst 1 of 8: first page p50', 'ms', (r) => percentile(r.bursts?.first, 50)));
    out.push(row(all, 'burst 2 of 8 (10 s later): first page p50', 'ms', (r) => percentile(r.bursts?.second, 50)));
    out.push(row(all, 'burst 2 of 8: first page max', 'ms', (r) => max(r.bursts?.second)));
  }
  if (RUN.includes('abandoned')) {
    out.push(row(all, 'abandoned: vanished after navigate, had a page', 'of 12', (r) => r.abandoned?.navigated));
    out.push(row(all, 'abandoned: vanished after tools/list, listed', 'of 20', (r) => r.abandoned?.listed));
    out.push(row(all, 'abandoned: next client first page', 'ms', (r) => r.abandoned?.nextFirstPageMs ?? (r.abandoned ? `refused: ${r.abandoned.nextError}` : undefined)));
  }
  if (RUN.includes('48')) {
    out.push(row(all, '48 at once: succeeded', 'of 48', (r) => r[48]?.ok));
    out.push(row(all, '48 at once: first page p50', 'ms', (r) => percentile(r[48]?.firstPage, 50)));
    out.push(row(all, '48 at once: first page max', 'ms', (r) => max(r[48]?.firstPage)));
  }
  return out;
}

const fmt = (v: Value, digits = 0) => (v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? 'n/a' : typeof v === 'number' ? v.toFixed(digits) : v.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 160));
const ratioOf = (a: Value, b: Value) => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : Number.NaN);

interface Check { target: string; measured: string; result: 'pass' | 'FAIL' | 'info' | 'skipped' }

function checks(table: Row[], all: Partial<Record<TargetName, Results>>): Check[] {
  const find = (figure: string) => table.find((r) => r.figure === figure);
  const out: Check[] = [];
  const ratio = (name: string, figure: string, limit: number, below = true, info = false) => {
    const r = find(figure);
    if (!r) return out.push({ target: name, measured: 'n/a', result: 'skipped' });
    const v = ratioOf(r.values.ours, r.values.theirs);
    const ok = below ? v <= limit : v >= limit;
    out.push({ target: name, measured: `${fmt(v, 2)}×`, result: info ? 'info' : ok ? 'pass' : 'FAIL' });
  };
  ratio('sequential first page ≤ 0.5× theirs (p50)', 'sequential ×12: first page p50', 0.5);
  ratio('churn throughput ≥ 1.5× theirs (sessions/min)', 'churn 40 / 4 lanes: sessions per minute', 1.5, false);
  ratio('churn first page ≤ 0.5× theirs (p50)', 'churn: first page p50', 0.5);
  ratio('machine CPU per session ≤ 0.7× theirs (churn)', 'churn: machine CPU per session', 0.7);
  ratio('first burst ≤ 1.0× theirs (p50)', 'burst 1 of 8: first page p50', 1.0);
  ratio('second burst ≤ 0.5× theirs (p50)', 'burst 2 of 8 (10 s later): first page p50', 0.5);
  const next = all.ours?.abandoned;
  out.push(RUN.includes('abandoned') && next
    ? { target: 'client after 32 abandoned ones: first page ≤ 3 s', measured: next.nextFirstPageMs !== undefined ? `${fmt(next.nextFirstPageMs)} ms` : `refused: ${fmt(next.nextError)}`, result: next.nextFirstPageMs !== undefined && next.nextFirstPageMs <= 3000 ? 'pass' : 'FAIL' }
    : { target: 'client after 32 abandoned ones: first page ≤ 3 s', measured: 'n/a', result: 'skipped' });
  const [o48, t48] = [all.ours?.[48], all.theirs?.[48]];
  if (RUN.includes('48') && o48 && t48) {
    const maxRatio = ratioOf(max(o48.firstPage), max(t48.firstPage));
    out.push({
      target: '48 at once: all succeed, first page max ≤ 2× theirs',
      measured: `${o48.ok}/${o48.sessions} ok, max ${fmt(maxRatio, 2)}×, p50 ${fmt(ratioOf(percentile(o48.firstPage, 50), percentile(t48.firstPage, 50)), 2)}×`,
      result: o48.ok === o48.sessions && maxRatio <= 2 ? 'pass' : 'FAIL',
    });
  } else out.push({ target: '48 at once: all succeed, first page max ≤ 2× theirs', measured: 'n/a', result: 'skipped' });
  for (const level of LEVELS) {
    const r = find(`PSS per added session @${level}`);
    const v = r?.values.ours;
    out.push({ target: `≤ 180 MB PSS per concurrent browser @${level}`, measured: r ? `${fmt(v)} MB` : 'n/a', result: !r ? 'skipped' : typeof v === 'number' && v <= 180 ? 'pass' : 'FAIL' });
  }
  ratio('click ≤ 0.2× theirs (p50 @1)', 'click p50 @1', 0.2);
  ratio('snapshot ≤ 1.2× theirs (p50 @1)', 'snapshot p50 @1', 1.2);
  ratio('first page @1 (p50), informational', 'first page p50 @1', Infinity, true, true);
  ratio('first page @8 (p50), informational', 'first page p50 @8', Infinity, true, true);
  return out;
}

/** 4 4 2 2 2 1 → "4 ×2, 2 ×3, 1 ×1". */
function runs(values: number[]): string {
  const out: [number, number][] = [];
  for (const v of values) out.at(-1)?.[0] === v ? out.at(-1)![1]++ : out.push([v, 1]);
  return out.map(([v, n]) => `${v} ×${n}`).join(', ');
}

function machine(browser: string): string {
  let version = 'unknown';
  try { version = execFileSync(browser, ['--version'], { encoding: 'utf8' }).trim(); } catch { /* keep unknown */ }
  return `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${version} (${browser})`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg();
  const browser = findBrowser()?.path;
  if (!browser) throw new Error('no Chromium found: run scripts/ensure-browser.ts first');
  const machineLine = machine(browser);
  const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  const ctx: Ctx = { pageUrl: `http://127.0.0.1:${(page.address() as AddressInfo).port}/`, deadline: started + BUDGET_MS };
  const dir = mkdtempSync(join(tmpdir(), 'bf-bench-'));
  // Past the deadline every wait ends; should cleanup itself hang, stop the servers by PID and leave.
  const abort = async (code: number, why: string) => {
    console.error(why);
    await Promise.allSettled([...live].map((t) => t.stop()));
    page.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  setTimeout(() => void abort(1, 'benchmark exceeded its budget by 90 s: servers stopped'), BUDGET_MS + 90_000).unref();
  process.once('SIGINT', () => void abort(130, 'interrupted: servers stopped'));
  process.once('SIGTERM', () => void abort(143, 'terminated: servers stopped'));

  const names: TargetName[] = TUNED ? ['ours', 'tuned', 'theirs'] : ['ours', 'theirs'];
  const starters: Record<TargetName, (d: string) => Promise<Target>> = {
    ours: (d) => startOurs(browser, d), tuned: (d) => startOurs(browser, d, 'tuned', TUNED), theirs: (d) => startTheirs(browser, d),
  };
  const all: Partial<Record<TargetName, Results>> = Object.fromEntries(names.map((n) => [n, { levels: new Map() }]));
  const failures: string[] = []; // servers that did not start, workloads that threw
  const skipped: string[] = [];
  let quiet: Awaited<ReturnType<typeof quietPool>> | undefined;
  try {
    // Each workload, each server in turn (ours, [tuned,] theirs), each started afresh for it and
    // settled first, so no workload inherits another's sessions; ours' quiet check runs on its
    // server of the last workload, before theirs starts.
    for (const workload of RUN) {
      for (let pass = 0; pass < (workload === 'levels' ? PASSES : 1); pass++) {
        for (const name of names) {
          if (ctx.deadline - Date.now() < 5000) { skipped.push(`${name} ${workload}`); continue; }
          const t0 = Date.now();
          let target: Target | undefined;
          try {
            target = await starters[name](mkdtempSync(join(dir, 'srv-')));
            await target.settle(ctx);
            const r = all[name]!;
            if (workload === 'levels') await levels(target, ctx, r.levels);
            else if (workload === 'sequential') r.sequential = await sequential(target, ctx);
            else if (workload === 'churn') r.churn = await churn(target, ctx);
            else if (workload === 'bursts') r.bursts = await bursts(target, ctx);
            else if (workload === 'abandoned') r.abandoned = await abandoned(target, ctx);
            else r[48] = await atOnce(target, ctx);
            if (name === 'ours' && QUIET_CHECK && workload === RUN.at(-1) && pass === (workload === 'levels' ? PASSES - 1 : 0)) {
              const reserve = ESTIMATE_MS[workload] * (names.length - 1);
              console.error(`ours: waiting for a quiet pool (up to ${Math.round(Math.min(QUIET_WAIT_MS, ctx.deadline - Date.now() - reserve) / 1000)} s)`);
              quiet = await quietPool(target, ctx, Math.min(QUIET_WAIT_MS, ctx.deadline - Date.now() - reserve));
            }
          } catch (error) {
            failures.push(`${name} ${workload}: ${(error as Error).message}`);
          } finally {
            await target?.stop();
          }
          const got = workload === 'levels' ? undefined : all[name]![workload];
          console.error(`${name} ${workload}${workload === 'levels' ? ` pass ${pass + 1}` : ''}: ${((Date.now() - t0) / 1000).toFixed(0)} s${got?.errors.length ? `, ${got.errors.length} errors: ${got.errors[0]}` : ''}`);
        }
      }
    }
  } finally {
    page.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const table = rows(all);
  const targets = checks(table, all);
  const errors = [
    ...failures,
    ...Object.entries(all).flatMap(([name, r]) => [
      ...[...r!.levels.values()].flatMap((l) => l.errors.map((e) => `${name} @${l.sessions}: ${e}`)),
      ...(['sequential', 'churn', 'bursts', 'abandoned', 48] as const).flatMap((w) => (r![w]?.errors ?? []).map((e) => `${name} ${w}: ${e}`)),
    ]),
  ];
  const tally = new Map<string, number>();
  for (const e of errors) tally.set(e, (tally.get(e) ?? 0) + 1);
  const vanished = Object.entries(all).map(([name, r]) => `${name} ${r!.abandoned?.vanishedErrors.length ?? 0}`).join(', ');
  const cols = names.filter((n) => n !== 'theirs');
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');

  const out = [
    `Machine: ${machineLine}`,
    `Ours: browser-fleet on its default configuration (only --port 0 --executable-path --output-dir; BROWSER_FLEET_* variables unset).${TUNED ? ` Tuned: ours with ${TUNED.join(' ')} (labelled "tuned"; not what the targets judge).` : ''} Theirs: @playwright/mcp 0.0.83 --isolated --headless --no-sandbox. Same Chromium, one server at a time.`,
    `Servers: started afresh for each workload (${RUN.join(', ')}), ${names.join(' then ')}, each settled (idle, warm pool refilled) before it starts; no workload inherits another's sessions.`,
    `Levels: per session initialize, navigate, ${CYCLES} × (snapshot, type, click), snapshot, then all held open for the memory reading, DELETE; level 1 run ${ROUNDS_AT_ONE} times; ${PASSES} pass(es). Sequential: 12 × (initialize, navigate, snapshot, DELETE). Churn: 4 lanes run 40 sessions (initialize, navigate, snapshot, click, DELETE); CPU = whole machine's /proc/stat (user+nice+system+irq+softirq+steal) over the churn, per completed session. Bursts: 8 at once (navigate, snapshot, DELETE), again 10 s after all ended. Abandoned: 12 clients navigate, 20 list tools, all vanish without DELETE, then one new client navigates (bounded 60 s). 48 at once: initialize, navigate, DELETE, each bounded 120 s. First page: ms from starting connect to the navigate result.`,
    'PSS: whole process tree of each server, idle before the level and at peak (all sessions open, read once then). Per added session: ours = a session\'s own processes from /metrics when it reports them, else (peak - idle) / open sessions; theirs = (peak - idle) / open sessions.',
    `Load average (1, 5, 15 min) before: ${load(loadBefore)}, after: ${load(loadavg())}, on ${cpus().length} cores${loadBefore[0] > cpus().length / 2 ? ' (the machine was busy: latencies are inflated)' : ''}.`,
    '',
    `| figure | ${cols.join(' | ')} | theirs | ${cols.map((c) => `ratio ${c}/theirs`).join(' | ')} |`,
    `| --- |${' ---: |'.repeat(cols.length * 2 + 1)}`,
    ...table.map((r) => `| ${r.figure} (${r.unit}) | ${cols.map((c) => fmt(r.values[c], r.digits)).join(' | ')} | ${fmt(r.values.theirs, r.digits)} | ${cols.map((c) => fmt(ratioOf(r.values[c], r.values.theirs), 2)).join(' | ')} |`),
    '',
    '| target (ours, default configuration) | measured | result |',
    '| --- | ---: | --- |',
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.result} |`),
    '',
    !QUIET_CHECK ? 'Pool idle memory after a quiet period: skipped (--no-quiet-check).'
      : quiet ? `Pool idle memory after a quiet period (ours, after its last workload, ${(quiet.waitedMs / 1000).toFixed(0)} s quiet): process tree PSS ${mb(quiet.pssBytes).toFixed(0)} MB in ${quiet.processes} processes, warm browsers ${quiet.warm ?? 'n/a (no warm gauge in /metrics)'}${quiet.warmSeries.length > 1 ? ` (read every 5 s: ${runs(quiet.warmSeries)})` : ''}.`
        : 'Pool idle memory after a quiet period: not measured (ours did not complete its last workload).',
    ...(RUN.includes('abandoned') ? [`Vanished clients' failures (abandoned workload, not errors): ${vanished}.`] : []),
    ...(skipped.length ? [`Skipped for the time budget: ${skipped.join(', ')}.`] : []),
    errors.length ? `Errors (${errors.length}):\n${[...tally].slice(0, 15).map(([e, n]) => `- ${n > 1 ? `${n} × ` : ''}${e}`).join('\n')}` : 'Errors: none',
    `Run time: ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n');
  console.log(out);
  const jsonAt = argValue('--json');
  if (jsonAt) {
    const plain = Object.fromEntries(Object.entries(all).map(([name, r]) => [name, { ...r, levels: Object.fromEntries(r!.levels) }]));
    writeFileSync(jsonAt, JSON.stringify({ machine: machineLine, loadBefore, loadAfter: loadavg(), runMs: Date.now() - started, workloads: RUN, table, targets, quiet, skipped, errors, results: plain }, null, 2));
  }
  if (errors.length) process.exitCode = 1;
}

await main();
