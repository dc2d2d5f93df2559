// A bounded fuzzer against a real server on loopback (issue #15, item 3). It starts a page server
// and a browser-fleet server in this process (real Chromium), then throws at it, with fast-check:
// malformed and oversized JSON-RPC bodies and wrong or duplicate headers in both protocol eras;
// wrong types and odd Unicode for every tool's arguments, generated from the tools' own JSON
// Schemas, through a 2025-11-25 session and as 2026-07-28 requests; and bad paths and methods on
// the ops and admin routes. Every reply is checked (no 5xx but the documented 503s, well-formed
// JSON-RPC, tool calls answered with an isError result or -32602 within their deadline), and so
// is the process (no uncaught exception or unhandled rejection, no browser.faulted event) and,
// at the end, a normal session and a normal stateless browser in both eras.
//
// Traffic goes only to 127.0.0.1: URL arguments point at the local page server or at schemes the
// server must refuse; browser_run_code_unsafe stays disabled (default caps).
//
// Usage: npm run fuzz -- [--cases N] [--seed S] [--budget-sec T] [--full-waits] [--verbose]
//   --cases N      runs of each property (7 HTTP ones, one per tool and era, non-object arguments
//                  per era, browser_run_code_unsafe: 62 with 26 tools); default 20
//   --seed S       fast-check seed (each property derives its own from it); default: random, printed
//   --budget-sec T stop starting new cases after T seconds, shared fairly among properties; default 1800
//   --full-waits   let browser_wait_for wait its full 30 s (by default `time` stays small)
//   --verbose      print every case with its outcome
// Exits 1 when an invariant failed; prints the cases of each property, and each failure with its
// minimal counterexample, the property's seed and the fast-check path to replay it. The short form
// is test/e2e/fuzz.test.ts. This file is the entry (the run and the CLI); the values, HTTP, target,
// generators, properties and the checks afterwards are modules of their own in scripts/fuzz/.
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { parseConfig } from '../src/config.ts';
import { toolCatalog } from '../src/front/tool-calls.ts';
import { startPageServer } from '../test/helpers/pages.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';
import { afterwards } from './fuzz/afterwards.ts';
import { CaseFailure, describeReply, describeRequest } from './fuzz/http.ts';
import { mcpCaseArb, runMcpCase, type McpCase } from './fuzz/mcp-cases.ts';
import { opsCaseArb, runOpsCase } from './fuzz/ops-cases.ts';
import { regressions } from './fuzz/regressions.ts';
import { formatReport, reportFailed, type FuzzOptions, type FuzzReport } from './fuzz/report.ts';
import { runProperty, type Runner } from './fuzz/run-property.ts';
import { FIXTURE, HTTP_TIMEOUT_MS, SERVER_CONFIG, V1, V2, callTool, closeModernBrowser, deleteRawSession, openRawSession, type Target } from './fuzz/target.ts';
import { nonObjectArgs, objectArb, type Schema } from './fuzz/tool-arguments.ts';
import { HANDLE, ensureBrowser, runToolCase, type ToolState } from './fuzz/tool-cases.ts';
import { oddString } from './fuzz/values.ts';
import { flag } from './cli-flags.ts';

// ---------------------------------------------------------------------------------------------
// The run

