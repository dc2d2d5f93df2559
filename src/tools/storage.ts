import { readFile } from 'node:fs/promises';
import type { BrowserContext, Cookie, Page } from 'playwright-core';
import { z } from 'zod';
import { defineTool, type Tool, type ToolAnnotations, type ToolContext } from './tool.ts';

// The storage group of @playwright/mcp (--caps storage): cookies of the browser's context,
// its storage state as a file, and the web storage of the selected tab's origin.

const READS: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, openWorldHint: true };
const CHANGES: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, openWorldHint: true };

/** What results say about how names and values are printed, so a model can trust them byte for byte. */
const EXACT_NOTE = 'Names and values are printed as they are, or as JSON string literals when they contain line breaks, ' +
  'control characters, leading or trailing spaces or start with a double quote (names also when they contain "=").';

/**
 * `text` as it is when nobody can misread it in a `name=value` line, else as a JSON string
 * literal, so a value with a line break or trailing space comes back exactly.
 */
function exact(text: string, isName = false): string {
  const ambiguous = /[\p{Cc}\p{Cs}\u2028\u2029]/u.test(text) || text !== text.trim() || text.startsWith('"') ||
    (isName && (text === '' || text.includes('=')));
  return ambiguous ? JSON.stringify(text) : text;
}

const pair = (name: string, value: string) => `${exact(name, true)}=${exact(value)}`;

// Cookies

/** Cookie domains compare without the leading dot of a domain cookie and without case. */
const normalizeDomain = (domain: string) => domain.replace(/^\./, '').toLowerCase();

/** Whether a cookie of `cookieDomain` belongs to `domain` or one of its subdomains. */
const domainMatches = (cookieDomain: string, domain: string) => {
  const [cookie, wanted] = [normalizeDomain(cookieDomain), normalizeDomain(domain)];
  return cookie === wanted || cookie.endsWith(`.${wanted}`);
};

/** Whether a cookie of `cookiePath` lies at `path` or below it (`/app` covers `/app/x`, not `/apple`). */
const pathMatches = (cookiePath: string, path: string) =>
  cookiePath === path || cookiePath.startsWith(path.endsWith('/') ? path : `${path}/`);

const cookieLine = (c: Cookie) => `${pair(c.name, c.value)} (domain: ${c.domain}, path: ${c.path})`;

function cookieDetails(c: Cookie): string {
  const expires = c.expires === -1 ? 'session' : new Date(c.expires * 1000).toISOString();
  return `${pair(c.name, c.value)} (domain: ${c.domain}, path: ${c.path}, httpOnly: ${c.httpOnly}, secure: ${c.secure}, sameSite: ${c.sameSite}, expires: ${expires})`;
}

/** The BrowserContext of the selected tab: cookies and storage state belong to it, not to one tab. */
const browserContext = async (ctx: ToolContext): Promise<BrowserContext> => (await ctx.currentPage()).context();

const cookieList = defineTool({
  name: 'browser_cookie_list',
  title: 'List cookies',
  description: `List the cookies of the browser (all tabs share them), optionally only those of a domain or path. One line per cookie: name=value (domain, path). ${EXACT_NOTE}`,
  input: z.object({
    domain: z.string().optional().describe('Only cookies of this domain or its subdomains, e.g. "example.com" (a leading dot is ignored)'),
    path: z.string().optional().describe('Only cookies whose path is this path or lies below it, e.g. "/app"'),
  }),
  annotations: READS,
  capability: 'storage',
  async handle(ctx, { domain, path }, response) {
    let cookies = await (await browserContext(ctx)).cookies();
    if (domain) cookies = cookies.filter((c) => domainMatches(c.domain, domain));
    if (path) cookies = cookies.filter((c) => pathMatches(c.path, path));
    response.addResult(cookies.length ? cookies.map(cookieLine).join('\n') : 'No cookies found');
    response.addCode('await page.context().cookies();');
  },
});

