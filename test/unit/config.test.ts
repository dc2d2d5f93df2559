import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CommanderError } from 'commander';
import { buildProgram, ConfigError, configSchema, defaultMaxBrowsers, defaultPrewarm, loadConfig, parseConfig } from '../../src/config.ts';

let dir: string;
let fileCount = 0;

/** Writes a JSON config file and returns its path. */
function configFile(content: unknown): string {
  const path = join(dir, `config-${++fileCount}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('config precedence', () => {
  test('with nothing set every option takes its default', () => {
    const config = loadConfig([], {});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8931);
    assert.equal(config.headless, true);
    assert.equal(config.noAuth, false);
    assert.equal(config.timeoutAction, 5000);
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.authToken, []);
    assert.ok(Object.isFrozen(config));
  });

  test('flags beat the environment, which beats the config file, which beats defaults', () => {
    const file = configFile({ port: 1001, queueSize: 3, idleTimeout: 7000, maxPages: 2 });
    const env = { BROWSER_FLEET_PORT: '1002', BROWSER_FLEET_QUEUE_SIZE: '4' };
    const config = loadConfig(['--config', file, '--port', '1003'], env);
    assert.equal(config.port, 1003, 'flag over env and file');
    assert.equal(config.queueSize, 4, 'env over file');
    assert.equal(config.idleTimeout, 7000, 'file over default');
    assert.equal(config.maxPages, 2);
    assert.equal(config.timeoutAction, 5000, 'default when no source sets it');
  });

  test('the config file can come from BROWSER_FLEET_CONFIG and use flag names as keys', () => {
    const file = configFile({ 'max-sessions': 3, 'timeout-action': '2500', 'no-auth': true });
    const config = loadConfig([], { BROWSER_FLEET_CONFIG: file });
    assert.equal(config.maxSessions, 3);
    assert.equal(config.timeoutAction, 2500);
    assert.equal(config.noAuth, true);
  });

  test('booleans: --no-headless, --no-auth, and env values that say false', () => {
    assert.equal(loadConfig(['--no-headless'], {}).headless, false);
    assert.equal(loadConfig([], { BROWSER_FLEET_HEADLESS: 'false' }).headless, false);
    assert.equal(loadConfig(['--headless'], { BROWSER_FLEET_HEADLESS: 'false' }).headless, true, 'flag over env');
    assert.equal(loadConfig(['--no-auth'], {}).noAuth, true);
    assert.equal(loadConfig([], { BROWSER_FLEET_NO_AUTH: 'yes' }).noAuth, true);
    assert.equal(loadConfig([], { BROWSER_FLEET_IGNORE_HTTPS_ERRORS: '1' }).ignoreHttpsErrors, true);
  });

  test('an option absent from the command line does not override the environment or the file', () => {
    // commander gives --no-X options an implicit default; it must not count as a flag.
    assert.equal(loadConfig([], { BROWSER_FLEET_NO_AUTH: 'true' }).noAuth, true);
    assert.equal(loadConfig(['--config', configFile({ headless: false })], {}).headless, false);
  });

  test('lists: repeated flags, commas, and semicolons between origins as @playwright/mcp writes them', () => {
    const config = loadConfig([
      '--auth-token', 'a', '--auth-token', 'b,c',
      '--allowed-origins', 'https://x.test;https://y.test',
    ], { BROWSER_FLEET_BLOCKED_ORIGINS: 'https://z.test, https://w.test' });
    assert.deepEqual(config.authToken, ['a', 'b', 'c']);
    assert.deepEqual(config.allowedOrigins, ['https://x.test', 'https://y.test']);
    assert.deepEqual(config.blockedOrigins, ['https://z.test', 'https://w.test']);
  });

  test('an empty environment variable counts as unset', () => {
    assert.equal(loadConfig([], { BROWSER_FLEET_PORT: '' }).port, 8931);
  });
});

describe('config: bad values stop start-up with a message naming the option', () => {
  test('a flag that is not a number', () => {
    assert.match(configError(() => loadConfig(['--port', 'eighty'], {})), /^--port: expected a whole number, got "eighty"/);
  });

  test('an environment value out of range names the option and the variable', () => {
    const message = configError(() => loadConfig([], { BROWSER_FLEET_MAX_SESSIONS: '0' }));
    assert.match(message, /^--max-sessions \(from BROWSER_FLEET_MAX_SESSIONS\): /);
  });

  test('a boolean that is neither true nor false', () => {
    assert.match(configError(() => loadConfig([], { BROWSER_FLEET_HEADLESS: 'maybe' })), /BROWSER_FLEET_HEADLESS: expected true or false/);
  });

  test('a config file value of the wrong type names the option and the file', () => {
    const file = configFile({ timeoutAction: 'soon' });
    const message = configError(() => loadConfig(['--config', file], {}));
    assert.match(message, /timeoutAction: expected a whole number/);
    assert.ok(message.includes(file));
  });

  test('an unknown key in the config file is refused', () => {
    const file = configFile({ prot: 80 });
    assert.match(configError(() => loadConfig(['--config', file], {})), /unknown option "prot"/);
  });

  test('a config file that is not JSON, or missing, is refused', () => {
    assert.match(configError(() => loadConfig(['--config', configFile('{ port: ')], {})), /^--config .*config-\d+\.json: /);
    assert.match(configError(() => loadConfig(['--config', join(dir, 'nope.json')], {})), /ENOENT/);
    assert.match(configError(() => loadConfig(['--config', configFile([1, 2])], {})), /expected a JSON object/);
  });

  test('schema rules: enum, pattern and range', () => {
    assert.match(configError(() => loadConfig(['--log-level', 'loud'], {})), /^--log-level \(from the command line\): /);
    assert.match(configError(() => loadConfig(['--viewport-size', '1280'], {})), /^--viewport-size .*1280x720/);
    assert.match(configError(() => loadConfig(['--caps', 'telepathy'], {})), /^--caps /);
    assert.deepEqual(loadConfig(['--caps', 'vision,storage'], {}).caps, ['vision', 'storage']);
    assert.match(configError(() => loadConfig(['--port', '70000'], {})), /^--port .*65535/);
  });

  test('an unknown flag is a usage error', () => {
    const program = buildProgram();
    program.configureOutput({ writeErr: () => {} });
    assert.throws(() => program.parse(['--prot', '80'], { from: 'user' }), CommanderError);
    assert.throws(() => loadConfig(['--prot', '80'], {}), CommanderError);
  });
});

describe('config --help', () => {
  test('lists every option with its default and its environment variable', () => {
    const program = buildProgram();
    const help = program.helpInformation();
    for (const key of Object.keys(configSchema.shape)) {
      const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      const option = program.options.find((o) => o.long === `--${flag}` && !o.hidden);
      assert.ok(option, `--${flag} is in the help`);
      assert.match(option.description, /\(default: [^)]+\)/, `--${flag} shows a default`);
      assert.ok(option.description.includes(`BROWSER_FLEET_${flag.toUpperCase().replace(/-/g, '_')}`), `--${flag} names its env var`);
      assert.ok(help.includes(`--${flag}`));
    }
  });

  test('the defaults shown are the schema defaults', () => {
    const describe = (flag: string) => buildProgram().options.find((o) => o.long === flag)!.description;
    assert.match(describe('--port'), /\(default: 8931\)/);
    assert.match(describe('--timeout-action'), /\(default: 5000\)/);
    assert.match(describe('--idle-timeout'), /\(default: 1800000\)/);
    assert.match(describe('--no-auth'), /\(default: false\)/);
    assert.match(describe('--max-sessions'), /\(default: 1000\)/);
    assert.match(describe('--max-browsers'), new RegExp(`; ${defaultMaxBrowsers()} here\\)`));
    assert.match(describe('--prewarm'), new RegExp(`; ${defaultPrewarm()} here\\)`));
    assert.match(describe('--recycle'), /\(default: same-token\)/);
    assert.match(describe('--reclaim-idle-after'), /\(default: 60000\)/);
  });
});

test('default browser cap: memory above a tenth (at least 1 GiB) at 250 MB a browser, not capped by cores, at least 2', () => {
  const gib = 1024 ** 3;
  assert.equal(defaultMaxBrowsers(24 * gib), Math.floor((24 * gib * 0.9) / (250 * 1024 ** 2)));
  assert.equal(defaultMaxBrowsers(24 * gib), 88);
  assert.equal(defaultMaxBrowsers(4 * gib), 12);
  assert.equal(defaultMaxBrowsers(1 * gib), 2);
});

test('default warm pool floor: a browser per 3 GiB (rounded), 1 to 8', () => {
  const gib = 1024 ** 3;
  assert.equal(defaultPrewarm(24 * gib), 8);
  assert.equal(defaultPrewarm(64 * gib), 8);
  assert.equal(defaultPrewarm(23.4 * gib), 8, 'a machine sold as 24 GiB');
  assert.equal(defaultPrewarm(8 * gib), 3);
  assert.equal(defaultPrewarm(2 * gib), 1);
});

test('the warm pool ceiling is at least the floor and at most the browser cap', () => {
  assert.equal(parseConfig({ prewarm: 2 }).prewarmMax, 16);
  assert.equal(parseConfig({ prewarm: 20, maxBrowsers: 40 }).prewarmMax, 20, 'a floor above the default ceiling lifts it');
  assert.equal(parseConfig({ prewarm: 2, prewarmMax: 30, maxBrowsers: 10 }).prewarmMax, 10);
  assert.equal(parseConfig({ prewarm: 12, maxBrowsers: 10 }).prewarm, 10, 'the floor is capped too');
  assert.throws(() => parseConfig({ recycle: 'always' }), /--recycle/);
});

test('--stdio (or BROWSER_FLEET_STDIO) keeps the session open and starts no browser early, unless told otherwise', () => {
  const stdio = loadConfig(['--stdio'], {});
  assert.equal(stdio.stdio, true);
  assert.deepEqual([stdio.idleTimeout, stdio.prewarm, stdio.prewarmMax], [0, 0, 0]);
  assert.equal(loadConfig([], { BROWSER_FLEET_STDIO: 'true' }).stdio, true);
  const given = loadConfig(['--stdio', '--idle-timeout', '60000', '--prewarm', '1'], {});
  assert.deepEqual([given.idleTimeout, given.prewarm, given.prewarmMax], [60000, 1, 1], 'given values stand; the ceiling follows the floor');
  assert.equal(loadConfig(['--stdio', '--prewarm-max', '2'], {}).prewarmMax, 2);
  const http = loadConfig([], {});
  assert.deepEqual([http.stdio, http.idleTimeout, http.prewarmMax], [false, 1800000, Math.min(http.maxBrowsers, Math.max(http.prewarm, 16))]);
});

test('docs/configuration.md lists every option with the default --help shows', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8').split('## Every option')[1];
  for (const option of buildProgram().options.filter((o) => !o.hidden)) {
    const shown = option.description.match(/\(default: (.*?)\) \[env/)![1];
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${option.long}\` |`));
    assert.ok(row, `${option.long} has a row`);
    // Defaults computed from this machine's memory differ between machines; the rule before "; N here" is what the doc states.
    assert.ok(row.includes(shown.replace(/; \d+ here$/, '').replace(/\|/g, '\\|')), `${option.long}: the row shows "${shown}"`);
  }
});

