import type { Locator, Page } from 'playwright-core';
import { z } from 'zod';
import { locatorCode } from './snapshot.ts';
import { defineTool, elementField, targetField, type ToolAnnotations, type ToolContext } from './tool.ts';

// Tools for writing tests (--caps testing): locator code for an element, and checks that pass
// or fail with what was expected and what was found. A check waits for its condition the way
// Playwright's expect does (the browser polls), but only for part of the call's deadline, so a
// failing check comes back as a verdict the model can read rather than as a TOOL_TIMEOUT.

const READ_ONLY: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, openWorldHint: true };

/** Share of the action deadline a check waits for its condition; the rest is for the answer. */
const CHECK_SHARE = 0.5;

/** Most names or items quoted in a failure, so a long page does not flood the answer. */
const MAX_QUOTED = 10;

type AriaRole = Parameters<Page['getByRole']>[0];
type ValueType = 'textbox' | 'checkbox' | 'radio' | 'combobox' | 'slider';

const checkTimeout = (ctx: ToolContext) => Math.max(1, Math.floor(ctx.settings.timeoutAction * CHECK_SHARE));

const quoteList = (values: string[]) => {
  const shown = values.slice(0, MAX_QUOTED).map((value) => JSON.stringify(value)).join(', ');
  return values.length > MAX_QUOTED ? `${shown} and ${values.length - MAX_QUOTED} more` : shown;
};

const isTimeout = (error: unknown) => error instanceof Error && error.name === 'TimeoutError';

/**
 * The first of `candidates` to become visible within `timeout`, or undefined when none did.
 * The waits left over are aborted once one wins, so nothing keeps polling the page afterwards.
 */
async function firstVisible(ctx: ToolContext, candidates: Locator[], timeout: number): Promise<Locator | undefined> {
  const done = new AbortController();
  const abort = () => done.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', abort, { once: true });
  try {
    return await Promise.any(candidates.map(async (candidate) => {
      await candidate.waitFor({ state: 'visible', timeout, signal: done.signal });
      return candidate;
    }));
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    const errors = error instanceof AggregateError ? error.errors : [error];
    // A frame that went away during the wait is no verdict; anything else but a timeout is a real failure.
    if (errors.some(isTimeout) || !errors.length) return undefined;
    throw errors[0];
  } finally {
    done.abort();
    ctx.signal.removeEventListener('abort', abort);
  }
}

/** Locator code for `locator` as Playwright's codegen writes it (test id, role and name, text), relative to `page`. */
async function bestLocator(locator: Locator, fallback: string): Promise<string> {
  return (await locator.normalize().catch(() => undefined))?.toString() ?? fallback;
}

const generateLocator = defineTool({
  name: 'browser_generate_locator',
  title: 'Create locator for element',
  description: 'Generate Playwright locator code for an element, to use in a test: the resilient locator Playwright\'s codegen would write ' +
    '(getByTestId, getByRole with the accessible name, getByText, or a CSS locator as a last resort), relative to `page`, e.g. ' +
    '`getByRole(\'button\', { name: \'Submit\' })`.',
  input: z.object({
    element: elementField,
    target: targetField,
  }),
  annotations: READ_ONLY,
  capability: 'testing',
  async handle(ctx, { target }, response) {
    const locator = await ctx.resolveTarget(target);
    // Playwright's own locator generator (Locator.normalize), the one codegen uses.
    response.addResult((await locator.normalize()).toString());
  },
});

const verifyElementVisible = defineTool({
  name: 'browser_verify_element_visible',
  title: 'Verify element visible',
  description: 'Check that an element with this role and accessible name is visible on the page (in any frame), waiting briefly for it to appear. ' +
    'Passes or fails with the names found for that role. Take both from the snapshot line `- role "Accessible Name"`.',
  input: z.object({
    role: z.string().describe('ARIA role of the element as the snapshot shows it before the name, e.g. `button` in `- button "Submit"`'),
    accessibleName: z.string().describe('Accessible name of the element, exactly as the snapshot quotes it, e.g. `Submit` in `- button "Submit"`'),
  }),
  annotations: READ_ONLY,
  capability: 'testing',
  async handle(ctx, { role, accessibleName }, response) {
    const page = await ctx.currentPage();
    const timeout = checkTimeout(ctx);
    const candidates = page.frames().map((frame) => frame.getByRole(role as AriaRole, { name: accessibleName, exact: true }).filter({ visible: true }).first());
    const found = await firstVisible(ctx, candidates, timeout);
    const what = `an element with role "${role}" and accessible name "${accessibleName}"`;
    if (!found) {
      // What the page has instead helps the model correct a name; without a snapshot the verdict stands alone.
      const snapshot = await ctx.captureSnapshot({}).catch(() => undefined);
      const names = snapshot === undefined ? undefined : namesWithRole(snapshot, role);
      const seen = !names ? '' : names.length
        ? ` Elements with role "${role}" on the page: ${quoteList(names)}.`
        : ` No element on the page has role "${role}".`;
      throw new Error(`Expected ${what} to be visible, but none appeared within ${timeout} ms.${seen}`);
    }
    const fallback = `getByRole(${JSON.stringify(role)}, { name: ${JSON.stringify(accessibleName)}, exact: true })`;
    response.addResult(`Passed: ${what} is visible.`);
    response.addCode(`await expect(page.${await bestLocator(found, fallback)}).toBeVisible();`);
  },
});

