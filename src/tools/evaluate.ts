import { z } from 'zod';
import { defineTool, elementField } from './tool.ts';

const evaluate = defineTool({
  name: 'browser_evaluate',
  title: 'Evaluate JavaScript',
  description: 'Evaluate JavaScript expression on page or element',
  input: z.object({
    element: elementField,
    target: z.string().optional().describe('Exact target element reference from the page snapshot, or a unique element selector; when given, the function receives the element'),
    function: z.string().describe('() => { /* code */ } or (element) => { /* code */ } when element is provided'),
    filename: z.string().optional().describe('Save the result to this file in the session output directory instead of returning it'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, args, response) {
    const page = await ctx.currentPage();
    // The function text arrives as source; the page compiles it, never the worker.
    const source = `(${args.function})`;
    const value = args.target
      ? await (await ctx.resolveTarget(args.target)).evaluate((element, code) => (0, eval)(code)(element), source)
      : await page.evaluate((code) => (0, eval)(code)(), source);
    response.addResult(JSON.stringify(value, null, 2) ?? 'undefined');
    response.addCode(`await page.evaluate(${JSON.stringify(args.function)});`);
  },
});

export const evaluateTools = [evaluate];
