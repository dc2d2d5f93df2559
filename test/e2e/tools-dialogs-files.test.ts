import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resultText, type TestClient } from '../helpers/client.ts';
import type { PageServer } from '../helpers/pages.ts';
import type { TestServer } from '../helpers/server.ts';
import { closeSession, openSession } from '../helpers/session.ts';

const DIALOG_PAGE = `<!doctype html><title>Dialogs</title>
<button onclick="alert('careful'); document.getElementById('out').textContent = 'after alert'">Alert</button>
<button onclick="document.getElementById('out').textContent = 'confirmed ' + confirm('sure?')">Confirm</button>
<button onclick="document.getElementById('out').textContent = 'hello ' + prompt('name?')">Prompt</button>
<p id="out">nothing yet</p>`;

const FILES_PAGE = `<!doctype html><title>Files</title>
<input type="file" id="file" aria-label="Attachment" multiple onchange="Promise.all([...this.files].map(async (f) => f.name + '=' + await f.text())).then((all) => { document.getElementById('out').textContent = all.join(','); })">
<div id="zone" ondragover="event.preventDefault()" ondrop="event.preventDefault(); Promise.all([...event.dataTransfer.files].map(async (f) => f.name + '=' + await f.text())).then((all) => { this.textContent = 'files ' + all.join(',') + ' text ' + event.dataTransfer.getData('text/plain'); })">Drop here</div>
<p id="out">no file</p>`;

const textOf = async (client: TestClient, selector: string) =>
  resultText(await client.call('browser_evaluate', { function: `() => document.querySelector(${JSON.stringify(selector)}).textContent` }));

describe('dialogs and file choosers are modal states', () => {
  let server: TestServer;
  let pages: PageServer;
  let client: TestClient;
  let uploadRoot: string;

  before(async () => {
    uploadRoot = mkdtempSync(join(tmpdir(), 'bf-upload-'));
    writeFileSync(join(uploadRoot, 'note.txt'), 'hello file');
    writeFileSync(join(uploadRoot, 'second.txt'), 'second file');
    ({ pages, server, client } = await openSession({ timeoutAction: 3000, uploadRoot }, (p) => {
      p.route('/dialogs', DIALOG_PAGE);
      p.route('/files', FILES_PAGE);
    }));
  });

  after(async () => {
    await closeSession({ client, server, pages });
    rmSync(uploadRoot, { recursive: true, force: true });
  });

  test('an alert blocks other tools with an error naming browser_handle_dialog until accepted', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/dialogs` });
    const clicked = await client.text('browser_click', { target: 'text=Alert' });
    assert.match(clicked, /### Modal state\n- \["alert" dialog with message "careful"\]: can be handled by browser_handle_dialog/);
    const refused = await client.call('browser_snapshot');
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /browser_snapshot" cannot run while the page is blocked[\s\S]*browser_handle_dialog/);
    const accepted = await client.text('browser_handle_dialog', { accept: true });
    assert.match(accepted, /after alert/, 'the script went on after the alert and the snapshot shows it');
    assert.match(await textOf(client, '#out'), /"after alert"/);
  });

  test('a confirm can be dismissed and a prompt answered', async () => {
    await client.call('browser_click', { target: 'text=Confirm' });
    await client.call('browser_handle_dialog', { accept: false });
    assert.match(await textOf(client, '#out'), /"confirmed false"/);
    await client.call('browser_click', { target: 'text=Prompt' });
    await client.call('browser_handle_dialog', { accept: true, promptText: 'Ada' });
    assert.match(await textOf(client, '#out'), /"hello Ada"/);
  });

  test('browser_handle_dialog without a dialog is an error', async () => {
    const result = await client.call('browser_handle_dialog', { accept: true });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /No dialog is open/);
  });

  test('a file chooser waits for browser_file_upload, which uploads files from --upload-root', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/files` });
    const clicked = await client.text('browser_click', { target: '#file' });
    assert.match(clicked, /\[File chooser \(multiple files\)\]: can be handled by browser_file_upload/);
    const refused = await client.call('browser_click', { target: '#zone' });
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /browser_file_upload/);
    const uploaded = await client.call('browser_file_upload', { paths: [join(uploadRoot, 'note.txt'), join(uploadRoot, 'second.txt')] });
    assert.notEqual(uploaded.isError, true, resultText(uploaded));
    assert.match(await textOf(client, '#out'), /"note.txt=hello file,second.txt=second file"/);
  });

  test('file_upload refuses a path outside the allowed directories and keeps the chooser open', async () => {
    await client.call('browser_click', { target: '#file' });
    const refused = await client.call('browser_file_upload', { paths: ['/etc/hostname'] });
    assert.equal(refused.isError, true);
    assert.match(resultText(refused), /File access denied[^\n]*\[NOT_ALLOWED\]/);
    assert.match(resultText(refused), /can be handled by browser_file_upload/);
    const cancelled = await client.call('browser_file_upload', {});
    assert.notEqual(cancelled.isError, true);
    assert.doesNotMatch(resultText(cancelled), /Modal state/);
  });

  test('drop delivers files and MIME data onto an element', async () => {
    await client.call('browser_navigate', { url: `${pages.url}/files` });
    const text = await client.text('browser_drop', { target: '#zone', paths: [join(uploadRoot, 'note.txt')], data: { 'text/plain': 'dragged text' } });
    assert.match(text, /files note\.txt=hello file text dragged text/);
  });
});
