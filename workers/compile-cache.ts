// A V8 code cache for the worker's big CommonJS files: playwright-core's two bundles (7 MB of
// source) and the worker bundle itself. Preloaded into every worker (`node --require`, see
// src/ipc/worker-program.ts) before anything else runs. Node 20 has no module.enableCompileCache
// (22.1+), so this does what v8-compile-cache does: CommonJS files of MIN_BYTES or more are
// compiled through vm.Script with the cached data an earlier worker wrote, and a worker that
// found none (or had it rejected by V8) writes it once it is READY, so that the cache also holds
// the functions that launching the browser and opening its first page compiled.
//
// It takes over the loading of those files (Module._extensions['.js']) rather than only their
// compilation: Node's own copy of a source is a two-byte string (the bundles hold a few non-Latin-1
// characters), and compiling a wrapped copy of it would leave 16 MB of garbage in the old
// generation of an idle worker until its next full GC.
//
// Anything unusual (ES modules, a hashbang, policy manifests, --inspect-brk, an error before the
// module's own code runs, an unreadable cache) takes Node's own path; a cache V8 rejects is
// rewritten. BROWSER_FLEET_COMPILE_CACHE=0 turns it off.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { basename, dirname, join } from 'node:path';
import { constants as vmConstants, Script } from 'node:vm';
import { crc32 } from 'node:zlib';

/** Smaller files compile in well under a millisecond: not worth a cache file. */
const MIN_BYTES = 64 * 1024;
/** If READY never comes, the cache is written this long after start-up anyway. */
const FALLBACK_WRITE_MS = 15_000;

interface InternalModule {
  exports: unknown;
  require(id: string): unknown;
}
type Loader = (this: unknown, module: InternalModule, filename: string) => void;
interface ModuleStatics {
  _extensions: Record<string, Loader>;
  wrapper?: unknown;
  _resolveFilename(request: string, parent: InternalModule, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: InternalModule): string[] | null;
  _cache: unknown;
}

/** A script compiled without usable cached data: its cache is written later. */
interface Pending {
  script: Script;
  /** The cache's file name in the cache directory. */
  file: string;
}

/** The require function Node gives a module (see makeRequireFunction in Node's CommonJS loader). */
function requireFor(M: ModuleStatics, module: InternalModule): NodeJS.Require {
  const require = ((id: string) => module.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: unknown) => M._resolveFilename(request, module, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => M._resolveLookupPaths(request, module);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = M._extensions as unknown as NodeJS.RequireExtensions;
  require.cache = M._cache as NodeJS.Dict<NodeModule>;
  return require;
}

/** Whether Node loads `filename` as CommonJS: .cjs, or .js outside a "type": "module" package. */
const commonJsDirs = new Map<string, boolean>();
function isCommonJs(filename: string): boolean {
  if (filename.endsWith('.cjs')) return true;
  if (!filename.endsWith('.js')) return false;
  const start = dirname(filename);
  const seen: string[] = [];
  let result = true;
  for (let dir = start; ; dir = dirname(dir)) {
    const known = commonJsDirs.get(dir);
    if (known !== undefined) { result = known; break; }
    seen.push(dir);
    let text: string | undefined;
    try { text = readFileSync(join(dir, 'package.json'), 'utf8'); } catch { /* none here */ }
    if (text !== undefined) {
      result = (JSON.parse(text) as { type?: unknown }).type !== 'module';
      break;
    }
    if (dirname(dir) === dir || basename(dir) === 'node_modules') break;
  }
  for (const dir of seen) commonJsDirs.set(dir, result);
  return result;
}

function writeAtomically(file: string, data: Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, file);
}

/**
 * The cache file of a source: its name without a content hash (worker-<hash>.cjs is worker.cjs),
 * then the source's CRC and length, so an edited file gets a new cache and replaces the old.
 */
function cacheName(filename: string, bytes: Uint8Array): string {
  return `${basename(filename).replace(/-[0-9a-f]{16}(?=\.)/, '')}-${crc32(bytes).toString(16)}-${bytes.length}.bin`;
}

/** Removes the caches of other versions of the same file. */
function pruneStale(dir: string, keep: string): void {
  const prefix = keep.replace(/-[0-9a-f]+-\d+\.bin$/, '-');
  for (const name of readdirSync(dir)) {
    if (name !== keep && name.startsWith(prefix) && name.endsWith('.bin')) {
      try { unlinkSync(join(dir, name)); } catch { /* another worker removed it */ }
    }
  }
}

/**
 * V8 rejects a cache made under other V8 flags, so workers started with other flags (execArgv,
 * NODE_OPTIONS) keep theirs apart instead of overwriting each other's.
 */
