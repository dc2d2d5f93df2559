import { z } from 'zod';
import { assertNavigable } from '../security/egress-policy.ts';
import { defineTool } from './tool.ts';

const navigate = defineTool({
  name: 'browser_navigate',
  title: 'Navigate to a URL',
  description: 'Navigate to a URL',
  input: z.object({
    url: z.string().describe('The URL to navigate to'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  navigates: true,
  async handle(ctx, { url }, response) {
    const page = await ctx.currentPage();
    // Like @playwright/mcp: a bare host gets https:// (localhost gets http://).
    let target = url;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) target = /^(localhost|127\.|\[::1\])/.test(url) ? `http://${url}` : `https://${url}`;
    await assertNavigable(target, ctx.settings);
    await page.goto(target, { waitUntil: 'domcontentloaded', timeout: ctx.settings.timeoutNavigation });
    response.addCode(`await page.goto(${JSON.stringify(target)});`);
    response.setIncludeSnapshot();
  },
});

const navigateBack = defineTool({
  name: 'browser_navigate_back',
  title: 'Go back',
  description: 'Go back to the previous page in the history',
  input: z.object({}),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  navigates: true,
  async handle(ctx, _args, response) {
    const page = await ctx.currentPage();
    await page.goBack({ waitUntil: 'domcontentloaded', timeout: ctx.settings.timeoutNavigation });
    response.addCode('await page.goBack();');
    response.setIncludeSnapshot();
  },
});

export const navigateTools = [navigate, navigateBack];
