// Runs the official MCP conformance suites (@modelcontextprotocol/conformance) against our server.
// Usage: node --import tsx scripts/conformance.ts [--only name,name]
//   names are scenario ids ("0.2/tools-list") or bare scenario names ("tools-list": every suite's).
// Prints one line per scenario and exits non-zero when any check fails other than the allowed ones.
//
// Two releases are installed side by side under npm aliases, in a package of their own
// (scripts/conformance-suites, installed with `npm ci` there on first use): 0.1.16 is npm's `latest`
// (the stable line, 2025-11-25 session wire only); the 0.2.0 prereleases are the only ones that
// know the stateless 2026-07-28 wire. Both import fs.globSync, which Node 20 lacks, so they run on
// the Node 22 binary of the `node` npm package. Kept out of the project's own dependencies: a
// package with a `node` bin would put Node 22 first on PATH for every npm script (npm start, npm test).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUITES_DIR = join(ROOT, 'scripts', 'conformance-suites');
const require = createRequire(join(SUITES_DIR, 'package.json'));

/** Installs the suites' package from its lockfile when it is not installed yet (a clean checkout). */
function ensureSuites(): void {
  if (existsSync(join(SUITES_DIR, 'node_modules', 'conformance-0.2', 'package.json'))) return;
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: SUITES_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
  if (npm.status !== 0) throw new Error(`npm ci in ${SUITES_DIR} failed (exit ${npm.status})`);
}

const SUITES = {
  '0.1': { pkg: 'conformance-0.1', version: '0.1.16' },
  '0.2': { pkg: 'conformance-0.2', version: '0.2.0-alpha.12' },
} as const;
type Suite = keyof typeof SUITES;

export interface Scenario { id: string; suite: Suite; name: string; specVersion?: string }

const MODERN = '2026-07-28';
const scenario = (suite: Suite, name: string, specVersion?: string): Scenario => ({ id: `${suite}/${name}`, suite, name, specVersion });

export const SCENARIOS: Scenario[] = [
  // 0.1.16 at its default wire, 2025-11-25 (initialize handshake, Mcp-Session-Id).
  ...['server-initialize', 'ping', 'tools-list', 'server-sse-multiple-streams', 'dns-rebinding-protection', 'logging-set-level']
    .map((name) => scenario('0.1', name)),
  // 0.2.0-alpha.12 pinned to the stateless wire; the three shared names are re-run there because a
  // scenario passing on one wire says nothing about the other.
  ...['server-stateless', 'http-header-validation', 'http-custom-header-server-validation', 'tools-list', 'server-sse-multiple-streams', 'dns-rebinding-protection']
    .map((name) => scenario('0.2', name, MODERN)),
];

/**
 * Failures no real server can avoid: these server-stateless checks call diagnostic tools that only
 * the suite's own reference fixture serves (see src/scenarios/server/stateless.ts in the suite).
 * A failure is excused only when its message names the fixture tool, so the same check failing
 * for another reason (e.g. an empty response stream) still counts. The checks that use
 * test_trigger_tool_change / test_trigger_prompt_change are not listed: without the hook they
 * pass on the acknowledgment frame alone or report WARNING (SHOULD-level), never FAILURE.
 * Checked: a plain @modelcontextprotocol/server 2.4 server fails exactly these four and no others.
 */
export const ALLOWED_FAILURES: { scenario: string; check: string; tool: string }[] = [
  // tools/call test_missing_capability with empty clientCapabilities, expecting -32021 + HTTP 400.
  { scenario: '0.2/server-stateless', check: 'sep-2575-server-rejects-undeclared-capability', tool: 'test_missing_capability' },
  { scenario: '0.2/server-stateless', check: 'sep-2575-missing-capability-http-400', tool: 'test_missing_capability' },
  // tools/call test_streaming_elicitation, expecting a stream with no server-to-client requests.
  { scenario: '0.2/server-stateless', check: 'sep-2575-http-server-no-independent-requests-on-stream', tool: 'test_streaming_elicitation' },
  // tools/call test_logging_tool without _meta logLevel, expecting no notifications/message.
  { scenario: '0.2/server-stateless', check: 'sep-2575-server-no-log-without-loglevel', tool: 'test_logging_tool' },
];

