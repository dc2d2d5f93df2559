import { z } from 'zod';
import { defineTool } from './tool.ts';

/** Most time a relaunch may take, ms; a cold Chromium start on a busy host can be slow. */
const LAUNCH_MS = 30_000;

const open = defineTool({
  name: 'browser_open',
  title: 'Open browser',
  description: 'Open this session\'s browser with the given options, closing the current browser and its tabs first. ' +
    'Headed mode (headless: false) needs a display on the server (an X server, or the server started under xvfb-run). ' +
    'Not part of @playwright/mcp: an extra tool of browser-fleet.',
  input: z.object({
    headless: z.boolean().optional().describe('Run the browser without a window. Defaults to the server\'s --headless setting.'),
    width: z.number().int().min(1).optional().describe('Viewport width in CSS pixels. Defaults to the current width.'),
    height: z.number().int().min(1).optional().describe('Viewport height in CSS pixels. Defaults to the current height.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  ignoresModalState: true,
  timeoutMs: (_args, deadlines) => Math.max(deadlines.timeoutNavigation, LAUNCH_MS),
  async handle(ctx, args, response) {
    await ctx.reopenBrowser(args);
    const { headless, viewport } = ctx.settings.browser;
    response.addResult(`Browser opened: ${headless ? 'headless' : 'headed'}, viewport ${viewport.width}x${viewport.height}.`);
    response.includeTabs = true;
  },
});

/** Configuring the session's browser (ours, not in @playwright/mcp). */
export const openTools = [open];
