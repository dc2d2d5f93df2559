import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WorkerSettings } from '../../src/ipc/protocol.ts';
import { describeSettings } from '../../src/tools/config-tool.ts';

const settings: WorkerSettings = {
  browser: {
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 800, height: 600 }, ignoreHttpsErrors: false,
    permissions: [], blockServiceWorkers: false, initScripts: [], proxy: { server: 'http://proxyuser:proxypass@proxy.test:3128' },
  },
  outputDir: '/tmp/out',
  timeoutAction: 5000,
  timeoutNavigation: 60000,
  snapshotMaxChars: 40000,
  imageMaxBytes: 4194304,
  maxPages: 5,
  caps: ['config'],
  allowedOrigins: [],
  blockedOrigins: [],
  blockPrivateNetworks: false,
  record: 'off',
  warmUp: true,
  tempDir: '/tmp/worker-tmp',
  testIdAttribute: 'data-testid',
  consoleLevel: 'info',
  redactUrlParams: [],
  secrets: { API_PASSWORD: 'hunter2-value' },
  snapshotMode: 'full',
  imageResponses: 'allow',
  initPage: [],
  clientBrowserOptions: [],
};

describe('browser_get_config', () => {
  test('shows the browser settings and leaves out process internals', () => {
    const shown = describeSettings(settings);
    assert.deepEqual((shown.browser as Record<string, unknown>).viewport, { width: 800, height: 600 });
    const text = JSON.stringify(shown);
    assert.doesNotMatch(text, /worker-tmp|warmUp/);
    assert.doesNotMatch(text, /hunter2-value|proxypass|proxyuser/, 'no secret value and no proxy credentials');
    assert.deepEqual(shown.secrets, ['API_PASSWORD'], 'the names a model may type');
  });

  test('shows a browser endpoint without its user info or query, where tokens go', () => {
    const shown = describeSettings({ ...settings, browserEndpoint: 'wss://user:pw@browsers.example/chromium?token=s3cret&x=1' });
    const text = JSON.stringify(shown);
    assert.doesNotMatch(text, /s3cret|user:pw|pw@/);
    assert.equal((shown.browser as Record<string, unknown>).remoteEndpoint, 'wss://browsers.example/chromium (credentials and query removed)');
    assert.equal((shown.browser as Record<string, unknown>).executablePath, undefined, 'a remote browser runs no local executable');
    const plain = describeSettings({ ...settings, browserEndpoint: 'ws://127.0.0.1:3000/pw' });
    assert.equal((plain.browser as Record<string, unknown>).remoteEndpoint, 'ws://127.0.0.1:3000/pw');
  });
});
