import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { descendants, isAlive, waitUntil } from './processes.ts';

const CLI = fileURLToPath(new URL('../../bin/browser-fleet.js', import.meta.url));
/** What `npm start` runs: the install step, then the same server. */
const START = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url));

/** The real `browser-fleet` command in a process of its own, on port 0 with its own output directory. */
export interface CliInstance {
  process: ChildProcess;
  url: string;
  port: number;
  outputDir: string;
  logs: Record<string, unknown>[];
  /** Its standard error so far (only with `viaNpmStart`; otherwise it is this process's). */
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL of whatever of its tree is left after `graceMs`; removes its directory. */
  stop(graceMs?: number): Promise<void>;
}

/** `viaNpmStart`: start it as `npm start` does (scripts/start.ts) instead of as the `browser-fleet` command. */
export async function startCli(args: string[] = [], options: { viaNpmStart?: boolean } = {}): Promise<CliInstance> {
  const outputDir = mkdtempSync(join(tmpdir(), 'bf-cli-'));
  const entry = options.viaNpmStart ? ['--import', 'tsx', START] : [CLI];
  const child = spawn(process.execPath, [...entry, '--port', '0', '--output-dir', outputDir, ...args], { stdio: ['ignore', 'pipe', options.viaNpmStart ? 'pipe' : 'inherit'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'browser-fleet listening') resolve(entry.url as string);
    });
    void exited.then(() => reject(new Error(`the CLI exited before listening${stderr ? `: ${stderr.trim()}` : ''}`)));
  });
  const stop = async (graceMs = 15_000) => {
    const tree = [child.pid!, ...descendants(child.pid!)];
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, graceMs))]);
    for (const pid of tree) if (isAlive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await waitUntil(() => tree.every((pid) => !isAlive(pid)), 5000);
    rmSync(outputDir, { recursive: true, force: true });
  };
  return { process: child, url, port: Number(new URL(url).port), outputDir, logs, stderr: () => stderr, exited, stop };
}
