import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { connectClient } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { descendants, isAlive, survivors, waitUntil } from '../helpers/processes.ts';

// deploy/install.sh for real, as root, on this Debian bookworm machine: it installs packages
// (only missing ones), creates the browser-fleet system user (which stays), installs the
// production dependencies into a copy of the app made from deploy/Dockerfile's COPY lines, and
// the server then runs from that copy as that user, started with the image's ENTRYPOINT, CMD and
// ENV, probed by its HEALTHCHECK. What the image adds beyond this (its base image, Docker
// itself) is not tested here: the image is not built.

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const USER = 'browser-fleet';
const PACKAGES = ['chromium-headless-shell', 'tini', 'ca-certificates'];
const TOKEN = 'install-test-token-0123456789';

/** What the test replays of deploy/Dockerfile. */
interface Image {
  workdir: string;
  copies: { sources: string[]; dest: string }[];
  run: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
}

/** Reads deploy/Dockerfile's instructions (exec forms, unquoted ENV values, as the file has them). */
function readDockerfile(): Image {
  const text = readFileSync(join(REPO, 'deploy/Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const image: Image = { workdir: '/', copies: [], run: '', env: {}, entrypoint: [], cmd: [], healthcheck: [] };
  for (const line of text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const [instruction, ...words] = line.split(/\s+/);
    const rest = line.slice(instruction.length).trim();
    if (instruction === 'WORKDIR') image.workdir = rest;
    if (instruction === 'COPY') image.copies.push({ sources: words.slice(0, -1), dest: words[words.length - 1] });
    if (instruction === 'RUN') image.run = rest;
    if (instruction === 'ENV') for (const pair of words) image.env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
    if (instruction === 'ENTRYPOINT') image.entrypoint = JSON.parse(rest) as string[];
    if (instruction === 'CMD') image.cmd = JSON.parse(rest) as string[];
    if (instruction === 'HEALTHCHECK') image.healthcheck = JSON.parse(rest.slice(rest.indexOf('CMD ') + 4)) as string[];
  }
  return image;
}

/** The image's COPY lines with Docker's rules (a directory's contents go into the destination), into `app` for WORKDIR. */
function copyLikeDocker(image: Image, app: string): void {
  for (const { sources, dest } of image.copies) {
    const target = join(app, isAbsolute(dest) ? relative(image.workdir, dest) : dest);
    for (const source of sources) {
      const from = join(REPO, source);
      if (statSync(from).isDirectory()) cpSync(from, target, { recursive: true });
      else {
        const file = dest.endsWith('/') ? join(target, basename(source)) : target;
        mkdirSync(dirname(file), { recursive: true });
        cpSync(from, file);
      }
    }
  }
}

/** The test's environment without what `npm test` adds (npm_config_*), as a root shell has it. */
const shellEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));

function runScript(args: string[], env: NodeJS.ProcessEnv = shellEnv) {
  const result = spawnSync('sh', [join(app, 'deploy/install.sh'), ...args], { env, encoding: 'utf8', timeout: 170_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, all: `${result.stdout}\n${result.stderr}` };
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))!;
  return Number(line.split(/\s+/)[1]);
}

function idOf(flag: '-u' | '-g'): number {
  return Number(spawnSync('id', [flag, USER], { encoding: 'utf8' }).stdout.trim());
}

const image = readDockerfile();
let root: string;
let app: string;
let output: string;

