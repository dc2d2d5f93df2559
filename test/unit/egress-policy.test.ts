import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EgressPolicy, matchesOrigin, parseOriginPattern, schemeRefusal, type EgressRules } from '../../src/security/egress-policy.ts';

const rules = (overrides: Partial<EgressRules> = {}): EgressRules => ({ allowedOrigins: [], blockedOrigins: [], blockPrivateNetworks: false, ...overrides });
const target = (scheme: string | undefined, host: string, port: number) => ({ scheme, host, port });

describe('egress policy', () => {
  test('only web schemes may be used; navigations also about:blank and data:', () => {
    for (const url of ['http://a.test/', 'https://a.test/', 'data:text/html,hi', 'about:blank']) assert.equal(schemeRefusal(url, 'navigation'), undefined, url);
    for (const url of ['ws://a.test/', 'wss://a.test/', 'blob:https://a.test/uuid']) assert.equal(schemeRefusal(url, 'request'), undefined, url);
    for (const url of ['file:///etc/passwd', 'FILE:///etc/passwd', 'view-source:http://a.test/', 'chrome://settings', 'chrome-extension://x/y', 'javascript:alert(1)', 'about:config', 'ftp://a.test/', 'filesystem:http://a.test/x']) {
      assert.match(schemeRefusal(url, 'navigation') ?? '', /scheme is not allowed/, url);
    }
    assert.match(schemeRefusal('file:///etc/passwd', 'request') ?? '', /file: scheme/);
    assert.match(schemeRefusal('relative/path', 'navigation') ?? '', /not an absolute URL/);
  });

  test('an origin entry matches its scheme, host and (default) port only', () => {
    const pattern = parseOriginPattern('https://example.com');
    assert.deepEqual(pattern, { scheme: 'https:', host: 'example.com', port: 443 });
    assert.ok(matchesOrigin(pattern, target('https:', 'example.com', 443)));
    assert.ok(matchesOrigin(pattern, target('wss:', 'EXAMPLE.com.', 443)), 'wss is judged as https; case and trailing dot ignored');
    assert.ok(!matchesOrigin(pattern, target('http:', 'example.com', 443)));
    assert.ok(!matchesOrigin(pattern, target('https:', 'example.com', 8443)));
    assert.ok(!matchesOrigin(pattern, target('https:', 'sub.example.com', 443)));
    assert.ok(matchesOrigin(pattern, target(undefined, 'example.com', 443)), 'a CONNECT has no scheme');
  });

  test('host entries match any scheme and port; *. matches subdomains; * matches all', () => {
    assert.ok(matchesOrigin(parseOriginPattern('example.com'), target('http:', 'example.com', 8080)));
    assert.ok(matchesOrigin(parseOriginPattern('localhost:3000'), target('http:', 'localhost', 3000)));
    assert.ok(!matchesOrigin(parseOriginPattern('localhost:3000'), target('http:', 'localhost', 3001)));
    const wildcard = parseOriginPattern('*.example.com');
    assert.ok(matchesOrigin(wildcard, target('https:', 'a.b.example.com', 443)));
    assert.ok(!matchesOrigin(wildcard, target('https:', 'example.com', 443)));
    assert.ok(!matchesOrigin(wildcard, target('https:', 'badexample.com', 443)));
    assert.ok(matchesOrigin(parseOriginPattern('*'), target('https:', 'anything.test', 1)));
    assert.ok(matchesOrigin(parseOriginPattern('http://[::1]:8080'), target('http:', '[::1]', 8080)));
  });

  test('blocked origins win over allowed ones, and an allow list refuses everything else', async () => {
    const policy = new EgressPolicy(rules({ allowedOrigins: ['example.com', 'docs.test'], blockedOrigins: ['https://docs.test'] }));
    assert.equal(await policy.check('https://example.com/a', 'navigation'), undefined);
    assert.match(await policy.check('https://docs.test/', 'navigation') ?? '', /in --blocked-origins/);
    assert.equal(await policy.check('http://docs.test/', 'navigation'), undefined);
    assert.match(await policy.check('https://other.test/', 'request') ?? '', /not in --allowed-origins/);
    assert.equal(await policy.check('data:text/html,x', 'navigation'), undefined, 'data: has no origin to check');
  });

  test('with --block-private-networks every resolved address is checked and the vetted one returned', async () => {
    const dns: Record<string, string[]> = { 'public.test': ['93.184.216.34'], 'rebind.test': ['93.184.216.34', '127.0.0.1'], 'meta.test': ['::ffff:169.254.169.254'] };
    const policy = new EgressPolicy(rules({ blockPrivateNetworks: true }), async (host) => {
      if (!dns[host]) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return dns[host];
    });
    assert.deepEqual(await policy.vet('https:', 'public.test', 443), { connectTo: '93.184.216.34' });
    assert.match((await policy.vet('https:', 'rebind.test', 443) as { refused: string }).refused, /resolves to 127\.0\.0\.1, which is not a public address \(loopback\)/);
    assert.match((await policy.vet(undefined, 'meta.test', 80) as { refused: string }).refused, /link-local/);
    assert.match((await policy.vet('http:', 'app.localhost', 80) as { refused: string }).refused, /loopback name/);
    assert.match((await policy.vet('http:', 'nowhere.test', 80) as { refused: string }).refused, /could not be resolved \(ENOTFOUND\)/);
    assert.match(await policy.check('http://10.0.0.8:8080/', 'request') ?? '', /10\.0\.0\.8 is not a public address \(private\)/);
  });

  test('a request check reuses a recent lookup, a connection always resolves afresh (no rebinding)', async () => {
    let answer = '93.184.216.34';
    let lookups = 0;
    const policy = new EgressPolicy(rules({ blockPrivateNetworks: true }), async () => {
      lookups++;
      return [answer];
    });
    assert.equal(await policy.check('https://flip.test/a', 'request'), undefined);
    assert.equal(await policy.check('https://flip.test/b', 'request'), undefined);
    assert.equal(lookups, 1);
    answer = '127.0.0.1';
    assert.match((await policy.vet('https:', 'flip.test', 443) as { refused: string }).refused, /loopback/);
    assert.equal(lookups, 2);
  });

  test('without network rules no host name is resolved', async () => {
    let lookups = 0;
    const policy = new EgressPolicy(rules(), async () => {
      lookups++;
      return ['127.0.0.1'];
    });
    assert.equal(policy.filtersNetwork, false);
    assert.equal(await policy.check('http://anything.test/', 'navigation'), undefined);
    assert.equal(lookups, 0);
  });
});
