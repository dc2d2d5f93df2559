// Runs one property with fast-check within its share of the time budget and records its shrunk
// counterexample in the report.
import fc from 'fast-check';
import { NotSendable } from './http.ts';
import type { FuzzOptions, FuzzReport } from './report.ts';
import type { Target } from './target.ts';
import { show } from './values.ts';

export interface Runner {
  target: Target;
  options: Required<Omit<FuzzOptions, 'log'>> & { log: (line: string) => void };
  deadline: number;
  report: FuzzReport;
  /** The property and case running now, for attributing browser.faulted events. */
  current: { property: string; args: string };
  /** Properties not run yet, this one included: each gets a fair share of the time left. */
  propertiesLeft: number;
}

/** Each property's own seed, from the run's seed and its name: the same first cases in every property would find one thing many times. */
function propertySeed(seed: number, name: string): number {
  let hash = seed | 0;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash;
}

/** Runs `property` for options.cases cases (fewer when the budget runs out) and records a failure with its shrunk counterexample. */
export async function runProperty<T>(runner: Runner, name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<string | void>, examples: T[] = []): Promise<void> {
  const left = Math.max(1, runner.propertiesLeft--);
  const remaining = runner.deadline - Date.now();
  if (remaining < 500) {
    runner.report.cases[name] = 0;
    return;
  }
  // Twice a fair share, so quick properties leave time to slow ones (shrinking included).
  const limit = Math.min(remaining, Math.max(1000, (2 * remaining) / left));
  let ran = 0;
  const began = Date.now();
  const property = fc.asyncProperty(arb, async (value) => {
    runner.current = { property: name, args: show(value) };
    try {
      const outcome = await predicate(value);
      if (runner.options.verbose) runner.options.log(`  ${name}: ${(outcome ?? 'ok').slice(0, 200).replace(/\s*\n\s*/g, ' | ')} <= ${runner.current.args.slice(0, 400)}`);
    } catch (error) {
      if (runner.options.verbose) runner.options.log(`  ${name}: ${error instanceof NotSendable ? 'not sendable' : 'FAILED'} <= ${runner.current.args.slice(0, 400)}`);
      if (error instanceof NotSendable) return; // Node refuses to put it on the wire: not a case
      throw error;
    }
  });
  const result = await fc.check(property.beforeEach((previous) => {
    ran++;
    return previous();
  }), { numRuns: runner.options.cases, seed: propertySeed(runner.options.seed, name), interruptAfterTimeLimit: limit, markInterruptAsFailure: false, endOnFailure: false, examples: examples.map((example) => [example] as [T]) });
  runner.report.cases[name] = result.numRuns;
  runner.report.totalCases += ran;
  runner.options.log(`${name}: ${result.numRuns} cases, ${ran} runs with shrinking, ${((Date.now() - began) / 1000).toFixed(1)} s${result.failed ? ' FAILED' : ''}${result.interrupted ? ' (budget reached)' : ''}`);
  // Interrupted by the budget before its first case ended, fast-check says "failed" with neither an
  // error nor a counterexample: that is time running out on a slow machine, not a defect.
  if (result.failed && result.errorInstance == null && !result.counterexample) {
    runner.options.log(`${name}: the budget ran out before its first case ended`);
    return;
  }
  if (result.failed) {
    const error = result.errorInstance;
    runner.report.failures.push({
      property: name,
      seed: result.seed,
      path: result.counterexamplePath ?? '',
      runs: result.numRuns,
      counterexample: result.counterexample ? show(result.counterexample[0]) : '(none)',
      problem: error instanceof Error ? error.message : String(error),
    });
  }
}
