import { z } from 'zod';
import { locatorCode } from './snapshot.ts';
import { defineTool, elementField, resultOrFile } from './tool.ts';

/** Result of evaluating the client's source in the page: functions are called, promises awaited. */
interface Evaluated {
  result: unknown;
  isFunction: boolean;
}

const evaluate = defineTool({
  name: 'browser_evaluate',
  title: 'Evaluate JavaScript',
  description: 'Evaluate JavaScript expression on page or element',
  input: z.object({
    element: elementField,
    target: z.string().optional().describe('Exact target element reference from the page snapshot, or a unique element selector; when given, the function receives the element'),
    function: z.string().describe('() => { /* code */ } or (element) => { /* code */ } when element is provided'),
    filename: z.string().optional().describe('File name to save the result to, in the session output directory. If not provided, result is returned as text.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, args, response) {
    const page = await ctx.currentPage();
    const locator = args.target ? await ctx.resolveTarget(args.target) : undefined;
    let evaluated: Evaluated | undefined;
    // The source arrives as text and the page compiles it, never the worker.
    await ctx.settleAfter(async () => {
      evaluated = locator
        ? await locator.evaluate(async (element, source) => {
          const value = (0, eval)(`(${source})`);
          const isFunction = typeof value === 'function';
          return { result: await (isFunction ? value(element) : value), isFunction };
        }, args.function)
        : await page.evaluate(async (source) => {
          const value = (0, eval)(`(${source})`);
          const isFunction = typeof value === 'function';
          return { result: await (isFunction ? value() : value), isFunction };
        }, args.function);
    });
    // A dialog opened by the code stops it before it returns; the modal state says so.
    if (!evaluated) return;
    const code = evaluated.isFunction ? args.function : `() => (${args.function})`;
    response.addCode(locator ? `await page.${locatorCode(args.target!)}.evaluate(${JSON.stringify(code)});` : `await page.evaluate(${JSON.stringify(code)});`);
    await resultOrFile(ctx, response, 'Evaluation result', JSON.stringify(evaluated.result, null, 2) ?? 'undefined', args.filename);
  },
});

/** Running JavaScript in the page. */
export const evaluateTools = [evaluate];
