// Generated values and how they are written and printed: JSON with raw tokens and missing
// properties, odd strings, numbers and header text, and printing without megabytes.
import fc from 'fast-check';

/** Text put into a JSON body verbatim: numbers JSON.stringify cannot write (1e999), deep nesting. */
export class Raw {
  constructor(readonly text: string) {}
}
/** A property left out of an object (a JSON-RPC id or jsonrpc that is missing). */
export const MISSING = Symbol('missing');

/** A header value that mirrors the body, as a client would send it (Mcp-Method, Mcp-Name, Mcp-Param-Browser); filled in per case. */
export const MATCH = Symbol('match');

/**
 * Longest body text the fuzzer builds, in UTF-16 units: 8 times the default body limit. A value
 * whose text would be longer (2,000 copies of a 1 MB string, say) is cut off there: the server
 * must refuse such a body with 413 whatever its end, and building it whole took gigabytes of
 * this process's heap (the out-of-memory of the first long runs).
 */
export const SERIALIZED_LIMIT = 32 * 1024 * 1024;
const FULL = Symbol('full');

/** JSON text of `value`, Raw tokens verbatim, MISSING properties left out; cut off after `limit` units. */
export function serialize(value: unknown, limit = SERIALIZED_LIMIT): string {
  const pieces: string[] = [];
  let length = 0;
  const put = (text: string) => {
    pieces.push(text);
    length += text.length;
    if (length > limit) throw FULL;
  };
  const write = (item: unknown): void => {
    if (item instanceof Raw) return put(item.text);
    if (Array.isArray(item)) {
      put('[');
      item.forEach((element, at) => {
        if (at > 0) put(',');
        write(element === MISSING ? null : element);
      });
      return put(']');
    }
    if (item !== null && typeof item === 'object') {
      put('{');
      let first = true;
      for (const [key, field] of Object.entries(item)) {
        if (field === MISSING) continue;
        put(`${first ? '' : ','}${JSON.stringify(key)}:`);
        first = false;
        write(field);
      }
      return put('}');
    }
    put(JSON.stringify(item) ?? 'null');
  };
  try {
    write(value);
  } catch (error) {
    if (error !== FULL) throw error;
  }
  const text = pieces.join('');
  return text.length > limit ? text.slice(0, limit) : text;
}

/** A short, printable rendering of any generated value: long strings and Raw tokens summarized. */
export function show(value: unknown, depth = 0): string {
  if (depth > 6) return '…';
  if (value === MISSING) return '<missing>';
  if (value === MATCH) return '<as the body>';
  if (value instanceof Raw) return value.text.length > 80 ? `<raw ${value.text.length} chars: ${JSON.stringify(value.text.slice(0, 40))}…>` : `<raw ${value.text}>`;
  if (typeof value === 'string') {
    return value.length > 120 ? `<string of ${value.length} UTF-16 units: ${JSON.stringify(value.slice(0, 40))}…>` : JSON.stringify(value);
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes: ${JSON.stringify(Buffer.from(value.subarray(0, 40)).toString('latin1'))}${value.length > 40 ? '…' : ''}>`;
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map((item) => show(item, depth + 1));
    return `[${items.join(', ')}${value.length > 8 ? `, … (${value.length} items)` : ''}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const parts = entries.slice(0, 12).map(([k, v]) => `${JSON.stringify(k.length > 60 ? `${k.slice(0, 40)}…(${k.length})` : k)}: ${show(v, depth + 1)}`);
    return `{${parts.join(', ')}${entries.length > 12 ? `, … (${entries.length} keys)` : ''}}`;
  }
  return typeof value === 'number' && Object.is(value, -0) ? '-0' : String(value);
}

const ODD_CONSTANTS = [
  '', '\0', 'a\0b', '\u202e\u0645\u0631\u062d\u0628\u0627', '\u200f\u200e', '\ufeff', '\uffff\ufffe', '\ud800', '\udc00x', 'x\ud83d',
  '\u{1F469}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}', '\u{1F600}', 'e\u0301\u0301\u0301', '\u0000\u0001\u001f\u007f', '\r\n\r\n',
  '%00', '%ZZ', '%2e%2e%2f', '../../../../etc/passwd', '/etc/passwd', '\\\\?\\C:\\', '${7*7}', '{{7*7}}', '"\'<>&', '<script>alert(1)</script>',
  'null', 'undefined', 'NaN', 'Infinity', '-1', '1e999', '__proto__', 'constructor', 'toString',
];
/** Repeated characters, 1 to 2^20 of them: 1 MB strings that shrink by halving. */
const hugeString = fc.tuple(fc.constantFrom('a', '\u{1F600}', '\u202e', '\0', '\ud800', 'e\u0301'), fc.integer({ min: 0, max: 20 }))
  .map(([unit, power]) => unit.repeat(2 ** power));
const loneSurrogates = fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 8 }).map((codes) => String.fromCharCode(...codes));

/** Strings a server must survive: any code point, graphemes, lone surrogates, NUL, RTL, emoji, 1 MB. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary' }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme' }), weight: 2 },
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.constantFrom(...ODD_CONSTANTS), weight: 3 },
  { arbitrary: loneSurrogates, weight: 1 },
  { arbitrary: hugeString, weight: 1 },
);

const ODD_NUMBERS = [0, -0, -1, 1, 0.5, -0.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, 2 ** 31, -(2 ** 31), 2 ** 32, 1e21, 1e-7];
const RAW_NUMBERS = ['1e999', '-1e999', '-0', '1E400', '0.' + '0'.repeat(400) + '1', '123456789012345678901234567890', '-9007199254740993', '1.0'];
/** Numbers: negative, fractional, beyond 2^53, and tokens that parse to Infinity or lose precision. */
export const oddNumber: fc.Arbitrary<number | Raw> = fc.oneof(
  fc.constantFrom(...ODD_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(...RAW_NUMBERS).map((text) => new Raw(text)),
);

/** Arbitrary JSON, odd leaves included, a few levels deep. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), oddNumber, oddString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddString, tie('value'), { maxKeys: 4 })),
})).value;

/** Nesting deeper than any reasonable recursion: `[[[…]]]` or `{"a":{"a":…}}`, 2^k levels. */
export const deepNesting = fc.tuple(fc.boolean(), fc.integer({ min: 4, max: 17 }))
  .map(([arrays, power]) => {
    const depth = 2 ** power;
    return new Raw(arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
  });

/** A value of the wrong kind where a schema wants `type`: never a string, so a `url` never becomes a host name. */
export const wrongType = fc.oneof(fc.constant(null), fc.boolean(), oddNumber, fc.array(anyJson, { maxLength: 3 }), fc.dictionary(oddString, anyJson, { maxKeys: 3 }), deepNesting);

/** Header values Node will send (Latin-1 without controls), some huge. */
export const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.constantFrom('', ' ', '\t', 'null', '=?base64?', '%00', '../..', '\xff\xfe'),
  fc.integer({ min: 8, max: 16 }).map((power) => 'a'.repeat(2 ** power)),
);
