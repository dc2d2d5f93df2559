import { z } from 'zod';
import { defineTool, elementField, targetField } from './tool.ts';

/** How the Playwright code line names a target. */
export function locatorCode(target: string): string {
  return /^(f\d+)?e\d+$/.test(target) ? `getByRef(${JSON.stringify(target)})` : `locator(${JSON.stringify(target)})`;
}

const snapshot = defineTool({
  name: 'browser_snapshot',
  title: 'Page snapshot',
  description: 'Capture accessibility snapshot of the current page, this is better than screenshot',
  input: z.object({
    target: z.string().optional().describe('Exact target element reference from the page snapshot, or a unique element selector; snapshots only that subtree'),
    filename: z.string().optional().describe('Save the whole snapshot to this file in the session output directory instead of returning it (no size budget applies)'),
    depth: z.number().optional().describe('Limit the depth of the snapshot tree'),
    boxes: z.boolean().optional().describe('Include each element\'s bounding box as [box=x,y,width,height] in the snapshot. Coordinates are viewport-relative, in CSS pixels'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  async handle(ctx, { target, filename, depth, boxes }, response) {
    if (filename) {
      const text = await ctx.captureSnapshot({ target, depth, boxes });
      response.addResult(`- [Snapshot](${await ctx.writeOutput(filename, text)})`);
      return;
    }
    await ctx.currentPage();
    response.setExplicitSnapshot({ target, depth, boxes });
  },
});

const click = defineTool({
  name: 'browser_click',
  title: 'Click',
  description: 'Perform click on a web page',
  input: z.object({
    element: elementField,
    target: targetField,
    doubleClick: z.boolean().optional().describe('Whether to perform a double click instead of a single click'),
    button: z.enum(['left', 'right', 'middle']).optional().describe('Button to click, defaults to left'),
    modifiers: z.array(z.enum(['Alt', 'Control', 'ControlOrMeta', 'Meta', 'Shift'])).optional().describe('Modifier keys to press'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { target, doubleClick, button, modifiers }, response) {
    const locator = await ctx.resolveTarget(target);
    const options = { button, modifiers };
    await ctx.settleAfter(() => doubleClick ? locator.dblclick(options) : locator.click(options));
    response.addCode(`await page.${locatorCode(target)}.${doubleClick ? 'dblclick' : 'click'}();`);
    response.setIncludeSnapshot();
  },
});

const drag = defineTool({
  name: 'browser_drag',
  title: 'Drag mouse',
  description: 'Perform drag and drop between two elements',
  input: z.object({
    startElement: z.string().optional().describe('Human-readable source element description used to obtain the permission to interact with the element'),
    startTarget: z.string().describe('Exact source element reference from the page snapshot, or a unique element selector'),
    endElement: z.string().optional().describe('Human-readable target element description used to obtain the permission to interact with the element'),
    endTarget: z.string().describe('Exact target element reference from the page snapshot, or a unique element selector'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { startTarget, endTarget }, response) {
    const start = await ctx.resolveTarget(startTarget);
    const end = await ctx.resolveTarget(endTarget);
    await ctx.settleAfter(() => start.dragTo(end));
    response.addCode(`await page.${locatorCode(startTarget)}.dragTo(page.${locatorCode(endTarget)});`);
    response.setIncludeSnapshot();
  },
});

const hover = defineTool({
  name: 'browser_hover',
  title: 'Hover mouse',
  description: 'Hover over element on page',
  input: z.object({
    element: elementField,
    target: targetField,
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { target }, response) {
    const locator = await ctx.resolveTarget(target);
    await ctx.settleAfter(() => locator.hover());
    response.addCode(`await page.${locatorCode(target)}.hover();`);
    response.setIncludeSnapshot();
  },
});

const selectOption = defineTool({
  name: 'browser_select_option',
  title: 'Select option',
  description: 'Select an option in a dropdown',
  input: z.object({
    element: elementField,
    target: targetField,
    values: z.array(z.string()).describe('Array of values to select in the dropdown. This can be a single value or multiple values.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { target, values }, response) {
    const locator = await ctx.resolveTarget(target);
    await ctx.settleAfter(() => locator.selectOption(values));
    response.addCode(`await page.${locatorCode(target)}.selectOption(${JSON.stringify(values)});`);
    response.setIncludeSnapshot();
  },
});

/** The accessibility snapshot and the element actions built on its refs. */
export const snapshotTools = [snapshot, click, drag, hover, selectOption];
