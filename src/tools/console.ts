import { z } from 'zod';
import { CONSOLE_LEVELS, defineTool, resultOrFile } from './tool.ts';

const consoleMessages = defineTool({
  name: 'browser_console_messages',
  title: 'Get console messages',
  description: 'Returns all console messages of the current tab (console calls and uncaught errors), recorded from the moment the tab opened',
  input: z.object({
    level: z.enum(CONSOLE_LEVELS).default('info').describe('Level of the console messages to return. Each level includes the messages of more severe levels. Defaults to "info".'),
    all: z.boolean().optional().describe('Return all console messages since the tab opened, not just since the last navigation. Defaults to false.'),
    filename: z.string().optional().describe('File name to save the console messages to, in the session output directory. If not provided, messages are returned as text.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  async handle(ctx, { level, all, filename }, response) {
    const page = await ctx.currentPage();
    const messages = ctx.consoleMessages(page, { all });
    const threshold = CONSOLE_LEVELS.indexOf(level);
    const shown = messages.filter((message) => CONSOLE_LEVELS.indexOf(message.level) <= threshold);
    const errors = messages.filter((message) => message.level === 'error').length;
    const warnings = messages.filter((message) => message.level === 'warning').length;
    const header = [`Total messages: ${messages.length} (Errors: ${errors}, Warnings: ${warnings})`];
    if (shown.length !== messages.length) header.push(`Returning ${shown.length} messages for level "${level}"`);
    await resultOrFile(ctx, response, 'Console', [...header, '', ...shown.map((message) => message.line)].join('\n'), filename);
  },
});

/** Reading the console of the selected tab. */
export const consoleTools = [consoleMessages];
