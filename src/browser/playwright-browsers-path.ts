import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// Playwright cannot download its own browsers or ffmpeg here. Where it needs one it looks in
// PLAYWRIGHT_BROWSERS_PATH, at `<name>-<revision>/<path>`; these lay out such a directory with a
// link to the Debian program instead. Reads playwright-core's browsers.json as a file: the front
// never loads Playwright itself.

/** What Playwright expects of each program: its directory name and the executable inside. */
const LAYOUT = {
  ffmpeg: { dir: 'ffmpeg', executable: ['ffmpeg-linux'] },
  'chromium-headless-shell': { dir: 'chromium_headless_shell', executable: ['chrome-headless-shell-linux64', 'chrome-headless-shell'] },
} as const;

/**
 * A PLAYWRIGHT_BROWSERS_PATH in which Playwright's `name` is a link to `target` (made once under
 * the temp directory, reused, the link renewed if it pointed elsewhere); undefined when this
 * playwright-core names no revision for it.
 */
export function playwrightBrowsersPath(name: keyof typeof LAYOUT, target: string): string | undefined {
  const core = dirname(createRequire(import.meta.url).resolve('playwright-core/package.json'));
  const { browsers } = JSON.parse(readFileSync(join(core, 'browsers.json'), 'utf8')) as { browsers: { name: string; revision: string }[] };
  const revision = browsers.find((b) => b.name === name)?.revision;
  if (!revision) return undefined;
  const { dir, executable } = LAYOUT[name];
  const root = join(tmpdir(), `browser-fleet-playwright-${name}-${revision}`);
  const link = join(root, `${dir}-${revision}`, ...executable);
  mkdirSync(dirname(link), { recursive: true, mode: 0o755 });
  if (existsSync(link) && readlinkSync(link) !== target) rmSync(link);
  if (!existsSync(link)) symlinkSync(target, link);
  return root;
}

/** Whether a server with these options films its browsers, so needs ffmpeg: --record video|both, or browser_start_video (--caps devtools). */
export function recordsVideo(config: { record: string; caps: readonly string[] }): boolean {
  return config.record === 'video' || config.record === 'both' || config.caps.includes('devtools');
}

/** The workers' PLAYWRIGHT_BROWSERS_PATH for video: Debian's ffmpeg; undefined when no ffmpeg is on the PATH. */
export function playwrightFfmpegDir(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' });
  const ffmpeg = found.status === 0 ? found.stdout.trim() : '';
  return ffmpeg ? playwrightBrowsersPath('ffmpeg', ffmpeg) : undefined;
}
