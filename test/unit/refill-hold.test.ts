import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RefillHold } from '../../src/supervisor/worker-supply.ts';

describe('RefillHold (--prewarm-delay)', () => {
  test('nothing taken yet: a refill may start at once', () => {
    assert.equal(new RefillHold(2000).waitAt(5000), 0);
  });

  test('a take holds refills off for the delay, counted from that take', () => {
    const hold = new RefillHold(2000);
    hold.taken(10_000);
    assert.equal(hold.waitAt(10_000), 2000);
    assert.equal(hold.waitAt(11_500), 500);
    assert.equal(hold.waitAt(12_000), 0);
  });

  test('later takes of the same burst do not push the refill back', () => {
    const hold = new RefillHold(2000);
    hold.taken(10_000);
    hold.taken(11_000);
    hold.taken(11_900);
    assert.equal(hold.waitAt(11_900), 100);
    assert.equal(hold.waitAt(12_000), 0);
  });

  test('a take after the hold ran out starts a new one', () => {
    const hold = new RefillHold(2000);
    hold.taken(10_000);
    hold.taken(12_500);
    assert.equal(hold.waitAt(12_500), 2000);
  });

  test('a delay of 0 never holds', () => {
    const hold = new RefillHold(0);
    hold.taken(10_000);
    assert.equal(hold.waitAt(10_000), 0);
  });
});
