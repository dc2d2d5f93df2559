// Makes sure a Chromium is there before `npm start` / `npm test`; installs Debian's
// chromium-headless-shell when running as root on a machine with apt-get. `--also haproxy,ffmpeg`
// (the test run) does the same for Debian's haproxy and ffmpeg.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findBrowser } from '../src/browser/find-browser.ts';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i !== -1) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

function run(cmd: string, args: string[]): void {
  console.error(`ensure-browser: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

const executablePath = argValue('--executable-path') ?? process.env.BROWSER_FLEET_EXECUTABLE_PATH;
let found = findBrowser({ executablePath });
if (!found) {
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.error('ensure-browser: no Chromium found; installing Debian\'s chromium-headless-shell');
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium-headless-shell']);
    found = findBrowser({ executablePath });
  }
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

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
// What else a run needs, as Debian packages named like their commands: the test run's HAProxy
// suite runs the real haproxy, and video recording (--record video) needs ffmpeg.
const missing = (argValue('--also') ?? '').split(',').map((name) => name.trim()).filter((name) => ['haproxy', 'ffmpeg'].includes(name) && !onPath(name));
if (missing.length > 0) {
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.error(`ensure-browser: ${missing.join(', ')} not found; installing Debian's`);
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
  } else {
    console.error(`ensure-browser: ${missing.join(', ')} not found: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
}
