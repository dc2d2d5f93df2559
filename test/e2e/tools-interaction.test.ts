import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { refFor, resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import type { TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

const LOG_SCRIPT = `<ul id="log"></ul><script>
function log(text) { const li = document.createElement('li'); li.textContent = text; document.getElementById('log').append(li); }
</script>`;

const INPUT_PAGE = `<!doctype html><title>Input</title>
<button id="clicker" onclick="log('click')" ondblclick="log('dblclick')" oncontextmenu="event.preventDefault(); log('right')">Clicker</button>
<button id="mod" onclick="log(event.shiftKey ? 'shift-click' : 'plain-click')">Modifier</button>
<div id="hover" onmouseenter="log('hovered')">Hover me</div>
<select id="color" aria-label="Color"><option value="r">Red</option><option value="g">Green</option></select>
<input id="search" aria-label="Search" onkeydown="if (event.key === 'Enter') log('submitted ' + this.value)">
<input id="keys" aria-label="Keys" onkeydown="log('key ' + event.key)">
<div id="src" draggable="true" ondragstart="event.dataTransfer.setData('text/plain', 'moved')">Drag source</div>
<div id="dst" ondragover="event.preventDefault()" ondrop="event.preventDefault(); this.textContent = 'dropped: ' + event.dataTransfer.getData('text/plain')">Drop zone</div>
<button id="slow" onclick="fetch('/slow').then((r) => r.text()).then((t) => { document.getElementById('status').textContent = t; })">Load slowly</button>
<p id="status">idle</p>
<a href="/next">Next page</a>
${LOG_SCRIPT}`;

const FORM_PAGE = `<!doctype html><title>Form</title>
<label>Name <input id="name"></label>
<label><input type="checkbox" id="agree"> Agree</label>
<label><input type="radio" name="size" id="small" value="s"> Small</label>
<label><input type="radio" name="size" id="large" value="l"> Large</label>
<label>Country <select id="country"><option>France</option><option>Japan</option></select></label>
<label>Volume <input type="range" id="volume" min="0" max="10" value="1"></label>`;

/** The JSON value browser_evaluate returned. */
async function evaluate(client: TestClient, fn: string): Promise<unknown> {
  const text = await client.text('browser_evaluate', { function: fn });
  const match = /### Result\n([\s\S]*?)(\n\n###|$)/.exec(text);
  assert.ok(match, `no result in:\n${text}`);
  return JSON.parse(match[1]);
}

const logLines = (client: TestClient) => evaluate(client, '() => [...document.querySelectorAll("#log li")].map((li) => li.textContent)');

describe('interaction tools change the page', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;

  before(async () => {
    ({ pages, server, client } = await openSession({ timeoutAction: 3000 }, (p) => {
      p.route('/input', INPUT_PAGE);
      p.route('/form', FORM_PAGE);
      p.route('/next', '<!doctype html><title>Next</title><p>arrived</p>');
      p.route('/slow', (_req, res) => {
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('loaded'), 300);
      });
    }));
  });

  after(async () => {
    await closeSession({ client, server, pages });
  });

  test('click, double click, right click and a Shift click reach the page as such', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/input` });
    await client.call('browser_click', { target: '#clicker' });
    await client.call('browser_click', { target: '#clicker', doubleClick: true });
    await client.call('browser_click', { target: '#clicker', button: 'right' });
    await client.call('browser_click', { target: '#mod', modifiers: ['Shift'] });
    assert.deepEqual(await logLines(client), ['click', 'click', 'click', 'dblclick', 'right', 'shift-click']);
  });

  test('hover, select_option and press_key act on the page', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/input` });
    const snapshot = await client.text('browser_snapshot');
    const hovered = await client.call('browser_hover', { element: 'Hover me', ref: refFor(snapshot, 'Hover me') });
    assert.notEqual(hovered.isError, true, resultText(hovered));
    const selected = await client.text('browser_select_option', { target: refFor(snapshot, 'combobox "Color"'), values: ['g'] });
    assert.match(selected, /combobox "Color"[^\n]*:\s*\n?\s*- option "Red"\n\s*- option "Green" \[selected\]/);
    await client.call('browser_click', { target: '#keys' });
    await client.call('browser_press_key', { key: 'ArrowDown' });
    assert.deepEqual(await logLines(client), ['hovered', 'key ArrowDown']);
    assert.equal(await evaluate(client, '() => document.getElementById("color").value'), 'g');
  });

  test('type fills at once, slowly key by key, and submit presses Enter', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/input` });
    await client.call('browser_type', { target: '#keys', text: 'ab', slowly: true });
    await client.call('browser_type', { target: '#search', text: 'query', submit: true });
    assert.deepEqual(await logLines(client), ['key a', 'key b', 'submitted query']);
  });

  test('drag moves data from one element to another', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/input` });
    const snapshot = await client.text('browser_snapshot');
    const text = await client.text('browser_drag', {
      startElement: 'source', startRef: refFor(snapshot, 'Drag source'),
      endElement: 'zone', endTarget: '#dst',
    });
    assert.match(text, /dropped: moved/, 'the snapshot after the drag shows the drop');
  });

  test('fill_form sets a textbox, checkbox, radio, combobox and slider', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/form` });
    const snapshot = await client.text('browser_snapshot');
    const result = await client.call('browser_fill_form', {
      fields: [
        { name: 'Name', type: 'textbox', target: refFor(snapshot, 'textbox "Name"'), value: 'Ada' },
        { name: 'Agree', type: 'checkbox', ref: refFor(snapshot, 'checkbox "Agree"'), value: 'true' },
        { name: 'Large', type: 'radio', target: refFor(snapshot, 'radio "Large"'), value: 'true' },
        { name: 'Country', type: 'combobox', target: refFor(snapshot, 'combobox "Country"'), value: 'Japan' },
        { name: 'Volume', type: 'slider', target: '#volume', value: '7' },
      ],
    });
    assert.notEqual(result.isError, true, resultText(result));
    assert.deepEqual(await evaluate(client, `() => ({
      name: document.getElementById('name').value,
      agree: document.getElementById('agree').checked,
      large: document.getElementById('large').checked,
      country: document.getElementById('country').value,
      volume: document.getElementById('volume').value,
    })`), { name: 'Ada', agree: true, large: true, country: 'Japan', volume: '7' });
  });

  test('a click waits for the request it started, so its snapshot shows the response', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/input` });
    const text = await client.text('browser_click', { target: '#slow' });
    assert.match(text, /paragraph[^\n]*: loaded/);
  });

  test('a click that navigates returns the new page', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/input` });
    const text = await client.text('browser_click', { target: 'text=Next page' });
    assert.match(text, /Page URL: http:\/\/127\.0\.0\.1:\d+\/next\n- Page Title: Next/);
    assert.match(text, /arrived/);
    const back = await client.text('browser_navigate_back');
    assert.match(back, /Page Title: Input/);
  });
});
