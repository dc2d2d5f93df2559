import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Resource use of a process tree: a worker and everything under it (its browser). */
export interface TreeStats {
  pids: number[];
  rssBytes: number;
  /** Proportional set size: shared pages split between sharers, so trees add up honestly. */
  pssBytes: number;
  /** User + system CPU time of the live processes in the tree, seconds. */
  cpuSeconds: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** Every live process's children, by parent PID, from one scan of /proc. */
export function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  return children;
}

/** `root` and all its descendants, found by parentage (never by name). */
export function processTree(root: number, children = parentMap()): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

function readKb(text: string, field: string): number {
  const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * Memory and CPU of one process; zeros when it is gone or unreadable. Read asynchronously: the
 * kernel walks a process's page tables to write smaps_rollup, which for a tree of 60-110 Chromium
 * and Node processes took 75-200 ms, and must not stall the front's event loop (a /metrics scrape
 * or GET /sessions would stall every session's calls for that long).
 */
async function processStats(pid: number): Promise<{ rss: number; pss: number; cpu: number }> {
  try {
    const [rollup, stat] = await Promise.all([readFile(`/proc/${pid}/smaps_rollup`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime, stime (fields 14 and 15 of stat, counted from after the name)
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    return { rss: readKb(rollup, 'Rss'), pss: readKb(rollup, 'Pss'), cpu };
  } catch {
    return { rss: 0, pss: 0, cpu: 0 };
  }
}

/** Sums memory and CPU over `root`'s process tree. */
export async function treeStats(root: number, children?: Map<number, number[]>): Promise<TreeStats> {
  const pids = processTree(root, children ?? parentMap());
  const each = await Promise.all(pids.map(processStats));
  return {
    pids,
    rssBytes: each.reduce((sum, s) => sum + s.rss, 0),
    pssBytes: each.reduce((sum, s) => sum + s.pss, 0),
    cpuSeconds: each.reduce((sum, s) => sum + s.cpu, 0),
  };
}

/** Stats for many roots with one scan of /proc. */
export async function treesStats(roots: number[]): Promise<Map<number, TreeStats>> {
  const children = parentMap();
  return new Map(await Promise.all(roots.map(async (root) => [root, await treeStats(root, children)] as const)));
}