const cookieGet = defineTool({
  name: 'browser_cookie_get',
  title: 'Get cookie',
  description: `Get a cookie by name with all its attributes (domain, path, httpOnly, secure, sameSite, expiry); one line per domain and path that has a cookie of that name. ${EXACT_NOTE}`,
  input: z.object({
    name: z.string().describe('Exact name of the cookie, case-sensitive'),
  }),
  annotations: READS,
  capability: 'storage',
  async handle(ctx, { name }, response) {
    const cookies = (await (await browserContext(ctx)).cookies()).filter((c) => c.name === name);
    response.addResult(cookies.length ? cookies.map(cookieDetails).join('\n') : `Cookie ${JSON.stringify(name)} not found`);
    response.addCode('await page.context().cookies();');
  },
});

const cookieSet = defineTool({
  name: 'browser_cookie_set',
  title: 'Set cookie',
  description: 'Set a cookie in the browser, as if a server had sent it: pages read it from document.cookie (unless httpOnly) and send it with their requests. ' +
    'Without domain it is a cookie of the current page\'s host; without path it applies to the whole site. Replaces a cookie of the same name, domain and path.',
  input: z.object({
    name: z.string().describe('Name of the cookie'),
    value: z.string().describe('Value of the cookie, stored exactly as given'),
    domain: z.string().optional().describe('Domain the cookie belongs to, e.g. "example.com"; prefix a dot (".example.com") to include subdomains. Defaults to the current page\'s host.'),
    path: z.string().optional().describe('URL path the cookie applies to, e.g. "/app". Defaults to "/" (the whole site).'),
    expires: z.number().optional().describe('When the cookie expires, as Unix time in seconds (not milliseconds); -1 or omitted for a session cookie'),
    httpOnly: z.boolean().optional().describe('Hide the cookie from page scripts (document.cookie); it is still sent with requests. Defaults to false.'),
    secure: z.boolean().optional().describe('Send the cookie over HTTPS (and to localhost) only. Defaults to false.'),
    sameSite: z.enum(['Strict', 'Lax', 'None']).optional().describe('When the cookie is sent with cross-site requests: "Strict" never, "Lax" on top-level navigations, "None" always (requires secure).'),
  }),
  annotations: CHANGES,
  capability: 'storage',
  async handle(ctx, args, response) {
    const page = await ctx.currentPage();
    const domain = args.domain || hostOf(page.url());
    if (!domain) throw new Error(`Cannot infer the cookie's domain from the current page (${page.url()}): pass "domain", or navigate to the site first.`);
    if (args.expires !== undefined && args.expires !== -1 && args.expires * 1000 < Date.now()) {
      throw new Error(`"expires" ${args.expires} is in the past (Unix time in seconds), so the browser would drop the cookie at once. Use browser_cookie_delete to remove a cookie.`);
    }
    const cookie = {
      name: args.name,
      value: args.value,
      domain,
      path: args.path || '/',
      ...(args.expires !== undefined && { expires: args.expires }),
      ...(args.httpOnly !== undefined && { httpOnly: args.httpOnly }),
      ...(args.secure !== undefined && { secure: args.secure }),
      ...(args.sameSite !== undefined && { sameSite: args.sameSite }),
    };
    const context = page.context();
    try {
      await context.addCookies([cookie]);
    } catch (error) {
      throw new Error(`Could not set cookie ${JSON.stringify(args.name)}: ${(error as Error).message}`);
    }
    // The browser drops a cookie it refuses (SameSite=None without secure, a __Host- prefix with a
    // domain...) without an error: read it back so the model is not told it is set when it is not.
    const stored = (await context.cookies()).find((c) => c.name === cookie.name && c.path === cookie.path &&
      normalizeDomain(c.domain) === normalizeDomain(cookie.domain));
    if (!stored) {
      throw new Error(`The browser refused cookie ${JSON.stringify(args.name)} for ${domain}${cookie.path}. Check the flags: sameSite "None" needs secure: true, ` +
        'a "__Host-" name needs secure: true, path "/" and no domain, a "__Secure-" name needs secure: true.');
    }
    response.addResult(`Set cookie ${cookieDetails(stored)}`);
    response.addCode(`await page.context().addCookies([${JSON.stringify(cookie)}]);`);
  },
});

