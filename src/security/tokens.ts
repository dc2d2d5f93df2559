import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { isLoopbackHost } from './ip-ranges.ts';

/** Tokens shorter than this are accepted but warned about: they can be guessed. */
const MIN_TOKEN_LENGTH = 16;

/**
 * The owner id of a token: its SHA-256, hex. Sessions and logs carry this, never the token, and
 * comparing digests of equal length keeps the token comparison constant-time.
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Tokens as digests, for `matchToken`: computed once, compared on every request. */
export function tokenDigests(tokens: readonly string[]): Buffer[] {
  return tokens.map((token) => Buffer.from(tokenFingerprint(token), 'hex'));
}

/**
 * The fingerprint of the token among `digests` that `presented` is, or undefined. Compares
 * against every one without stopping at a match, so timing tells nothing.
 */
export function matchToken(presented: string, digests: readonly Buffer[]): string | undefined {
  const digest = Buffer.from(tokenFingerprint(presented), 'hex');
  let owner: string | undefined;
  for (const candidate of digests) if (timingSafeEqual(candidate, digest)) owner = candidate.toString('hex');
  return owner;
}

/** Reads a tokens file: one token per line; blank lines and lines starting with `#` are skipped. */
export function readTokensFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--auth-tokens-file ${path}: ${(error as Error).message}`);
  }
  const tokens = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  if (tokens.length === 0) throw new ConfigError(`--auth-tokens-file ${path}: no tokens in the file (one per line)`);
  if (tokens.some((token) => /\s/.test(token))) throw new ConfigError(`--auth-tokens-file ${path}: a token may not contain spaces`);
  return tokens;
}

/**
 * The start-up half of authentication: merges the tokens file and the admin tokens into
 * `authToken` (an admin token is a client token too), and refuses to serve a non-loopback address
 * without tokens unless --no-auth says so. Throws a ConfigError naming the option.
 */
export function prepareAuth(config: Config, log?: Logger): Config {
  const fromFile = config.authTokensFile ? readTokensFile(config.authTokensFile) : [];
  const tokens = [...new Set([...config.authToken, ...fromFile, ...config.adminToken])];
  if (tokens.length === 0 && !config.noAuth && !isLoopbackHost(config.host)) {
    throw new ConfigError(`--host ${config.host} is not a loopback address and no token is set: ` +
      'give --auth-token or --auth-tokens-file (or BROWSER_FLEET_AUTH_TOKEN), or pass --no-auth to serve without authentication');
  }
  if (tokens.length === 0 && !isLoopbackHost(config.host)) log?.warn({ host: config.host }, 'serving a non-loopback address without authentication (--no-auth)');
  const weak = tokens.filter((token) => token.length < MIN_TOKEN_LENGTH).length;
  if (weak) log?.warn({ count: weak }, `auth tokens shorter than ${MIN_TOKEN_LENGTH} characters can be guessed`);
  return Object.freeze({ ...config, authToken: tokens });
}
