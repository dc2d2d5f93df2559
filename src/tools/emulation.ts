import { z } from 'zod';
import { defineTool } from './tool.ts';

const emulateMedia = defineTool({
  name: 'browser_emulate_media',
  title: 'Emulate media features',
  description: 'Emulate CSS media features for the page, for example switch between the light and dark color scheme. Omitted parameters are left unchanged; null clears an override.',
  input: z.object({
    colorScheme: z.enum(['light', 'dark']).nullable().optional().describe('Emulates the prefers-color-scheme media feature'),
    reducedMotion: z.enum(['reduce', 'no-preference']).nullable().optional().describe('Emulates the prefers-reduced-motion media feature'),
    forcedColors: z.enum(['active', 'none']).nullable().optional().describe('Emulates the forced-colors media feature'),
    contrast: z.enum(['more', 'no-preference']).nullable().optional().describe('Emulates the prefers-contrast media feature'),
    media: z.enum(['screen', 'print']).nullable().optional().describe('Changes the CSS media type of the page'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, args, response) {
    const features = Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined));
    if (!Object.keys(features).length) throw new Error('Specify at least one media feature to emulate.');
    const page = await ctx.currentPage();
    await page.emulateMedia(features);
    response.addCode(`await page.emulateMedia(${JSON.stringify(features)});`);
    response.addResult(`Emulating ${Object.entries(features).map(([name, value]) => `${name}: ${value ?? 'default'}`).join(', ')}.`);
  },
});

/** Emulating CSS media features. */
export const emulationTools = [emulateMedia];