/** The host name of `url`, or '' for pages without one (about:blank, data:). */
function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

const cookieDelete = defineTool({
  name: 'browser_cookie_delete',
  title: 'Delete cookie',
  description: 'Delete the cookies of a name, on every domain and path or only on the given domain and path. Says which cookies were deleted.',
  input: z.object({
    name: z.string().describe('Exact name of the cookie to delete, case-sensitive'),
    domain: z.string().optional().describe('Only delete the cookie of exactly this domain (a leading dot is ignored), not of its subdomains'),
    path: z.string().optional().describe('Only delete the cookie of exactly this path, e.g. "/"'),
  }),
  annotations: CHANGES,
  capability: 'storage',
  async handle(ctx, { name, domain, path }, response) {
    const context = await browserContext(ctx);
    const doomed = (await context.cookies()).filter((c) => c.name === name &&
      (!domain || normalizeDomain(c.domain) === normalizeDomain(domain)) && (path === undefined || c.path === path));
    // One exact clear per cookie: clearCookies compares domains verbatim (".a.com" is not "a.com").
    for (const c of doomed) await context.clearCookies({ name: c.name, domain: c.domain, path: c.path });
    const where = `${domain ? ` on domain ${domain}` : ''}${path !== undefined ? ` with path ${path}` : ''}`;
    response.addResult(doomed.length
      ? doomed.map((c) => `Deleted cookie ${cookieLine(c)}`).join('\n')
      : `No cookie ${JSON.stringify(name)} found${where}; nothing was deleted`);
    const filter = { name, ...(domain !== undefined && { domain }), ...(path !== undefined && { path }) };
    response.addCode(`await page.context().clearCookies(${JSON.stringify(filter)});`);
  },
});

const cookieClear = defineTool({
  name: 'browser_cookie_clear',
  title: 'Clear cookies',
  description: 'Delete every cookie of the browser, for all sites and tabs.',
  input: z.object({}),
  annotations: CHANGES,
  capability: 'storage',
  async handle(ctx, _args, response) {
    const context = await browserContext(ctx);
    const count = (await context.cookies()).length;
    await context.clearCookies();
    response.addResult(`Deleted ${count} cookie${count === 1 ? '' : 's'}`);
    response.addCode('await page.context().clearCookies();');
  },
});

// Storage state

/** A storage state file as Playwright writes it; attributes it may omit get Playwright's defaults. */
const stateFile = z.looseObject({
  cookies: z.array(z.looseObject({
    name: z.string(),
    value: z.string(),
    domain: z.string().min(1),
    path: z.string().default('/'),
    expires: z.number().default(-1),
    httpOnly: z.boolean().default(false),
    secure: z.boolean().default(false),
    sameSite: z.enum(['Strict', 'Lax', 'None']).default('Lax'),
  })).default([]),
  origins: z.array(z.looseObject({
    origin: z.string().transform((origin, issue) => {
      const url = URL.canParse(origin) ? new URL(origin) : undefined;
      if (url && (url.protocol === 'http:' || url.protocol === 'https:')) return url.origin;
      issue.addIssue({ code: 'custom', message: `${JSON.stringify(origin)} is not an http(s) origin such as "https://example.com"` });
      return z.NEVER;
    }),
    localStorage: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
  })).default([]),
});

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

