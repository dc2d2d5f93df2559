import { readFile } from 'node:fs/promises';
import vm from 'node:vm';
import { z } from 'zod';
import { defineTool } from './tool.ts';

/** Globals the snippet can use besides `page`; a vm context starts with none of Node's. */
const EXPOSED_GLOBALS = [
  'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask',
  'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController', 'AbortSignal',
  'fetch', 'Headers', 'Request', 'Response', 'FormData', 'Blob', 'Buffer', 'crypto', 'atob', 'btoa', 'structuredClone',
] as const;

const runCode = defineTool({
  name: 'browser_run_code_unsafe',
  title: 'Run Playwright code (unsafe)',
  description: 'Run a Playwright code snippet. Unsafe: executes arbitrary JavaScript in this session\'s worker process on the server ' +
    '(not in the page), with the rights of the server\'s OS user; it is remote code execution by design. Only offered when the server runs with --caps unsafe-code.',
  input: z.object({
    code: z.string().optional().describe('A JavaScript function containing Playwright code to execute. It will be invoked with a single argument, page, which you can use for any page interaction. For example: `async (page) => { await page.getByRole(\'button\', { name: \'Submit\' }).click(); return await page.title(); }`'),
    filename: z.string().optional().describe('Load code from this file, inside the session output directory or the server\'s --upload-root. If both code and filename are provided, code will be ignored.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
  capability: 'unsafe-code',
  taints: 'it ran browser_run_code_unsafe',
  timeoutMs: (_args, deadlines) => deadlines.timeoutNavigation,
  async handle(ctx, args, response) {
    const code = args.filename ? await readFile(ctx.inputPath(args.filename), 'utf8') : args.code;
    if (!code) throw new Error('Provide "code" or "filename".');
    const page = await ctx.currentPage();
    const sandbox: Record<string, unknown> = { page };
    for (const name of EXPOSED_GLOBALS) sandbox[name] = globalThis[name];
    vm.createContext(sandbox);
    let result: unknown;
    await ctx.settleAfter(async () => {
      const fn = vm.runInContext(`(${code})`, sandbox, { filename: 'browser_run_code_unsafe' }) as unknown;
      if (typeof fn !== 'function') throw new Error('"code" must be a function, e.g. async (page) => { ... }');
      result = await fn(page);
    });
    response.addCode(`await (${code})(page);`);
    if (result !== undefined) response.addResult(JSON.stringify(result, null, 2) ?? String(result));
    response.setIncludeSnapshot();
  },
});

/** Running Playwright code in the worker (needs --caps unsafe-code). */
export const runCodeTools = [runCode];
