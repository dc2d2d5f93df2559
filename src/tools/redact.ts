// What a client must never read in a result: the values of --secrets (a model types a secret's
// name, the page gets its value) and the values of --redact-url-params in URLs. Pure, so the
// worker applies it to everything it sends and a unit test can hold it to that.

/** Characters that end a URL parameter's value in text: a separator, white space, quotes, brackets. */
const VALUE = '[^&#\\s"\'<>()\\[\\]`\\\\]+';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A function that replaces every secret value with `<secret>NAME</secret>` (longest values first,
 * so a value inside another is not half-replaced) and the value of every named URL parameter
 * (`?name=`, `&name=`, `#name=`, any case) with `<redacted>`. The identity when there is nothing to hide.
 */
export function redactor(secrets: Record<string, string>, urlParams: string[]): (text: string) => string {
  const values = Object.entries(secrets).filter(([, value]) => value !== '').sort(([, a], [, b]) => b.length - a.length);
  const names = urlParams.filter(Boolean);
  const params = names.length ? new RegExp(`([?&#](?:${names.map(escapeRegExp).join('|')})=)${VALUE}`, 'gi') : undefined;
  if (values.length === 0 && !params) return (text) => text;
  return (text) => {
    let out = text;
    for (const [name, value] of values) out = out.replaceAll(value, `<secret>${name}</secret>`);
    return params ? out.replace(params, '$1<redacted>') : out;
  };
}

/** Fields whose strings are binary data (Base64 images, thumbnails): never rewritten. */
const BINARY_FIELDS = new Set(['data', 'jpeg', 'blob']);

/** `value` with `redact` applied to every string in it, except binary fields. */
export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact)) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, BINARY_FIELDS.has(key) ? item : redactDeep(item, redact)])) as T;
}
