import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, reportFailed } from '../../scripts/fuzz/report.ts';
import { runFuzz } from '../../scripts/fuzz.ts';

// The short form of scripts/fuzz.ts: a few cases of every property with a fixed seed, bounded in
// time, against a real server (in this process) with real Chromium; traffic only to 127.0.0.1.
// A failure prints the report: each failed property's minimal counterexample, its seed and how
// to run the long form with the same seed.
const SEED = 15_03;
const CASES = 12;
/** Cases stop starting after this; the checks afterwards and shutdown take a few seconds more. */
const BUDGET_MS = 40_000;

test('fuzzing /mcp in both eras, every tool\'s arguments and the ops routes crashes nothing, gets no undocumented 5xx, no hang and no malformed reply', { timeout: 120_000 }, async () => {
  const report = await runFuzz({ cases: CASES, seed: SEED, budgetMs: BUDGET_MS });
  const rerun = `rerun: node --import tsx scripts/fuzz.ts --cases ${CASES} --seed ${SEED} --verbose`;
  assert.ok(report.totalCases >= 60, `only ${report.totalCases} cases ran within ${BUDGET_MS} ms\n${formatReport(report)}`);
  assert.equal(reportFailed(report), false, `${formatReport(report)}\n${rerun}`);
});
