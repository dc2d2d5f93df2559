import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { z } from 'zod';
import { defineTool, elementField, targetField, type ToolAnnotations, type ToolContext } from './tool.ts';
import { annotateTools } from './annotate.ts';
import { debuggerTools } from './debugger.ts';
import { videoTools } from './video.ts';

// The devtools group of @playwright/mcp (--caps devtools): traces, videos and their overlays
// (video.ts), element highlights, recording actions as code, the debugger (debugger.ts) and a
// person's annotations through the dashboard (annotate.ts). State is kept per BrowserContext: a
// closed browser's recording goes with it, and a reset context starts without any.

const READS: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, openWorldHint: true };

const browserContext = async (ctx: ToolContext): Promise<BrowserContext> => (await ctx.currentPage()).context();

/** `2026-01-31T12-00-00-000Z`: a file-name-safe time for default names. */
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

const recordsTrace = (ctx: ToolContext) => ctx.settings.record === 'trace' || ctx.settings.record === 'both';

// Tracing

/**
 * A trace the client started. `chunk` when --record trace already traces the context for the
 * lease: the client's trace is then a chunk of that one (Playwright allows one tracing per context).
 */
const traces = new WeakMap<BrowserContext, { chunk: boolean }>();

/** A name per context for its lease trace parts, so parts of ended leases can be told apart. */
const contextTags = new WeakMap<BrowserContext, string>();

/**
 * Under --record trace, a chunk boundary ends the lease's trace so far, and lease.finish writes
 * only the last chunk. Rather than drop the earlier parts (the client's own span included), they
 * are kept in the worker's TMPDIR as `lease-trace-<context>-<time>.zip`, for the lease's recording
 * to pick up; parts of earlier contexts (ended leases) are removed then, so at most one lease's
 * parts stay. Without a TMPDIR of its own a part is dropped rather than left in the shared one.
 */
async function keepLeasePart(ctx: ToolContext, context: BrowserContext, write: (path?: string) => Promise<void>): Promise<void> {
  const dir = ctx.settings.tempDir;
  if (!dir) return write(undefined);
  let tag = contextTags.get(context);
  if (!tag) contextTags.set(context, tag = randomUUID());
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) {
    if (name.startsWith('lease-trace-') && !name.startsWith(`lease-trace-${tag}-`)) await rm(join(dir, name), { force: true });
  }
  await write(join(dir, `lease-trace-${tag}-${stamp()}.zip`));
}

const startTracing = defineTool({
  name: 'browser_start_tracing',
  title: 'Start tracing',
  capability: 'devtools',
  description: 'Start recording a Playwright trace of the browser: every action with DOM snapshots and screenshots, network and console. ' +
    'browser_stop_tracing writes it as a zip file in the session output directory.',
  input: z.object({}),
  annotations: READS,
  timeoutMs: (_args, deadlines) => deadlines.timeoutNavigation,
  async handle(ctx, _args, response) {
    const context = await browserContext(ctx);
    if (traces.has(context)) throw new Error('Tracing has already been started; call browser_stop_tracing first.');
    if (recordsTrace(ctx)) {
      await keepLeasePart(ctx, context, (part) => context.tracing.stopChunk(part ? { path: part } : {}));
      await context.tracing.startChunk({ title: 'browser_start_tracing' });
      traces.set(context, { chunk: true });
    } else {
      await context.tracing.start({ screenshots: true, snapshots: true, title: 'browser_start_tracing' });
      traces.set(context, { chunk: false });
    }
    response.addResult('Trace recording started');
    response.addCode('await page.context().tracing.start({ screenshots: true, snapshots: true });');
  },
});

const stopTracing = defineTool({
  name: 'browser_stop_tracing',
  title: 'Stop tracing',
  capability: 'devtools',
  description: 'Stop the trace started with browser_start_tracing and write it as trace-<time>.zip in the session output directory. ' +
    'Open it with `npx playwright show-trace <file>` or at https://trace.playwright.dev.',
  input: z.object({}),
  annotations: READS,
  timeoutMs: (_args, deadlines) => deadlines.timeoutNavigation,
  async handle(ctx, _args, response) {
    const context = await browserContext(ctx);
    const trace = traces.get(context);
    if (!trace) throw new Error('Tracing is not started; call browser_start_tracing first (a closed browser\'s trace ends with it).');
    traces.delete(context);
    // writeOutput confines the name to the output directory and reports the file; the trace then overwrites it.
    const path = await ctx.writeOutput(`trace-${stamp()}.zip`, '');
    if (trace.chunk) {
      try {
        await context.tracing.stopChunk({ path });
      } finally {
        // The lease's trace goes on, and lease.finish expects a chunk to stop.
        await context.tracing.startChunk({ title: 'browser-fleet' });
      }
      await keepLeasePart(ctx, context, async (part) => { if (part) await copyFile(path, part); });
    } else {
      await context.tracing.stop({ path });
    }
    response.addResult(`Trace recording stopped.\n- [Trace](${path})`);
    response.addCode(`await page.context().tracing.stop({ path: ${JSON.stringify(path)} });`);
  },
});

