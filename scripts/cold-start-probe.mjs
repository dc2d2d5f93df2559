// cold-start-probe.cjs for an ES module worker program: the main module is an ES module, as the
// worker's is, and its first line is the phase boundary (a).
const first = { wall: performance.timeOrigin + performance.now(), cpu: process.cpuUsage() };
const { createRequire } = await import('node:module');
const { pathToFileURL } = await import('node:url');
await createRequire(import.meta.url)('./cold-start-probe.cjs').run(first, (entry) => import(pathToFileURL(entry).href));