const storageState = defineTool({
  name: 'browser_storage_state',
  title: 'Save storage state',
  description: 'Save the browser\'s storage state (all cookies, and the localStorage of every origin the browser visited) to a JSON file in the ' +
    'browser\'s output directory on the server, in Playwright\'s storageState format. Restore it later, in this or another browser, with browser_set_storage_state. ' +
    'The file holds session cookies and tokens: treat it as a secret.',
  input: z.object({
    filename: z.string().optional().describe('File name to save the state to, inside the browser\'s output directory on the server. Defaults to storage-state-<timestamp>.json.'),
  }),
  annotations: READS,
  capability: 'storage',
  // Origins without an open tab are read by loading them in a hidden page, one by one.
  timeoutMs: (_args, deadlines) => deadlines.timeoutNavigation,
  async handle(ctx, { filename }, response) {
    const state = await (await browserContext(ctx)).storageState();
    const name = filename ?? `storage-state-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    const path = await ctx.writeOutput(name, JSON.stringify(state, null, 2));
    response.addResult(`- [Storage state](${path})\n${plural(state.cookies.length, 'cookie')}, localStorage of ${plural(state.origins.length, 'origin')}`);
    response.addCode(`await page.context().storageState({ path: ${JSON.stringify(name)} });`);
  },
});

const setStorageState = defineTool({
  name: 'browser_set_storage_state',
  title: 'Restore storage state',
  description: 'Restore a storage state file (cookies and localStorage, as browser_storage_state saves it) into this browser. ' +
    'Existing cookies and the localStorage of visited origins are cleared first; sessionStorage is not part of a storage state.',
  input: z.object({
    filename: z.string().describe('The storage state JSON file on the server: inside the browser\'s output directory (relative names are resolved there) or the server\'s --upload-root'),
  }),
  annotations: CHANGES,
  capability: 'storage',
  timeoutMs: (_args, deadlines) => deadlines.timeoutNavigation,
  async handle(ctx, { filename }, response) {
    const path = ctx.inputPath(filename);
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new Error(error.code === 'ENOENT' ? `File not found: ${filename}` : `Cannot read ${filename}: ${error.message}`);
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`${filename} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = stateFile.safeParse(json);
    if (!parsed.success) throw new Error(`${filename} is not a storage state file (cookies and origins, as browser_storage_state saves it):\n${z.prettifyError(parsed.error)}`);
    // Playwright's own restore: it clears what the context holds, adds the cookies, and writes each
    // origin's localStorage in a hidden page of this context whose requests it answers itself with
    // an empty document, so no request leaves the browser and no tab appears.
    await (await browserContext(ctx)).setStorageState(parsed.data);
    response.addResult(`Restored ${plural(parsed.data.cookies.length, 'cookie')} and localStorage of ${plural(parsed.data.origins.length, 'origin')} from ${filename}`);
    response.addCode(`await page.context().setStorageState(${JSON.stringify(filename)});`);
  },
});

// Web storage of the selected tab's origin

type Area = 'localStorage' | 'sessionStorage';

/** Runs `action` in the selected tab, turning the browser's refusals into errors that say what to do. */
async function inArea<T>(ctx: ToolContext, area: Area, action: (page: Page) => Promise<T>): Promise<T> {
  const page = await ctx.currentPage();
  try {
    return await action(page);
  } catch (error) {
    const message = (error as Error).message;
    if (/SecurityError|Access is denied/.test(message)) {
      throw new Error(`The current page (${page.url()}) has no ${area}: pages without a web origin (about:blank, data:, file:, sandboxed) have none. Navigate to an http(s) page of the site first.`);
    }
    if (/QuotaExceededError|exceeded the quota/.test(message)) {
      throw new Error(`The ${area} of ${new URL(page.url()).origin} is full: the browser refused the value. Delete items or store less.`);
    }
    throw error;
  }
}