function cacheDirName(): string {
  const flags = process.execArgv.filter((arg, i, all) => arg !== '--require' && all[i - 1] !== '--require' && !arg.startsWith('--require='));
  if (process.env.NODE_OPTIONS) flags.push(process.env.NODE_OPTIONS);
  const base = `${process.version}-${process.arch}`;
  return flags.length ? `${base}-${crc32(flags.join('\0')).toString(16)}` : base;
}

/**
 * Installs the cache, keeping files in `root`/<node version>-<arch>[-<flags' CRC>]. Never throws;
 * leaves Node's loader alone where it does not look as expected.
 */
export function installCompileCache(root: string): void {
  try {
    install(root);
  } catch {
    // whatever it was, the worker starts as it would without the cache
  }
}

function install(root: string): void {
  if (process.env.BROWSER_FLEET_COMPILE_CACHE === '0') return;
  // zlib.crc32 arrived in Node 20.15, the main context's import() for vm scripts in 20.12.
  if (typeof crc32 !== 'function' || vmConstants?.USE_MAIN_CONTEXT_DEFAULT_LOADER === undefined) return;
  const M = Module as unknown as ModuleStatics;
  const original = M._extensions?.['.js'];
  const wrapper = M.wrapper;
  if (typeof original !== 'function' || typeof M._resolveFilename !== 'function' || !Array.isArray(wrapper) ||
      wrapper.length !== 2 || typeof wrapper[0] !== 'string' || typeof wrapper[1] !== 'string') return;
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /--inspect-brk|--experimental-policy|--experimental-detect-module|--experimental-default-type/.test(a))) return;
  const [head, tail] = [Buffer.from(wrapper[0]), Buffer.from(wrapper[1])];
  const dir = join(root, cacheDirName());
  const pending: Pending[] = [];
  let done = false;

  const writePending = () => {
    if (done) return;
    done = true;
    if (M._extensions['.js'] === loadWithCache) M._extensions['.js'] = original;
    if (pending.length === 0) return;
    try {
      mkdirSync(dir, { recursive: true });
      for (const { script, file } of pending.splice(0)) {
        writeAtomically(join(dir, file), script.createCachedData());
        pruneStale(dir, file);
      }
    } catch {
      // read-only install, full disk: the next worker compiles from source, as without the cache
    }
  };

  /** Compiles a big CommonJS file with its cache; undefined for anything to leave to Node. */
  const compile = (filename: string): ((...args: unknown[]) => unknown) | undefined => {
    if (statSync(filename).size < MIN_BYTES || !isCommonJs(filename)) return undefined;
    let bytes: Buffer | undefined = readFileSync(filename);
    if (bytes[0] === 0x23 && bytes[1] === 0x21) return undefined; // #!: only valid at a script's very start
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3); // BOM, as Node strips it
    const file = cacheName(filename, bytes);
    let cachedData: Buffer | undefined;
    try { cachedData = readFileSync(join(dir, file)); } catch { /* the first worker of this version */ }
    // One string, the wrapped source, decoded once (no copy of an unwrapped one to collect).
    let source: string | undefined = Buffer.concat([head, bytes, tail]).toString('utf8');
    bytes = undefined;
    const script = new Script(source, { filename, cachedData, importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
    source = undefined;
    if (cachedData === undefined || script.cachedDataRejected) pending.push({ script, file });
    cachedData = undefined;
    return script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
  };

  const loadWithCache: Loader = function (this: unknown, module, filename) {
    let fn: ((...args: unknown[]) => unknown) | undefined;
    if (!done) {
      try {
        fn = compile(filename);
      } catch {
        fn = undefined; // a syntax error, an unreadable file: Node's path, and its error
      }
    }
    if (!fn) return original.call(this, module, filename);
    // From here on it is the module's own code: its errors are its own.
    fn.call(module.exports, module.exports, requireFor(M, module), module, filename, dirname(filename));
  };
  M._extensions['.js'] = loadWithCache;

  // The worker says READY once its browser, context and first page are up (and warmed): by then
  // V8 has compiled what a session's start needs, and the cache can hold all of it.
  const send = process.send;
  if (typeof send === 'function') {
    process.send = function sendAndWatch(this: typeof process, message: unknown, ...rest: unknown[]): boolean {
      const result = (send as (...args: unknown[]) => boolean).call(this, message, ...rest);
      if (!done && (message as { type?: unknown } | null)?.type === 'ready') {
        process.send = send;
        setImmediate(writePending);
      }
      return result;
    } as typeof process.send;
  }
  setTimeout(writePending, FALLBACK_WRITE_MS).unref();
  process.once('exit', writePending);
}
