import { z } from 'zod';
import { defineTool } from './tool.ts';

/** `page-2025-01-31T12-00-00-000Z.pdf`: unique enough per browser, and sorts by time. */
function generatedName(): string {
  return `page-${new Date().toISOString().replace(/[:.]/g, '-')}.pdf`;
}

const pdfSave = defineTool({
  name: 'browser_pdf_save',
  title: 'Save as PDF',
  description: 'Save the current page as a PDF file as Chromium prints it (print styles, Letter paper), into this browser\'s output directory on the server, and link the file. A remote client reads it with resources/read.',
  input: z.object({
    filename: z.string().optional().describe('File name for the PDF, inside this browser\'s output directory on the server; a name like page-<timestamp>.pdf when omitted'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  capability: 'pdf',
  async handle(ctx, { filename }, response) {
    const page = await ctx.currentPage();
    const name = filename ?? generatedName();
    const data = await page.pdf();
    response.addResult(`- [Page as PDF](${await ctx.writeOutput(name, data)})`);
    response.addCode(`await page.pdf({ path: ${JSON.stringify(name)} });`);
  },
});

/** Saving the page as a PDF (--caps pdf). */
export const pdfTools = [pdfSave];
