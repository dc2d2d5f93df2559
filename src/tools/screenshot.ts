import { extname } from 'node:path';
import { z } from 'zod';
import { defineTool, elementField } from './tool.ts';

type ImageType = 'png' | 'jpeg' | 'webp';

/** JPEG qualities tried, in order, when an image is over the inline limit. */
const SHRINK_QUALITIES = [80, 60, 40];

function typeFromFilename(filename?: string): ImageType | undefined {
  switch (filename && extname(filename).toLowerCase()) {
    case '.png': return 'png';
    case '.jpg': case '.jpeg': return 'jpeg';
    case '.webp': return 'webp';
    default: return undefined;
  }
}

const screenshot = defineTool({
  name: 'browser_take_screenshot',
  title: 'Take a screenshot',
  description: 'Take a screenshot of the current page. You can\'t perform actions based on the screenshot, use browser_snapshot for actions. The image comes back in the result (re-encoded as JPEG if over the server\'s size limit), or is saved in the session output directory with `filename`.',
  input: z.object({
    element: elementField,
    target: z.string().optional().describe('Exact target element reference from the page snapshot, or a unique element selector. If not provided, the screenshot will be taken of viewport.'),
    type: z.enum(['png', 'jpeg', 'webp']).optional().describe('Image format for the screenshot. If unset, inferred from the filename extension, otherwise png.'),
    filename: z.string().optional().describe('File name to save the screenshot to, in the session output directory. When given, the image is saved there and not returned inline.'),
    fullPage: z.boolean().optional().describe('When true, takes a screenshot of the full scrollable page, instead of the currently visible viewport. Cannot be used with element screenshots.'),
    scale: z.enum(['css', 'device']).default('css').describe('Image resolution scale. "css" produces a screenshot sized in CSS pixels (smaller, consistent across devices). "device" produces a high-resolution screenshot using device pixels. Default is css.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  async handle(ctx, args, response) {
    if (args.fullPage && args.target) throw new Error('fullPage cannot be used with element screenshots.');
    const page = await ctx.currentPage();
    const locator = args.target ? await ctx.resolveTarget(args.target) : undefined;
    const label = locator ? (args.element || 'element') : args.fullPage ? 'full page' : 'viewport';
    const shoot = (type: ImageType, quality?: number) => locator
      ? locator.screenshot({ type, quality, scale: args.scale })
      : page.screenshot({ type, quality, scale: args.scale, fullPage: args.fullPage });
    let type: ImageType = args.type ?? typeFromFilename(args.filename) ?? 'png';
    let image = await shoot(type, type === 'jpeg' ? 90 : undefined);
    response.addCode(`await page${locator ? `.locator(${JSON.stringify(args.target)})` : ''}.screenshot({ type: '${type}'${args.fullPage ? ', fullPage: true' : ''} });`);
    if (args.filename) {
      response.addResult(`- [Screenshot of ${label}](${await ctx.writeOutput(args.filename, image)})`);
      return;
    }
    const max = ctx.settings.imageMaxBytes;
    const original = image.length;
    for (const quality of SHRINK_QUALITIES) {
      if (image.length <= max) break;
      type = 'jpeg';
      image = await shoot('jpeg', quality);
      if (image.length <= max) response.addResult(`The ${original}-byte image was over the ${max}-byte inline limit; re-encoded as JPEG at quality ${quality}.`);
    }
    if (image.length > max) {
      throw new Error(`The screenshot of the ${label} is ${image.length} bytes even as JPEG at quality ${SHRINK_QUALITIES.at(-1)}, over the ${max}-byte inline limit (--image-max-bytes). ` +
        'Pass `filename` to save it in the session output directory, or take a smaller one (an element with `target`, or the viewport instead of fullPage).');
    }
    response.addResult(`Screenshot of ${label}`);
    response.addImage(image, `image/${type}`);
  },
});

/** Screenshots as image content or files. */
export const screenshotTools = [screenshot];
