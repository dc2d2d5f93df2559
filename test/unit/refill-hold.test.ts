import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RefillHold } from '../../src/supervisor/browser-supply.ts';

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

describe('RefillHold: calls in flight', () => {
  test('after the delay, a refill waits while calls are in flight, looking again every 250 ms', () => {
    const hold = new RefillHold(2000, 10_000);
    hold.taken(10_000);
    assert.equal(hold.waitAt(12_000, true), 250);
    assert.equal(hold.waitAt(12_000, false), 0, 'no call in flight: at once');
  });

  test('calls in flight hold it at most busyMaxMs past the first hold, even as later takes come', () => {
    const hold = new RefillHold(2000, 10_000);
    hold.taken(10_000);
    hold.taken(13_000);
    assert.equal(hold.waitAt(15_000, true), 250);
    assert.equal(hold.waitAt(21_900, true), 100);
    assert.equal(hold.waitAt(22_000, true), 0, 'busy or not, the refill starts 12 s after the first take');
  });

  test('nothing taken yet: calls in flight do not hold the initial fill', () => {
    assert.equal(new RefillHold(2000).waitAt(5000, true), 0);
  });
});
