import { z } from 'zod';
import { defineTool } from './tool.ts';

const close = defineTool({
  name: 'browser_close',
  title: 'Close browser',
  description: 'Close the page',
  input: z.object({}),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, _args, response) {
    await ctx.closeBrowser();
    response.addResult('Browser closed. The next tool call opens a new one.');
    response.addCode('await page.close();');
  },
});

export const commonTools = [close];
