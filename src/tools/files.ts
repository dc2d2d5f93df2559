import { existsSync } from 'node:fs';
import { z } from 'zod';
import { locatorCode } from './snapshot.ts';
import { defineTool, elementField, targetField, type ToolContext } from './tool.ts';

/** The files named by the client, confined to the session's output directory and --upload-root. */
function readablePaths(ctx: ToolContext, paths: string[]): string[] {
  return paths.map((requested) => {
    const path = ctx.inputPath(requested);
    if (!existsSync(path)) throw new Error(`File not found: ${requested}`);
    return path;
  });
}

const fileUpload = defineTool({
  name: 'browser_file_upload',
  title: 'Upload files',
  description: 'Upload one or multiple files',
  input: z.object({
    paths: z.array(z.string()).optional().describe('The paths of the files to upload, on the server: inside the session output directory or the server\'s --upload-root (relative paths are resolved against the session output directory). Can be single file or multiple files. If omitted, file chooser is cancelled.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  clearsModalState: 'fileChooser',
  async handle(ctx, { paths }, response) {
    const state = ctx.modalStates().find((s) => s.type === 'fileChooser');
    if (state?.type !== 'fileChooser') throw new Error('No file chooser visible');
    const files = paths ? readablePaths(ctx, paths) : undefined;
    ctx.clearModalState(state);
    if (files) await ctx.settleAfter(() => state.fileChooser.setFiles(files));
    response.addCode(files ? `await fileChooser.setFiles(${JSON.stringify(files)});` : '// file chooser cancelled');
    response.addResult(files ? `Uploaded ${files.length} file${files.length === 1 ? '' : 's'}.` : 'File chooser cancelled.');
    response.setIncludeSnapshot();
  },
});

const drop = defineTool({
  name: 'browser_drop',
  title: 'Drop files or data onto an element',
  description: 'Drop files or MIME-typed data onto an element, as if dragged from outside the page. At least one of "paths" or "data" must be provided.',
  input: z.object({
    element: elementField,
    target: targetField,
    paths: z.array(z.string()).optional().describe('Paths of files to drop onto the element, on the server: inside the session output directory or the server\'s --upload-root.'),
    data: z.record(z.string(), z.string()).optional().describe('Data to drop, as a map of MIME type to string value (e.g. {"text/plain": "hello", "text/uri-list": "https://example.com"}).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  async handle(ctx, { target, paths, data }, response) {
    if (!paths?.length && !data) throw new Error('At least one of "paths" or "data" must be provided.');
    const locator = await ctx.resolveTarget(target);
    const files = paths?.length ? readablePaths(ctx, paths) : undefined;
    const payload = { ...(files && { files: files.length === 1 ? files[0] : files }), ...(data && { data }) };
    await ctx.settleAfter(() => locator.drop(payload));
    response.addCode(`await page.${locatorCode(target)}.drop(${JSON.stringify(payload)});`);
    response.setIncludeSnapshot();
  },
});

/** Uploading and dropping files. */
export const filesTools = [fileUpload, drop];
