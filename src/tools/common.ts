import { z } from 'zod';
import { defineTool } from './tool.ts';

const close = defineTool({
  name: 'browser_close',
  title: 'Close browser',
  description: 'Close the page. With `browser`, closes that browser and its handle stops working.',
  input: z.object({}),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  ignoresModalState: true,
  browserRole: 'closes',
  async handle(ctx, _args, response) {
    await ctx.closeBrowser();
    response.addResult('Browser closed. The next tool call opens a new one.');
    response.addCode('await page.close();');
  },
});

const resize = defineTool({
  name: 'browser_resize',
  title: 'Resize browser window',
  description: 'Resize the browser window',
  input: z.object({
    width: z.number().describe('Width of the browser window'),
    height: z.number().describe('Height of the browser window'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { width, height }, response) {
    const page = await ctx.currentPage();
    await page.setViewportSize({ width: Math.round(width), height: Math.round(height) });
    response.addCode(`await page.setViewportSize({ width: ${width}, height: ${height} });`);
    response.addResult(`Viewport is now ${Math.round(width)}x${Math.round(height)}.`);
  },
});

/** Closing and resizing the browser. */
export const commonTools = [close, resize];
