import { z } from 'zod';
import { locatorCode } from './snapshot.ts';
import { defineTool, elementField, targetField } from './tool.ts';

const fillForm = defineTool({
  name: 'browser_fill_form',
  title: 'Fill form',
  description: 'Fill multiple form fields',
  input: z.object({
    fields: z.array(z.object({
      element: elementField,
      target: targetField,
      name: z.string().describe('Human-readable field name'),
      type: z.enum(['textbox', 'checkbox', 'radio', 'combobox', 'slider']).describe('Type of the field'),
      value: z.string().describe('Value to fill in the field. If the field is a checkbox, the value should be `true` or `false`. If the field is a combobox, the value should be the text of the option. For a textbox, the name of a secret the server holds (--secrets) fills in its value, which results never show.'),
    })).describe('Fields to fill in'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { fields }, response) {
    // Resolve every field first, so a bad ref fails before anything on the page changed.
    const located = await Promise.all(fields.map(async (field) => ({ field, locator: await ctx.resolveTarget(field.target) })));
    await ctx.settleAfter(async () => {
      for (const { field, locator } of located) {
        const code = `await page.${locatorCode(field.target)}`;
        if (field.type === 'textbox' || field.type === 'slider') {
          const secret = ctx.secret(field.value);
          await locator.fill(secret.value);
          response.addCode(`${code}.fill(${secret.code});`);
        } else if (field.type === 'checkbox' || field.type === 'radio') {
          await locator.setChecked(field.value === 'true');
          response.addCode(`${code}.setChecked(${field.value === 'true'});`);
        } else {
          await locator.selectOption({ label: field.value });
          response.addCode(`${code}.selectOption({ label: ${JSON.stringify(field.value)} });`);
        }
      }
    });
    response.setIncludeSnapshot();
  },
});

/** Filling several form fields at once. */
export const formTools = [fillForm];
