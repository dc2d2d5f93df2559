import assert from 'node:assert/strict';
import { test } from 'node:test';
import { passesLevel } from '../../src/front/tool-calls.ts';

test('a page log passes the level a client set with logging/setLevel when it is as severe or more', () => {
  assert.equal(passesLevel('error', undefined), true, 'no level set: everything');
  assert.equal(passesLevel('error', 'error'), true);
  assert.equal(passesLevel('critical', 'error'), true);
  assert.equal(passesLevel('error', 'warning'), true);
  assert.equal(passesLevel('error', 'critical'), false);
  assert.equal(passesLevel('critical', 'emergency'), false);
  assert.equal(passesLevel('debug', 'info'), false);
});
