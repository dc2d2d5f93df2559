import type { BrowserContext, Route } from 'playwright-core';
import { z } from 'zod';
import { defineTool, type ToolAnnotations, type ToolContext } from './tool.ts';

// The network group of @playwright/mcp (--caps network): the browser's online state and routes
// that mock responses or change request headers.
//
// Every context already has the egress check installed as a route on '**/*' (workers/egress.ts).
// Playwright runs the routes added last first, so ours run before it: a mock is answered with
// route.fulfill (no request leaves the browser), and anything that lets the request go on does so
// with route.fallback, never route.continue, so the egress check still sees it.

const READS: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, openWorldHint: true };
const CHANGES: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, openWorldHint: true };

/** One route a client added, as browser_route_list shows it and browser_unroute removes it. */
interface RouteEntry {
  pattern: string;
  /** Set when the route answers with a mocked response instead of letting the request go on. */
  mock?: { status: number; contentType?: string; body?: string; headers?: Record<string, string> };
  /** Request headers set (mock undefined). */
  addHeaders?: Record<string, string>;
  /** Request headers removed, lower case (mock undefined). */
  removeHeaders?: string[];
  handler: (route: Route) => Promise<void>;
}

/**
 * The routes of each context. A closed browser's routes go with its context; the next one (after
 * browser_close, a reset for another lease) starts without any.
 */
const routesByContext = new WeakMap<BrowserContext, RouteEntry[]>();

const browserContext = async (ctx: ToolContext): Promise<BrowserContext> => (await ctx.currentPage()).context();

/** `Name: Value` lines as a header map; throws on a line without a name. */
function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, Math.max(colon, 0)).trim();
    if (colon <= 0 || !name) throw new Error(`Invalid header ${JSON.stringify(line)}: expected "Name: Value".`);
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The handler of `entry`: fulfills a mock, or passes the request on (through the egress check) with its headers changed. */
function routeHandler(entry: Omit<RouteEntry, 'handler'>): (route: Route) => Promise<void> {
  return async function mockedRoute(route: Route) {
    try {
      if (entry.mock) {
        await route.fulfill(entry.mock);
        return;
      }
      const headers = { ...route.request().headers() };
      for (const [name, value] of Object.entries(entry.addHeaders ?? {})) headers[name.toLowerCase()] = value;
      for (const name of entry.removeHeaders ?? []) delete headers[name];
      await route.fallback({ headers });
    } catch {
      // The page or the request went away meanwhile: there is nobody left to answer.
    }
  };
}

function describeRoute(entry: RouteEntry, index: number): string {
  const details: string[] = [];
  if (entry.mock) {
    details.push(`mocked: status ${entry.mock.status}`);
    if (entry.mock.contentType) details.push(`contentType ${entry.mock.contentType}`);
    if (entry.mock.headers) details.push(`headers ${JSON.stringify(entry.mock.headers)}`);
    if (entry.mock.body !== undefined) {
      const body = entry.mock.body;
      details.push(`body (${body.length} chars) ${JSON.stringify(body.length > 50 ? `${body.slice(0, 50)}…` : body)}`);
    }
  } else {
    if (entry.addHeaders) details.push(`sets request headers ${JSON.stringify(entry.addHeaders)}`);
    if (entry.removeHeaders) details.push(`removes request headers ${entry.removeHeaders.join(', ')}`);
    if (!details.length) details.push('passes requests on unchanged');
  }
  return `${index + 1}. ${entry.pattern} (${details.join('; ')})`;
}

