import type { Request } from 'playwright-core';
import { z } from 'zod';
import { defineTool, resultOrFile } from './tool.ts';

function status(request: Request): string {
  const response = request.existingResponse();
  if (response) return ` => [${response.status()}] ${response.statusText()}`;
  const failure = request.failure();
  return failure ? ` => [FAILED] ${failure.errorText}` : '';
}

/** Long data: URLs would flood the list; their head is enough to recognise them. */
function shortUrl(url: string): string {
  return url.startsWith('data:') && url.length > 100 ? `${url.slice(0, 100)}…` : url;
}

/** Successful images, fonts, scripts and the like: hidden unless `static` is set. */
function isStaticSuccess(request: Request): boolean {
  if (['fetch', 'xhr'].includes(request.resourceType()) || request.failure()) return false;
  const response = request.existingResponse();
  return !!response && response.status() < 400;
}

function isRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const isTextual = (contentType = '') => /^text\/|json|xml|javascript|ecmascript|x-www-form-urlencoded|svg/i.test(contentType);

function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\n');
}

const requests = defineTool({
  name: 'browser_network_requests',
  title: 'List network requests',
  description: 'Returns a numbered list of network requests of the current tab since its page loaded. Use browser_network_request with the number to get full details.',
  input: z.object({
    static: z.boolean().default(false).describe('Whether to include successful static resources like images, fonts, scripts, etc. Defaults to false.'),
    filter: z.string().optional().refine((v) => !v || isRegex(v), { message: 'Invalid regular expression' })
      .describe('Only return requests whose URL matches this regexp (e.g. "/api/.*user").'),
    all: z.boolean().optional().describe('Return all network requests since the tab opened, not just since the last navigation. Defaults to false.'),
    filename: z.string().optional().describe('File name to save the network requests to, in the session output directory. If not provided, requests are returned as text.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  async handle(ctx, args, response) {
    const page = await ctx.currentPage();
    const filter = args.filter ? new RegExp(args.filter) : undefined;
    const lines: string[] = [];
    let hidden = 0;
    for (const { index, request } of ctx.requests(page, { all: args.all })) {
      if (!args.static && isStaticSuccess(request)) {
        hidden++;
        continue;
      }
      if (filter && !filter.test(request.url())) continue;
      lines.push(`${index}. [${request.method()}] ${shortUrl(request.url())}${status(request)}`);
    }
    if (!lines.length) lines.push('No requests match.');
    if (hidden) lines.push('', `Note: ${hidden} successful static request${hidden === 1 ? '' : 's'} not shown; set "static" to see ${hidden === 1 ? 'it' : 'them'}.`);
    await resultOrFile(ctx, response, 'Network', lines.join('\n'), args.filename);
  },
});

const request = defineTool({
  name: 'browser_network_request',
  title: 'Show network request details',
  description: 'Returns full details (headers and body) of a single network request, or a single part if `part` is set. Use the number from browser_network_requests.',
  input: z.object({
    index: z.number().int().min(1).describe('1-based index of the request, as printed by browser_network_requests.'),
    part: z.enum(['request-headers', 'request-body', 'response-headers', 'response-body']).optional().describe('Return only this part of the request. Omit to return full details.'),
    filename: z.string().optional().describe('File name to save the result to, in the session output directory. If not provided, output is returned as text.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: true },
  async handle(ctx, { index, part, filename }, response) {
    const entry = ctx.request(await ctx.currentPage(), index);
    if (!entry) throw new Error(`Request #${index} not found. Use browser_network_requests to see available indexes.`);
    const req = entry.request;
    const res = req.existingResponse();
    const contentType = res?.headers()['content-type'];
    let text: string;
    if (part === 'request-headers') text = headerLines(await req.allHeaders());
    else if (part === 'request-body') text = req.postData() ?? '(no request body)';
    else if (part === 'response-headers') text = res ? headerLines(await res.allHeaders()) : '(no response yet)';
    else if (part === 'response-body') {
      if (!res) text = '(no response yet)';
      else if (!isTextual(contentType)) {
        const body = await res.body();
        const path = await ctx.writeOutput(filename ?? `response-${index}.bin`, body);
        response.addResult(`Binary response body (${contentType ?? 'unknown type'}, ${body.length} bytes) saved as ${path}`);
        return;
      } else text = await res.text();
    } else {
      const lines = [`#${index} [${req.method()}] ${req.url()}`, '', '  General'];
      if (res || req.failure()) lines.push(`    status:    ${status(req).replace(' => ', '')}`);
      lines.push(`    type:      ${req.resourceType()}`);
      if (contentType) lines.push(`    mimeType:  ${contentType.split(';')[0].trim()}`);
      lines.push('', '  Request headers', ...Object.entries(await req.allHeaders()).map(([k, v]) => `    ${k}: ${v}`));
      if (res) lines.push('', '  Response headers', ...Object.entries(await res.allHeaders()).map(([k, v]) => `    ${k}: ${v}`));
      const hints = [req.postData() !== null && 'request-body', res && 'response-body'].filter(Boolean);
      if (hints.length) lines.push('', ...hints.map((h) => `Call browser_network_request with part="${h}" to read the ${String(h).replace('-', ' ')}.`));
      text = lines.join('\n');
    }
    await resultOrFile(ctx, response, 'Request', text, filename);
  },
});

/** Listing and reading the requests of the selected tab. */
export const networkTools = [requests, request];
