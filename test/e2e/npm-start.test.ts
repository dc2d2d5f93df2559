import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { extrasFor } from '../../scripts/ensure-browser.ts';
import { startCli } from '../helpers/cli.ts';
import { connectClient } from '../helpers/client.ts';

// `npm start [-- options]` runs scripts/start.ts: the install step with what those options need,
// then the server with them (npm passes the options to no prestart script, so a prestart step
// could never see --record video). ffmpeg is on this machine (the test run's pretest installs
// it), so the install step reports it as installed instead of running apt-get.

const START = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url));

describe('npm start', () => {
  test('video recording, by --record or by the devtools capability, is what needs ffmpeg', () => {
    assert.deepEqual(extrasFor({ record: 'off', caps: [] }), []);
    assert.deepEqual(extrasFor({ record: 'trace', caps: ['vision'] }), []);
    assert.deepEqual(extrasFor({ record: 'video', caps: [] }), ['ffmpeg']);
    assert.deepEqual(extrasFor({ record: 'both', caps: [] }), ['ffmpeg']);
    assert.deepEqual(extrasFor({ record: 'off', caps: ['devtools'] }), ['ffmpeg']);
  });

  test('checks Chromium, then serves with the options given; ffmpeg only when they record video', async () => {
    const plain = await startCli(['--prewarm', '0'], { viaNpmStart: true });
    try {
      assert.match(plain.stderr(), /ensure-browser: using \S+/);
      assert.doesNotMatch(plain.stderr(), /ffmpeg/);
      const client = await connectClient(plain.url);
      assert.ok((await client.client.listTools()).tools.some((tool) => tool.name === 'browser_navigate'));
      assert.match(await client.text('browser_navigate', { url: 'data:text/html,<title>Started by npm start</title>' }), /Page Title: Started by npm start/, 'its workers start and browse');
      await client.close();
    } finally {
      await plain.stop();
    }
    assert.equal((await plain.exited).code, 0, 'SIGTERM ends it cleanly');

    const video = await startCli(['--prewarm', '0', '--record', 'video'], { viaNpmStart: true });
    try {
      assert.match(video.stderr(), /ensure-browser: ffmpeg is installed/);
      assert.equal(video.logs.find((entry) => entry.msg === 'browser-fleet listening')?.msg, 'browser-fleet listening');
      assert.ok(!video.logs.some((entry) => /needs ffmpeg/.test(String(entry.msg))), 'the server found the ffmpeg it needs');
    } finally {
      await video.stop();
    }
  });

  test('a bad option is the server\'s usage error, and --help is printed once', () => {
    const bad = spawnSync(process.execPath, ['--import', 'tsx', START, '--max-browsers', 'many'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /browser-fleet: .*max-browsers/);
    assert.doesNotMatch(bad.stderr, /ensure-browser/, 'nothing is installed for options that do not parse');

    const help = spawnSync(process.execPath, ['--import', 'tsx', START, '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0);
    assert.equal(help.stdout.match(/Usage: browser-fleet/g)?.length, 1, help.stdout.slice(0, 300));
  });
});
