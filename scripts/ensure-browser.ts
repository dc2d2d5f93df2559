// Makes sure a Chromium is there before `npm start` / `npm test`; installs Debian's
// chromium-headless-shell when running as root on a machine with apt-get. `--also haproxy,ffmpeg`
// (the test run) does the same for Debian's haproxy and ffmpeg. `npm start` calls `ensureInstalled`
// itself (scripts/start.ts), with what the server's own options need.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { findBrowser } from '../src/browser/find-browser.ts';
import { recordsVideo } from '../src/browser/playwright-browsers-path.ts';
import type { Config } from '../src/config.ts';

/** Commands a run may need besides Chromium, as Debian packages named like them. */
export type Extra = 'haproxy' | 'ffmpeg';
const EXTRAS: readonly Extra[] = ['haproxy', 'ffmpeg'];

/** What a server started with `config` needs besides Chromium: ffmpeg when its browsers record video. */
export function extrasFor(config: Pick<Config, 'record' | 'caps'>): Extra[] {
  return recordsVideo(config) ? ['ffmpeg'] : [];
}

function run(cmd: string, args: string[]): void {
  console.error(`ensure-browser: ${cmd} ${args.join(' ')}`);
  // Its output goes to stderr, as ours does: under `npm start -- --stdio` stdout is MCP's alone.
  const r = spawnSync(cmd, args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

const canInstall = () => process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/**
 * A Chromium (at `executablePath` when given) and the `also` commands, installed with apt-get
 * where missing and possible. Exits 1 with what to install when something is still missing.
 */
export function ensureInstalled(options: { executablePath?: string; also?: readonly Extra[] } = {}): void {
  const { executablePath } = options;
  let found = findBrowser({ executablePath });
  if (!found && canInstall()) {
    console.error('ensure-browser: no Chromium found; installing Debian\'s chromium-headless-shell');
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium-headless-shell']);
    found = findBrowser({ executablePath });
  }
  if (!found) {
    console.error([
      'ensure-browser: no Chromium found.',
      'Install one of these, then run the command again:',
      '  sudo apt-get update && sudo apt-get install -y chromium-headless-shell   (Debian/Ubuntu)',
      '  or pass --executable-path /path/to/chromium (or set BROWSER_FLEET_EXECUTABLE_PATH).',
    ].join('\n'));
    process.exit(1);
  }
  console.error(`ensure-browser: using ${found.path} (${found.source})`);

  // The test run's HAProxy suite runs the real haproxy; video (--record video, browser_start_video) needs ffmpeg.
  const wanted = options.also ?? [];
  const missing = wanted.filter((name) => !onPath(name));
  for (const name of wanted.filter((name) => !missing.includes(name))) console.error(`ensure-browser: ${name} is installed`);
  if (missing.length === 0) return;
  if (!canInstall()) {
    console.error(`ensure-browser: ${missing.join(', ')} not found: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  console.error(`ensure-browser: ${missing.join(', ')} not found; installing Debian's`);
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i !== -1) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const also = (argValue('--also') ?? '').split(',').map((name) => name.trim()).filter((name): name is Extra => (EXTRAS as readonly string[]).includes(name));
  ensureInstalled({ executablePath: argValue('--executable-path') ?? process.env.BROWSER_FLEET_EXECUTABLE_PATH, also });
}
