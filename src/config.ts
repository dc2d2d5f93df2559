import { readFileSync, statSync } from 'node:fs';
import { freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { CONSOLE_LEVELS } from './tools/tool.ts';

/** Memory a browser costs (its worker, Chromium and one context with a page or two), for the defaults. */
export const BYTES_PER_BROWSER = 250 * 1024 * 1024;

/** Memory kept for the system and the front before browsers are counted: a tenth, at least 1 GiB. */
function systemReserve(totalBytes: number): number {
  return Math.max(1024 ** 3, totalBytes / 10);
}

/**
 * Default browser cap: what memory allows at ~250 MB a browser above the system's reserve, at
 * least 2. Not capped by cores: an idle browser costs no CPU, and cold starts are paced anyway.
 */
export function defaultMaxBrowsers(totalBytes = totalmem()): number {
  return Math.max(2, Math.floor((totalBytes - systemReserve(totalBytes)) / BYTES_PER_BROWSER));
}

/**
 * Default warm pool floor: one browser for every 3 GiB of memory (rounded), 1 to 8. Warm browsers cost
 * memory only (about 175 MB each, no CPU while idle), and a burst of sessions finds them ready
 * instead of waiting for browser launches, which take most of a core each.
 */
export function defaultPrewarm(totalBytes = totalmem()): number {
  return Math.max(1, Math.min(8, Math.round(totalBytes / (3 * 1024 ** 3))));
}

type Kind = 'string' | 'int' | 'boolean' | 'list';

interface OptionSpec {
  /** Flag name without dashes; the env var is BROWSER_FLEET_ + upper snake case of it. */
  flag: string;
  kind: Kind;
  description: string;
  /** Shown in --help for defaults the schema computes or leaves to others; otherwise --help shows the schema's. */
  defaultText?: string;
}

/**
 * Every option, once. Flag names and units follow @playwright/mcp where it has the same option
 * (times in milliseconds).
 */
const SPECS = {
  stdio: { flag: 'stdio', kind: 'boolean', description: 'serve one MCP client on stdin/stdout instead of HTTP: no listener (--host, --port and the HTTP guards are unused), logs on stderr, exit when stdin closes; --idle-timeout, --prewarm and --prewarm-max default to 0' },
  host: { flag: 'host', kind: 'string', description: 'address to bind' },
  port: { flag: 'port', kind: 'int', description: 'port to listen on (0 picks a free one)' },
  executablePath: { flag: 'executable-path', kind: 'string', description: 'path to the Chromium to launch', defaultText: 'found automatically' },
  headless: { flag: 'headless', kind: 'boolean', description: 'run browsers headless (--no-headless for headed, needs a display)' },
  viewportSize: { flag: 'viewport-size', kind: 'string', description: 'browser viewport as WIDTHxHEIGHT', defaultText: '1280x720, or the device\'s with --device or --mobile' },
  userAgent: { flag: 'user-agent', kind: 'string', description: 'user agent string for every session' },
  ignoreHttpsErrors: { flag: 'ignore-https-errors', kind: 'boolean', description: 'ignore HTTPS certificate errors' },
  caps: { flag: 'caps', kind: 'list', description: 'extra tool groups to enable, as in @playwright/mcp: vision, pdf, devtools, network, storage, testing, config; and unsafe-code (browser_run_code_unsafe)' },
  outputDir: { flag: 'output-dir', kind: 'string', description: 'root of per-session output directories', defaultText: '$TMPDIR/browser-fleet' },
  uploadRoot: { flag: 'upload-root', kind: 'string', description: 'directory whose files browser_file_upload may read besides the session directory' },
  timeoutAction: { flag: 'timeout-action', kind: 'int', description: 'deadline of one tool call, ms' },
  timeoutNavigation: { flag: 'timeout-navigation', kind: 'int', description: 'deadline of a navigation, ms' },
  snapshotMaxChars: { flag: 'snapshot-max-chars', kind: 'int', description: 'largest inline snapshot, characters' },
  imageMaxBytes: { flag: 'image-max-bytes', kind: 'int', description: 'largest inline screenshot, bytes' },
  maxBrowsers: { flag: 'max-browsers', kind: 'int', description: 'most browsers at once (in use, warm or closing)', defaultText: '(memory - a tenth, at least 1 GiB) / 250 MB' },
  maxSessions: { flag: 'max-sessions', kind: 'int', description: 'most MCP sessions at once; a session holds a browser only once a call needs one' },
  queueSize: { flag: 'queue-size', kind: 'int', description: 'first calls that may wait for a browser when every one is in use' },
  queueTimeout: { flag: 'queue-timeout', kind: 'int', description: 'how long a first call waits for a browser before it fails with BROWSER_LIMIT, ms' },
  minFreeMemoryMb: { flag: 'min-free-memory-mb', kind: 'int', description: 'start no browser below this much free memory, MB' },
  recycle: { flag: 'recycle', kind: 'string', description: 'same-token: a finished session\'s browser is reset (new context) and reused for the next session of the same token; never: closed' },
  recycleMaxUses: { flag: 'recycle-max-uses', kind: 'int', description: 'sessions one worker process serves before it is retired' },
  recycleMaxMemoryMb: { flag: 'recycle-max-memory-mb', kind: 'int', description: 'a worker whose worker and browser PSS passed this is retired, not recycled, MB' },
  reclaimIdleAfter: { flag: 'reclaim-idle-after', kind: 'int', description: 'at the browser cap, a waiting call may take over a browser idle this long; its session keeps going with a fresh browser, ms (0: never)' },
  maxPages: { flag: 'max-pages', kind: 'int', description: 'most tabs per session' },
  idleTimeout: { flag: 'idle-timeout', kind: 'int', description: 'close a session idle this long, ms (0: never)' },
  sessionLifetime: { flag: 'session-lifetime', kind: 'int', description: 'close a session this long after it started, ms (0: never)' },
  prewarm: { flag: 'prewarm', kind: 'int', description: 'warm pool floor: browsers kept started, waiting for sessions', defaultText: 'memory / 3 GiB, 1 to 8' },
  prewarmMax: { flag: 'prewarm-max', kind: 'int', description: 'warm pool ceiling: the pool grows toward the recent peak of sessions starting together, up to this', defaultText: '16, at least --prewarm' },
  prewarmShrinkAfter: { flag: 'prewarm-shrink-after', kind: 'int', description: 'the warm pool shrinks back to --prewarm after this long with no browser asked for, ms' },
  prewarmDelay: { flag: 'prewarm-delay', kind: 'int', description: 'after sessions take warm browsers, wait this long before starting replacements, so a burst of sessions does not share the CPU with browser launches, ms' },
  heartbeatInterval: { flag: 'heartbeat-interval', kind: 'int', description: 'how often workers are pinged, ms' },
  heartbeatTimeout: { flag: 'heartbeat-timeout', kind: 'int', description: 'a worker silent this long is killed and replaced, ms' },
  workerStartTimeout: { flag: 'worker-start-timeout', kind: 'int', description: 'how long a worker may take to launch its browser, ms' },
  shutdownTimeout: { flag: 'shutdown-timeout', kind: 'int', description: 'how long shutdown waits for calls in flight, ms' },
  authToken: { flag: 'auth-token', kind: 'list', description: 'bearer token clients must send (repeatable)' },
  authTokensFile: { flag: 'auth-tokens-file', kind: 'string', description: 'file with one bearer token per line' },
  adminToken: { flag: 'admin-token', kind: 'list', description: 'bearer token that may also list and end every session on /sessions (repeatable); other tokens see only their own' },
  noAuth: { flag: 'no-auth', kind: 'boolean', description: 'allow a non-loopback bind without tokens' },
  allowedHosts: { flag: 'allowed-hosts', kind: 'list', description: 'Host header values accepted besides the bound address and loopback names' },
  allowedClientOrigins: { flag: 'allowed-client-origins', kind: 'list', description: 'Origin header values accepted on /mcp', defaultText: 'loopback origins of this server' },
  allowedOrigins: { flag: 'allowed-origins', kind: 'list', description: 'origins the browsers may request; all others are blocked', defaultText: 'all' },
  blockedOrigins: { flag: 'blocked-origins', kind: 'list', description: 'origins the browsers may not request' },
  blockPrivateNetworks: { flag: 'block-private-networks', kind: 'boolean', description: 'block browser requests to loopback, link-local and private addresses' },
  bodyLimit: { flag: 'body-limit', kind: 'int', description: 'largest request body, bytes' },
  logLevel: { flag: 'log-level', kind: 'string', description: 'trace, debug, info, warn, error, fatal or silent' },
  record: { flag: 'record', kind: 'string', description: 'record each browser: off, trace (a Playwright trace: snapshots, screenshots, network, console), video (needs ffmpeg) or both; kept after the browser ends' },
  recordRetention: { flag: 'record-retention', kind: 'int', description: 'how long recordings are kept after their browser ended, ms' },
  recordMaxMb: { flag: 'record-max-mb', kind: 'int', description: 'most space all recordings may take, MB; the oldest go first' },
  browserEndpoint: { flag: 'browser-endpoint', kind: 'list', description: 'a Playwright browser server (ws://HOST:PORT/PATH, e.g. playwright-core run-server) each browser connects to instead of launching Chromium here (repeatable: spread by load)', defaultText: 'none: launch here' },
  storageState: { flag: 'storage-state', kind: 'string', description: 'a Playwright storage state file (cookies, localStorage) every new browser context starts from' },
  initScript: { flag: 'init-script', kind: 'list', description: 'JavaScript file evaluated in every page before the page\'s own scripts (repeatable)' },
  device: { flag: 'device', kind: 'string', description: 'device to emulate, as Playwright names it (e.g. "iPhone 15"): its viewport, user agent, scale, touch and mobile mode' },
  mobile: { flag: 'mobile', kind: 'boolean', description: 'emulate a generic mobile device (Pixel 10); cannot be combined with --device' },
  grantPermissions: { flag: 'grant-permissions', kind: 'list', description: 'permissions every context is granted, e.g. geolocation, clipboard-read, clipboard-write' },
  proxyServer: { flag: 'proxy-server', kind: 'string', description: 'proxy the browsers send their traffic through, e.g. http://myproxy:3128, http://user:password@myproxy:3128 or socks5://myproxy:8080; the egress filter, when on, still vets every connection first' },
  proxyBypass: { flag: 'proxy-bypass', kind: 'string', description: 'comma-separated hosts that go around --proxy-server, e.g. ".com,chromium.org,.domain.com"' },
  blockServiceWorkers: { flag: 'block-service-workers', kind: 'boolean', description: 'block service workers' },
  testIdAttribute: { flag: 'test-id-attribute', kind: 'string', description: 'attribute getByTestId locators use (browser_generate_locator and the verify tools)' },
  consoleLevel: { flag: 'console-level', kind: 'string', description: 'least severe console messages shown in tool results: error, warning, info or debug (each includes the more severe)' },
  redactUrlParams: { flag: 'redact-url-params', kind: 'list', description: 'URL query and fragment parameters (e.g. access_token,code) whose values tool results show as <redacted>' },
  secrets: { flag: 'secrets', kind: 'string', description: 'dotenv file of secrets: a model types a secret\'s name, the page gets its value, and results show <secret>NAME</secret> instead of the value' },
  snapshotMode: { flag: 'snapshot-mode', kind: 'string', description: 'page snapshots attached to tool results: full or none (browser_snapshot still returns one)' },
  imageResponses: { flag: 'image-responses', kind: 'string', description: 'images in tool results: allow, omit (never send images) or only (a result with an image is the image alone)' },
  initPage: { flag: 'init-page', kind: 'list', description: 'TypeScript file whose default export is called with { page } for every new tab; runs code on the server, so only with --caps unsafe-code (repeatable)' },
  clientBrowserOptions: { flag: 'client-browser-options', kind: 'list', description: 'what browser_open may choose for a client\'s own browser: headless, viewport, device, locale, timezone, color-scheme, storage-state (none: nothing)' },
  instanceName: { flag: 'instance-name', kind: 'string', description: 'this instance\'s name, put in front of every browser handle it mints (NAME.xxxx) so a load balancer routes a handle to its instance; without it, the X-Browser-Fleet-Instance header of the request (HAProxy\'s http-send-name-header)', defaultText: 'none' },
} as const satisfies Record<string, OptionSpec>;

type Key = keyof typeof SPECS;

const positiveInt = z.number().int().min(1);
const ms = z.number().int().min(0);
const viewport = z.string().regex(/^\d+x\d+$/, 'must look like 1280x720');
/** The tool groups --caps enables: @playwright/mcp 1.65's, and ours (unsafe-code). */
export const CAPABILITIES = ['vision', 'pdf', 'devtools', 'network', 'storage', 'testing', 'config', 'unsafe-code'] as const;

/** What browser_open may choose for the browser it opens, each allowed by --client-browser-options. */
export const CLIENT_BROWSER_OPTIONS = ['headless', 'viewport', 'device', 'locale', 'timezone', 'color-scheme', 'storage-state'] as const;
export type ClientBrowserOption = typeof CLIENT_BROWSER_OPTIONS[number];

/** A file the server reads (at start-up or in every worker): it must be there when the server starts. */
const existingFile = z.string().min(1).refine((path) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}, 'no such file');

