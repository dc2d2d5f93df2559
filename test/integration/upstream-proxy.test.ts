import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Socket } from 'node:net';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { startHttpProxy, startSocksProxy, type RecordingProxy } from '../helpers/upstream-proxies.ts';
import { bypassMatcher, parseUpstream, playwrightProxy, requestVia, tunnel } from '../../workers/upstream-proxy.ts';

/** Sends an HTTP/1.0 GET (no chunked reply) over `socket` and returns the body. */
function getOver(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('end', () => resolve(data.split('\r\n\r\n').slice(1).join('\r\n\r\n')));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.0\r\nHost: example\r\n\r\n`);
  });
}

describe('the egress proxy\'s upstream chaining (workers/upstream-proxy.ts)', () => {
  let pages: PageServer;
  let http: RecordingProxy;
  let socks: RecordingProxy;

  before(async () => {
    pages = await startPageServer();
    pages.route('/hello', 'hello through', 'text/plain');
    http = await startHttpProxy();
    socks = await startSocksProxy();
  });

  after(async () => {
    await http?.close();
    await socks?.close();
    await pages?.close();
  });

  test('bypass rules follow Chromium\'s list: hosts, subdomains, ports, * and <local>', () => {
    const bypass = bypassMatcher('.example.com, internal.test:8080;*.corp, <local>');
    assert.equal(bypass('example.com', 80), true);
    assert.equal(bypass('a.b.example.com', 443), true);
    assert.equal(bypass('notexample.com', 80), false);
    assert.equal(bypass('internal.test', 8080), true);
    assert.equal(bypass('internal.test', 80), false, 'the port must match');
    assert.equal(bypass('x.corp', 80), true);
    assert.equal(bypass('intranet', 80), true, '<local>: a name without a dot');
    assert.equal(bypass('127.0.0.1', 80), false);
    assert.equal(bypassMatcher('*')('anything.test', 1), true);
    assert.equal(bypassMatcher(undefined)('example.com', 80), false);
  });

  test('parses proxies and hands Chromium its credentials apart', () => {
    assert.deepEqual(parseUpstream('http://u%40x:p%3Aw@proxy.test:3128'), { protocol: 'http:', host: 'proxy.test', port: 3128, username: 'u@x', password: 'p:w' });
    assert.equal(parseUpstream('socks5://proxy.test').port, 1080);
    assert.throws(() => parseUpstream('socks4://proxy.test:1080'), /cannot be chained/);
    assert.deepEqual(playwrightProxy('http://u:p@proxy.test:3128', '.local'), { server: 'http://proxy.test:3128', bypass: '.local', username: 'u', password: 'p' });
  });

  test('a CONNECT tunnel through an HTTP proxy carries the bytes', async () => {
    const socket = await tunnel(parseUpstream(`http://user:pw@127.0.0.1:${http.port}`), '127.0.0.1', pages.port);
    assert.equal(await getOver(socket, '/hello'), 'hello through');
    assert.ok(http.seen.includes(`CONNECT 127.0.0.1:${pages.port}`));
    assert.ok(http.credentials.includes(`Basic ${Buffer.from('user:pw').toString('base64')}`));
  });

  test('a SOCKS5 tunnel, with and without a password, carries the bytes', async () => {
    for (const url of [`socks5://127.0.0.1:${socks.port}`, `socks5://bob:secret@127.0.0.1:${socks.port}`]) {
      const socket = await tunnel(parseUpstream(url), '127.0.0.1', pages.port);
      assert.equal(await getOver(socket, '/hello'), 'hello through');
    }
    assert.deepEqual(socks.credentials, ['bob:secret']);
  });

  test('plain requests go in absolute form to an HTTP proxy and over a tunnel through SOCKS5', async () => {
    for (const proxy of [http, socks]) {
      const body = await new Promise<string>((resolve, reject) => {
        const request = requestVia(parseUpstream(proxy.url), new URL(`${pages.url}/hello`), '127.0.0.1', 'GET', { host: `127.0.0.1:${pages.port}` });
        request.on('response', (reply) => {
          let data = '';
          reply.on('data', (chunk) => { data += chunk; });
          reply.on('end', () => resolve(data));
        });
        request.on('error', reject);
        request.end();
      });
      assert.equal(body, 'hello through', proxy.url);
    }
    assert.ok(http.seen.includes(`${pages.url}/hello`));
  });

  test('a proxy that refuses or is gone is an error, not a hang', async () => {
    const gone = await startHttpProxy();
    await gone.close();
    await assert.rejects(tunnel(parseUpstream(gone.url), '127.0.0.1', pages.port), /ECONNREFUSED/);
    const guarded = await startHttpProxy({ challenge: true });
    try {
      // The test proxy challenges plain requests only; a CONNECT to a closed port fails upstream.
      await assert.rejects(tunnel(parseUpstream(guarded.url), '127.0.0.1', 1), /./);
    } finally {
      await guarded.close();
    }
  });
});
