import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { findSender, SystemdNotifier, systemdSettingsFromEnv, type SenderName } from '../../src/ops/systemd-notify.ts';
import { startNotifySocket, type NotifySocket } from '../helpers/notify-socket.ts';

const quiet = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* hold the event loop */ }
}

test('systemd settings come from NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID', () => {
  assert.equal(systemdSettingsFromEnv({}), undefined);
  assert.deepEqual(systemdSettingsFromEnv({ NOTIFY_SOCKET: '@x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42', PATH: '/usr/bin' }),
    { notifySocket: '@x', watchdogUsec: 30000000, watchdogPid: 42, searchPath: '/usr/bin' });
  assert.equal(systemdSettingsFromEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: 'soon' })?.watchdogUsec, undefined);
});

for (const via of ['systemd-notify', 'python3'] as SenderName[]) {
  describe(`systemd notify through ${via}, on a real datagram socket`, { skip: findSender(undefined, [via]) ? false : `${via} is not installed` }, () => {
    const sender = findSender(undefined, [via]);
    let pathSocket: NotifySocket;
    let abstractSocket: NotifySocket;

    before(async () => {
      [pathSocket, abstractSocket] = await Promise.all([startNotifySocket(), startNotifySocket({ abstract: true })]);
    });
    after(async () => {
      await pathSocket?.close();
      await abstractSocket?.close();
    });

    test('READY=1, then WATCHDOG=1 at half WATCHDOG_USEC, then STOPPING=1 arrive in order', async () => {
      const notifier = new SystemdNotifier({ notifySocket: pathSocket.address, watchdogUsec: 200_000 }, quiet, sender);
      try {
        await notifier.ready('listening on test');
        const ready = await pathSocket.waitFor('READY=1');
        assert.ok(ready.lines.includes('STATUS=listening on test'));
        const from = pathSocket.received.indexOf(ready);
        await pathSocket.waitFor('WATCHDOG=1', { from });
        await notifier.stopping();
        const stopping = await pathSocket.waitFor('STOPPING=1', { from });
        assert.ok(pathSocket.received.indexOf(stopping) > from);
      } finally {
        await notifier.close();
      }
    });

    test('an abstract socket name (@name) works too', async () => {
      const notifier = new SystemdNotifier({ notifySocket: abstractSocket.address }, quiet, sender);
      await notifier.ready('abstract');
      await abstractSocket.waitFor('READY=1');
      await notifier.stopping();
      await abstractSocket.waitFor('STOPPING=1');
      await notifier.close();
    });
  });
}

describe('systemd watchdog', () => {
  let socket: NotifySocket;
  before(async () => { socket = await startNotifySocket(); });
  after(async () => { await socket?.close(); });

  test('no WATCHDOG=1 goes out while the event loop is blocked, and pings resume after', async () => {
    const notifier = new SystemdNotifier({ notifySocket: socket.address, watchdogUsec: 100_000 }, quiet);
    try {
      await notifier.ready('watchdog');
      await socket.waitFor('WATCHDOG=1');
      const start = Date.now();
      busyWait(1200);
      const end = Date.now();
      const from = socket.received.length;
      await socket.waitFor('WATCHDOG=1', { from });
      // Unblocked, the timer would have sent ~24 pings here. At most one, already on its way when
      // the loop blocked, may land inside the window (pings never overlap).
      const during = socket.received.filter((d) => d.lines.includes('WATCHDOG=1') && d.at > start && d.at < end);
      assert.ok(during.length <= 1, `${during.length} pings arrived while the loop was blocked`);
    } finally {
      await notifier.close();
    }
  });

  test('WATCHDOG_PID of another process means no pings from this one', async () => {
    const notifier = new SystemdNotifier({ notifySocket: socket.address, watchdogUsec: 100_000, watchdogPid: process.pid + 1 }, quiet);
    const from = socket.received.length;
    await notifier.ready('not mine');
    await socket.waitFor('READY=1', { from });
    await new Promise((resolve) => setTimeout(resolve, 300)); // several ping periods: proving an absence needs a wait
    await notifier.close();
    assert.equal(socket.received.slice(from).filter((d) => d.lines.includes('WATCHDOG=1')).length, 0);
  });
});