export interface Check { id: string; status: string; errorMessage?: string; details?: unknown }
export interface ScenarioResult {
  scenario: Scenario;
  passed: boolean;
  checks: Check[];
  /** FAILURE checks that fail the run. */
  unexpected: Check[];
  /** FAILURE checks excused by ALLOWED_FAILURES. */
  allowed: Check[];
  warnings: Check[];
  /** Set when the suite produced no checks.json at all (crash, timeout). */
  error?: string;
}

function isAllowed(scenarioId: string, check: Check): boolean {
  return ALLOWED_FAILURES.some((a) => a.scenario === scenarioId && a.check === check.id && (check.errorMessage ?? '').includes(a.tool));
}

/** The suites need Node >= 22; use ours when it is new enough, else the node22 package's binary. */
function node22(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const bin = join(dirname(require.resolve('node22/package.json')), 'bin', 'node');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: its install script did not run; run npm ci`);
  return bin;
}


/** PIDs of `pid` and all its descendants, by parentage in /proc (never by name). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch { /* exited meanwhile */ }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** Starts bin/browser-fleet.js on port 0 and resolves with its base URL from the "listening" line. */
async function startServer(outputDir: string, child: { proc?: ChildProcess }): Promise<string> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/browser-fleet.js'), '--port', '0', '--output-dir', outputDir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.proc = proc;
  let stderr = '';
  proc.stderr!.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not print its listening line within 60 s\n${stderr}`)), 60_000);
    proc.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? signal}) before listening\n${stderr}`)); });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'browser-fleet listening') { clearTimeout(timer); resolve(entry.url); }
      } catch { /* not a log line */ }
    });
  });
}

/** SIGTERM lets the server close its workers and browsers; SIGKILL whatever of its tree outlives 15 s. */
async function stopServer(proc: ChildProcess | undefined): Promise<void> {
  if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
  const tree = processTree(proc.pid);
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => { timer = setTimeout(resolve, 15_000); })]);
  clearTimeout(timer);
  for (const pid of tree) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

/** Runs one scenario through the suite's CLI and judges its checks.json ourselves. */
async function runScenario(s: Scenario, mcpUrl: string, resultsDir: string): Promise<ScenarioResult> {
  const cli = join(dirname(require.resolve(`${SUITES[s.suite].pkg}/package.json`)), 'dist/index.js');
  const outDir = join(resultsDir, s.id.replace('/', '_'));
  mkdirSync(outDir, { recursive: true });
  const args = [cli, 'server', '--url', mcpUrl, '--scenario', s.name, '--output-dir', outDir,
    ...(s.specVersion ? ['--spec-version', s.specVersion] : [])];
  // The CLI's exit code is not used: 0.1 and 0.2 differ in it, and neither knows ALLOWED_FAILURES.
  const proc = spawn(node22(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (chunk) => { output = (output + chunk).slice(-4000); });
  proc.stderr!.on('data', (chunk) => { output = (output + chunk).slice(-4000); });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  const code = await new Promise((resolve) => proc.once('close', (c, signal) => resolve(c ?? signal)));
  clearTimeout(timer);
  // The CLI writes <outDir>/server-<scenario>-<timestamp>/checks.json.
  const run = readdirSync(outDir).find((d) => existsSync(join(outDir, d, 'checks.json')));
  if (!run) {
    const error = `no checks.json (suite exited ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}`;
    return { scenario: s, passed: false, checks: [], unexpected: [], allowed: [], warnings: [], error };
  }
  const checks: Check[] = JSON.parse(readFileSync(join(outDir, run, 'checks.json'), 'utf8'));
  const failures = checks.filter((c) => c.status === 'FAILURE');
  const unexpected = failures.filter((c) => !isAllowed(s.id, c));
  const allowed = failures.filter((c) => isAllowed(s.id, c));
  const warnings = checks.filter((c) => c.status === 'WARNING');
  return { scenario: s, passed: checks.length > 0 && unexpected.length === 0, checks, unexpected, allowed, warnings };
}

/** Check ids repeat within a run (one per probe); list each id once with its count and first message. */
export function summarize(checks: Check[], width = 160): string {
  const byId = new Map<string, Check[]>();
  for (const c of checks) byId.set(c.id, [...(byId.get(c.id) ?? []), c]);
  return [...byId].map(([id, list]) => {
    const message = (list[0].errorMessage ?? '').replace(/\s+/g, ' ').slice(0, width);
    return `${id}${list.length > 1 ? ` x${list.length}` : ''}${message ? ` (${message})` : ''}`;
  }).join('; ');
}

export function formatResult(r: ScenarioResult): string {
  const label = `${SUITES[r.scenario.suite].version} ${r.scenario.name}${r.scenario.specVersion ? ` @${r.scenario.specVersion}` : ''}`;
  if (r.error) return `FAIL  ${label}: ${r.error}`;
  const extra = [
    r.allowed.length ? `allowed: ${r.allowed.map((c) => c.id).join(', ')}` : '',
    r.warnings.length ? `warnings: ${summarize(r.warnings, 80)}` : '',
  ].filter(Boolean).join('; ');
  const head = r.passed ? `PASS  ${label}: ${r.checks.length} checks` : `FAIL  ${label}: ${r.unexpected.length}/${r.checks.length} checks failed: ${summarize(r.unexpected)}`;
  return extra ? `${head} [${extra}]` : head;
}

export function selectScenarios(only?: string[]): Scenario[] {
  if (!only?.length) return SCENARIOS;
  const unknown = only.filter((n) => !SCENARIOS.some((s) => s.id === n || s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return SCENARIOS.filter((s) => only.includes(s.id) || only.includes(s.name));
}

/**
 * Starts one server, runs the chosen scenarios against it one after another (they share no state
 * the suite relies on, and sequential runs keep the server's logs readable), stops it by PID.
 */
export async function runConformance(options: { only?: string[]; log?: (line: string) => void } = {}): Promise<ScenarioResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const scenarios = selectScenarios(options.only);
  ensureSuites();
  const work = mkdtempSync(join(tmpdir(), 'bf-conformance-'));
  const server: { proc?: ChildProcess } = {};
  // A Ctrl-C or a test-runner timeout must not leave the server and its browsers behind.
  const onSignal = (signal: NodeJS.Signals) => { void stopServer(server.proc).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: ScenarioResult[] = [];
  try {
    mkdirSync(join(work, 'output'));
    const base = await startServer(join(work, 'output'), server);
    log(`server ${base} (pid ${server.proc!.pid}, node ${process.execPath}); suites on ${node22()}`);
    for (const s of scenarios) {
      const result = await runScenario(s, `${base}/mcp`, join(work, 'results'));
      results.push(result);
      log(formatResult(result));
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stopServer(server.proc);
  }
  // Keep the raw checks.json files only when there is something to look at.
  if (results.every((r) => r.passed)) rmSync(work, { recursive: true, force: true });
  else log(`raw results: ${join(work, 'results')}`);
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--only');
  const only = i === -1 ? undefined : (process.argv[i + 1] ?? '').split(',').filter(Boolean);
  runConformance({ only }).then((results) => {
    const failed = results.filter((r) => !r.passed).length;
    console.log(`${results.length - failed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  }, (error: Error) => {
    console.error(`conformance: ${error.message}`);
    process.exit(2);
  });
}
