import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redactDeep, redactor } from '../../src/tools/redact.ts';
import { Response } from '../../src/tools/response.ts';

describe('redaction of secrets and URL parameters', () => {
  test('replaces each secret value with its name, longest values first', () => {
    const redact = redactor({ SHORT: 'abc', LONG: 'abcdef-123' }, []);
    assert.equal(redact('typed abcdef-123 and abc'), 'typed <secret>LONG</secret> and <secret>SHORT</secret>');
    assert.equal(redact('nothing here'), 'nothing here');
  });

  test('hides the values of named query and fragment parameters, any case, and keeps the rest of the URL', () => {
    const redact = redactor({}, ['access_token', 'code']);
    assert.equal(redact('https://x.test/cb?code=s3cr3t&state=ok#access_token=t0k&x=1'), 'https://x.test/cb?code=<redacted>&state=ok#access_token=<redacted>&x=1');
    assert.equal(redact('[link](https://x.test/?CODE=abc)'), '[link](https://x.test/?CODE=<redacted>)', 'ends at a closing bracket');
    assert.equal(redact('https://x.test/?mycode=keep&codes=keep'), 'https://x.test/?mycode=keep&codes=keep', 'only whole parameter names');
    assert.equal(redact('a.b?code=x'), 'a.b?code=<redacted>');
  });

  test('with nothing to hide it is the identity', () => {
    const redact = redactor({ EMPTY: '' }, []);
    assert.equal(redact('any text'), 'any text');
  });

  test('reaches every string of a message but leaves binary fields alone', () => {
    const redact = redactor({ KEY: 'k-123' }, []);
    const message = { type: 'response', ok: true, result: { content: [{ type: 'text', text: 'value k-123' }, { type: 'image', data: 'k-123', mimeType: 'image/png' }], notes: ['k-123'] } };
    assert.deepEqual(redactDeep(message, redact), {
      type: 'response', ok: true,
      result: { content: [{ type: 'text', text: 'value <secret>KEY</secret>' }, { type: 'image', data: 'k-123', mimeType: 'image/png' }], notes: ['<secret>KEY</secret>'] },
    });
  });
});

describe('--image-responses', () => {
  function withImage(): Response {
    const response = new Response();
    response.addResult('Took a screenshot');
    response.addImage(Buffer.from('png'), 'image/png');
    return response;
  }

  test('allow sends the text and the image, omit only the text, only the image alone', () => {
    assert.deepEqual(withImage().serialize({}, 'allow').content.map((block) => block.type), ['text', 'image']);
    assert.deepEqual(withImage().serialize({}, 'omit').content.map((block) => block.type), ['text']);
    assert.deepEqual(withImage().serialize({}, 'only').content.map((block) => block.type), ['image']);
  });

  test('only keeps the text of a result without an image, and of an error', () => {
    const plain = new Response();
    plain.addResult('Clicked');
    assert.deepEqual(plain.serialize({}, 'only').content.map((block) => block.type), ['text']);
    const failed = withImage();
    failed.addError('it failed');
    assert.deepEqual(failed.serialize({}, 'only').content.map((block) => block.type), ['text', 'image']);
  });
});