const route = defineTool({
  name: 'browser_route',
  title: 'Mock network requests',
  capability: 'network',
  description: 'Add a route for requests whose URL matches a glob pattern, in every tab of the browser. With status, body or contentType, ' +
    'matching requests get that mocked response and never reach the network. Without them, requests go on (still subject to the ' +
    'server\'s origin rules) with `headers` set and `removeHeaders` removed. The route added last is tried first.',
  input: z.object({
    pattern: z.string().describe('Glob pattern of the URLs to match, e.g. "**/api/users" or "**/*.{png,jpg}"'),
    status: z.number().optional().describe('HTTP status code of the mocked response (100 to 599); defaults to 200 when mocking'),
    body: z.string().optional().describe('Body of the mocked response: text, or a JSON document as a string'),
    contentType: z.string().optional().describe('Content-Type of the mocked response, e.g. "application/json" or "text/html"'),
    headers: z.array(z.string()).optional().describe('Headers in "Name: Value" form: response headers of a mocked response, otherwise request headers to set'),
    removeHeaders: z.string().optional().describe('Comma-separated names of request headers to remove before the request goes on (not used when mocking)'),
  }),
  annotations: CHANGES,
  async handle(ctx, args, response) {
    const pattern = args.pattern.trim();
    if (!pattern) throw new Error('pattern must not be empty.');
    const headers = args.headers ? parseHeaders(args.headers) : undefined;
    const mocks = args.status !== undefined || args.body !== undefined || args.contentType !== undefined;
    if (args.status !== undefined && !(Number.isInteger(args.status) && args.status >= 100 && args.status <= 599)) {
      throw new Error(`status must be a whole number from 100 to 599, not ${args.status}.`);
    }
    if (mocks && args.removeHeaders) throw new Error('removeHeaders changes requests that go on; it cannot be combined with a mocked response (status, body or contentType).');
    const removeHeaders = args.removeHeaders?.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
    const spec: Omit<RouteEntry, 'handler'> = mocks
      ? { pattern, mock: { status: args.status ?? 200, contentType: args.contentType, body: args.body, headers } }
      : { pattern, addHeaders: headers, removeHeaders: removeHeaders?.length ? removeHeaders : undefined };
    const entry: RouteEntry = { ...spec, handler: routeHandler(spec) };
    const context = await browserContext(ctx);
    await context.route(pattern, entry.handler);
    const entries = routesByContext.get(context) ?? [];
    entries.push(entry);
    routesByContext.set(context, entries);
    response.addResult(`Route added for pattern: ${pattern}\n${describeRoute(entry, entries.length - 1)}`);
    response.addCode(entry.mock
      ? `await page.context().route(${JSON.stringify(pattern)}, route => route.fulfill(${JSON.stringify(entry.mock)}));`
      : `await page.context().route(${JSON.stringify(pattern)}, route => route.fallback({ headers: { /* changed request headers */ } }));`);
  },
});

const routeList = defineTool({
  name: 'browser_route_list',
  title: 'List network routes',
  capability: 'network',
  description: 'List the routes added with browser_route in this browser, numbered in the order they were added, with what each does.',
  input: z.object({}),
  annotations: READS,
  async handle(ctx, _args, response) {
    const entries = routesByContext.get(await browserContext(ctx)) ?? [];
    response.addResult(entries.length ? entries.map(describeRoute).join('\n') : 'No active routes');
  },
});

const unroute = defineTool({
  name: 'browser_unroute',
  title: 'Remove network routes',
  capability: 'network',
  description: 'Remove the routes added with browser_route for exactly this pattern, or every such route when no pattern is given. ' +
    'Matching requests then reach the network again.',
  input: z.object({
    pattern: z.string().optional().describe('Pattern of the routes to remove, exactly as given to browser_route; omit to remove all routes'),
  }),
  annotations: CHANGES,
  async handle(ctx, args, response) {
    const context = await browserContext(ctx);
    const entries = routesByContext.get(context) ?? [];
    const pattern = args.pattern?.trim();
    const removed = pattern === undefined ? entries : entries.filter((entry) => entry.pattern === pattern);
    for (const entry of removed) await context.unroute(entry.pattern, entry.handler);
    routesByContext.set(context, entries.filter((entry) => !removed.includes(entry)));
    if (pattern === undefined) response.addResult(`Removed all ${removed.length} route(s)`);
    else if (removed.length) response.addResult(`Removed ${removed.length} route(s) for pattern: ${pattern}`);
    else response.addResult(`No route has the pattern ${pattern}; browser_route_list shows the active ones.`);
  },
});

const networkStateSet = defineTool({
  name: 'browser_network_state_set',
  title: 'Set network state',
  capability: 'network',
  description: 'Take the browser offline or back online, for every tab. While offline, requests fail as without a network; mocked routes still answer.',
  input: z.object({
    state: z.enum(['online', 'offline']).describe('"offline" to make requests fail as without a network, "online" to restore it'),
  }),
  annotations: CHANGES,
  async handle(ctx, args, response) {
    const offline = args.state === 'offline';
    await (await browserContext(ctx)).setOffline(offline);
    response.addResult(`Network is now ${args.state}`);
    response.addCode(`await page.context().setOffline(${offline});`);
  },
});

/** The network group: online state and routes, per browser context. */
export const routeTools = [networkStateSet, route, routeList, unroute];
