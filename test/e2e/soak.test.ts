import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSoak, runSoak, soakFailed } from '../../scripts/soak.ts';

// The short form of scripts/soak.ts: a minute of the same load (8 lanes of real MCP clients of
// both SDKs against the real CLI with real Chromium, pages on 127.0.0.1), sampled every 5 s.
// A minute is too short for slopes (they are reported, not judged); the bounds of every sample
// (processes, PSS, descriptors, directories against what --max-browsers browsers may use), the
// errors by code and the clean end (no session listed, no process, TMPDIR or lease directory
// left after SIGTERM) are checked as in the long form.
test('a minute of 8 lanes of mixed, vanishing and recycled sessions stays within the browser cap\'s bounds, meets no unexpected error and leaves nothing behind', { timeout: 240_000 }, async () => {
  const report = await runSoak({ minutes: 1, sampleEveryMs: 5000 });
  const text = formatSoak(report);
  assert.ok(report.samples.length >= 8, `only ${report.samples.length} samples\n${text}`);
  assert.ok(report.tally.ok >= 50, `only ${report.tally.ok} calls succeeded\n${text}`);
  assert.ok(report.tally.sessions.vanished + report.tally.sessions.deleted >= 8, `too few sessions ended\n${text}`);
  assert.equal(soakFailed(report), false, text);
});