/** The five tools of one storage area; the page functions read `window[area]`, so page scripts see the same items. */
function webStorageTools(area: Area): Tool[] {
  const prefix = `browser_${area.toLowerCase()}`;
  const scope = area === 'localStorage'
    ? 'the localStorage of the current tab\'s origin (shared by all its tabs and kept until cleared)'
    : 'the sessionStorage of the current tab (its own for this origin, gone when the tab closes)';
  const keyField = (what: string) => z.string().describe(`Exact key of the item ${what}, case-sensitive`);
  return [
    defineTool({
      name: `${prefix}_list`,
      title: `List ${area}`,
      description: `List every key and value in ${scope}, one key=value line each. ${EXACT_NOTE}`,
      input: z.object({}),
      annotations: READS,
      capability: 'storage',
      async handle(ctx, _args, response) {
        const items = await inArea(ctx, area, (page) => page.evaluate((name) => {
          const storage = window[name];
          const keys = Array.from({ length: storage.length }, (_, i) => storage.key(i)).filter((key) => key !== null);
          return keys.map((key) => [key, storage.getItem(key) ?? ''] as const);
        }, area));
        response.addResult(items.length ? items.map(([key, value]) => pair(key, value)).join('\n') : `No ${area} items found`);
        response.addCode(`await page.evaluate(() => ({ ...${area} }));`);
      },
    }),
    defineTool({
      name: `${prefix}_get`,
      title: `Get ${area} item`,
      description: `Get one item of ${scope} by key, as a key=value line. ${EXACT_NOTE}`,
      input: z.object({ key: keyField('to read') }),
      annotations: READS,
      capability: 'storage',
      async handle(ctx, { key }, response) {
        const value = await inArea(ctx, area, (page) => page.evaluate(([name, k]) => window[name].getItem(k), [area, key] as const));
        response.addResult(value === null ? `${area} key ${JSON.stringify(key)} not found` : pair(key, value));
        response.addCode(`await page.evaluate(() => ${area}.getItem(${JSON.stringify(key)}));`);
      },
    }),
    defineTool({
      name: `${prefix}_set`,
      title: `Set ${area} item`,
      description: `Set an item of ${scope}, replacing the value of an existing key. The page's scripts read it with ${area}.getItem.`,
      input: z.object({
        key: keyField('to set'),
        value: z.string().describe('Value to store, exactly as given (web storage holds strings only; JSON-encode objects yourself)'),
      }),
      annotations: CHANGES,
      capability: 'storage',
      async handle(ctx, { key, value }, response) {
        await inArea(ctx, area, (page) => page.evaluate(([name, k, v]) => window[name].setItem(k, v), [area, key, value] as const));
        response.addResult(`Set ${area} item ${pair(key, value)}`);
        response.addCode(`await page.evaluate(() => ${area}.setItem(${JSON.stringify(key)}, ${JSON.stringify(value)}));`);
      },
    }),
    defineTool({
      name: `${prefix}_delete`,
      title: `Delete ${area} item`,
      description: `Delete one item of ${scope} by key. Says whether the key existed.`,
      input: z.object({ key: keyField('to delete') }),
      annotations: CHANGES,
      capability: 'storage',
      async handle(ctx, { key }, response) {
        const existed = await inArea(ctx, area, (page) => page.evaluate(([name, k]) => {
          const had = window[name].getItem(k) !== null;
          window[name].removeItem(k);
          return had;
        }, [area, key] as const));
        response.addResult(existed ? `Deleted ${area} key ${JSON.stringify(key)}` : `${area} key ${JSON.stringify(key)} not found; nothing was deleted`);
        response.addCode(`await page.evaluate(() => ${area}.removeItem(${JSON.stringify(key)}));`);
      },
    }),
    defineTool({
      name: `${prefix}_clear`,
      title: `Clear ${area}`,
      description: `Delete every item of ${scope}.`,
      input: z.object({}),
      annotations: CHANGES,
      capability: 'storage',
      async handle(ctx, _args, response) {
        const count = await inArea(ctx, area, (page) => page.evaluate((name) => {
          const before = window[name].length;
          window[name].clear();
          return before;
        }, area));
        response.addResult(`Deleted ${plural(count, `${area} item`)}`);
        response.addCode(`await page.evaluate(() => ${area}.clear());`);
      },
    }),
  ];
}

/** Cookies, storage state files, localStorage and sessionStorage (--caps storage). */
export const storageTools: Tool[] = [
  cookieList,
  cookieGet,
  cookieSet,
  cookieDelete,
  cookieClear,
  storageState,
  setStorageState,
  ...webStorageTools('localStorage'),
  ...webStorageTools('sessionStorage'),
] as Tool[];
