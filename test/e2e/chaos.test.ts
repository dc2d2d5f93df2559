import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAULT_KINDS, chaosFailed, formatChaos, runChaos } from '../../scripts/chaos.ts';

// The short form of scripts/chaos.ts: every kind of fault once, in a random order, on victims of
// their own tenant while 4 lanes of real MCP clients (both SDKs) keep calling the real CLI with
// real Chromium (pages on 127.0.0.1): kill -9 of a worker and of a browser, SIGSTOP of a worker
// past the heartbeat timeout and a pause shorter than it, a call cancelled and a connection
// dropped mid-call, a session DELETEd mid-call, the browser cap filled with one more session.
// Checked as in the long form: each victim was told in time and recovered, its old processes
// are gone, the lanes met no error but the cap's BROWSER_LIMIT and kept succeeding, and at the
// end no session is listed and no process, TMPDIR or lease directory is left.
test('every kind of fault on a victim is told, survived and recovered from while the other sessions go on unaffected, and nothing is left behind', { timeout: 300_000 }, async () => {
  const report = await runChaos({ minutes: 0.75, sampleEveryMs: 5000, lanes: 4, gapMs: [500, 1500] });
  const text = formatChaos(report);
  assert.deepEqual(new Set(report.faults.map((fault) => fault.kind)), new Set(FAULT_KINDS), text);
  assert.ok(report.faults.every((fault) => fault.recovered), text);
  assert.equal(chaosFailed(report), false, text);
});
