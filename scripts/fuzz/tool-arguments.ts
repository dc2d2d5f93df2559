// Tool arguments generated from each tool's JSON Schema: right types odd inside, wrong types,
// extra keys, and URLs that stay on 127.0.0.1 or use schemes the server must refuse.
import fc from 'fast-check';
import type { PageServer } from '../../test/helpers/pages.ts';
import { MISSING, anyJson, deepNesting, oddNumber, oddString, wrongType } from './values.ts';

export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  additionalProperties?: boolean | Schema;
  minimum?: number;
  maximum?: number;
}

/** encodeURIComponent that takes lone surrogates too (as U+FFFD). */
export function encodeOdd(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/gu, '\ufffd'));
}

/** Where generated values may point: the local page server, or schemes the server must refuse. */
function urlArb(pages: PageServer): fc.Arbitrary<string> {
  const local = fc.tuple(fc.constantFrom('/fuzz', '/fuzz?next', '/missing', '/', '/fuzz#x'), fc.oneof(fc.constant(''), oddString.map(encodeOdd), fc.constantFrom('?q=\u{1F600}', '/%2e%2e/%2e%2e/etc/passwd', '?' + 'a'.repeat(70_000))))
    .map(([path, suffix]) => `${pages.url}${path}${suffix}`);
  const refused = fc.constantFrom(
    'file:///etc/passwd', 'file:///etc/hostname', 'FILE:///etc/passwd', 'chrome://version', 'chrome://settings', 'chrome-extension://abcdefghijklmnop/x.html',
    'javascript:alert(1)', 'JaVaScRiPt:void(0)', 'view-source:file:///etc/passwd', 'devtools://devtools/bundled/inspector.html',
    'about:config', 'about:version', 'filesystem:http://127.0.0.1/temporary/x', 'ftp://127.0.0.1/', 'blob:http://127.0.0.1/x', 'ws://127.0.0.1:1/',
    'data:text/html,<h1>data page</h1>', 'data:text/html;base64,PGgxPng8L2gxPg==', 'about:blank', 'file:%2F%2F%2Fetc%2Fpasswd', 'file:\\\\etc\\passwd',
    `${pages.url.replace('http:', 'file:')}/etc/passwd`, 'localhost:1', '127.0.0.1:1/x', `http://127.0.0.1:${pages.port}@127.0.0.1:${pages.port}/fuzz`,
  );
  return fc.oneof({ arbitrary: local, weight: 2 }, { arbitrary: refused, weight: 3 });
}

/** Refs and selectors: refs of the fixture's snapshot, missing ones, Playwright selector syntax, odd text. */
const targetArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((n) => `e${n}`),
  fc.constantFrom('f1e1', 'e999999999', 'e-1', 'e1.5', '#name', '#agree', 'button', 'select', 'text=Go', 'xpath=//a', '//a', 'internal:role=button', 'css=*',
    '>>', 'a >> nth=999', ':has(', 'xpath=//*[', 'internal:control=enter-frame', '#file', '#drop', 'iframe >> internal:control=enter-frame >> a'),
  oddString,
);
/** Paths a tool reads or writes: traversal, absolute, NUL, huge. */
const pathArb = fc.oneof(fc.constantFrom('a.txt', '../a.txt', '../../../../etc/passwd', '/etc/passwd', 'sub/../../x', 'x\0.png', '.', '', '/', '/proc/self/environ', '~/.ssh/id_rsa', 'C:\\Windows\\win.ini'), oddString);
/** Regular expressions, some of them catastrophic. */
const regexArb = fc.oneof(fc.constantFrom('(a+)+$', '(.*a){25}', '/(x+x+)+y/i', '[', '(?<', '\\', '/a/zz', '/unterminated', '', '.*', '\\p{L}+', '(?=a)*'), oddString);
/** Strings of JavaScript for browser_evaluate: odd, broken, or (harmless) throwing and never-settling code. */
const functionArb = fc.oneof(fc.constantFrom('() => 1', '() => { throw new Error("x") }', '() => new Promise(() => {})', '() => document.title', '() => { return { a: 1n } }',
  '() => window', '() => Symbol()', '(e) => e.textContent', '() => "\\u0000\\ud800"', 'not js at all', '', '() =>', 'async () => { await 0 }', '() => "x".repeat(1e7)'), oddString);

interface ArgContext {
  pages: PageServer;
  /** The browser handle to use in `browser` (modern era), if any. */
  handle?: string;
  fullWaits: boolean;
}