/** A proxy as Chromium takes it; a bare host:port is HTTP, as in Playwright. */
const proxyUrl = z.string().transform((value) => /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`)
  .pipe(z.string().regex(/^(https?|socks[45]):\/\/[^\s/]+\/?$/i, 'must look like http://HOST:PORT, http://USER:PASSWORD@HOST:PORT or socks5://HOST:PORT'));

/** What an instance name may be: it goes into browser handles, which are URL-safe. */
export const INSTANCE_NAME = /^[A-Za-z0-9_-]{1,40}$/;

/** The one schema every option goes through, whatever its source. */
export const configSchema = z.object({
  stdio: z.boolean().default(false),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8931),
  executablePath: z.string().optional(),
  headless: z.boolean().default(true),
  viewportSize: viewport.optional(),
  userAgent: z.string().optional(),
  ignoreHttpsErrors: z.boolean().default(false),
  caps: z.array(z.enum(CAPABILITIES)).default([]),
  outputDir: z.string().default(join(tmpdir(), 'browser-fleet')),
  uploadRoot: z.string().optional(),
  timeoutAction: positiveInt.default(5000),
  timeoutNavigation: positiveInt.default(60000),
  snapshotMaxChars: positiveInt.default(40000),
  imageMaxBytes: positiveInt.default(4 * 1024 * 1024),
  maxBrowsers: positiveInt.default(() => defaultMaxBrowsers()),
  maxSessions: positiveInt.default(1000),
  queueSize: z.number().int().min(0).default(64),
  queueTimeout: ms.default(30000),
  minFreeMemoryMb: z.number().int().min(0).default(512),
  recycle: z.enum(['same-token', 'never']).default('same-token'),
  recycleMaxUses: positiveInt.default(50),
  recycleMaxMemoryMb: positiveInt.default(1024),
  reclaimIdleAfter: ms.default(60000),
  maxPages: positiveInt.default(5),
  idleTimeout: ms.default(30 * 60 * 1000),
  sessionLifetime: ms.default(0),
  prewarm: z.number().int().min(0).default(() => defaultPrewarm()),
  prewarmMax: z.number().int().min(0).optional(),
  prewarmShrinkAfter: ms.default(120000),
  prewarmDelay: ms.default(2000),
  heartbeatInterval: positiveInt.default(5000),
  heartbeatTimeout: positiveInt.default(15000),
  workerStartTimeout: positiveInt.default(30000),
  shutdownTimeout: ms.default(10000),
  authToken: z.array(z.string().min(1)).default([]),
  authTokensFile: z.string().optional(),
  adminToken: z.array(z.string().min(1)).default([]),
  noAuth: z.boolean().default(false),
  allowedHosts: z.array(z.string()).default([]),
  allowedClientOrigins: z.array(z.string()).default([]),
  allowedOrigins: z.array(z.string()).default([]),
  blockedOrigins: z.array(z.string()).default([]),
  blockPrivateNetworks: z.boolean().default(false),
  bodyLimit: positiveInt.default(4 * 1024 * 1024),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  record: z.enum(['off', 'trace', 'video', 'both']).default('off'),
  recordRetention: ms.default(24 * 60 * 60 * 1000),
  recordMaxMb: positiveInt.default(2048),
  browserEndpoint: z.array(z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL')).default([]),
  storageState: existingFile.optional(),
  initScript: z.array(existingFile).default([]),
  device: z.string().min(1).optional(),
  mobile: z.boolean().default(false),
  grantPermissions: z.array(z.string().min(1)).default([]),
  proxyServer: proxyUrl.optional(),
  proxyBypass: z.string().optional(),
  blockServiceWorkers: z.boolean().default(false),
  testIdAttribute: z.string().regex(/^[A-Za-z_:][-A-Za-z0-9_:.]*$/, 'must be an HTML attribute name').default('data-testid'),
  consoleLevel: z.enum(CONSOLE_LEVELS).default('info'),
  redactUrlParams: z.array(z.string().min(1)).default([]),
  secrets: existingFile.optional(),
  snapshotMode: z.enum(['full', 'none']).default('full'),
  imageResponses: z.enum(['allow', 'omit', 'only']).default('allow'),
  initPage: z.array(existingFile).default([]),
  clientBrowserOptions: z.array(z.enum([...CLIENT_BROWSER_OPTIONS, 'none'])).default([...CLIENT_BROWSER_OPTIONS]),
  instanceName: z.string().regex(INSTANCE_NAME, 'must be 1 to 40 letters, digits, _ or -').optional(),
}).strict();

/** The parsed, frozen configuration passed down from the CLI entry; nothing else reads process.env. */
export type Config = Readonly<Omit<z.output<typeof configSchema>, 'prewarmMax' | 'clientBrowserOptions'> & {
  /** Resolved: at least --prewarm, at most --max-browsers. */
  prewarmMax: number;
  /** Resolved: `none` is the empty list. */
  clientBrowserOptions: ClientBrowserOption[];
  /** The values of --secrets, by name, read once at start-up. */
  secretValues: Readonly<Record<string, string>>;
}>;

/** The warm pool's ceiling when none is given. */
const DEFAULT_PREWARM_MAX = 16;
/** What callers (tests, the CLI) may set; everything else takes its default. */
export type ConfigInput = z.input<typeof configSchema>;

/** A bad option value or config file; the message names the option and where its value came from. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function envName(flag: string): string {
  return `BROWSER_FLEET_${flag.toUpperCase().replace(/-/g, '_')}`;
}

const SPEC_ENTRIES = Object.entries(SPECS) as [Key, OptionSpec][];
// @playwright/mcp separates origins with semicolons; origins hold neither separator, so accept both.
const ORIGIN_LISTS = new Set<Key>(['allowedOrigins', 'blockedOrigins', 'allowedClientOrigins']);

function coerce(key: Key, raw: unknown, source: string): unknown {
  const spec: OptionSpec = SPECS[key];
  if (spec.kind === 'list') {
    if (!Array.isArray(raw) && typeof raw !== 'string') return raw; // the schema names the type
    const separator = ORIGIN_LISTS.has(key) ? /[,;]/ : /,/;
    return (Array.isArray(raw) ? raw.map(String) : [raw]).flatMap((item) => item.split(separator)).map((s) => s.trim()).filter(Boolean);
  }
  if (typeof raw !== 'string') return raw;
  if (spec.kind === 'boolean') {
    const text = raw.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    throw new ConfigError(`${source}: expected true or false, got "${raw}"`);
  }
  if (spec.kind === 'int') {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${source}: expected a whole number, got "${raw}"`);
    return Number(raw);
  }
  return raw;
}

