import { z } from 'zod';
import { assertNavigable } from '../security/egress-policy.ts';
import { defineTool, type ToolContext } from './tool.ts';

/** Like @playwright/mcp: a bare host gets https://, a loopback host gets http://. */
export function normalizeUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  return /^(localhost|127\.|0\.0\.0\.0|\[::1\])/.test(url) ? `http://${url}` : `https://${url}`;
}

/** Checks `url` against the egress policy, then loads it in the selected tab and lets it settle. */
export async function navigateTo(ctx: ToolContext, url: string): Promise<string> {
  const target = normalizeUrl(url);
  await assertNavigable(target, ctx.settings);
  const page = await ctx.currentPage();
  ctx.progress(0, 3, `Navigating to ${target}`);
  const loaded = () => ctx.progress(1, 3, 'The document has loaded; settling');
  page.once('domcontentloaded', loaded);
  try {
    // A navigation is over at DOMContentLoaded: what its page starts later (popups, requests) is
    // tracked by settling, and a dialog still wins the snapshot's race, so no extra round trip.
    await ctx.settleAfter(() => page.goto(target, { waitUntil: 'domcontentloaded', timeout: ctx.settings.timeoutNavigation }), { roundTrip: false });
  } finally {
    page.off('domcontentloaded', loaded);
  }
  ctx.progress(2, 3, 'Settled; taking the snapshot');
  return target;
}

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
    const target = await navigateTo(ctx, url);
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
    await ctx.settleAfter(() => page.goBack({ waitUntil: 'commit', timeout: ctx.settings.timeoutNavigation }), { roundTrip: false });
    response.addCode('await page.goBack();');
    response.setIncludeSnapshot();
  },
});

/** Loading URLs and going back. */
export const navigateTools = [navigate, navigateBack];
