import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.ts';
import { prepareAuth, tokenFingerprint } from '../../src/security/tokens.ts';

describe('auth configuration', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bf-auth-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('tokens come from repeated flags, the comma-separated env var and the tokens file, merged', () => {
    const file = join(dir, 'tokens');
    writeFileSync(file, '# team tokens\nfile-token-1\r\n\n  file-token-2  \nflag-token-1\n');
    const fromFlags = loadConfig(['--auth-token', 'flag-token-1', '--auth-token', 'flag-token-2', '--auth-tokens-file', file], {});
    assert.deepEqual(prepareAuth(fromFlags).authToken, ['flag-token-1', 'flag-token-2', 'file-token-1', 'file-token-2']);
    const fromEnv = loadConfig([], { BROWSER_FLEET_AUTH_TOKEN: 'env-a, env-b', BROWSER_FLEET_AUTH_TOKENS_FILE: file });
    assert.deepEqual(prepareAuth(fromEnv).authToken, ['env-a', 'env-b', 'file-token-1', 'file-token-2', 'flag-token-1']);
  });

  test('a non-loopback host needs a token or an explicit --no-auth', () => {
    assert.throws(() => prepareAuth(parseConfig({ host: '0.0.0.0' })), (error: unknown) => error instanceof ConfigError && /--no-auth/.test(error.message));
    assert.throws(() => prepareAuth(parseConfig({ host: '192.168.1.20' })), ConfigError);
    assert.deepEqual(prepareAuth(parseConfig({ host: '0.0.0.0', noAuth: true })).authToken, []);
    assert.deepEqual(prepareAuth(loadConfig(['--host', '0.0.0.0', '--no-auth'], {})).authToken, [], 'the --no-auth flag itself');
    assert.deepEqual(prepareAuth(parseConfig({ host: '0.0.0.0', authToken: ['t0ken-with-enough-length'] })).authToken, ['t0ken-with-enough-length']);
    for (const host of ['127.0.0.1', 'localhost', '::1']) assert.deepEqual(prepareAuth(parseConfig({ host })).authToken, [], host);
  });

  test('admin tokens (flag or env) are client tokens too, and count as tokens for a non-loopback bind', () => {
    const fromFlags = prepareAuth(loadConfig(['--host', '0.0.0.0', '--admin-token', 'admin-token-long-enough', '--auth-token', 'client-token-long-enough'], {}));
    assert.deepEqual(fromFlags.authToken, ['client-token-long-enough', 'admin-token-long-enough']);
    assert.deepEqual(fromFlags.adminToken, ['admin-token-long-enough']);
    const fromEnv = prepareAuth(loadConfig(['--host', '0.0.0.0'], { BROWSER_FLEET_ADMIN_TOKEN: 'admin-a-long-enough,admin-b-long-enough' }));
    assert.deepEqual(fromEnv.authToken, ['admin-a-long-enough', 'admin-b-long-enough']);
  });

  test('a tokens file with no tokens or with spaces in a token is refused', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n# none\n');
    assert.throws(() => prepareAuth(parseConfig({ authTokensFile: empty })), /--auth-tokens-file .*no tokens/);
    const spaced = join(dir, 'spaced');
    writeFileSync(spaced, 'two words\n');
    assert.throws(() => prepareAuth(parseConfig({ authTokensFile: spaced })), /may not contain spaces/);
  });

  test('the owner fingerprint is the SHA-256 of the token, never the token', () => {
    const print = tokenFingerprint('secret-token');
    assert.match(print, /^[0-9a-f]{64}$/);
    assert.ok(!print.includes('secret'));
    assert.equal(print, tokenFingerprint('secret-token'));
    assert.notEqual(print, tokenFingerprint('secret-token2'));
  });
});
