import { z } from 'zod';
import { locatorCode } from './snapshot.ts';
import { defineTool, elementField, targetField } from './tool.ts';

const pressKey = defineTool({
  name: 'browser_press_key',
  title: 'Press a key',
  description: 'Press a key on the keyboard',
  input: z.object({
    key: z.string().describe('Name of the key to press or a character to generate, such as `ArrowLeft` or `a`'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { key }, response) {
    const page = await ctx.currentPage();
    await ctx.settleAfter(() => page.keyboard.press(key));
    response.addCode(`await page.keyboard.press(${JSON.stringify(key)});`);
    // Enter is the key that submits forms and so changes the page; others rarely do.
    if (key === 'Enter') response.setIncludeSnapshot();
  },
});

const type = defineTool({
  name: 'browser_type',
  title: 'Type text',
  description: 'Type text into editable element',
  input: z.object({
    element: elementField,
    target: targetField,
    text: z.string().describe('Text to type into the element. To type a secret the server holds (--secrets), give its name: the page gets its value, and results never show it.'),
    submit: z.boolean().optional().describe('Whether to submit entered text (press Enter after)'),
    slowly: z.boolean().optional().describe('Whether to type one character at a time. Useful for triggering key handlers in the page. By default entire text is filled in at once.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { target, text, submit, slowly }, response) {
    const locator = await ctx.resolveTarget(target);
    const secret = ctx.secret(text);
    await ctx.settleAfter(async () => {
      if (slowly) await locator.pressSequentially(secret.value);
      else await locator.fill(secret.value);
      if (submit) await locator.press('Enter');
    });
    response.addCode(`await page.${locatorCode(target)}.${slowly ? 'pressSequentially' : 'fill'}(${secret.code});`);
    if (submit) response.addCode(`await page.${locatorCode(target)}.press('Enter');`);
    response.setIncludeSnapshot();
  },
});

/** Keyboard input. */
export const keyboardTools = [pressKey, type];
