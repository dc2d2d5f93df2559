import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('no file under src/ imports Playwright except as a type', () => {
  const offenders = sourceFiles('src').filter((file) => {
    const text = readFileSync(file, 'utf8');
    return /^\s*import\s+(?!type\b)[^;]*from\s+['"]playwright(-core)?['"]/m.test(text) ||
      /import\(\s*['"]playwright(-core)?['"]\s*\)/.test(text) ||
      /require\(\s*['"]playwright(-core)?['"]\s*\)/.test(text);
  });
  assert.deepEqual(offenders, []);
});

test('the front serves initialize, tools/list and a tool call without loading Playwright', () => {
  // The hooks make resolving playwright-core throw inside the front process only; the worker
  // it forks does not inherit them (its execArgv is set by the front).
  const run = spawnSync(process.execPath, [
    '--import', './test/fixtures/forbid-playwright.mjs',
    '--import', 'tsx',
    'test/fixtures/front-only.mts',
  ], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `front-only run failed:\n${run.stderr}`);
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  assert.ok(out.tools > 0);
  assert.match(JSON.stringify(out.result), /### Result\\n2/);
});
