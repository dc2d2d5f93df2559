import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserHeaderMismatch } from '../../src/front/modern-mcp.ts';

const call = (browser?: unknown) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'browser_snapshot', arguments: browser === undefined ? {} : { browser } } });
const check = (browser: unknown, header?: string) => browserHeaderMismatch(call(browser), new Headers(header === undefined ? {} : { 'Mcp-Param-Browser': header }));

test('a browser argument needs an Mcp-Param-Browser header that says the same, plainly or as canonical Base64', () => {
  assert.equal(check('Hello', 'Hello'), undefined);
  assert.equal(check('Hello', '=?base64?SGVsbG8=?='), undefined);
  assert.equal(check('héllo wörld', `=?base64?${Buffer.from('héllo wörld').toString('base64')}?=`), undefined);
  // Without both ends of the sentinel the value is taken literally.
  assert.equal(check('=?base64?SGVsbG8=', '=?base64?SGVsbG8='), undefined);
  assert.equal(check('SGVsbG8=', 'SGVsbG8='), undefined);
  for (const [browser, header, why] of [
    ['Hello', undefined, /header is absent/],
    ['Hello', 'Other', /disagree/],
    ['Hello', '=?base64?SGVsbG8?=', /invalid Base64/], // padding missing: not canonical
    ['Hello', '=?base64?SGVs!!!bG8=?=', /invalid Base64/],
    ['Hello', `=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`, /invalid Base64/], // not UTF-8
  ] as const) {
    const error = check(browser, header);
    assert.equal(error?.code, 'HEADER_MISMATCH', `${browser} / ${header}`);
    assert.equal(error.rpcCode, -32020);
    assert.equal(error.status, 400);
    assert.match(error.message, why);
  }
});

test('a call without a browser argument, or another method, needs no header', () => {
  assert.equal(check(undefined), undefined);
  assert.equal(check(undefined, 'stray'), undefined, 'a header without a body value is ignored, as the specification says');
  assert.equal(browserHeaderMismatch({ method: 'tools/list', params: {} }, new Headers()), undefined);
});
