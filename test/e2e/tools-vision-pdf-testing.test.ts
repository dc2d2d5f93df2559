import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, refFor, resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

const CAPS = ['vision', 'pdf', 'testing', 'config'] as const;

const OURS: Record<string, string[]> = {
  vision: ['browser_mouse_move_xy', 'browser_mouse_click_xy', 'browser_mouse_drag_xy', 'browser_mouse_down', 'browser_mouse_up', 'browser_mouse_wheel'],
  pdf: ['browser_pdf_save'],
  testing: ['browser_generate_locator', 'browser_verify_element_visible', 'browser_verify_text_visible', 'browser_verify_list_visible', 'browser_verify_value'],
  config: ['browser_get_config'],
};

/** Elements at fixed viewport positions, so coordinates are known without a screenshot. */
const MOUSE_PAGE = `<!doctype html><title>Mouse</title>
<style>body { margin: 0 } #press, #pad { position: absolute } </style>
<button id="press" style="left: 100px; top: 100px; width: 120px; height: 40px" onclick="this.textContent = 'Pressed ' + (++window.clicks)">Press me</button>
<div id="pad" style="left: 0; top: 200px; width: 400px; height: 200px; background: #eee"
  onmousedown="this.dataset.down = event.clientX + ',' + event.clientY"
  onmouseup="document.getElementById('drag').textContent = 'dragged from ' + this.dataset.down + ' to ' + event.clientX + ',' + event.clientY"></div>
<p id="drag" style="position: absolute; top: 420px">no drag yet</p>
<div style="height: 5000px"></div>
<script>window.clicks = 0;</script>`;

const TESTING_PAGE = `<!doctype html><title>Testing</title>
<button>Save draft</button>
<button data-testid="publish">Publish</button>
<button onclick="setTimeout(() => { const p = document.createElement('p'); p.textContent = 'Appeared late'; document.body.append(p); }, 300)">Reveal</button>
<span style="display: none">Secret text</span>
<ul aria-label="Fruits"><li>Apple</li><li>Banana</li></ul>
<label>Name <input id="name" value="Ada"></label>
<label><input type="checkbox" id="agree" checked> Agree</label>
<label>Color <select id="color"><option value="r">Red</option><option value="g" selected>Green</option></select></label>
<label>Volume <input type="range" id="volume" min="0" max="10" value="7"></label>`;

/** A result that is no tool error, as text. */
function passed(result: CallToolResult, what: string): string {
  assert.notEqual(result.isError, true, `${what}: ${resultText(result)}`);
  return resultText(result);
}

/** A result that is a tool error, as text. */
function failed(result: CallToolResult, what: string): string {
  assert.equal(result.isError, true, `${what} should fail: ${resultText(result)}`);
  return resultText(result);
}

/** The JSON value browser_evaluate returned. */
async function evaluate(client: TestClient, fn: string): Promise<unknown> {
  const text = passed(await client.call('browser_evaluate', { function: fn }), 'evaluate');
  const match = /### Result\n([\s\S]*?)(\n\n###|$)/.exec(text);
  assert.ok(match, `no result in:\n${text}`);
  return JSON.parse(match[1]);
}

/** The `### Result` section of a result's text. */
const resultSection = (text: string) => /### Result\n([\s\S]*?)(\n\n###|$)/.exec(text)?.[1] ?? '';

