import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { FleetError } from '../errors.ts';
import { isLoopbackHost, privateRange } from './ip-ranges.ts';

/** The browser-side rules, as the worker receives them in its settings. */
export interface EgressRules {
  allowedOrigins: readonly string[];
  blockedOrigins: readonly string[];
  blockPrivateNetworks: boolean;
}

/** What a URL is being used for: a document (tab or frame) or any other request. */
export type RequestKind = 'navigation' | 'request';

/** Resolves a host name to all its addresses; swapped in tests. */
export type Lookup = (host: string) => Promise<string[]>;

const defaultLookup: Lookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map(({ address }) => address);

/** How long `check` reuses a lookup: a page's burst of requests to one host costs one lookup. */
const LOOKUP_CACHE_MS = 5000;

/** The outcome of vetting a connection: where to connect, or why not. */
export type Verdict = { connectTo: string } | { refused: string };

// Schemes that reach the network or carry their own content. Everything else (file:, chrome:,
// chrome-extension:, view-source:, devtools:, javascript:, filesystem:, ftp:, ...) is refused:
// those read the host's disk, the browser's internals, or run code outside a page's origin.
const NAVIGATION_SCHEMES = new Set(['http:', 'https:', 'data:']);
const REQUEST_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:', 'data:', 'blob:']);
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };
// A WebSocket is judged as the HTTP origin it upgrades from.
const SCHEME_FAMILY: Record<string, string> = { 'ws:': 'http:', 'wss:': 'https:' };

/** One entry of --allowed-origins / --blocked-origins. */
export interface OriginPattern {
  /** `http:` or `https:`; undefined matches any scheme. */
  scheme?: string;
  /** Lower-case host without brackets; `*.example.com` matches subdomains, `*` anything. */
  host: string;
  /** Undefined matches any port. */
  port?: number;
}

/**
 * Parses an origin (`https://example.com:8443`), a host (`example.com`, `*.example.com`,
 * `localhost:3000`) or `*`. An origin without a port means its scheme's default port, as an
 * origin does; a bare host matches every scheme and port.
 */
export function parseOriginPattern(entry: string): OriginPattern {
  let rest = entry.trim().toLowerCase();
  let scheme: string | undefined;
  const schemeMatch = rest.match(/^([a-z][a-z0-9+.-]*:)\/\//);
  if (schemeMatch) {
    scheme = SCHEME_FAMILY[schemeMatch[1]] ?? schemeMatch[1];
    rest = rest.slice(schemeMatch[0].length);
  }
  rest = rest.replace(/\/.*$/, '');
  let host = rest;
  let port: number | undefined;
  const portMatch = rest.match(/^(\[[^\]]+\]|[^:]+):(\d+)$/);
  if (portMatch) [host, port] = [portMatch[1], Number(portMatch[2])];
  else if (scheme) port = DEFAULT_PORTS[scheme];
  host = host.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (!host) throw new FleetError('BAD_REQUEST', `"${entry}" is not an origin or host`);
  return { scheme, host, port };
}

/** Whether `pattern` covers a request to `host`:`port` over `scheme` (undefined: unknown, as in a CONNECT). */
export function matchesOrigin(pattern: OriginPattern, target: { scheme?: string; host: string; port: number }): boolean {
  const scheme = target.scheme && (SCHEME_FAMILY[target.scheme] ?? target.scheme);
  if (pattern.scheme && scheme && pattern.scheme !== scheme) return false;
  if (pattern.port !== undefined && pattern.port !== target.port) return false;
  const host = target.host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (pattern.host === '*') return true;
  if (pattern.host.startsWith('*.')) return host.endsWith(pattern.host.slice(1));
  return host === pattern.host;
}

/** Why a URL's scheme may not be used, or undefined when it may. */
export function schemeRefusal(url: string, kind: RequestKind): string | undefined {
  const scheme = url.match(/^([a-z][a-z0-9+.-]*:)/i)?.[1].toLowerCase();
  if (!scheme) return `"${url}" is not an absolute URL`;
  if (kind === 'navigation' && url.toLowerCase() === 'about:blank') return undefined;
  const allowed = kind === 'navigation' ? NAVIGATION_SCHEMES : REQUEST_SCHEMES;
  return allowed.has(scheme) ? undefined : `the ${scheme} scheme is not allowed`;
}