/** Accessible names of the snapshot's elements with `role` (unnamed ones as ""), unique, in page order. */
function namesWithRole(snapshot: string, role: string): string[] {
  const escaped = role.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\s*- ${escaped}(?: "((?:[^"\\\\]|\\\\.)*)")?(?=[\\s:]|$)`);
  const names = new Set<string>();
  for (const line of snapshot.split('\n')) {
    const match = pattern.exec(line);
    if (!match) continue;
    try {
      names.add(match[1] === undefined ? '' : JSON.parse(`"${match[1]}"`) as string);
    } catch {
      names.add(match[1]);
    }
  }
  return [...names];
}

const verifyTextVisible = defineTool({
  name: 'browser_verify_text_visible',
  title: 'Verify text visible',
  description: 'Check that this text is visible on the page (in any frame), waiting briefly for it to appear. Matching ignores case and ' +
    'extra whitespace and finds the text inside longer text. Prefer browser_verify_element_visible when the text is an element\'s name.',
  input: z.object({
    text: z.string().describe('Text expected on the page, as the snapshot shows it, e.g. `Welcome back` in `- paragraph: Welcome back`'),
  }),
  annotations: READ_ONLY,
  capability: 'testing',
  async handle(ctx, { text }, response) {
    const page = await ctx.currentPage();
    const timeout = checkTimeout(ctx);
    const found = await firstVisible(ctx, page.frames().map((frame) => frame.getByText(text).filter({ visible: true }).first()), timeout);
    if (!found) {
      const hidden = (await Promise.all(page.frames().map((frame) => frame.getByText(text).count().catch(() => 0)))).reduce((a, b) => a + b, 0);
      const seen = hidden ? ` It is in the page, but hidden (${hidden} ${hidden === 1 ? 'element' : 'elements'}).` : ' It is not in the page.';
      throw new Error(`Expected text ${JSON.stringify(text)} to be visible, but it did not appear within ${timeout} ms.${seen}`);
    }
    response.addResult(`Passed: text ${JSON.stringify(text)} is visible.`);
    response.addCode(`await expect(page.${await bestLocator(found, `getByText(${JSON.stringify(text)})`)}).toBeVisible();`);
  },
});

const verifyListVisible = defineTool({
  name: 'browser_verify_list_visible',
  title: 'Verify list visible',
  description: 'Check that a list (or any container) shows each of these items as visible text inside it, in any order, waiting briefly for them. ' +
    'Fails naming the missing items and the items the list has.',
  input: z.object({
    element: z.string().describe('Human-readable description of the list, used in the answer'),
    target: z.string().describe('Exact reference of the list element from the page snapshot (e.g. "e12"), or a unique element selector'),
    items: z.array(z.string()).describe('Texts expected in the list, one per item; each matches ignoring case and extra whitespace, also inside longer text'),
  }),
  annotations: READ_ONLY,
  capability: 'testing',
  async handle(ctx, { element, target, items }, response) {
    const list = await ctx.resolveTarget(target);
    const timeout = checkTimeout(ctx);
    const results = await Promise.all(items.map(async (item) => ({ item, found: await firstVisible(ctx, [list.getByText(item).filter({ visible: true }).first()], timeout) })));
    const missing = results.filter((result) => !result.found).map((result) => result.item);
    const listCode = await bestLocator(list, locatorCode(target));
    if (missing.length) {
      const present = await shownItems(list);
      const seen = present.length ? `Its items: ${quoteList(present)}.` : 'It shows no items.';
      throw new Error(`Expected list "${element}" to show ${quoteList(items)}, but ${quoteList(missing)} ${missing.length === 1 ? 'was' : 'were'} not visible in it within ${timeout} ms. ${seen}`);
    }
    response.addResult(`Passed: list "${element}" shows all ${items.length} ${items.length === 1 ? 'item' : 'items'}.`);
    for (const item of items) response.addCode(`await expect(page.${listCode}.getByText(${JSON.stringify(item)})).toBeVisible();`);
  },
});

