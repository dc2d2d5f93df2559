import { z } from 'zod';
import { defineTool } from './tool.ts';

/** Most time a launch may take, ms; a cold Chromium start on a busy host can be slow. */
const LAUNCH_MS = 30_000;

const open = defineTool({
  name: 'browser_open',
  title: 'Open browser',
  description: 'Open a new browser (its own process, with an empty context and one blank tab) and return its handle. ' +
    'Pass the handle as `browser` to every other tool to act in this browser; without an MCP session (protocol 2026-07-28) ' +
    'every call needs it. In a session that has no browser yet, this one becomes the session\'s own browser, which calls ' +
    'without `browser` use. A handle works only with the token that opened it, and expires when the browser has had no ' +
    'call for the server\'s --idle-timeout (30 minutes by default): then open a new one. ' +
    'Headed mode (headless: false) needs a display on the server. Not part of @playwright/mcp: an extra tool of browser-fleet.',
  input: z.object({
    headless: z.boolean().optional().describe('Run the browser without a window. Defaults to the server\'s --headless setting.'),
    width: z.number().int().min(1).optional().describe('Viewport width in CSS pixels. Defaults to the server\'s --viewport-size.'),
    height: z.number().int().min(1).optional().describe('Viewport height in CSS pixels. Defaults to the server\'s --viewport-size.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
  ignoresModalState: true,
  browserRole: 'opens',
  timeoutMs: (_args, deadlines) => Math.max(deadlines.timeoutNavigation, LAUNCH_MS),
  // The supervisor gets the new browser, then runs this in it to apply the options.
  async handle(ctx, args, response) {
    if (args.headless !== undefined || args.width !== undefined || args.height !== undefined) await ctx.reopenBrowser(args);
    const { headless, viewport } = ctx.settings.browser;
    response.addResult(`${headless ? 'Headless' : 'Headed'}, viewport ${viewport.width}x${viewport.height}.`);
  },
});

const list = defineTool({
  name: 'browser_list',
  title: 'List browsers',
  description: 'List the browsers open to you: each one\'s handle, the URL and title of its selected tab, its number of tabs ' +
    'and how long it has been idle. In an MCP session, the session\'s browsers; without one, every browser your token opened ' +
    'without a session. Not part of @playwright/mcp: an extra tool of browser-fleet.',
  input: z.object({}),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
  ignoresModalState: true,
  browserRole: 'lists',
  async handle() {
    throw new Error('browser_list is answered by the supervisor, never by a worker');
  },
});

/** Opening and listing browsers (ours, not in @playwright/mcp). */
export const openTools = [open, list];
