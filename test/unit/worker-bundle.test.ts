import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workerProgram } from '../../src/ipc/worker-program.ts';
import type { Logger } from '../../src/log.ts';

test('the worker builds as the CommonJS bundle with its code cache, without falling back', async () => {
  const warnings: string[] = [];
  const log = { warn: (fields: { err?: string }, message: string) => warnings.push(`${message}: ${fields.err}`) } as unknown as Logger;
  const program = await workerProgram(log);
  // A fallback still works but costs every cold worker about 250 ms of CPU (docs/benchmark.md);
  // esbuild refuses, for one, any import.meta in code the worker imports.
  assert.deepEqual(warnings, []);
  assert.match(program.entry, /worker-[0-9a-f]{16}\.cjs$/);
  assert.equal(program.execArgv[0], '--require');
});
