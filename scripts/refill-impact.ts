// How much a warm-pool refill slows the calls in flight. Starts browser-fleet on its default
// configuration, keeps one session clicking back to back, then has other sessions take warm
// browsers (and keep them), so the pool refills while the clicks go on. Each click is classed by
// whether a browser launch (a worker's fork to READY, from the server's log) overlapped it.
// Usage: node --import tsx scripts/refill-impact.ts [--takers N] [--seconds S]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { findBrowser } from '../src/browser/find-browser.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (flag: string, fallback: number) => {
  const at = process.argv.indexOf(flag);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const TAKERS = arg('--takers', 4);
const SECONDS = arg('--seconds', 40);
const PAGE = '<!doctype html><title>Refill</title><button onclick="this.textContent = Number(this.textContent) + 1">0</button>';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : Number.NaN;
}

async function connect(url: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url));
  const client = new Client({ name: 'refill-impact', version: '1' });
  await client.connect(transport);
  return { client, transport };
}

async function main(): Promise<void> {
  const browser = findBrowser()?.path;
  if (!browser) throw new Error('no Chromium found: run scripts/ensure-browser.ts first');
  const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
  const dir = mkdtempSync(join(tmpdir(), 'bf-refill-'));
  // Default configuration; debug logs only to read when each worker started.
  const child = spawn(process.execPath, [join(ROOT, 'bin/browser-fleet.js'), '--port', '0', '--executable-path', browser, '--output-dir', join(dir, 'out'), '--log-level', 'debug'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const launches: { from: number; to: number }[] = [];
  let warmTarget = 0;
  const url = await new Promise<string>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; url?: string; time: string; ms?: number; prewarm?: number };
      if (entry.msg === 'browser-fleet listening') {
        warmTarget = entry.prewarm ?? 0;
        resolve(entry.url!);
      }
      if (entry.msg === 'worker started') launches.push({ from: Date.parse(entry.time) - entry.ms!, to: Date.parse(entry.time) });
    });
  });
  const sessions: Awaited<ReturnType<typeof connect>>[] = [];
  try {
    while (launches.length < warmTarget) await sleep(200); // the warm pool is full
    await sleep(3000);
    const clicker = await connect(url);
    sessions.push(clicker);
    await clicker.client.callTool({ name: 'browser_navigate', arguments: { url: pageUrl } });
    const target = 'button'; // a selector: every click re-renders the page's snapshot refs
    const clicks: { at: number; ms: number }[] = [];
    const until = Date.now() + SECONDS * 1000;
    let taken = false;
    while (Date.now() < until) {
      if (!taken && Date.now() > until - SECONDS * 1000 * 0.75) {
        taken = true;
        // Other sessions take warm browsers and keep them: the pool refills from now on.
        for (let i = 0; i < TAKERS; i++) {
          const taker = await connect(url);
          sessions.push(taker);
          await taker.client.callTool({ name: 'browser_navigate', arguments: { url: pageUrl } });
        }
      }
      const start = Date.now();
      const result = await clicker.client.callTool({ name: 'browser_click', arguments: { element: 'button', target } }) as CallToolResult;
      if (result.isError) throw new Error(`the click failed: ${JSON.stringify(result.content).slice(0, 300)}`);
      clicks.push({ at: start, ms: Date.now() - start });
    }
    const during = clicks.filter((c) => launches.some((l) => l.from < c.at + c.ms && l.to > c.at));
    const quiet = clicks.filter((c) => !during.includes(c));
    const line = (name: string, list: typeof clicks) =>
      `| ${name} | ${list.length} | ${percentile(list.map((c) => c.ms), 50)} | ${percentile(list.map((c) => c.ms), 95)} |`;
    const refills = launches.filter((l) => l.from > clicks[0].at);
    console.log(`Refills during the run: ${refills.length} (browser launches after the clicks began), ${TAKERS} sessions took warm browsers.`);
    console.log('| clicks | count | p50 ms | p95 ms |\n| --- | ---: | ---: | ---: |');
    console.log(line('no launch under way', quiet));
    console.log(line('a refill launch under way', during));
  } finally {
    await Promise.all(sessions.map(async ({ client, transport }) => {
      await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    }));
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    page.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