// Highlights

const highlight = defineTool({
  name: 'browser_highlight',
  title: 'Highlight element',
  capability: 'devtools',
  description: 'Draw a highlight over an element of the selected tab that stays until browser_hide_highlight, e.g. to point at it in a screenshot or video.',
  input: z.object({
    element: elementField,
    target: targetField,
    style: z.string().optional().describe('Extra inline CSS of the highlight, e.g. "outline: 2px dashed red"'),
  }),
  annotations: READS,
  async handle(ctx, args, response) {
    const locator = await ctx.resolveTarget(args.target);
    await locator.highlight(args.style ? { style: args.style } : undefined);
    response.addResult(`Highlighted ${args.element ?? args.target}`);
    response.addCode(`await page.locator(${JSON.stringify(args.target)}).highlight();`);
  },
});

const hideHighlight = defineTool({
  name: 'browser_hide_highlight',
  title: 'Hide element highlight',
  capability: 'devtools',
  description: 'Remove the highlight browser_highlight drew over an element, or every highlight in the selected tab when no target is given.',
  input: z.object({
    element: z.string().optional().describe('Human-readable description of the element whose highlight to remove'),
    target: z.string().optional().describe('Ref from the page snapshot (e.g. "e12") or unique selector of the highlighted element; omit to remove all highlights'),
  }),
  annotations: READS,
  async handle(ctx, args, response) {
    if (args.target) {
      await (await ctx.resolveTarget(args.target)).hideHighlight();
      response.addResult(`Hid highlight for ${args.element ?? args.target}`);
    } else {
      await (await ctx.currentPage()).hideHighlight();
      response.addResult('Hid every highlight on the page');
    }
  },
});

// Recording actions as code

/** Playwright's programmatic recorder (the one of @playwright/mcp), not in its public types. */
interface RecorderContext {
  _startRecording?(params: { language: string }, sink: {
    actionAdded(page: Page, action: unknown, code: string): void;
    actionUpdated(page: Page, action: unknown, code: string): void;
    signalAdded(page: Page, signal: unknown, code: string): void;
  }): Promise<void>;
  _stopRecording?(): Promise<void>;
}

const recordings = new WeakMap<BrowserContext, string[]>();

const startRecording = defineTool({
  name: 'browser_start_recording',
  title: 'Start recording user actions',
  capability: 'devtools',
  description: 'Start recording the actions done in the browser (by tools, or by a person in a headed browser) as Playwright code; browser_stop_recording returns it.',
  input: z.object({}),
  annotations: READS,
  async handle(ctx, _args, response) {
    const context = await browserContext(ctx);
    if (recordings.has(context)) throw new Error('Recording is already in progress; call browser_stop_recording first.');
    const recorder = context as unknown as RecorderContext;
    if (typeof recorder._startRecording !== 'function') throw new Error('This Playwright version has no action recorder.');
    const actions: string[] = [];
    await recorder._startRecording({ language: 'javascript' }, {
      actionAdded: (_page, _action, code) => { actions.push(code); },
      actionUpdated: (_page, _action, code) => { if (actions.length) actions[actions.length - 1] = code; else actions.push(code); },
      signalAdded: (_page, _signal, code) => { if (actions.length && code) actions[actions.length - 1] = code; },
    });
    recordings.set(context, actions);
    response.addResult('Recording started. Act in the browser, then call browser_stop_recording to get the code.');
  },
});

/** Recorded code lines without the indentation of the test body they were generated for. */
function dedent(code: string): string {
  const lines = code.split('\n');
  const indent = Math.min(...lines.filter((line) => line.trim()).map((line) => /^ */.exec(line)![0].length));
  return lines.map((line) => line.slice(indent)).join('\n');
}

const stopRecording = defineTool({
  name: 'browser_stop_recording',
  title: 'Stop recording user actions',
  capability: 'devtools',
  description: 'Stop the recording started with browser_start_recording and return the recorded actions as Playwright code.',
  input: z.object({}),
  annotations: READS,
  async handle(ctx, _args, response) {
    const context = await browserContext(ctx);
    const actions = recordings.get(context);
    if (!actions) throw new Error('No recording is in progress; call browser_start_recording first (a closed browser\'s recording ends with it).');
    recordings.delete(context);
    await (context as unknown as RecorderContext)._stopRecording?.();
    const code = actions.filter((line) => line.trim()).map(dedent);
    response.addResult(code.length
      ? ['Recording stopped. Recorded actions:', '', '```js', ...code, '```'].join('\n')
      : 'Recording stopped. No actions were recorded.');
  },
});

/** Traces, videos and overlays, highlights and recorded code, per browser context. */
export const devtoolsTools = [
  startTracing, stopTracing,
  ...videoTools,
  highlight, hideHighlight,
  startRecording, stopRecording,
  ...debuggerTools,
  ...annotateTools,
];