/** Starts the page server and a server (real Chromium), fuzzes it, checks it afterwards, stops both. */
export async function runFuzz(input: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const options = { budgetMs: 30 * 60_000, fullWaits: false, verbose: false, log: () => {}, ...input };
  const report: FuzzReport = { seed: options.seed, cases: {}, totalCases: 0, failures: [], uncaught: [], faulted: [], afterwards: [], notes: {}, serverErrors: {}, ms: 0 };
  const onUncaught = (error: unknown) => report.uncaught.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  const pages = await startPageServer();
  pages.route('/fuzz', FIXTURE);
  let server: TestServer | undefined;
  try {
    server = await startTestServer(SERVER_CONFIG);
    const config = parseConfig({ host: '127.0.0.1', port: 0, ...SERVER_CONFIG });
    const target: Target = { pages, server, config, base: server.url, tools: [...toolCatalog(config.caps).byName.values()] };
    // 3 /mcp properties in each era, the ops routes, each tool and non-object arguments in each era, browser_run_code_unsafe.
    const propertiesLeft = 6 + 1 + 2 * (target.tools.length + 1) + 1;
    const runner: Runner = { target, options, deadline: started + options.budgetMs, report, current: { property: '(setup)', args: '' }, propertiesLeft };
    const known = regressions(target);
    server.supervisor.on('browser.faulted', (event) => {
      report.faulted.push(`${JSON.stringify(event)} during ${runner.current.property}, case ${runner.current.args.slice(0, 2000)}`);
    });

    // /mcp: bodies, headers, both, in each era.
    for (const era of ['v1', 'modern'] as const) {
      const state: { sessionId?: string } = {};
      for (const [kind, fuzz] of [['bodies', { headers: false, body: true }], ['headers', { headers: true, body: false }], ['mixed', { headers: true, body: true }]] as const) {
        const name = `mcp ${era === 'v1' ? V1 : V2} ${kind}`;
        await runProperty(runner, name, mcpCaseArb(target, era, fuzz), (c) => runMcpCase(runner, state, c), known[name] as McpCase[]);
      }
      if (state.sessionId) await deleteRawSession(target, state.sessionId);
    }
    await runProperty(runner, 'ops and admin routes', opsCaseArb(), (c) => runOpsCase(runner, c));

    // Every tool's arguments, in a 2025-11-25 session and as 2026-07-28 requests on an opened browser.
    for (const era of ['v1', 'modern'] as const) {
      const state: ToolState = { era, casesSinceReset: 0 };
      try {
        await ensureBrowser(runner, state);
        for (const tool of target.tools) {
          const schema = toolCatalog(config.caps).entries.find((e) => e.name === tool.name)!.inputSchema as Schema;
          state.casesSinceReset = 0;
          // The handle is read when the case runs: a case may have closed the browser and a reset opened another.
          const arb = objectArb(schema, { pages, fullWaits: options.fullWaits, handle: era === 'modern' ? HANDLE : undefined });
          const name = `args ${era === 'v1' ? V1 : V2} ${tool.name}`;
          await runProperty(runner, name, arb, (args) => runToolCase(runner, state, tool, args), known[name] as Record<string, unknown>[]);
        }
        const byName = new Map(target.tools.map((tool) => [tool.name, tool]));
        const arb = fc.record({ tool: fc.constantFrom(...byName.keys()), arguments: nonObjectArgs });
        const name = `args ${era === 'v1' ? V1 : V2} not an object`;
        await runProperty(runner, name, arb, (c) => runToolCase(runner, state, byName.get(c.tool)!, c.arguments), known[name] as { tool: string; arguments: unknown }[]);
      } finally {
        if (state.sessionId) await deleteRawSession(target, state.sessionId);
        if (state.handle) await closeModernBrowser(target, state.handle);
      }
    }
    // browser_run_code_unsafe is off: calling it is an unknown tool (-32602) in both eras.
    await runProperty(runner, 'browser_run_code_unsafe stays disabled', fc.record({ code: oddString }), async (args) => {
      const sessionId = await openRawSession(target);
      try {
        for (const era of [{ sessionId }, { modern: true as const }]) {
          const { response, req, reply } = await callTool(target, era, 'browser_run_code_unsafe', args, HTTP_TIMEOUT_MS);
          if ('refused' in response) continue; // over the body limit
          const code = (response.error as { code?: number } | undefined)?.code;
          if (code !== -32602) throw new CaseFailure(`browser_run_code_unsafe was not refused as unknown\nrequest: ${describeRequest(req)}\nreply: ${describeReply(reply)}`);
        }
      } finally {
        await deleteRawSession(target, sessionId);
      }
    });

    runner.current = { property: '(afterwards)', args: '' };
    report.afterwards.push(...await afterwards(target));
  } finally {
    await server?.close().catch((error: unknown) => report.afterwards.push(`closing the server failed: ${(error as Error).message}`));
    await pages.close();
    // Late rejections of the last cases still count.
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  for (const entry of server?.logs ?? []) {
    if (Number(entry.level) >= 50) {
      const key = `${String(entry.msg)}${entry.err ? `: ${String(typeof entry.err === 'object' ? (entry.err as { message?: string }).message : entry.err).slice(0, 200)}` : ''}`;
      report.serverErrors[key] = (report.serverErrors[key] ?? 0) + 1;
    }
  }
  report.ms = Date.now() - started;
  return report;
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const seed = Number(flag('--seed') ?? Math.floor(Math.random() * 2 ** 31));
  const cases = Number(flag('--cases') ?? 20);
  const budgetMs = Number(flag('--budget-sec') ?? 1800) * 1000;
  process.stdout.write(`fuzz: seed ${seed}, ${cases} cases per property, budget ${budgetMs / 1000} s\n`);
  const report = await runFuzz({ cases, seed, budgetMs, fullWaits: process.argv.includes('--full-waits'), verbose: process.argv.includes('--verbose'), log: (line) => process.stdout.write(`  ${line}\n`) });
  process.stdout.write(`${formatReport(report)}\n`);
  process.exitCode = reportFailed(report) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
