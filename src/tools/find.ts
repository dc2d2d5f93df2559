import { z } from 'zod';
import { defineTool, resultOrFile } from './tool.ts';

/** Lines of context shown around each match. */
const CONTEXT_LINES = 3;

/** `/pattern/flags` or a bare pattern; `g` is dropped since it makes `test` stateful. */
function compileRegex(source: string): RegExp {
  const literal = /^\/(.*)\/([a-z]*)$/.exec(source);
  return new RegExp(literal ? literal[1] : source, literal ? literal[2].replace(/g/g, '') : '');
}

function isValidRegex(source: string): boolean {
  try {
    compileRegex(source);
    return true;
  } catch {
    return false;
  }
}

const indentOf = (line: string) => line.length - line.trimStart().length;

/** Indices of the lines that contain line `index` in the YAML tree, root first. */
function ancestors(lines: string[], index: number): number[] {
  const out: number[] = [];
  let indent = indentOf(lines[index]);
  for (let i = index - 1; i >= 0 && indent > 0; i--) {
    if (lines[i].trim() && indentOf(lines[i]) < indent) {
      out.unshift(i);
      indent = indentOf(lines[i]);
    }
  }
  return out;
}

/** Snippets of `lines` around `matches`, each under its path from the root, overlapping windows merged. */
function snippets(lines: string[], matches: number[]): string[] {
  const windows: { start: number; end: number }[] = [];
  for (const line of matches) {
    const start = Math.max(0, line - CONTEXT_LINES);
    const end = Math.min(lines.length - 1, line + CONTEXT_LINES);
    const last = windows.at(-1);
    if (last && start <= last.end + 1) last.end = Math.max(last.end, end);
    else windows.push({ start, end });
  }
  return windows.map(({ start, end }) => {
    const shown = ancestors(lines, start);
    const path = shown.length && shown.at(-1)! < start - 1 ? [...shown.map((i) => lines[i]), `${' '.repeat(indentOf(lines[start]))}...`] : shown.map((i) => lines[i]);
    return [...path, ...lines.slice(start, end + 1)].join('\n');
  });
}

const find = defineTool({
  name: 'browser_find',
  title: 'Find in page snapshot',
  description: 'Search the accessibility snapshot of the current page for text or a regular expression. Returns matching snapshot nodes with a few lines of surrounding context, each shown under its path from the root of the tree, which is cheaper than capturing the whole snapshot when you only need to locate an element and its ref.',
  input: z.object({
    text: z.string().optional().describe('Plain text to search for in the page snapshot (case-insensitive substring match). Provide either text or regex, not both.'),
    regex: z.string().optional().refine((v) => !v || isValidRegex(v), { message: 'Invalid regular expression' })
      .describe('Regular expression to search for in the page snapshot. Matching is case-sensitive by default; wrap the pattern in slashes to add flags, e.g. "/error/i" for case-insensitive. Provide either text or regex, not both.'),
    maxResults: z.number().optional().describe('Most matches to return, the first ones in page order. Defaults to all of them.'),
    filename: z.string().optional().describe('Save results to this file in the session output directory instead of returning them.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  async handle(ctx, { text, regex, maxResults, filename }, response) {
    if (!text && !regex) throw new Error('Provide either "text" or "regex" to search for.');
    if (text && regex) throw new Error('Provide only one of "text" or "regex", not both.');
    if (maxResults !== undefined && !(Number.isInteger(maxResults) && maxResults >= 1)) throw new Error('"maxResults" must be a whole number of at least 1.');
    const pattern = regex ? compileRegex(regex) : undefined;
    const query = pattern ? String(pattern) : `"${text}"`;
    const needle = text?.toLowerCase() ?? '';
    const lines = (await ctx.captureSnapshot({})).split('\n');
    const matches = lines.flatMap((line, index) => (pattern ? pattern.test(line) : line.toLowerCase().includes(needle)) ? [index] : []);
    const shown = maxResults === undefined ? matches : matches.slice(0, maxResults);
    const more = matches.length > shown.length ? ` (showing the first ${shown.length})` : '';
    const body = matches.length
      ? `Found ${matches.length} ${matches.length === 1 ? 'match' : 'matches'} for ${query}${more}:\n\n${snippets(lines, shown).join('\n\n----\n\n')}`
      : `No matches found for ${query}.`;
    await resultOrFile(ctx, response, 'Find results', body, filename);
  },
});

/** Searching the page snapshot. */
export const findTools = [find];
