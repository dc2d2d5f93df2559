import type { BrowserContext, Debugger } from 'playwright-core';
import { z } from 'zod';
import { defineTool } from './tool.ts';

// browser_resume (--caps devtools): Playwright's debugger pauses a script of this browser, which
// here means code run by browser_run_code_unsafe that called page.pause() or stepped into a pause,
// and a later call resumes it, steps it, or runs it to a line.

/** Where a paused script stands, as a model reads it. */
type Paused = NonNullable<ReturnType<Debugger['pausedDetails']>>;

function describePause(paused: Paused): string {
  const { file, line, column } = paused.location;
  return `"${paused.title}" at ${file}${line !== undefined ? `:${line}` : ''}${column !== undefined ? `:${column}` : ''}`;
}

/** `file:line` or `file`, as @playwright/mcp takes a location. */
export function parseLocation(location: string): { file: string; line?: number } {
  const separator = location.lastIndexOf(':');
  if (separator <= 0) return { file: location };
  const line = Number(location.slice(separator + 1));
  if (!Number.isInteger(line) || line < 1) throw new Error(`Invalid location "${location}": expected <file>:<line>, e.g. "script.js:12".`);
  return { file: location.slice(0, separator), line };
}

/** The next pause of `context`'s debugger, or undefined when the context closes or `waitMs` pass first. */
function nextPause(context: BrowserContext, waitMs: number): Promise<Paused | undefined> {
  return new Promise((resolve) => {
    const done = (paused: Paused | undefined) => {
      clearTimeout(timer);
      context.debugger.off('pausedstatechanged', changed);
      context.off('close', closed);
      resolve(paused);
    };
    const changed = () => {
      const paused = context.debugger.pausedDetails();
      if (paused) done(paused);
    };
    const closed = () => done(undefined);
    const timer = setTimeout(() => done(undefined), waitMs);
    context.debugger.on('pausedstatechanged', changed);
    context.once('close', closed);
  });
}

const resume = defineTool({
  name: 'browser_resume',
  title: 'Resume paused script execution',
  capability: 'devtools',
  description: 'Resume a script paused in the Playwright debugger: code run with browser_run_code_unsafe that called ' +
    '`page.pause()`, or that a step left paused. With `step`, it pauses again before its next action and this call says where; ' +
    'with `location`, it runs until an action of that source line (the code\'s file is `browser_run_code_unsafe`). ' +
    'While it is paused, other tools can look at the page. Pausing needs --caps unsafe-code too.',
  input: z.object({
    step: z.boolean().optional().describe('Pause again before the script\'s next action, to go through it step by step.'),
    location: z.string().optional().describe('Run until an action from this source location, as <file>:<line>, e.g. "script.js:12", and pause there.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  ignoresModalState: true,
  async handle(ctx, { step, location }, response) {
    const context = (await ctx.currentPage()).context();
    const paused = context.debugger.pausedDetails();
    if (!paused) {
      throw new Error('Nothing is paused. A script pauses when code run with browser_run_code_unsafe calls `page.pause()`; ' +
        `call browser_resume while that call waits.${ctx.settings.caps.includes('unsafe-code') ? '' : ' This server does not run such code (no --caps unsafe-code).'}`);
    }
    const target = location === undefined ? undefined : parseLocation(location);
    // Listen before resuming: the next pause can come at once.
    const again = step || target ? nextPause(context, Math.floor(ctx.settings.timeoutAction * 0.8)) : undefined;
    if (target) await context.debugger.runTo(target);
    else if (step) await context.debugger.next();
    else await context.debugger.resume();
    response.addResult(`Resumed from ${describePause(paused)}.`);
    if (!again) return;
    const next = await again;
    response.addResult(next ? `Paused again before ${describePause(next)}. Call browser_resume to go on.` : 'It did not pause again within the call\'s deadline: the script runs on.');
  },
});

/** Playwright's debugger, for scripts of browser_run_code_unsafe (--caps devtools). */
export const debuggerTools = [resume];
