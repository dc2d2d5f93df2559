import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';

/** The worker's TypeScript source. */
export const WORKER_SOURCE = fileURLToPath(new URL('../../workers/worker.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Inside node_modules so the bundle's bare imports (playwright-core, zod) resolve to ours.
const BUNDLE_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'browser-fleet');
const TSX_LOADER = import.meta.resolve('tsx');

/** What to fork for a worker: a program and the Node flags it needs. */
export interface WorkerProgram {
  entry: string;
  execArgv: string[];
}

/** A TypeScript program run through tsx: fixtures, and the fallback for the real worker. */
export function sourceProgram(entry: string = WORKER_SOURCE): WorkerProgram {
  return { entry, execArgv: ['--import', TSX_LOADER] };
}

let bundled: Promise<WorkerProgram> | undefined;

/**
 * The real worker as one plain ES module, built from source once per front process. Running the
 * worker through tsx costs every session about 40 MB and 300 ms more (the loader, its esbuild
 * service and per-module transforms), and a worker is forked for every session. The file name
 * is the bundle's hash, so concurrent servers and stale copies never clash. Falls back to tsx
 * (with a warning) when the bundle cannot be built or written, e.g. a read-only install.
 */
export function workerProgram(log: Logger): Promise<WorkerProgram> {
  bundled ??= buildBundle().catch((error: Error) => {
    log.warn({ err: error.message }, 'could not bundle the worker; running it through tsx');
    return sourceProgram();
  });
  return bundled;
}

async function buildBundle(): Promise<WorkerProgram> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [WORKER_SOURCE],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const entry = join(BUNDLE_DIR, `worker-${hash}.mjs`);
  if (!existsSync(entry)) {
    mkdirSync(dirname(entry), { recursive: true });
    const temp = `${entry}.${process.pid}.tmp`;
    writeFileSync(temp, code);
    renameSync(temp, entry);
  }
  return { entry, execArgv: [] };
}