describe('@playwright/mcp 1.65 browser options', () => {
  test('are read from flags, environment and file under the anchor\'s names', () => {
    const secrets = join(dir, 'secrets.env');
    writeFileSync(secrets, '# login\nUSER_PASSWORD="pa ss"\nAPI_KEY=k-123\nBLANK=\n');
    const config = loadConfig(['--device', 'iPhone 15', '--grant-permissions', 'geolocation,clipboard-read', '--secrets', secrets,
      '--snapshot-mode', 'none', '--redact-url-params', 'token', '--redact-url-params', 'code'], {
      BROWSER_FLEET_CONSOLE_LEVEL: 'warning', BROWSER_FLEET_IMAGE_RESPONSES: 'omit', BROWSER_FLEET_BLOCK_SERVICE_WORKERS: 'true',
      BROWSER_FLEET_PROXY_SERVER: 'proxy.internal:3128', BROWSER_FLEET_PROXY_BYPASS: '.internal,localhost',
    });
    assert.equal(config.device, 'iPhone 15');
    assert.deepEqual(config.grantPermissions, ['geolocation', 'clipboard-read']);
    assert.deepEqual(config.secretValues, { USER_PASSWORD: 'pa ss', API_KEY: 'k-123' }, 'an empty value would match everywhere: left out');
    assert.deepEqual([config.snapshotMode, config.consoleLevel, config.imageResponses, config.blockServiceWorkers], ['none', 'warning', 'omit', true]);
    assert.deepEqual(config.redactUrlParams, ['token', 'code']);
    assert.equal(config.proxyServer, 'http://proxy.internal:3128', 'a bare host:port is HTTP, as in Playwright');
    assert.equal(config.proxyBypass, '.internal,localhost');
    assert.equal(config.viewportSize, undefined, 'no viewport given: the device brings its own');
    assert.equal(config.testIdAttribute, 'data-testid');
    assert.deepEqual(config.clientBrowserOptions, ['headless', 'viewport', 'device', 'locale', 'timezone', 'color-scheme', 'storage-state']);
  });

  test('refuse what cannot work, naming the option', () => {
    assert.match(configError(() => loadConfig(['--device', 'Pixel 7', '--mobile'], {})), /--mobile cannot be combined with --device/);
    const page = join(dir, 'init-page.ts');
    writeFileSync(page, 'export default async () => {};\n');
    assert.match(configError(() => loadConfig(['--init-page', page], {})), /--init-page .* needs --caps unsafe-code/);
    assert.equal(loadConfig(['--init-page', page, '--caps', 'unsafe-code'], {}).initPage[0], page);
    assert.match(configError(() => loadConfig(['--storage-state', join(dir, 'missing.json')], {})), /--storage-state \(from the command line\): no such file/);
    assert.match(configError(() => loadConfig(['--init-script', dir], {})), /--init-script .*no such file/, 'a directory is not a script');
    assert.match(configError(() => loadConfig(['--snapshot-mode', 'partial'], {})), /--snapshot-mode/);
    assert.match(configError(() => loadConfig(['--image-responses', 'sometimes'], {})), /--image-responses/);
    assert.match(configError(() => loadConfig(['--console-level', 'verbose'], {})), /--console-level/);
    assert.match(configError(() => loadConfig(['--proxy-server', 'ftp://proxy:21'], {})), /--proxy-server .*must look like/);
    assert.match(configError(() => loadConfig(['--proxy-server', 'socks4://proxy:1080', '--block-private-networks'], {})), /socks4:\/\/ proxy cannot be chained/);
    assert.equal(loadConfig(['--proxy-server', 'socks4://proxy:1080'], {}).proxyServer, 'socks4://proxy:1080', 'unfiltered, Chromium takes socks4 itself');
    assert.match(configError(() => loadConfig(['--test-id-attribute', 'data qa'], {})), /--test-id-attribute .*attribute name/);
    assert.match(configError(() => loadConfig(['--client-browser-options', 'none,device'], {})), /"none" cannot be combined/);
    assert.deepEqual(loadConfig(['--client-browser-options', 'none'], {}).clientBrowserOptions, []);
    assert.match(configError(() => loadConfig(['--client-browser-options', 'proxy'], {})), /--client-browser-options/);
  });
});
