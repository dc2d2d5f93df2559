// Loaded by the worker too (in its CommonJS bundle): nothing here may use import.meta or Playwright.

/** Why `name` is not a device of `known`, with the closest names, or undefined when it is one. */
export function unknownDevice(name: string, known: readonly string[]): string | undefined {
  if (known.includes(name)) return undefined;
  const words = name.toLowerCase().split(/\s+/).filter(Boolean);
  const close = known.filter((candidate) => !/landscape/.test(candidate) && words.some((word) => candidate.toLowerCase().includes(word))).slice(0, 8);
  return `unknown device "${name}"${close.length ? `; close names: ${close.map((n) => `"${n}"`).join(', ')}` : ''} (Playwright's list, e.g. "iPhone 15", "Pixel 7", "Galaxy S24")`;
}
