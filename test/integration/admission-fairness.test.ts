import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectClient, resultText } from '../helpers/client.ts';
import { waitUntil } from '../helpers/processes.ts';
import { startFixtureServer } from './fixture-server.ts';

// Found by the chaos run (scripts/chaos.ts): at the cap, with two tenants whose sessions churn,
// every browser one of them gave back was recycled straight to a later waiter of the same tenant,
// so a session of a third tenant that had waited longest never got one and failed with
// BROWSER_LIMIT after --queue-timeout while the queue kept serving calls that came after it.
test('at the cap the call that has waited longest gets the next browser, even when a later waiter of the releasing token could take it recycled', { timeout: 30_000 }, async () => {
  const server = await startFixtureServer({ authToken: ['token-a', 'token-b'], maxBrowsers: 1, queueTimeout: 15_000, reclaimIdleAfter: 0, prewarm: 0, prewarmMax: 0 });
  const holder = await connectClient(server.url, { token: 'token-a' });
  const first = await connectClient(server.url, { token: 'token-b' });
  const later = await connectClient(server.url, { token: 'token-a' });
  try {
    await holder.call('browser_snapshot');
    const firstCall = first.call('browser_snapshot');
    assert.ok(await waitUntil(() => server.supervisor.queued === 1), 'token-b\'s call waits');
    const laterCall = later.call('browser_snapshot');
    assert.ok(await waitUntil(() => server.supervisor.queued === 2), 'then token-a\'s second session\'s call waits behind it');
    await holder.close();
    const served = await Promise.race([firstCall.then((result) => ['first', resultText(result)]), laterCall.then((result) => ['later', resultText(result)])]);
    assert.deepEqual(served.slice(0, 1), ['first'], `the call that waited first was served first; got ${served.join(': ')}`);
    assert.match(served[1], /ok from/);
    assert.equal(server.supervisor.queued, 1, 'the later call still waits, its turn next');
    await first.close();
    assert.match(resultText(await laterCall), /ok from/, 'and it is served once the browser is free again');
  } finally {
    await Promise.all([holder.close(), first.close(), later.close()]);
    await server.close();
  }
});
