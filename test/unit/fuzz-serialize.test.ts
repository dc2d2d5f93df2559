import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MISSING, Raw, SERIALIZED_LIMIT, serialize } from '../../scripts/fuzz/values.ts';

describe("the fuzzer's body writer", () => {
  test('writes JSON, raw tokens verbatim, and leaves missing properties out', () => {
    const text = serialize({ jsonrpc: '2.0', id: MISSING, n: new Raw('1e999'), list: [1, MISSING, 'x\ud800'], nested: { a: null } });
    assert.equal(text, '{"jsonrpc":"2.0","n":1e999,"list":[1,null,"x\\ud800"],"nested":{"a":null}}');
  });

  test('cuts a value of gigabytes off at its limit instead of building it whole', () => {
    // The long fuzz run's out-of-memory: an array of 2,000 copies of one 1 MB string, each
    // written as 6 MB of \ud800 escapes, is 12 GB of text before any length check could apply.
    const huge = '\ud800'.repeat(2 ** 20);
    const value = { fields: Array.from({ length: 2000 }, () => huge) };
    const before = process.memoryUsage().heapUsed;
    const text = serialize(value);
    assert.equal(text.length, SERIALIZED_LIMIT);
    assert.ok(text.startsWith('{"fields":["\\ud800'));
    assert.ok(process.memoryUsage().heapUsed - before < 8 * SERIALIZED_LIMIT, 'the writer stopped near its limit');
    assert.equal(serialize(value, 100).length, 100, 'any limit');
  });

  test('writes a value exactly at its limit whole', () => {
    const text = serialize(['abc'], 7);
    assert.equal(text, '["abc"]');
  });
});
