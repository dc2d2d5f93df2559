import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A PLAYWRIGHT_BROWSERS_PATH for the workers in which Playwright finds Debian's ffmpeg where it
 * would have put its own (it cannot download it here): `ffmpeg-<revision>/ffmpeg-linux`, a link.
 * Undefined when no ffmpeg is on the PATH. Reads playwright-core's browsers.json as a file: the
 * front never loads Playwright itself.
 */
export function playwrightFfmpegDir(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' });
  const ffmpeg = found.status === 0 ? found.stdout.trim() : '';
  if (!ffmpeg) return undefined;
  const core = dirname(createRequire(import.meta.url).resolve('playwright-core/package.json'));
  const { browsers } = JSON.parse(readFileSync(join(core, 'browsers.json'), 'utf8')) as { browsers: { name: string; revision: string }[] };
  const revision = browsers.find((b) => b.name === 'ffmpeg')?.revision;
  if (!revision) return undefined;
  const root = join(tmpdir(), `browser-fleet-playwright-ffmpeg-${revision}`);
  const dir = join(root, `ffmpeg-${revision}`);
  const link = join(dir, 'ffmpeg-linux');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (existsSync(link) && readlinkSync(link) !== ffmpeg) rmSync(link);
  if (!existsSync(link)) symlinkSync(ffmpeg, link);
  return root;
}