/** The default --help shows: the spec's words when it has them, else the schema's value. */
function defaultHelp(key: Key): string {
  const spec: OptionSpec = SPECS[key];
  const field = configSchema.shape[key] as z.ZodType;
  const parsed = field.safeParse(undefined);
  const value = parsed.success ? parsed.data : undefined;
  if (spec.defaultText) return key === 'maxBrowsers' || key === 'prewarm' ? `${spec.defaultText}; ${String(value)} here` : spec.defaultText;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none';
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Builds the commander program; shared by parsing and --help. */
export function buildProgram(): Command {
  const program = new Command('browser-fleet')
    .description('MCP server for browser automation: one worker process and one browser per session.')
    .option('--config <file>', 'JSON file of options, keys as in the camelCase schema or as flag names (default: none) [env BROWSER_FLEET_CONFIG]')
    .allowExcessArguments(false)
    .exitOverride();
  for (const [key, spec] of SPEC_ENTRIES) {
    const help = `${spec.description} (default: ${defaultHelp(key)}) [env ${envName(spec.flag)}]`;
    let option: Option;
    if (spec.kind === 'boolean') {
      option = new Option(`--${spec.flag}`, help);
    } else if (spec.kind === 'list') {
      option = new Option(`--${spec.flag} <values...>`, `${help}; repeat the flag or separate with commas`).argParser((v: string, prev?: string[]) => [...(prev ?? []), v]);
    } else {
      option = new Option(`--${spec.flag} <value>`, help);
    }
    option.attributeName = () => key;
    program.addOption(option);
    // Booleans that default to true can be turned off with --no-FLAG.
    if (spec.kind === 'boolean' && defaultHelp(key) === 'true') {
      const negation = new Option(`--no-${spec.flag}`).hideHelp();
      negation.attributeName = () => key;
      program.addOption(negation);
    }
  }
  return program;
}

function readConfigFile(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`--config ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`--config ${file}: expected a JSON object`);
  const byFlag = new Map(SPEC_ENTRIES.map(([key, spec]) => [spec.flag, key]));
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const key = name in SPECS ? name as Key : byFlag.get(name);
    if (!key) throw new ConfigError(`--config ${file}: unknown option "${name}"`);
    out[key] = coerce(key, value, `--config ${file}: ${name}`);
  }
  return out;
}

/**
 * Parses options once: flags > environment (BROWSER_FLEET_*) > --config FILE (JSON) > defaults.
 * A bad value throws a ConfigError naming the option and where the value came from.
 */
export function loadConfig(argv: string[], env: Record<string, string | undefined> = process.env): Config {
  const program = buildProgram();
  program.parse(argv, { from: 'user' });
  const flags = program.opts() as Record<string, unknown>;

  const merged: Record<string, unknown> = {};
  const sources: Partial<Record<Key, string>> = {};
  const configFile = (flags.config as string | undefined) ?? env.BROWSER_FLEET_CONFIG;
  if (configFile) {
    for (const [key, value] of Object.entries(readConfigFile(configFile))) {
      merged[key] = value;
      sources[key as Key] = `--config ${configFile}`;
    }
  }
  for (const [key, spec] of SPEC_ENTRIES) {
    const value = env[envName(spec.flag)];
    if (value === undefined || value === '') continue;
    merged[key] = coerce(key, value, `${envName(spec.flag)}`);
    sources[key] = envName(spec.flag);
  }
  for (const [key, spec] of SPEC_ENTRIES) {
    // Only what was typed: commander gives --no-X options a default, which must not beat env or file.
    if (program.getOptionValueSource(key) !== 'cli') continue;
    // `--no-auth` is an option of its own (noAuth = true), not the negation of an `--auth` flag.
    const value = spec.flag.startsWith('no-') ? true : flags[key];
    merged[key] = coerce(key, value, `--${spec.flag}`);
    sources[key] = 'the command line';
  }
  return parseConfig(merged, sources);
}

/**
 * Validates an options object (already typed) against the schema; used by tests and loadConfig.
 * `sources` says where each value came from, for the error message.
 */
export function parseConfig(input: Record<string, unknown>, sources: Partial<Record<string, string>> = {}): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (issue.code === 'unrecognized_keys') throw new ConfigError(`unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`);
    const key = String(issue.path[0] ?? '');
    const name = key in SPECS ? `--${SPECS[key as Key].flag}` : key ? `"${key}"` : 'config';
    const from = sources[key] ? ` (from ${sources[key]})` : '';
    throw new ConfigError(`${name}${from}: ${issue.message}`);
  }
  const { stdio, maxBrowsers, prewarmMax, device, mobile, initPage, caps, clientBrowserOptions } = result.data;
  if (device && mobile) throw new ConfigError('--mobile cannot be combined with --device: pick one');
  if (initPage.length > 0 && !caps.includes('unsafe-code')) {
    throw new ConfigError('--init-page runs TypeScript on the server with full access to it: it needs --caps unsafe-code');
  }
  const { proxyServer, allowedOrigins, blockedOrigins, blockPrivateNetworks } = result.data;
  if (proxyServer?.startsWith('socks4') && (allowedOrigins.length > 0 || blockedOrigins.length > 0 || blockPrivateNetworks)) {
    throw new ConfigError('--proxy-server: a socks4:// proxy cannot be chained behind the egress filter (--allowed-origins, --blocked-origins, --block-private-networks); use http://, https:// or socks5://');
  }
  if (clientBrowserOptions.includes('none') && clientBrowserOptions.length > 1) throw new ConfigError('--client-browser-options: "none" cannot be combined with other values');
  // One client on stdin/stdout: its session lasts as long as the process, and no browser is
  // started before it asks for one, as with @playwright/mcp. Only defaults change; given values stand.
  const unset = (key: Key) => stdio && input[key] === undefined;
  const prewarm = unset('prewarm') ? 0 : result.data.prewarm;
  return Object.freeze({
    ...result.data,
    clientBrowserOptions: clientBrowserOptions.filter((option): option is ClientBrowserOption => option !== 'none'),
    secretValues: Object.freeze(result.data.secrets ? readSecrets(result.data.secrets) : {}),
    idleTimeout: unset('idleTimeout') ? 0 : result.data.idleTimeout,
    prewarm: Math.min(prewarm, maxBrowsers),
    prewarmMax: Math.min(maxBrowsers, Math.max(prewarm, prewarmMax ?? (stdio ? 0 : DEFAULT_PREWARM_MAX))),
  });
}

/** The secrets of a dotenv file (NAME=value lines), without empty values: an empty one would match everywhere. */
function readSecrets(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--secrets ${file}: ${(error as Error).message}`);
  }
  return Object.fromEntries(Object.entries(parseEnv(text)).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

/** Free memory in bytes; a function so the supervisor can be given another in tests. */
export function freeMemoryBytes(): number {
  return freemem();
}
