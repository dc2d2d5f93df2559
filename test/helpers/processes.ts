import { readFileSync } from 'node:fs';
import { processTree } from '../../src/supervisor/process-stats.ts';

/** True while a process with this PID exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `predicate` every 50 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return predicate();
}

/** PIDs of every descendant of `pid` (by parentage, never by name). */
export function descendants(pid: number): number[] {
  return processTree(pid).slice(1);
}
