import { readFileSync } from 'node:fs';
import { parentMap, processTree } from '../../src/supervisor/process-stats.ts';

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

/**
 * Collects `root` and every descendant it ever had, scanning every 50 ms until `stop()`.
 * A process that outlives its parent is reparented away from `root`'s tree, so what was seen
 * while the tree was whole is the list to check afterwards (see `survivors`).
 */
export function watchTree(root: number): { seen: Set<number>; stop(): Set<number> } {
  const seen = new Set<number>();
  const scan = () => {
    for (const pid of processTree(root)) seen.add(pid);
  };
  scan();
  const timer = setInterval(scan, 50);
  return { seen, stop: () => (clearInterval(timer), scan(), seen) };
}

/** The processes of `pids`, and any descendant they have now, still alive (zombies count as gone). */
export function survivors(pids: Iterable<number>): number[] {
  const children = parentMap();
  return [...new Set([...pids].flatMap((pid) => processTree(pid, children)))].filter(isAlive);
}
