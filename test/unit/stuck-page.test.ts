import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeStuck } from '../../workers/stuck-page.ts';

describe('describeStuck', () => {
  test('the selected tab closed and nothing else open: replaced by a blank tab', () => {
    const text = describeStuck({ kind: 'tabs-closed', urls: ['http://a/'], selectedClosed: true }, 'blank');
    assert.equal(text, 'The tab at http://a/ stopped responding (a script in it may be stuck in an endless loop), so it was closed and replaced by a blank tab; its page state was lost.');
  });

  test('the selected tab closed with others open: another tab is selected', () => {
    assert.match(describeStuck({ kind: 'tabs-closed', urls: ['http://a/'], selectedClosed: true }, 'other'), /so it was closed; its page state was lost\. Another open tab is now selected\.$/);
  });

  test('only background tabs closed: plural wording, the selected tab not affected', () => {
    const text = describeStuck({ kind: 'tabs-closed', urls: ['http://a/', 'http://b/'], selectedClosed: false });
    assert.match(text, /^The tabs at http:\/\/a\/, http:\/\/b\/ stopped responding \(a script in them may be stuck/);
    assert.match(text, /so they were closed; their page state was lost\. The selected tab was not affected\.$/);
  });

  test('a restarted browser and a wedged one say every tab was lost', () => {
    assert.match(describeStuck({ kind: 'browser-restarted', urls: ['http://a/'] }), /the browser was restarted; the page state of every tab was lost\.$/);
    assert.match(describeStuck({ kind: 'wedged', urls: ['http://a/', 'http://b/'] }), /neither they nor the browser would close, so the session's worker is being replaced/);
  });
});