describe('deploy/install.sh', () => {
  before(() => {
    if (process.getuid?.() !== 0) {
      throw new Error('test/e2e/install-script.test.ts runs deploy/install.sh for real (apt-get, useradd) and must run as root, as CI does');
    }
    root = mkdtempSync(join(tmpdir(), 'bf-install-'));
    // The server's user must reach the app copy and the output directory below this one.
    chmodSync(root, 0o755);
    app = join(root, 'app');
    output = join(root, 'var', 'sessions');
    assert.match(image.run, /^sh deploy\/install\.sh\b/, 'the image\'s one RUN is deploy/install.sh');
    copyLikeDocker(image, app);
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('refuses a Node older than 20 with a clear message, before changing anything', () => {
    const fakeBin = join(root, 'old-node');
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\necho v18.19.0\n', { mode: 0o755 });
    const untouched = join(root, 'never-made');
    const result = runScript(['--app-dir', app, '--output-dir', untouched], { ...shellEnv, PATH: `${fakeBin}:${process.env.PATH}` });
    assert.equal(result.status, 1, result.all);
    assert.match(result.stderr, /is v18\.19\.0: browser-fleet needs Node\.js 20 or later/);
    assert.match(result.stderr, /node:20-bookworm-slim/, 'it says what to use instead');
    assert.doesNotMatch(result.stdout, /packages:|user:|npm:/, 'no step ran');
    assert.equal(existsSync(untouched), false);
  });

  test('installs the packages, the user, the production dependencies and a private output directory; a second run changes nothing', () => {
    const first = runScript(['--app-dir', app, '--output-dir', output]);
    assert.equal(first.status, 0, first.all);
    for (const name of PACKAGES) {
      const status = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status}', name], { encoding: 'utf8' }).stdout;
      assert.equal(status, 'installed', `${name} is installed`);
    }
    assert.ok(existsSync(image.entrypoint[0]), `the image's entrypoint ${image.entrypoint[0]} exists`);
    const [, , uid, gid, , home, shell] = spawnSync('getent', ['passwd', USER], { encoding: 'utf8' }).stdout.trim().split(':');
    assert.deepEqual([home, shell], ['/var/lib/browser-fleet', '/usr/sbin/nologin']);
    assert.ok(Number(uid) > 0 && Number(uid) === idOf('-u') && Number(gid) === idOf('-g'));
    assert.equal(statSync(home).uid, Number(uid), 'the home is the user\'s');

    const out = statSync(output);
    assert.deepEqual([out.uid, out.gid, out.mode & 0o777], [Number(uid), Number(gid), 0o700], 'the output directory is the user\'s alone');
    assert.ok(existsSync(join(app, 'node_modules/playwright-core/package.json')), 'production dependencies are installed');
    assert.ok(existsSync(join(app, 'node_modules/tsx/package.json')), 'tsx (the server runs from source) is a production dependency');
    assert.equal(existsSync(join(app, 'node_modules/typescript')), false, 'development dependencies are not');
    assert.equal(statSync(join(app, 'node_modules/.cache/browser-fleet')).uid, Number(uid), 'the bundle cache is the user\'s');
    assert.equal(statSync(join(app, 'bin/browser-fleet.js')).uid, 0, 'the app itself stays root\'s');

    const second = runScript(['--app-dir', app, '--output-dir', output]);
    assert.equal(second.status, 0, second.all);
    assert.match(second.stdout, /packages: .* already installed/);
    assert.match(second.stdout, new RegExp(`user: ${USER} exists \\(uid ${uid}\\)`));
    assert.equal(idOf('-u'), Number(uid));
    const again = statSync(output);
    assert.deepEqual([again.ino, again.uid, again.mode & 0o777], [out.ino, out.uid, 0o700], 'the same directory, as it was');

    // Video needs ffmpeg, which only --with-video adds (npm test's pretest has installed it already).
    assert.doesNotMatch(second.stdout, /ffmpeg/);
    const video = runScript(['--app-dir', app, '--output-dir', output, '--with-video']);
    assert.equal(video.status, 0, video.all);
    assert.match(video.stdout, /packages: chromium-headless-shell tini ca-certificates ffmpeg already installed/);
  });

  test('refuses a --uid other than the existing user\'s, before changing anything', () => {
    const untouched = join(root, 'never-made-either');
    const other = String(idOf('-u') + 1);
    const result = runScript(['--app-dir', app, '--output-dir', untouched, '--uid', other]);
    assert.equal(result.status, 1, result.all);
    assert.match(result.stderr, new RegExp(`user ${USER} exists with uid ${idOf('-u')}, not ${other}`));
    assert.equal(existsSync(untouched), false);
  });

  describe('the server from the installed copy, as the image starts it', () => {
    let pages: PageServer;
    let server: ChildProcess | undefined;
    let exited: Promise<number | null>;
    let tree: number[] = [];
    const logs: Record<string, unknown>[] = [];

    before(async () => {
      pages = await startPageServer();
      pages.route('/page', '<!doctype html><title>Installed</title><p>served by the installed copy</p>');
    });
    after(async () => {
      if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
      for (const pid of tree) if (isAlive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      await pages?.close();
    });

    test('runs as browser-fleet under tini: /healthz, a session that navigates a local page in a sandboxed Chromium, exit 0 on SIGTERM', async () => {
      const uid = idOf('-u');
      const gid = idOf('-g');
      // The server's TMPDIR (workers' profiles, tsx's cache) inside the test's directory, so it goes with it.
      const temp = join(root, 'tmp');
      mkdirSync(temp, { mode: 0o700 });
      chownSync(temp, uid, gid);
      const tokens = join(root, 'tokens');
      writeFileSync(tokens, `# one token per line\n${TOKEN}\n`, { mode: 0o600 });
      chownSync(tokens, uid, gid);

      // ENTRYPOINT and CMD of the image; tini -s stands in for PID 1 (it reaps as a subreaper), and
      // the flags after CMD keep the test on loopback and a free port.
      const [tini, ...tiniArgs] = image.entrypoint;
      const command = [tini, '-s', ...tiniArgs, ...image.cmd, '--host', '127.0.0.1', '--port', '0', '--prewarm', '0', '--auth-tokens-file', tokens];
      const env = { PATH: process.env.PATH, ...image.env, BROWSER_FLEET_OUTPUT_DIR: output, TMPDIR: temp };
      server = spawn('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', ...command], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const child = server;
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'browser-fleet listening') resolve(entry.url as string);
        });
        void exited.then((code) => reject(new Error(`the server exited (${code}) before listening: ${stderr}`)));
      });

      const node = descendants(child.pid!)[0];
      assert.equal(uidOf(child.pid!), uid, 'tini runs as the user');
      assert.equal(uidOf(node), uid, 'the server runs as the user');
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200, '/healthz needs no token');
      assert.equal((await fetch(`${url}/sessions`)).status, 401, 'everything else needs one (from the tokens file)');
      const healthcheck = () => spawnSync(image.healthcheck[0], image.healthcheck.slice(1), { env: { PATH: process.env.PATH, BROWSER_FLEET_PORT: new URL(url).port }, timeout: 10_000 }).status;
      assert.equal(healthcheck(), 0, 'the image\'s HEALTHCHECK passes');

      const client = await connectClient(url, { token: TOKEN });
      const navigated = await client.text('browser_navigate', { url: `${pages.url}/page` });
      assert.match(navigated, /Installed/);
      const { sessions } = await (await fetch(`${url}/sessions`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json() as
        { sessions: { browser: { workerPid: number; browserPid: number } | null }[] };
      const browser = sessions[0]?.browser;
      assert.ok(browser, 'the session has its browser');
      tree = [child.pid!, ...descendants(child.pid!)];
      assert.equal(uidOf(browser.workerPid), uid, 'the worker runs as the user');
      assert.equal(uidOf(browser.browserPid), uid, 'Chromium runs as the user');
      const cmdline = readFileSync(`/proc/${browser.browserPid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline[0].endsWith('chromium-headless-shell'), `Debian's headless shell: ${cmdline[0]}`);
      assert.ok(!cmdline.includes('--no-sandbox'), 'Chromium\'s sandbox is on for a non-root user');
      const sessionDirs = readdirSync(output);
      assert.ok(sessionDirs.length > 0 && sessionDirs.every((dir) => statSync(join(output, dir)).uid === uid), 'session directories are the user\'s');
      assert.ok(readdirSync(join(app, 'node_modules/.cache/browser-fleet')).some((f) => /^worker-.*\.cjs$/.test(f)), 'the worker bundle was written');
      assert.ok(!logs.some((entry) => /could not (build|bundle)/.test(String(entry.msg))), 'no fallback to tsx for the workers');
      await client.close();

      child.kill('SIGTERM');
      assert.equal(await exited, 0, `tini passes SIGTERM on and the server's exit code back: ${stderr}`);
      assert.equal(healthcheck(), 1, 'and fails once the server is gone');
      assert.ok(await waitUntil(() => survivors(tree).length === 0, 10_000), `nothing of the server is left: ${survivors(tree)}`);
      assert.ok(logs.some((entry) => entry.msg === 'shut down'));
    });
  });
});
