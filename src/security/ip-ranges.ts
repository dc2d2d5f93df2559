import { BlockList, isIP } from 'node:net';

/**
 * Address ranges a browser must not reach when --block-private-networks is on: everything that
 * is not the public internet. "This host", loopback, private, shared (CGNAT, where some clouds
 * keep their metadata service), link-local (169.254.169.254), multicast and reserved space.
 */
const V4_RANGES: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this host")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const V6_RANGES: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique local (private)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const lists = [...V4_RANGES.map((r) => [...r, 'ipv4'] as const), ...V6_RANGES.map((r) => [...r, 'ipv6'] as const)]
  .map(([network, prefix, label, family]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return { list, label };
  });

/** The 16 bytes of an IPv6 address (any textual form node accepts), or undefined. */
export function ipv6Bytes(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.split('%')[0];
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that route to it: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 */
export function embeddedIPv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  if (!bytes) return undefined;
  const zeroUpTo = (n: number) => bytes.slice(0, n).every((b) => b === 0);
  const v4 = (at: number) => bytes.slice(at, at + 4).join('.');
  if (zeroUpTo(10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4(12);
  if (zeroUpTo(12) && bytes.slice(12).some((b) => b !== 0) && !(bytes[15] === 1 && zeroUpTo(15))) return v4(12);
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && bytes.slice(4, 12).every((b) => b === 0)) return v4(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return v4(2);
  return undefined;
}

/**
 * Why `address` (an IP literal) is not on the public internet, e.g. "loopback"; undefined for a
 * public address. Anything that does not parse as an IP is refused too.
 */
export function privateRange(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedIPv4(bare);
    if (v4) return privateRange(v4);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, label } of lists) {
    if (list.check(bare, type)) return label;
  }
  return undefined;
}

/** True for loopback addresses and the name `localhost` (no DNS lookup). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  return isIP(bare) !== 0 && privateRange(bare) === 'loopback';
}