describe('vision, pdf, testing and config tools (--caps vision,pdf,testing,config)', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;

  before(async () => {
    // unsafe-code too, only to prove a generated locator finds its element in real Playwright code.
    ({ pages, server, client } = await openSession({ caps: [...CAPS, 'unsafe-code'], timeoutAction: 3000, viewportSize: '1024x640' }, (p) => {
      p.route('/mouse', MOUSE_PAGE);
      p.route('/testing', TESTING_PAGE);
    }));
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('the tools are listed with their capability, titled and annotated as in @playwright/mcp 1.65.1, and not listed without it', async () => {
    const reference = JSON.parse(readFileSync(new URL('../fixtures/reference-playwright-mcp-1.65.1-tools.json', import.meta.url), 'utf8')) as
      { name: string; capability: string; annotations: Record<string, unknown> }[];
    const listed = new Map((await client.client.listTools()).tools.map((tool) => [tool.name, tool]));
    for (const [capability, names] of Object.entries(OURS)) {
      for (const name of names) {
        const tool = listed.get(name);
        const ref = reference.find((r) => r.name === name)!;
        assert.ok(tool, `${name} is listed`);
        assert.equal(ref.capability, capability);
        assert.deepEqual(tool.annotations, ref.annotations, `${name}: title and hints`);
      }
    }
    const plain = await startTestServer();
    const other = await connectClient(plain.url);
    try {
      const names = (await other.client.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('browser_click'));
      assert.deepEqual(names.filter((name) => Object.values(OURS).flat().includes(name)), []);
      await assert.rejects(other.call('browser_mouse_click_xy', { x: 1, y: 1 }), /Tool "browser_mouse_click_xy" not found/);
    } finally {
      await other.close();
      await plain.close();
    }
  });

  test('a click at coordinates presses the button there, and the snapshot after it shows the change', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/mouse` });
    const text = passed(await client.call('browser_mouse_click_xy', { x: 160, y: 120 }), 'click');
    assert.match(text, /button "Pressed 1"/);
    assert.match(text, /await page\.mouse\.click\(160, 120\);/);
    const twice = passed(await client.call('browser_mouse_click_xy', { x: 160, y: 120, clickCount: 2 }), 'double click');
    assert.match(twice, /button "Pressed 3"/, 'a click count of 2 clicks twice');
    const missed = passed(await client.call('browser_mouse_click_xy', { x: 10, y: 10 }), 'click beside');
    assert.match(missed, /button "Pressed 3"/, 'a click elsewhere does not press it');
    const outside = passed(await client.call('browser_mouse_click_xy', { x: 2000, y: 10 }), 'click outside');
    assert.match(outside, /\(2000, 10\) is outside the 1024x640 viewport/);
  });

  test('a drag by coordinates presses at the start and releases at the end, in one call or step by step', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/mouse` });
    const text = passed(await client.call('browser_mouse_drag_xy', { startX: 50, startY: 250, endX: 300, endY: 350 }), 'drag');
    assert.match(text, /paragraph[^\n]*: dragged from 50,250 to 300,350/);
    passed(await client.call('browser_mouse_move_xy', { x: 20, y: 220 }), 'move');
    passed(await client.call('browser_mouse_down', {}), 'down');
    passed(await client.call('browser_mouse_move_xy', { x: 380, y: 390 }), 'move');
    const up = passed(await client.call('browser_mouse_up', { button: 'left' }), 'up');
    assert.match(up, /paragraph[^\n]*: dragged from 20,220 to 380,390/);
    assert.match(up, /await page\.mouse\.up\(\{ button: "left" \}\);/);
  });

  test('the mouse wheel scrolls the page by the given delta', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/mouse` });
    assert.equal(await evaluate(client, '() => scrollY'), 0);
    passed(await client.call('browser_mouse_move_xy', { x: 500, y: 500 }), 'move');
    passed(await client.call('browser_mouse_wheel', { deltaY: 600 }), 'wheel');
    // Scrolling follows the wheel event asynchronously: wait for the page to report it, not for a time.
    const scrolled = await evaluate(client, '() => new Promise((resolve) => { const done = () => scrollY >= 600 && resolve(scrollY); done(); addEventListener("scroll", done); })');
    assert.equal(scrolled, 600);
  });

  test('browser_pdf_save writes a PDF into the output directory, under a generated name or the one given', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/testing` });
    for (const filename of [undefined, 'reports/testing.pdf']) {
      const result = await client.call('browser_pdf_save', filename ? { filename } : {});
      const text = passed(result, 'pdf');
      const link = (result.content as { type: string; uri?: string; name?: string }[]).find((c) => c.type === 'resource_link');
      assert.ok(link?.uri, `a resource link in ${JSON.stringify(result.content)}`);
      if (filename) assert.equal(link.name, filename);
      else assert.match(link.name ?? '', /^page-[\dT-]+Z\.pdf$/);
      assert.match(text, /- \[Page as PDF\]\(\/[^)]+\.pdf\)/);
      const read = await client.client.readResource({ uri: link.uri });
      const content = read.contents[0] as { blob?: string; text?: string };
      const bytes = content.blob ? Buffer.from(content.blob, 'base64') : Buffer.from(content.text ?? '');
      assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    }
  });

  test('browser_generate_locator gives the locator codegen would write, and that locator finds the element', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/testing` });
    const snapshot = await client.text('browser_snapshot');
    const byRole = resultSection(passed(await client.call('browser_generate_locator', { element: 'Save draft button', target: refFor(snapshot, 'button "Save draft"') }), 'locator'));
    assert.equal(byRole, 'getByRole(\'button\', { name: \'Save draft\' })');
    const byTestId = resultSection(passed(await client.call('browser_generate_locator', { target: 'button >> nth=1' }), 'locator'));
    assert.equal(byTestId, 'getByTestId(\'publish\')');
    const found = await client.text('browser_run_code_unsafe', { code: `async (page) => [await page.${byRole}.textContent(), await page.${byTestId}.textContent()]` });
    assert.deepEqual(JSON.parse(resultSection(found)), ['Save draft', 'Publish']);
  });

  test('browser_verify_element_visible passes for a visible role and name, and fails naming what the page has', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/testing` });
    const ok = passed(await client.call('browser_verify_element_visible', { role: 'button', accessibleName: 'Publish' }), 'verify');
    assert.match(ok, /Passed: an element with role "button" and accessible name "Publish" is visible/);
    assert.match(ok, /await expect\(page\.getByTestId\('publish'\)\)\.toBeVisible\(\);/);
    const partial = failed(await client.call('browser_verify_element_visible', { role: 'button', accessibleName: 'Save' }), 'a partial name');
    assert.match(partial, /Expected an element with role "button" and accessible name "Save" to be visible, but none appeared within 1500 ms\. Elements with role "button" on the page: "Save draft", "Publish", "Reveal"\./);
    const role = failed(await client.call('browser_verify_element_visible', { role: 'link', accessibleName: 'Home' }), 'a missing role');
    assert.match(role, /No element on the page has role "link"\./);
  });

  test('browser_verify_text_visible waits for text to appear, and says when text is missing or hidden', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/testing` });
    passed(await client.call('browser_click', { target: 'text=Reveal' }), 'reveal');
    const late = passed(await client.call('browser_verify_text_visible', { text: 'Appeared late' }), 'late text');
    assert.match(late, /Passed: text "Appeared late" is visible\./);
    const hidden = failed(await client.call('browser_verify_text_visible', { text: 'Secret text' }), 'hidden text');
    assert.match(hidden, /Expected text "Secret text" to be visible, but it did not appear within 1500 ms\. It is in the page, but hidden \(1 element\)\./);
    const missing = failed(await client.call('browser_verify_text_visible', { text: 'Not there' }), 'missing text');
    assert.match(missing, /It is not in the page\./);
  });

  test('browser_verify_list_visible checks every item and names the missing ones and what the list has', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/testing` });
    const snapshot = await client.text('browser_snapshot');
    const target = refFor(snapshot, 'list "Fruits"');
    const ok = passed(await client.call('browser_verify_list_visible', { element: 'Fruits', target, items: ['Banana', 'Apple'] }), 'list');
    assert.match(ok, /Passed: list "Fruits" shows all 2 items\./);
    assert.match(ok, /await expect\(page\.getByRole\('list', \{ name: 'Fruits' \}\)\.getByText\("Banana"\)\)\.toBeVisible\(\);/);
    const missing = failed(await client.call('browser_verify_list_visible', { element: 'Fruits', target, items: ['Apple', 'Cherry'] }), 'list');
    assert.match(missing, /Expected list "Fruits" to show "Apple", "Cherry", but "Cherry" was not visible in it within 1500 ms\. Its items: "Apple", "Banana"\./);
  });

  test('browser_verify_value checks a textbox, checkbox, combobox and slider, and fails with the value found', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/testing` });
    const cases = [
      { type: 'textbox', element: 'Name', target: '#name', value: 'Ada', passed: /the textbox "Name" has value "Ada"/ },
      { type: 'checkbox', element: 'Agree', target: '#agree', value: 'true', passed: /the checkbox "Agree" is checked/ },
      { type: 'combobox', element: 'Color', target: '#color', value: 'Green', passed: /toHaveValue\("g"\)/ },
      { type: 'slider', element: 'Volume', target: '#volume', value: '7', passed: /the slider "Volume" has value "7"/ },
    ];
    for (const { passed: expected, ...args } of cases) {
      assert.match(passed(await client.call('browser_verify_value', args), args.type), expected);
    }
    const text = failed(await client.call('browser_verify_value', { type: 'textbox', element: 'Name', target: '#name', value: 'Bob' }), 'wrong text');
    assert.match(text, /Expected the textbox "Name" to have value "Bob", but it has value "Ada" \(waited 1500 ms\)\./);
    const box = failed(await client.call('browser_verify_value', { type: 'checkbox', element: 'Agree', target: '#agree', value: 'false' }), 'wrong check');
    assert.match(box, /Expected the checkbox "Agree" to be unchecked, but it is checked/);
    const select = failed(await client.call('browser_verify_value', { type: 'combobox', element: 'Color', target: '#color', value: 'Red' }), 'wrong option');
    assert.match(select, /to have value "Red", but it has value "Green"/);
    const invalid = failed(await client.call('browser_verify_value', { type: 'checkbox', element: 'Agree', target: '#agree', value: 'yes' }), 'not a boolean');
    assert.match(invalid, /For a checkbox, value must be "true" or "false", not "yes"\./);
  });

  test('browser_get_config shows the browser\'s effective settings, viewport included, as JSON', async () => {
    const config = JSON.parse(resultSection(passed(await client.call('browser_get_config', {}), 'config'))) as {
      browser: { viewport: unknown; headless: boolean }; timeouts: { action: number }; capabilities: string[]; outputDir: unknown;
    };
    assert.deepEqual(config.browser.viewport, { width: 1024, height: 640 });
    assert.equal(config.browser.headless, true);
    assert.equal(config.timeouts.action, 3000);
    assert.deepEqual([...config.capabilities].sort(), [...CAPS, 'unsafe-code'].sort());
    assert.equal(typeof config.outputDir, 'string');
  });
});
