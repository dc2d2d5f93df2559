import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Demand } from '../../src/supervisor/browser-supply.ts';

test('the pool demand is the largest burst seen within the quiet period', () => {
  const demand = new Demand(10_000);
  assert.equal(demand.at(0), 0, 'nothing seen yet');
  demand.sample(1000, 3);
  demand.sample(1100, 8);
  demand.sample(1200, 2);
  assert.equal(demand.at(1200), 8, 'a smaller burst does not lower the peak');
  assert.equal(demand.at(11_100), 8, 'the peak still counts at the end of the quiet period');
  assert.equal(demand.at(11_101), 0, 'after a quiet period the peak is forgotten');
});

test('a burst as large as the peak renews it', () => {
  const demand = new Demand(5000);
  demand.sample(0, 4);
  demand.sample(4000, 4);
  assert.equal(demand.at(8000), 4, 'renewed at 4000, so it counts until 9000');
  assert.equal(demand.at(9001), 0);
  demand.sample(9500, 2);
  assert.equal(demand.at(9500), 2, 'a new, smaller peak once the old one was forgotten');
});
