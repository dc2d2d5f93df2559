import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectClient, resultText, type TestClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startHttpProxy, startSocksProxy, type RecordingProxy } from '../helpers/upstream-proxies.ts';

// --proxy-server and --proxy-bypass (issue #14): page traffic reaches an upstream proxy, directly
// from Chromium when nothing is filtered, and through the egress proxy, which still vets every
// connection first, when --allowed-origins, --blocked-origins or --block-private-networks are set.

async function navigate(client: TestClient, url: string): Promise<string> {
  const result = await client.call('browser_navigate', { url });
  assert.notEqual(result.isError, true, resultText(result));
  return resultText(result);
}

/** One server with `config`, one client, run `body`, then stop both. */
async function withServer(config: Parameters<typeof startTestServer>[0], body: (client: TestClient) => Promise<void>): Promise<void> {
  const server: TestServer = await startTestServer(config);
  const client = await connectClient(server.url);
  try {
    await body(client);
  } finally {
    await client.close();
    await server.close();
  }
}

describe('--proxy-server', () => {
  let pages: PageServer;
  let proxy: RecordingProxy;
  let socks: RecordingProxy;

  before(async () => {
    pages = await startPageServer();
    pages.route('/plain', '<!doctype html><title>Plain</title><p>through the proxy</p>');
    proxy = await startHttpProxy();
    socks = await startSocksProxy();
  });

  after(async () => {
    await proxy?.close();
    await socks?.close();
    await pages?.close();
  });

  test('without filtering, Chromium sends page traffic to the proxy itself, with its credentials when asked', async () => {
    const guarded = await startHttpProxy({ challenge: true });
    try {
      await withServer({ proxyServer: `http://alice:pa%20ss@127.0.0.1:${guarded.port}` }, async (client) => {
        const text = await navigate(client, `${pages.url}/plain`);
        assert.match(text, /through the proxy/);
      });
      assert.ok(guarded.seen.includes(`${pages.url}/plain`), JSON.stringify(guarded.seen));
      assert.ok(guarded.credentials.includes(`Basic ${Buffer.from('alice:pa ss').toString('base64')}`), JSON.stringify(guarded.credentials));
    } finally {
      await guarded.close();
    }
  });

  test('with filtering, the egress proxy vets each connection and chains what it allows to the proxy', async () => {
    proxy.seen.length = 0;
    proxy.credentials.length = 0;
    await withServer({ proxyServer: `http://carol:secret@127.0.0.1:${proxy.port}`, blockedOrigins: ['http://blocked.invalid'] }, async (client) => {
      assert.match(await navigate(client, `${pages.url}/plain`), /through the proxy/);
      const blocked = await client.call('browser_navigate', { url: 'http://blocked.invalid/secret' });
      assert.match(resultText(blocked), /blocked/i);
    });
    assert.ok(proxy.seen.includes(`${pages.url}/plain`), JSON.stringify(proxy.seen));
    assert.ok(proxy.seen.every((target) => !target.includes('blocked.invalid')), 'a refused origin never reaches the upstream proxy');
    assert.ok(proxy.credentials.includes(`Basic ${Buffer.from('carol:secret').toString('base64')}`), 'the chain sends the proxy\'s credentials');
  });

  test('with filtering, hosts on --proxy-bypass go direct, the others through the proxy', async () => {
    proxy.seen.length = 0;
    await withServer({ proxyServer: proxy.url, proxyBypass: 'localhost,.example.invalid', blockPrivateNetworks: false, blockedOrigins: ['http://blocked.invalid'] }, async (client) => {
      assert.match(await navigate(client, `http://localhost:${pages.port}/plain`), /through the proxy/);
      assert.match(await navigate(client, `${pages.url}/plain`), /through the proxy/);
    });
    assert.ok(proxy.seen.includes(`${pages.url}/plain`), JSON.stringify(proxy.seen));
    assert.ok(proxy.seen.every((target) => !target.includes('localhost')), JSON.stringify(proxy.seen));
  });

  test('with filtering, a socks5:// proxy gets the vetted connections with its user name and password', async () => {
    socks.seen.length = 0;
    socks.credentials.length = 0;
    await withServer({ proxyServer: `socks5://bob:hunter2@127.0.0.1:${socks.port}`, blockedOrigins: ['http://blocked.invalid'] }, async (client) => {
      assert.match(await navigate(client, `${pages.url}/plain`), /through the proxy/);
    });
    assert.ok(socks.seen.includes(`127.0.0.1:${pages.port}`), JSON.stringify(socks.seen));
    assert.ok(socks.credentials.includes('bob:hunter2'), JSON.stringify(socks.credentials));
  });

  test('a proxy that is down makes navigation fail with a clear error, not a hang', async () => {
    const dead = await startHttpProxy();
    await dead.close();
    await withServer({ proxyServer: dead.url, blockedOrigins: ['http://blocked.invalid'], timeoutNavigation: 10_000 }, async (client) => {
      const started = Date.now();
      const result = await client.call('browser_navigate', { url: `${pages.url}/plain` });
      assert.ok(Date.now() - started < 10_000, 'answered before the navigation deadline');
      assert.match(resultText(result), /502|ERR_|proxy/i);
    });
  });
});
