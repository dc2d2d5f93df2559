import { z } from 'zod';
import { defineTool, elementField, targetField } from './tool.ts';

const snapshot = defineTool({
  name: 'browser_snapshot',
  title: 'Page snapshot',
  description: 'Capture accessibility snapshot of the current page, this is better than screenshot',
  input: z.object({
    target: z.string().optional().describe('Exact target element reference from the page snapshot, or a unique element selector; snapshots only that subtree'),
    filename: z.string().optional().describe('Save the snapshot to this file in the session output directory instead of returning it'),
    depth: z.number().optional().describe('Limit the depth of the snapshot tree'),
    boxes: z.boolean().optional().describe('Include each element\'s bounding box as [box=x,y,width,height]'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  async handle(ctx, { target, depth, boxes }, response) {
    await ctx.currentPage();
    response.setIncludeSnapshot({ target, depth, boxes });
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

/** How the Playwright code line names a target. */
export function locatorCode(target: string): string {
  return /^(f\d+)?e\d+$/.test(target) ? `getByRef(${JSON.stringify(target)})` : `locator(${JSON.stringify(target)})`;
}

export const snapshotTools = [snapshot, click];
