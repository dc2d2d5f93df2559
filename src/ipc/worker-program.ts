import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';

/** The worker's TypeScript source. */
export const WORKER_SOURCE = fileURLToPath(new URL('../../workers/worker.ts', import.meta.url));
const COMPILE_CACHE_SOURCE = fileURLToPath(new URL('../../workers/compile-cache.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Inside node_modules so the bundle's bare imports (playwright-core, zod) resolve to ours.
const BUNDLE_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'browser-fleet');
// V8's code cache for the worker's CommonJS files, one directory per Node version, architecture and flags.
const CODE_CACHE_DIR = join(BUNDLE_DIR, 'v8');
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
let esmBundled: Promise<WorkerProgram> | undefined;

/**
 * The real worker as one CommonJS bundle (everything but playwright-core inlined), preloaded with
 * workers/compile-cache.ts, built from source once per front process. Running the worker through
 * tsx costs every session about 40 MB and 300 ms more (the loader, its esbuild service and
 * per-module transforms), and a worker is forked for every session. CommonJS rather than an ES
 * module because an ES module's import of playwright-core (CommonJS) has Node scan its 7 MB of
 * source for export names first (with zod's many files, about 140 ms of CPU), and because only
 * CommonJS can take V8's code cache on Node 20 (about 100 ms more): a cold worker's Node CPU up to
 * its first snapshot went from about 470–500 to 220 ms (scripts/cold-start.ts).
 * File names are the bundles' hashes, so concurrent servers and stale copies never clash. Falls
 * back to the ES module bundle, then to tsx (with a warning), when a bundle cannot be built or
 * written, e.g. a read-only install.
 */
export function workerProgram(log: Logger): Promise<WorkerProgram> {
  bundled ??= buildCachedBundle().catch((error: Error) => {
    log.warn({ err: error.message }, 'could not build the CommonJS worker bundle; forking the ES module bundle');
    return esmBundleProgram(log);
  });
  return bundled;
}

/** The worker as one plain ES module (packages left to Node): the previous default, and the first fallback. */
export function esmBundleProgram(log: Logger): Promise<WorkerProgram> {
  esmBundled ??= buildEsmBundle().catch((error: Error) => {
    log.warn({ err: error.message }, 'could not bundle the worker; running it through tsx');
    return sourceProgram();
  });
  return esmBundled;
}

/** Writes `code` to BUNDLE_DIR/<name>-<hash>.<ext> unless there already; returns the path. */
function writeBundle(name: string, ext: string, code: Uint8Array): string {
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const file = join(BUNDLE_DIR, `${name}-${hash}.${ext}`);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, code);
    renameSync(temp, file);
  }
  return file;
}

async function buildCachedBundle(): Promise<WorkerProgram> {
  const { build } = await import('esbuild');
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent' } as const;
  const [worker, preload] = await Promise.all([
    // playwright-core stays in node_modules: it finds its own files (package.json, browsers.json,
    // injected scripts) relative to __dirname.
    // tsx too: it runs esbuild's binary, and only --init-page loads it.
    build({ ...common, entryPoints: [WORKER_SOURCE], external: ['playwright-core', 'playwright-core/*', 'tsx', 'tsx/*'] }),
    build({
      ...common,
      stdin: {
        contents: `import { installCompileCache } from ${JSON.stringify(COMPILE_CACHE_SOURCE)};\n` +
          `installCompileCache(${JSON.stringify(CODE_CACHE_DIR)});\n`,
        resolveDir: PROJECT_ROOT,
        sourcefile: 'compile-cache-preload.ts',
        loader: 'ts',
      },
    }),
  ]);
  // A CommonJS build of ES module code can be quietly wrong (import.meta is empty in CommonJS).
  const warning = [...worker.warnings, ...preload.warnings][0];
  if (warning) throw new Error(`esbuild: ${warning.text}`);
  const entry = writeBundle('worker', 'cjs', worker.outputFiles[0].contents);
  const preloadFile = writeBundle('compile-cache', 'cjs', preload.outputFiles[0].contents);
  return { entry, execArgv: ['--require', preloadFile] };
}

async function buildEsmBundle(): Promise<WorkerProgram> {
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
  return { entry: writeBundle('worker', 'mjs', result.outputFiles[0].contents), execArgv: [] };
}
