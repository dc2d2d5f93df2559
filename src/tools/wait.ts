import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Page } from 'playwright-core';
import type { Response } from './response.ts';
import { defineTool, type ToolContext } from './tool.ts';

/** Longest wait, seconds, as in @playwright/mcp. */
const MAX_WAIT_SECONDS = 30;

const waitFor = defineTool({
  name: 'browser_wait_for',
  title: 'Wait for',
  description: 'Wait for text to appear or disappear or a specified time to pass. When both text and textGone are provided, waits for the first one to happen',
  input: z.object({
    time: z.number().optional().describe(`The time to wait in seconds, at most ${MAX_WAIT_SECONDS}. When combined with text or textGone, serves as a timeout for them instead of the default action timeout`),
    text: z.string().optional().describe('The text to wait for'),
    textGone: z.string().optional().describe('The text to wait for to disappear'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  timeoutMs: (args, deadlines) => (args.time && args.time > 0 ? Math.min(MAX_WAIT_SECONDS, args.time) * 1000 : 0) + deadlines.timeoutAction,
  async handle(ctx, args, response) {
    if (args.time !== undefined && !(args.time >= 0)) throw new Error(`time must be a number of seconds, 0 or more; got ${args.time}`);
    if (!args.text && !args.textGone && !args.time) throw new Error('Either time, text or textGone must be provided');
    const seconds = args.time ? Math.min(MAX_WAIT_SECONDS, args.time) : undefined;
    const page = await ctx.currentPage();
    // One progress report a second, so a client sees a long wait is alive.
    const started = Date.now();
    const what = args.text ? `"${args.text}" to appear` : args.textGone ? `"${args.textGone}" to disappear` : `${seconds} s`;
    const ticker = setInterval(() => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      ctx.progress(elapsed, args.text || args.textGone ? undefined : seconds, `Waiting for ${what}: ${elapsed} s so far`);
    }, 1000);
    try {
      await waitOnPage(ctx, page, args, seconds, response);
    } finally {
      clearInterval(ticker);
    }
    response.setIncludeSnapshot();
  },
});

/** The waiting itself: for text to appear or go, or for the time to pass. */
async function waitOnPage(ctx: ToolContext, page: Page, args: { text?: string; textGone?: string; time?: number }, seconds: number | undefined, response: Response): Promise<void> {
  if (args.text || args.textGone) {
    const timeout = seconds ? seconds * 1000 : ctx.settings.timeoutAction;
    const waitFor = (text: string, state: 'visible' | 'hidden', done: string) => page.getByText(text).first().waitFor({ state, timeout })
      .then(() => done, (error: Error) => {
        throw /Timeout/.test(error.message) ? new Error(`"${text}" did not ${state === 'visible' ? 'appear' : 'disappear'} within ${timeout} ms.`) : error;
      });
    const waits = [
      args.text && waitFor(args.text, 'visible', `Waited for ${args.text}`),
      args.textGone && waitFor(args.textGone, 'hidden', `Waited for ${args.textGone} to disappear`),
    ].filter((wait): wait is Promise<string> => !!wait);
    for (const wait of waits) wait.catch(() => {});
    response.addResult(await Promise.race(waits));
  } else {
    await sleep(seconds! * 1000, undefined, { signal: ctx.signal });
    response.addResult(seconds === args.time ? `Waited for ${seconds} seconds` : `Waited for ${seconds} seconds (requested ${args.time}, maximum is ${MAX_WAIT_SECONDS})`);
  }
}

/** Waiting for text or time. */
export const waitTools = [waitFor];