/** What a list shows: its list items' texts, or its text lines when it has no list items. */
async function shownItems(list: Locator): Promise<string[]> {
  const texts = await list.getByRole('listitem').allInnerTexts().catch(() => [] as string[]);
  const lines = texts.length ? texts : (await list.innerText().catch(() => '')).split('\n');
  return lines.map((line) => line.trim()).filter(Boolean);
}

/** What the element holds, read in its page, and whether that is `expected`; false while it is not, unless `report`. */
function probeValue({ el, type, expected, report }: { el: Element; type: ValueType; expected: string; report: boolean }) {
  let found: string;
  let ok: boolean;
  let value: string | undefined;
  if (type === 'checkbox' || type === 'radio') {
    const native = el instanceof HTMLInputElement && (el.type === 'checkbox' || el.type === 'radio');
    found = String(native ? (el as HTMLInputElement).checked : el.getAttribute('aria-checked') === 'true');
    ok = found === expected;
  } else if (el instanceof HTMLSelectElement) {
    // fill_form selects an option by its text: accept the text or the value.
    const selected = Array.from(el.selectedOptions);
    found = selected.map((option) => option.label).join(', ');
    const match = selected.find((option) => option.label === expected || option.value === expected);
    ok = match !== undefined;
    value = match?.value;
  } else if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
    found = el.value;
    ok = found === expected;
  } else {
    found = (el.getAttribute('aria-valuenow') ?? el.textContent ?? '').trim();
    ok = found === expected;
  }
  return ok || report ? { ok, found, value } : false;
}

const verifyValue = defineTool({
  name: 'browser_verify_value',
  title: 'Verify value',
  description: 'Check that a form field holds this value, waiting briefly for it: the text of a textbox, the position of a slider, ' +
    'the selected option of a combobox (its text or value), or whether a checkbox or radio is checked. Fails with the value found.',
  input: z.object({
    type: z.enum(['textbox', 'checkbox', 'radio', 'combobox', 'slider']).describe('Kind of form field, as in browser_fill_form'),
    element: z.string().describe('Human-readable description of the field, used in the answer'),
    target: z.string().describe('Exact reference of the field from the page snapshot (e.g. "e12"), or a unique element selector'),
    value: z.string().describe('Expected value: the text for a textbox, the number for a slider, the option text for a combobox, "true" or "false" for a checkbox or radio'),
  }),
  annotations: READ_ONLY,
  capability: 'testing',
  async handle(ctx, { type, element, target, value }, response) {
    const isCheck = type === 'checkbox' || type === 'radio';
    if (isCheck && value !== 'true' && value !== 'false') throw new Error(`For a ${type}, value must be "true" or "false", not ${JSON.stringify(value)}.`);
    const state = (v: string) => isCheck ? (v === 'true' ? 'checked' : 'unchecked') : `value ${JSON.stringify(v)}`;
    const locator = await ctx.resolveTarget(target);
    const timeout = checkTimeout(ctx);
    const handle = await locator.elementHandle();
    try {
      const frame = await handle.ownerFrame();
      if (!frame) throw new Error(`The ${type} "${element}" is no longer on the page; take a new snapshot.`);
      const arg = { el: handle, type, expected: value, report: false };
      const matched = await frame.waitForFunction(probeValue, arg, { timeout }).then((result) => result.jsonValue(), (error: unknown) => {
        if (isTimeout(error)) return undefined;
        throw error;
      });
      if (!matched) {
        const now = await frame.evaluate(probeValue, { ...arg, report: true });
        throw new Error(`Expected the ${type} "${element}" to ${isCheck ? 'be' : 'have'} ${state(value)}, ` +
          `but it ${isCheck ? 'is' : 'has'} ${state(now ? now.found : '')} (waited ${timeout} ms).`);
      }
      const code = `page.${await bestLocator(locator, locatorCode(target))}`;
      response.addResult(`Passed: the ${type} "${element}" ${isCheck ? 'is' : 'has'} ${state(value)}.`);
      response.addCode(isCheck
        ? `await expect(${code}).toBeChecked({ checked: ${value} });`
        : `await expect(${code}).toHaveValue(${JSON.stringify(matched.value ?? value)});`);
    } finally {
      await handle.dispose().catch(() => {});
    }
  },
});

/** Locator code and checks for writing tests (--caps testing). */
export const testingTools = [generateLocator, verifyElementVisible, verifyTextVisible, verifyListVisible, verifyValue];
