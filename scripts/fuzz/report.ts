// What a fuzz run is asked to do and what it reports: options, failures, and the report as
// text for a terminal or a failed test.


export interface FuzzOptions {
  /** Runs of each property. */
  cases: number;
  seed: number;
  /** No new case starts after this many ms from the start (a case in flight finishes). */
  budgetMs?: number;
  /** Let browser_wait_for's `time` reach its 30 s maximum (slow); off: at most about 1 s. */
  fullWaits?: boolean;
  /** Progress lines; none by default. */
  log?: (line: string) => void;
  /** Also log every case with its outcome. */
  verbose?: boolean;
}

/** One property that failed: its minimal counterexample as fast-check shrank it. */
export interface FuzzFailure {
  property: string;
  seed: number;
  /** fast-check's replay path (pass with the seed to fc.assert to rerun only this case). */
  path: string;
  /** Cases run before the failure. */
  runs: number;
  counterexample: string;
  /** What was wrong with the reply, the request sent and what came back. */
  problem: string;
}

export interface FuzzReport {
  seed: number;
  /** Cases run, by property. */
  cases: Record<string, number>;
  totalCases: number;
  failures: FuzzFailure[];
  /** Uncaught exceptions and unhandled rejections in this process while fuzzing. */
  uncaught: string[];
  /** browser.faulted events, with the property and the case that was running. */
  faulted: string[];
  /** What went wrong with the normal sessions afterwards, if anything. */
  afterwards: string[];
  /** Tool errors the server calls INTERNAL (or a crash), by tool and message, with a count and an example (for reading, not failing). */
  notes: Record<string, { count: number; example: string }>;
  /** Distinct messages the server logged at level error or above, with counts (for reading, not failing). */
  serverErrors: Record<string, number>;
  ms: number;
}

export function reportFailed(report: FuzzReport): boolean {
  return report.failures.length > 0 || report.uncaught.length > 0 || report.faulted.length > 0 || report.afterwards.length > 0;
}

/** The report as lines for a terminal or a failed test. */
export function formatReport(report: FuzzReport): string {
  const lines = [`fuzz: seed ${report.seed}, ${report.totalCases} cases in ${(report.ms / 1000).toFixed(1)} s`];
  // Cases by property, several to a line.
  const counts = Object.entries(report.cases).map(([name, runs]) => `${name}: ${runs}`);
  for (let at = 0; at < counts.length; at += 4) lines.push(`  ${counts.slice(at, at + 4).join(', ')}`);
  for (const failure of report.failures) {
    const path = failure.path.length > 200 ? `${failure.path.slice(0, 200)}… (${failure.path.length} chars)` : failure.path;
    lines.push('', `FAILED ${failure.property} after ${failure.runs} cases (seed ${failure.seed}, path "${path}")`);
    lines.push(`  minimal counterexample: ${failure.counterexample}`);
    lines.push(...failure.problem.split('\n').map((line) => `  ${line}`));
  }
  for (const error of report.uncaught) lines.push('', `UNCAUGHT in the server process: ${error}`);
  for (const fault of report.faulted) lines.push('', `WORKER FAULTED: ${fault}`);
  for (const problem of report.afterwards) lines.push('', `AFTERWARDS: ${problem}`);
  const notes = Object.entries(report.notes);
  if (notes.length) lines.push('', 'tool errors the server calls internal (for reading):', ...notes.map(([key, note]) => `  ${note.count} x ${key}\n      e.g. arguments ${note.example}`));
  const logged = Object.entries(report.serverErrors);
  if (logged.length) lines.push('', 'server log lines at level error or above (for reading):', ...logged.map(([msg, n]) => `  ${n} x ${msg}`));
  lines.push('', reportFailed(report) ? 'fuzz: FAILED' : 'fuzz: all invariants held');
  return lines.join('\n');
}
