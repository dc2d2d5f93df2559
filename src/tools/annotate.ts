import type { Page } from 'playwright-core';
import { z } from 'zod';
import type { Annotation } from '../ipc/protocol.ts';
import { defineTool } from './tool.ts';

// browser_annotate (--caps devtools): a person marks up the page for the model. @playwright/mcp
// opens its desktop dashboard on the machine's screen; a server has no one at its screen, so the
// request goes to this server's own dashboard (/dashboard), where an operator draws boxes on a
// screenshot of the page and writes a note for each.

/** Longest a call waits for the person, ms: people are slow, and the call says so while it waits. */
export const ANNOTATE_MS = 10 * 60 * 1000;
/** How often a waiting call reports progress (clients that reset their timeout on progress keep waiting), ms. */
const PROGRESS_MS = 5000;

/** Numbered boxes over the page, drawn by the page's own DOM so the screenshot shows them where the person drew them. */
async function withOverlay<T>(page: Page, annotations: Annotation[], work: () => Promise<T>): Promise<T> {
  const id = `bf-annotations-${Date.now()}`;
  await page.evaluate(({ id, boxes }) => {
    const layer = document.createElement('div');
    layer.id = id;
    layer.setAttribute('style', 'position:fixed;inset:0;pointer-events:none;z-index:2147483647');
    boxes.forEach((box, index) => {
      const frame = document.createElement('div');
      frame.setAttribute('style', `position:absolute;left:${box.x}px;top:${box.y}px;width:${box.width}px;height:${box.height}px;` +
        'outline:3px solid #e11d48;background:rgba(225,29,72,.08)');
      const label = document.createElement('div');
      label.textContent = String(index + 1);
      label.setAttribute('style', 'position:absolute;left:-3px;top:-22px;background:#e11d48;color:#fff;font:bold 13px/19px sans-serif;padding:0 6px');
      frame.appendChild(label);
      layer.appendChild(frame);
    });
    document.documentElement.appendChild(layer);
  }, { id, boxes: annotations });
  try {
    return await work();
  } finally {
    await page.evaluate((id) => document.getElementById(id)?.remove(), id).catch(() => {});
  }
}

/** What is under the middle of a box: the element's role or tag and its text, for the model to match with the snapshot. */
async function describeBoxes(page: Page, annotations: Annotation[]): Promise<string[]> {
  return page.evaluate((boxes) => boxes.map((box) => {
    const element = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    if (!element) return '';
    const role = element.getAttribute('role') ?? element.tagName.toLowerCase();
    const text = (element.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 80);
    return text ? `${role} "${text}"` : role;
  }), annotations).catch(() => annotations.map(() => ''));
}

const annotate = defineTool({
  name: 'browser_annotate',
  title: 'Annotate the current page',
  capability: 'devtools',
  description: 'Ask a person to annotate the current page: the server\'s dashboard (/dashboard) shows them a screenshot on which they draw ' +
    'boxes and write a note for each, and this call waits for them (up to 10 minutes, reporting progress meanwhile). Returns the ' +
    'screenshot with the numbered boxes, the page snapshot, and each box with its note and position in CSS pixels.',
  input: z.object({}),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  timeoutMs: () => ANNOTATE_MS,
  async handle(ctx, _args, response) {
    const page = await ctx.currentPage();
    const viewport = page.viewportSize() ?? ctx.viewport();
    const screenshot = await page.screenshot({ type: 'png', scale: 'css' });
    let reported = 0;
    const message = 'Waiting for a person to annotate this page on the server\'s dashboard (/dashboard)';
    ctx.progress(reported, undefined, message);
    const ticker = setInterval(() => ctx.progress(++reported, undefined, message), PROGRESS_MS);
    let answer;
    try {
      answer = await ctx.awaitAnnotations({ url: page.url(), title: await page.title(), width: viewport.width, height: viewport.height, data: screenshot.toString('base64') });
    } finally {
      clearInterval(ticker);
    }
    if ('cancelled' in answer) {
      response.addResult('The person at the dashboard cancelled the annotation: there is nothing to show.');
      return;
    }
    if (answer.annotations.length === 0) {
      response.addResult('The person at the dashboard sent no annotations.');
      return;
    }
    const { annotations } = answer;
    const under = await describeBoxes(page, annotations);
    const annotated = await withOverlay(page, annotations, () => page.screenshot({ type: 'png', scale: 'css' }));
    response.addResult([`${annotations.length} annotation${annotations.length === 1 ? '' : 's'} (boxes in CSS pixels of the viewport, numbered on the screenshot):`,
      ...annotations.map((box, index) => `${index + 1}. [x=${Math.round(box.x)}, y=${Math.round(box.y)}, ${Math.round(box.width)}x${Math.round(box.height)}]` +
        `${under[index] ? ` over ${under[index]}` : ''}: ${JSON.stringify(box.text)}`)].join('\n'));
    response.addImage(annotated, 'image/png');
    response.setExplicitSnapshot();
  },
});

/** A person marks up the page on the dashboard (--caps devtools). */
export const annotateTools = [annotate];
