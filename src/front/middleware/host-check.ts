import { hostname as machineName, networkInterfaces } from 'node:os';
import type { MiddlewareHandler } from 'hono';
import { isLoopbackHost } from '../../security/ip-ranges.ts';
import { refuse } from './refuse.ts';

/** A host name or address with an optional port, as a Host header or an allow-list entry has it. */
export interface HostPort {
  /** Lower case, without IPv6 brackets or a trailing dot. */
  host: string;
  port?: number;
}

/** Parses `example.com`, `example.com:8080`, `[::1]:8931`, `::1`; undefined when malformed. */
export function parseHostPort(text: string): HostPort | undefined {
  const value = text.trim().toLowerCase();
  const match = value.match(/^\[([0-9a-f:.%]+)\](?::(\d{1,5}))?$/) ?? value.match(/^([^:\s[\]/@]+)(?::(\d{1,5}))?$/);
  if (match) return { host: match[1].replace(/\.$/, ''), port: match[2] ? Number(match[2]) : undefined };
  if (/^[0-9a-f:.]+$/.test(value) && value.includes(':')) return { host: value };
  return undefined;
}

/** Matches host names against an allow list; `*` allows any, an entry without a port any port. */
export class HostList {
  private readonly entries: HostPort[];
  readonly any: boolean;

  constructor(entries: readonly string[]) {
    this.any = entries.includes('*');
    this.entries = entries.map(parseHostPort).filter((e): e is HostPort => e !== undefined);
  }

  /** Whether `host` (on `port`) is allowed; `explicitOnly` ignores a `*` entry. */
  allows(host: string, port?: number, explicitOnly = false): boolean {
    if (this.any && !explicitOnly) return true;
    const name = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    return this.entries.some((e) => e.host === name && (e.port === undefined || e.port === port));
  }
}

/**
 * The Host values a server bound to `bindHost` answers by default: the bound address; loopback
 * names when bound to loopback; and for a wildcard bind (0.0.0.0, ::) also this machine's
 * interface addresses and name. Anything else, e.g. a DNS-rebinding attacker's domain, is refused.
 */
export function defaultAllowedHosts(bindHost: string, extra: readonly string[] = []): string[] {
  const hosts = new Set<string>([bindHost.replace(/^\[|\]$/g, '').toLowerCase()]);
  const wildcard = ['0.0.0.0', '::', '[::]'].includes(bindHost);
  if (wildcard || isLoopbackHost(bindHost)) for (const name of ['localhost', '127.0.0.1', '::1']) hosts.add(name);
  if (wildcard) {
    hosts.add(machineName().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const nic of list ?? []) hosts.add(nic.address.toLowerCase());
  }
  for (const entry of extra) hosts.add(entry);
  return [...hosts];
}

/** Refuses (403) a request whose Host header is missing or not in `allowed`, but on `exempt` paths: DNS rebinding protection. */
export function hostCheck(allowed: HostList, exempt: readonly string[] = []): MiddlewareHandler {
  const open = new Set(exempt);
  return async function hostCheck(c, next) {
    if (open.has(c.req.path)) return next();
    const header = c.req.header('host');
    const parsed = header ? parseHostPort(header) : undefined;
    if (!parsed || !allowed.allows(parsed.host, parsed.port)) {
      return refuse(c, 'FORBIDDEN', `Forbidden: Host ${header ? `"${header.slice(0, 200)}"` : '(missing)'} is not allowed; add it with --allowed-hosts`);
    }
    await next();
  };
}