/**
 * Decides which URLs and connections a session's browser may use: schemes, the origin lists
 * (blocked wins over allowed) and, with blockPrivateNetworks, the addresses a host resolves to.
 */
export class EgressPolicy {
  private readonly allowed: OriginPattern[];
  private readonly blocked: OriginPattern[];
  /** Recent lookups for `check`, which runs on every request; `vet` for a connection never uses it. */
  private readonly recent = new Map<string, { at: number; addresses: Promise<string[]> }>();

  constructor(private readonly rules: EgressRules, private readonly lookup: Lookup = defaultLookup) {
    this.allowed = rules.allowedOrigins.map(parseOriginPattern);
    this.blocked = rules.blockedOrigins.map(parseOriginPattern);
  }

  /** True when network requests need checking beyond their scheme. */
  get filtersNetwork(): boolean {
    return this.allowed.length > 0 || this.blocked.length > 0 || this.rules.blockPrivateNetworks;
  }

  /** Why the browser may not open `url`, or undefined when it may. Resolves host names when needed. */
  async check(url: string, kind: RequestKind): Promise<string | undefined> {
    const schemeProblem = schemeRefusal(url, kind);
    if (schemeProblem) return schemeProblem;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `"${url}" is not a valid URL`;
    }
    const port = DEFAULT_PORTS[parsed.protocol];
    if (port === undefined || !this.filtersNetwork) return undefined; // data:, blob:, about:blank carry no host
    const verdict = await this.vet(parsed.protocol, parsed.hostname, parsed.port ? Number(parsed.port) : port, true);
    return 'refused' in verdict ? verdict.refused : undefined;
  }

  /**
   * Checks a connection to `host`:`port` and says where to connect. With blockPrivateNetworks
   * that is an address already checked, and the caller must connect to exactly it, so a host that
   * resolves differently the second time (DNS rebinding) cannot slip past the check. `cached`
   * lets an advisory check reuse a recent lookup; a connection must never.
   */
  async vet(scheme: string | undefined, host: string, port: number, cached = false): Promise<Verdict> {
    const origin = `${scheme ? `${scheme}//` : ''}${host}:${port}`;
    const target = { scheme, host, port };
    if (this.blocked.some((p) => matchesOrigin(p, target))) return { refused: `${origin} is in --blocked-origins` };
    if (this.allowed.length && !this.allowed.some((p) => matchesOrigin(p, target))) return { refused: `${origin} is not in --allowed-origins` };

    const bare = host.replace(/^\[|\]$/g, '');
    if (!this.rules.blockPrivateNetworks) return { connectTo: bare };
    let addresses: string[];
    if (isIP(bare)) addresses = [bare];
    // Chromium answers *.localhost itself, without DNS.
    else if (isLoopbackHost(bare)) return { refused: `${host} is a loopback name and --block-private-networks is on` };
    else {
      try {
        addresses = await (cached ? this.cachedLookup(bare) : this.lookup(bare));
      } catch (error) {
        return { refused: `${host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})` };
      }
      if (addresses.length === 0) return { refused: `${host} could not be resolved` };
    }
    for (const address of addresses) {
      const range = privateRange(address);
      if (range) return { refused: `${host}${address === bare ? '' : ` resolves to ${address}, which`} is not a public address (${range}) and --block-private-networks is on` };
    }
    return { connectTo: addresses[0] };
  }

  private cachedLookup(host: string): Promise<string[]> {
    const now = Date.now();
    const hit = this.recent.get(host);
    if (hit && now - hit.at < LOOKUP_CACHE_MS) return hit.addresses;
    if (this.recent.size > 500) this.recent.clear();
    const addresses = this.lookup(host);
    this.recent.set(host, { at: now, addresses });
    addresses.catch(() => this.recent.delete(host));
    return addresses;
  }
}

const policies = new WeakMap<EgressRules, EgressPolicy>();

/**
 * Throws a NOT_ALLOWED FleetError naming the reason when the browser may not navigate to `url`;
 * tools call this before opening a URL so the model reads why.
 */
export async function assertNavigable(url: string, rules: EgressRules): Promise<void> {
  let policy = policies.get(rules);
  if (!policy) policies.set(rules, policy = new EgressPolicy(rules));
  const reason = await policy.check(url, 'navigation');
  if (reason) throw new FleetError('NOT_ALLOWED', `Navigation to ${url} is blocked: ${reason}.`);
}
