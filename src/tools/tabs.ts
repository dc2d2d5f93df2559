import { z } from 'zod';
import { navigateTo } from './navigate.ts';
import { defineTool } from './tool.ts';

const tabs = defineTool({
  name: 'browser_tabs',
  title: 'Manage tabs',
  description: 'List, create, close, or select a browser tab.',
  input: z.object({
    action: z.enum(['list', 'new', 'close', 'select']).describe('Operation to perform'),
    index: z.number().optional().describe('Tab index, used for close/select. If omitted for close, current tab is closed.'),
    url: z.string().optional().describe('URL to navigate to in the new tab, used for new.'),
    isolatedContext: z.string().optional().describe('Name of an isolated browser context to open the new tab in, used for new. Tabs of the same ' +
      'isolated context share cookies and storage; tabs of different ones, and the default context, share nothing. Omit it or pass "default" for the default context.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  // Switching away from a tab blocked by a dialog is how a client reaches the other tabs.
  ignoresModalState: true,
  timeoutMs: (args, deadlines) => args.action === 'new' && args.url ? deadlines.timeoutNavigation : deadlines.timeoutAction,
  async handle(ctx, { action, index, url, isolatedContext }, response) {
    switch (action) {
      case 'list':
        await ctx.currentPage();
        break;
      case 'new':
        if (isolatedContext !== undefined && !/^[\w .-]{1,100}$/.test(isolatedContext)) {
          throw new Error('"isolatedContext" must be a name of 1 to 100 letters, digits, spaces, dots, dashes or underscores.');
        }
        await ctx.newTab(isolatedContext);
        response.addCode(isolatedContext && isolatedContext !== 'default'
          ? `const page = await (await browser.newContext()).newPage(); // isolated context ${JSON.stringify(isolatedContext)}`
          : 'const page = await context.newPage();');
        if (url) {
          response.addCode(`await page.goto(${JSON.stringify(await navigateTo(ctx, url))});`);
          response.setIncludeSnapshot();
        }
        break;
      case 'close': {
        const closed = await ctx.closeTab(index);
        response.addResult(`Closed tab ${index ?? '(current)'}: ${closed}`);
        break;
      }
      case 'select':
        if (index === undefined) throw new Error('Tab index is required to select a tab.');
        await ctx.selectTab(index);
        break;
    }
    if (!ctx.tabs().length) response.addResult('No open tabs. Navigate to a URL to create one.');
    response.includeTabs = true;
  },
});

/** Listing, opening, closing and selecting tabs. */
export const tabsTools = [tabs];
