// The cold-start probe that scripts/cold-start.ts forks: a stand-in for a session worker that
// loads the real worker program (so its imports cost what they cost in a worker), then drives
// playwright-core itself, marking CPU and wall time at each phase boundary. Plain JavaScript, so
// nothing but the worker program's own execArgv runs before its first line. Forked as is for a
// CommonJS worker program; cold-start-probe.mjs wraps it for an ES module one, so the probe's
// main module is of the same kind as the worker's.
'use strict';
const T_FIRST = performance.timeOrigin + performance.now();
const CPU_FIRST = process.cpuUsage();

const { readFileSync, readdirSync } = require('node:fs');
const { createRequire } = require('node:module');

const job = JSON.parse(process.env.COLD_START_JOB);
/** CPU this probe spent reading /proc, kept out of the phases. */
let overheadUs = 0;
const marks = [];

/** utime+stime+cutime+cstime (clock ticks) of every descendant of this process, by PID. */
function descendants() {
  const parent = new Map();
  const info = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try { stat = readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(name);
    parent.set(pid, Number(fields[1]));
    info.set(pid, { ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) });
  }
  const children = new Map();
  for (const [pid, ppid] of parent) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out = [];
  const stack = [...(children.get(process.pid) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    let type = 'browser';
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/); // Chromium rewrites its title: spaces
      const flag = argv.find((a) => a.startsWith('--type='));
      if (flag) type = argv.some((a) => a.startsWith('--utility-sub-type=network')) ? 'network' : flag.slice(7);
    } catch { /* gone */ }
    out.push({ pid, type, ticks: info.get(pid).ticks });
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function cpuUs(usage) {
  return usage.user + usage.system;
}

/** Ends a phase: this process's CPU (less /proc reading) and wall time, and Chromium's ticks. */
function mark(name) {
  const wall = performance.timeOrigin + performance.now();
  const start = cpuUs(process.cpuUsage());
  const procs = descendants();
  if (job.memoryEach && typeof globalThis.gc === 'function') globalThis.gc();
  const anonKb = job.memoryEach ? Number(/^Anonymous:\s+(\d+)/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1]) : undefined;
  const nodeUs = start - overheadUs;
  overheadUs += cpuUs(process.cpuUsage()) - start;
  marks.push({ name, wall, nodeUs, procs, anonKb });
  // Where the real worker would say READY (after its warm-up, for a pooled one): what the
  // compile cache of src/ipc/worker-program.ts waits for before writing.
  if (name === (job.readyAfter ?? 'e')) process.send({ type: 'ready' });
}

/** Runs the phases; `first` is the main module's first line, `loadEntry` loads the worker program. */
async function run(first, loadEntry) {
  marks.push({ name: 'a', wall: first.wall, nodeUs: cpuUs(first.cpu), procs: [] });

  // (b) The worker program and everything it imports; it waits for a start message that never comes.
  await loadEntry(job.entry);
  const playwright = createRequire(job.root)('playwright-core'); // the worker's copy, loaded by now
  mark('b');

  // (c) The browser, launched as workers/browser-session.ts launches it.
  const browser = await playwright.chromium.launch({
    executablePath: job.executablePath,
    headless: true,
    chromiumSandbox: process.getuid?.() !== 0,
    args: job.chromiumArgs,
    timeout: 30_000,
  });
  mark('c');

  // (d) The session's context and first page.
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  mark('d');

  // (e) A first navigation to a local page and an AI-mode snapshot.
  await page.goto(job.url);
  const snapshot = await page.ariaSnapshot({ mode: 'ai' });
  mark('e');
  const memoryStart = cpuUs(process.cpuUsage());
  if (typeof globalThis.gc === 'function') globalThis.gc(); // with --expose-gc: live memory only
  const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const memory = {
    pssKb: Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1]),
    rssKb: Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1]),
    anonKb: Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1]),
    heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024),
    heapTotalKb: Math.round(process.memoryUsage().heapTotal / 1024),
    externalKb: Math.round(process.memoryUsage().external / 1024),
  };
  overheadUs += cpuUs(process.cpuUsage()) - memoryStart;

  let check;
  if (job.check) {
    // Not timed: that refs resolve and act, and that the snapshot saw the page.
    const ref = /\[ref=(e\d+)\]/.exec(snapshot.split('\n').find((line) => line.includes('button "Count"')) ?? '')?.[1];
    if (!ref) throw new Error(`no ref for the Count button in:\n${snapshot}`);
    await page.getByRef(ref).click();
    const text = await page.locator('#count').textContent();
    check = { ref, clicked: text === '1', snapshotLines: snapshot.split('\n').length, title: await page.title() };
  }

  await browser.close();
  await new Promise((resolve) => setTimeout(resolve, 20)); // a compile cache written at READY is done by now
  const endUs = cpuUs(process.cpuUsage()) - overheadUs;
  process.send({ type: 'cold-start', marks, endUs, memory, overheadUs, check, nodeVersion: process.version }, () => process.exit(0));
}

module.exports = { run };
if (require.main === module) {
  run({ wall: T_FIRST, cpu: CPU_FIRST }, (entry) => require(entry)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
