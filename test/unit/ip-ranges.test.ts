import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { embeddedIPv4, ipv6Bytes, isLoopbackHost, privateRange } from '../../src/security/ip-ranges.ts';

describe('ip ranges', () => {
  test('loopback, private, link-local, shared and unspecified IPv4 addresses are not public', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', 'loopback'], ['127.255.1.2', 'loopback'],
      ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
      ['169.254.169.254', 'link-local (cloud metadata)'],
      ['100.100.100.200', 'shared (carrier-grade NAT)'],
      ['0.0.0.0', 'unspecified ("this host")'],
      ['224.0.0.1', 'multicast'], ['255.255.255.255', 'reserved'],
    ];
    for (const [address, label] of cases) assert.equal(privateRange(address), label, address);
  });

  test('public IPv4 addresses just outside the private ranges pass', () => {
    for (const address of ['8.8.8.8', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '169.253.255.255', '11.0.0.0', '1.1.1.1']) {
      assert.equal(privateRange(address), undefined, address);
    }
  });

  test('IPv6 loopback, unspecified, unique-local, link-local and multicast are not public', () => {
    const cases: [string, string][] = [
      ['::1', 'loopback'], ['[::1]', 'loopback'], ['0:0:0:0:0:0:0:1', 'loopback'], ['::', 'unspecified'],
      ['fd12:3456::1', 'unique local (private)'], ['fc00::1', 'unique local (private)'],
      ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local'], ['ff02::1', 'multicast'],
    ];
    for (const [address, label] of cases) assert.equal(privateRange(address), label, address);
  });

  test('IPv6 forms that carry an IPv4 address are judged by that address', () => {
    assert.equal(privateRange('::ffff:127.0.0.1'), 'loopback');
    assert.equal(privateRange('::ffff:7f00:1'), 'loopback');
    assert.equal(privateRange('::ffff:169.254.169.254'), 'link-local (cloud metadata)');
    assert.equal(privateRange('64:ff9b::a00:1'), 'private', 'NAT64 of 10.0.0.1');
    assert.equal(privateRange('2002:c0a8:0101::1'), 'private', '6to4 of 192.168.1.1');
    assert.equal(privateRange('::10.0.0.1'), 'private', 'IPv4-compatible');
    assert.equal(privateRange('::ffff:8.8.8.8'), undefined);
    assert.equal(privateRange('2606:4700:4700::1111'), undefined, 'a public IPv6 address');
  });

  test('a string that is not an IP address is refused rather than passed', () => {
    assert.equal(privateRange('example.com'), 'not an IP address');
    assert.equal(privateRange(''), 'not an IP address');
  });

  test('ipv6Bytes expands compressed and dotted forms', () => {
    assert.deepEqual(ipv6Bytes('::1'), [...Array(15).fill(0), 1]);
    assert.deepEqual(ipv6Bytes('::ffff:1.2.3.4')!.slice(10), [0xff, 0xff, 1, 2, 3, 4]);
    assert.equal(ipv6Bytes('1.2.3.4'), undefined);
    assert.equal(embeddedIPv4('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(embeddedIPv4('2001:db8::1'), undefined);
  });

  test('isLoopbackHost knows loopback addresses and localhost names only', () => {
    for (const host of ['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.1.1.1', '::1', '[::1]']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '192.168.0.1']) assert.ok(!isLoopbackHost(host), host);
  });
});
