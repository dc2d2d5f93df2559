// The official MCP conformance suites against a real server (scripts/conformance.ts does the work).
// One server serves every scenario, so the run happens once in `before` and each test judges one
// scenario's checks: a failure names the suite's check ids and messages, which point at the spec.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runConformance, SCENARIOS, summarize, type ScenarioResult } from '../../scripts/conformance.ts';

const results = new Map<string, ScenarioResult>();
const lines: string[] = [];

before(async () => {
  for (const r of await runConformance({ log: (line) => lines.push(line) })) results.set(r.scenario.id, r);
}, { timeout: 170_000 });

for (const scenario of SCENARIOS) {
  const label = `${scenario.id}${scenario.specVersion ? ` @${scenario.specVersion}` : ''}`;
  test(`conformance ${label}`, () => {
    const r = results.get(scenario.id);
    assert.ok(r, `no result for ${scenario.id}; run log:\n${lines.join('\n')}`);
    assert.equal(r.error, undefined, r.error);
    assert.ok(r.checks.length > 0, `${label} reported no checks`);
    // Failures excused by ALLOWED_FAILURES (the suite's own fixture tools) are in r.allowed, not here.
    assert.deepEqual(r.unexpected.map((c) => c.id), [], `${label}: ${summarize(r.unexpected, 400)}`);
  });
}
