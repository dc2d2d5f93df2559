import { z } from 'zod';
import type { ClientBrowserOption } from '../config.ts';
import { FleetError } from '../errors.ts';
import { defineTool } from './tool.ts';

/** Most time a launch may take, ms; a cold Chromium start on a busy host can be slow. */
const LAUNCH_MS = 30_000;

/** Each browser_open parameter and the --client-browser-options value that allows it. */
const CHOICE_OPTION: Record<string, ClientBrowserOption> = {
  headless: 'headless', width: 'viewport', height: 'viewport', device: 'device', locale: 'locale',
  timezoneId: 'timezone', colorScheme: 'color-scheme', storageState: 'storage-state',
};

const open = defineTool({
  name: 'browser_open',
  title: 'Open browser',
  description: 'Open a new browser (its own process, with an empty context and one blank tab) and return its handle. ' +
    'Pass the handle as `browser` to every other tool to act in this browser; without an MCP session (protocol 2026-07-28) ' +
    'every call needs it. In a session that has no browser yet, this one becomes the session\'s own browser, which calls ' +
    'without `browser` use. A handle works only with the token that opened it, and expires when the browser has had no ' +
    'call for the server\'s --idle-timeout (30 minutes by default): then open a new one. ' +
    'The options choose this browser\'s device, viewport, locale, time zone, color scheme and starting storage state; ' +
    'the server\'s operator decides which of them clients may set (--client-browser-options). ' +
    'Headed mode (headless: false) needs a display on the server. Not part of @playwright/mcp: an extra tool of browser-fleet.',
  input: z.object({
    headless: z.boolean().optional().describe('Run the browser without a window. Defaults to the server\'s --headless setting.'),
    width: z.number().int().min(1).max(10_000).optional().describe('Viewport width in CSS pixels. Defaults to the device\'s, else the server\'s --viewport-size.'),
    height: z.number().int().min(1).max(10_000).optional().describe('Viewport height in CSS pixels. Defaults to the device\'s, else the server\'s --viewport-size.'),
    device: z.string().min(1).max(100).optional().describe('Device to emulate, as Playwright names it, e.g. "iPhone 15" or "Pixel 7": its viewport, user agent, pixel ratio, touch and mobile mode.'),
    locale: z.string().min(1).max(35).regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 language tag such as en-GB').optional()
      .describe('Locale of the browser, as a BCP 47 tag (e.g. "de-DE"): navigator.language, Accept-Language, number and date formats.'),
    timezoneId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_+\-/]+$/, 'must be an IANA time zone such as Europe/Paris').optional()
      .describe('Time zone of the browser, as an IANA name (e.g. "America/New_York").'),
    colorScheme: z.enum(['light', 'dark', 'no-preference']).optional().describe('Value of the prefers-color-scheme media feature.'),
    storageState: z.string().min(1).max(2000).optional().describe('Storage state (cookies, localStorage) to start from: a file saved with ' +
      'browser_storage_state, given as the browser-fleet://browser/... resource link of one of your browsers, or as a path inside the server\'s --upload-root.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
  ignoresModalState: true,
  browserRole: 'opens',
  timeoutMs: (_args, deadlines) => Math.max(deadlines.timeoutNavigation, LAUNCH_MS),
  // The supervisor gets the new browser, then runs this in it to apply the options.
  async handle(ctx, args, response) {
    const given = Object.entries(args).filter(([name, value]) => value !== undefined && name in CHOICE_OPTION);
    const refused = [...new Set(given.map(([name]) => CHOICE_OPTION[name]).filter((option) => !ctx.settings.clientBrowserOptions.includes(option)))];
    if (refused.length) {
      throw new FleetError('NOT_ALLOWED', `This server does not let clients choose ${refused.join(', ')} (its operator allows: ` +
        `${ctx.settings.clientBrowserOptions.join(', ') || 'none'}; --client-browser-options). Call browser_open without ${refused.length > 1 ? 'them' : 'it'}.`);
    }
    if (given.length) await ctx.reopenBrowser({ ...args, storageState: args.storageState && ctx.inputPath(args.storageState) });
    const { headless, device, locale, timezoneId, colorScheme } = ctx.settings.browser;
    const viewport = ctx.viewport();
    const facts = [`${headless ? 'Headless' : 'Headed'}`, `viewport ${viewport.width}x${viewport.height}`,
      ...(device ? [`device ${device}`] : []), ...(locale ? [`locale ${locale}`] : []), ...(timezoneId ? [`time zone ${timezoneId}`] : []),
      ...(colorScheme ? [`color scheme ${colorScheme}`] : []), ...(args.storageState ? ['storage state loaded'] : [])];
    response.addResult(`${facts.join(', ')}.`);
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
