import type { Page } from 'playwright-core';
import { z } from 'zod';
import type { Response } from './response.ts';
import { defineTool, type ToolAnnotations, type ToolContext } from './tool.ts';

// Mouse by coordinates, for clients that work from screenshots (--caps vision). Each tool acts
// through page.mouse at CSS pixels of the viewport and settles like a click, since any of them
// may start a navigation or a request (a click, a drop, a hover menu, lazy loading on scroll).

/** Moves on the way from start to end of a drag, so pages that track mousemove (sliders, canvases, drag and drop) see a path, not a jump. */
const DRAG_STEPS = 5;

const MOUSE: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, openWorldHint: true };

const xField = z.number().describe('Horizontal position in CSS pixels from the left edge of the viewport, as measured on a screenshot taken with scale "css"');
const yField = z.number().describe('Vertical position in CSS pixels from the top edge of the viewport, as measured on a screenshot taken with scale "css"');
const buttonField = z.enum(['left', 'right', 'middle']).optional().describe('Mouse button to use; left when omitted');

/** Runs `action` on the selected tab's mouse, settles, and asks for the snapshot after it. */
async function withMouse(ctx: ToolContext, response: Response, code: string[], action: (page: Page) => Promise<void>): Promise<void> {
  const page = await ctx.currentPage();
  await ctx.settleAfter(() => action(page));
  for (const line of code) response.addCode(line);
  response.setIncludeSnapshot();
}

/** A note when a point is outside the viewport: the event goes nowhere useful, which a model should hear. */
function outsideViewport(page: Page, points: [number, number][]): string | undefined {
  const size = page.viewportSize();
  if (!size) return undefined;
  const outside = points.filter(([x, y]) => x < 0 || y < 0 || x >= size.width || y >= size.height);
  if (!outside.length) return undefined;
  return `Note: (${outside.map(([x, y]) => `${x}, ${y}`).join('), (')}) is outside the ${size.width}x${size.height} viewport.`;
}

/** `{ button: 'right' }`-style options for the code line, or nothing when all are defaults. */
function optionsCode(options: Record<string, unknown>): string {
  const set = Object.entries(options).filter(([, value]) => value !== undefined);
  return set.length ? `{ ${set.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(', ')} }` : '';
}

const mouseMove = defineTool({
  name: 'browser_mouse_move_xy',
  title: 'Move mouse',
  description: 'Move the mouse pointer to a position of the viewport, in CSS pixels (hover effects and menus react to it). Use browser_hover for an element of the snapshot instead.',
  input: z.object({ x: xField, y: yField }),
  annotations: MOUSE,
  capability: 'vision',
  async handle(ctx, { x, y }, response) {
    await withMouse(ctx, response, [`await page.mouse.move(${x}, ${y});`], async (page) => {
      await page.mouse.move(x, y);
      const note = outsideViewport(page, [[x, y]]);
      if (note) response.addResult(note);
    });
  },
});

const mouseClick = defineTool({
  name: 'browser_mouse_click_xy',
  title: 'Click',
  description: 'Click at a position of the viewport, in CSS pixels: moves the mouse there, presses and releases the button. Use browser_click for an element of the snapshot instead.',
  input: z.object({
    x: xField,
    y: yField,
    button: buttonField,
    clickCount: z.number().optional().describe('How many clicks in a row, e.g. 2 for a double click; 1 when omitted'),
    delay: z.number().optional().describe('Milliseconds to hold the button between press and release; 0 when omitted'),
  }),
  annotations: MOUSE,
  capability: 'vision',
  async handle(ctx, { x, y, button, clickCount, delay }, response) {
    const options = optionsCode({ button, clickCount, delay });
    await withMouse(ctx, response, [`await page.mouse.click(${x}, ${y}${options ? `, ${options}` : ''});`], async (page) => {
      const note = outsideViewport(page, [[x, y]]);
      if (note) response.addResult(note);
      await page.mouse.click(x, y, { button, clickCount, delay });
    });
  },
});

const mouseDrag = defineTool({
  name: 'browser_mouse_drag_xy',
  title: 'Drag mouse',
  description: 'Drag with the left button from one position of the viewport to another, in CSS pixels: move to the start, press, move to the end, release. Use browser_drag for two elements of the snapshot instead.',
  input: z.object({
    startX: z.number().describe('Horizontal start position in CSS pixels from the left edge of the viewport'),
    startY: z.number().describe('Vertical start position in CSS pixels from the top edge of the viewport'),
    endX: z.number().describe('Horizontal end position in CSS pixels from the left edge of the viewport'),
    endY: z.number().describe('Vertical end position in CSS pixels from the top edge of the viewport'),
  }),
  annotations: MOUSE,
  capability: 'vision',
  async handle(ctx, { startX, startY, endX, endY }, response) {
    const code = [
      `await page.mouse.move(${startX}, ${startY});`,
      'await page.mouse.down();',
      `await page.mouse.move(${endX}, ${endY}, { steps: ${DRAG_STEPS} });`,
      'await page.mouse.up();',
    ];
    await withMouse(ctx, response, code, async (page) => {
      const note = outsideViewport(page, [[startX, startY], [endX, endY]]);
      if (note) response.addResult(note);
      await page.mouse.move(startX, startY);
      await page.mouse.down();
      await page.mouse.move(endX, endY, { steps: DRAG_STEPS });
      await page.mouse.up();
    });
  },
});

const mouseDown = defineTool({
  name: 'browser_mouse_down',
  title: 'Press mouse down',
  description: 'Press a mouse button where the pointer is (move it first with browser_mouse_move_xy) and keep it pressed until browser_mouse_up.',
  input: z.object({ button: buttonField }),
  annotations: MOUSE,
  capability: 'vision',
  async handle(ctx, { button }, response) {
    await withMouse(ctx, response, [`await page.mouse.down(${optionsCode({ button })});`], (page) => page.mouse.down({ button }));
  },
});

const mouseUp = defineTool({
  name: 'browser_mouse_up',
  title: 'Press mouse up',
  description: 'Release a mouse button pressed with browser_mouse_down, where the pointer is now.',
  input: z.object({ button: buttonField }),
  annotations: MOUSE,
  capability: 'vision',
  async handle(ctx, { button }, response) {
    await withMouse(ctx, response, [`await page.mouse.up(${optionsCode({ button })});`], (page) => page.mouse.up({ button }));
  },
});

const mouseWheel = defineTool({
  name: 'browser_mouse_wheel',
  title: 'Scroll mouse wheel',
  description: 'Turn the mouse wheel where the pointer is, scrolling the element under it (or the page) by the given CSS pixels. Move the pointer first with browser_mouse_move_xy to scroll an inner scrollable area.',
  input: z.object({
    deltaX: z.number().default(0).describe('Pixels to scroll horizontally: positive scrolls right, negative left; 0 when omitted'),
    deltaY: z.number().default(0).describe('Pixels to scroll vertically: positive scrolls down, negative up; 0 when omitted'),
  }),
  annotations: MOUSE,
  capability: 'vision',
  async handle(ctx, { deltaX, deltaY }, response) {
    await withMouse(ctx, response, [`await page.mouse.wheel(${deltaX}, ${deltaY});`], (page) => page.mouse.wheel(deltaX, deltaY));
  },
});

/** Mouse input at viewport coordinates (--caps vision). */
export const visionTools = [mouseMove, mouseClick, mouseDrag, mouseDown, mouseUp, mouseWheel];