/** Values of the right type for `schema`, odd inside; named fields get values that are safe to use. */
function validArb(schema: Schema, field: string, ctx: ArgContext): fc.Arbitrary<unknown> {
  if (field === 'url') return urlArb(ctx.pages);
  if (field === 'browser') {
    const bogus = fc.oneof(fc.constantFrom('Q2h0b3l0ZWNhbm5vdGd1ZXNz', 'x', 'a'.repeat(200), 'a'.repeat(201)), oddString);
    return ctx.handle ? fc.oneof({ arbitrary: fc.constant(ctx.handle), weight: 6 }, { arbitrary: bogus, weight: 1 }) : bogus;
  }
  if (/target$/i.test(field) || field === 'ref') return targetArb;
  if (field === 'paths' || field === 'filename') return schema.type === 'array' ? fc.array(pathArb, { maxLength: 3 }) : pathArb;
  if (field === 'regex' || field === 'filter') return regexArb;
  if (field === 'function') return functionArb;
  if (field === 'time' && !ctx.fullWaits) return fc.constantFrom(0, -0, -1, 0.001, 0.5, 1, -1e308, Number.MIN_VALUE);
  if (schema.enum) return fc.oneof({ arbitrary: fc.constantFrom(...schema.enum), weight: 4 }, { arbitrary: oddString, weight: 1 });
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((option) => validArb(option, field, ctx)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': return oddString;
    case 'number': return oddNumber;
    case 'integer': return fc.oneof(fc.integer({ min: schema.minimum ?? -(2 ** 31), max: Math.min(schema.maximum ?? 2 ** 31, 2 ** 31) }), oddNumber);
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    case 'array': return fc.oneof(
      { arbitrary: fc.array(validArb(schema.items ?? {}, field, ctx), { maxLength: 4 }), weight: 6 },
      // Long arrays repeat one item: thousands of distinct odd items would mostly be megabytes over the body limit.
      { arbitrary: fc.tuple(validArb(schema.items ?? {}, field, ctx), fc.integer({ min: 100, max: 2000 })).map(([item, n]) => Array.from({ length: n }, () => item)), weight: 1 },
    );
    case 'object': return objectArb(schema, ctx);
    default: return anyJson;
  }
}

/**
 * An object for `schema`, in one of two moods: every field of its type (odd inside), or some of
 * them of the wrong type. Required properties are mostly there, optional ones sometimes; extra
 * keys sometimes, deeply nested ones too. In the stateless era `browser` is mostly the handle.
 */
export function objectArb(schema: Schema, ctx: ArgContext): fc.Arbitrary<Record<string, unknown>> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const build = (wrongWeight: number) => {
    const fields = properties.map(([name, sub]) => {
      // Never a string in place of a url: a bare word would become https://word.
      const value = wrongWeight === 0 ? validArb(sub, name, ctx) : fc.oneof({ arbitrary: validArb(sub, name, ctx), weight: 3 }, { arbitrary: wrongType, weight: wrongWeight });
      const usual = required.has(name) || (name === 'browser' && ctx.handle);
      const presence = usual ? fc.oneof({ arbitrary: value, weight: 12 }, { arbitrary: fc.constant(MISSING), weight: 1 }) : fc.oneof(value, fc.constant(MISSING));
      return presence.map((v) => [name, v] as const);
    });
    return fc.tuple(...fields);
  };
  const extra = fc.oneof(
    { arbitrary: fc.constant([] as [string, unknown][]), weight: 8 },
    { arbitrary: fc.array(fc.tuple(fc.oneof(oddString, fc.constantFrom('ref', '__proto__', 'constructor', '_meta')), anyJson), { maxLength: 3 }), weight: 2 },
    { arbitrary: deepNesting.map((nest) => [['nested', nest]] as [string, unknown][]), weight: 1 },
  );
  return fc.tuple(fc.oneof({ arbitrary: build(0), weight: 3 }, { arbitrary: build(1), weight: 2 }), extra).map(([pairs, extras]) => {
    const out: Record<string, unknown> = {};
    for (const [name, value] of extras) if (name !== 'url') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    for (const [name, value] of pairs) if (value !== MISSING) out[name] = value;
    return out;
  });
}

/** `arguments` that are not an object at all: a property of their own, so one refusal of them does not hide the rest. */
export const nonObjectArgs = fc.oneof(fc.constant(null), fc.array(anyJson, { maxLength: 2 }), oddString, oddNumber, fc.boolean(), deepNesting);

/** True when `args` could reach the network beyond 127.0.0.1: a bug in the generators, never sent. */
export function unsafeUrl(args: unknown, pages: PageServer): string | undefined {
  const url = (args as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') return undefined;
  if (url.startsWith(pages.url)) return undefined;
  if (/^\s*(file|chrome|chrome-extension|javascript|view-source|devtools|about|filesystem|ftp|blob|ws|data):/i.test(url)) return undefined;
  if (/^(localhost|127\.)/.test(url) || url.startsWith(`http://127.0.0.1:${pages.port}@127.0.0.1:`)) return undefined;
  return url;
}
