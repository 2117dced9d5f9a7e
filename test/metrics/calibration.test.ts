import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor } from '../../src/engine/index.js';
import { binIndex, calibrationError } from '../../src/metrics/index.js';
import { fixture, runChecks, SOFTMAX_TOL, type ClassificationCase } from './harness.js';

runChecks<ClassificationCase>(fixture.classification, [
  { metric: 'ECE, 15 bins, logits rows', actual: (c) => calibrationError(c.logits, c.target), expected: (c) => c.ece, tol: SOFTMAX_TOL },
  {
    metric: 'ECE, 15 bins, float32 probabilities from the engine softmax',
    actual: (c) => calibrationError(tensor(c.logits).softmax(1), tensor(c.target, { dtype: 'int64' })),
    expected: (c) => c.ece,
    tol: SOFTMAX_TOL,
  },
]);

test('ECE bins are (k/15, (k+1)/15], the first one closed at 0', () => {
  assert.equal(binIndex(0, 15), 0);
  assert.equal(binIndex(1 / 15, 15), 0);
  assert.equal(binIndex(1 / 15 + 1e-12, 15), 1);
  assert.equal(binIndex(2 / 15, 15), 1);
  assert.equal(binIndex(0.5, 15), 7);
  assert.equal(binIndex(14 / 15, 15), 13);
  assert.equal(binIndex(1, 15), 14);
  for (let k = 1; k <= 15; k++) assert.equal(binIndex(k / 15, 15), k - 1, `edge ${k}/15`);
});

test('ECE of hand-made probabilities', () => {
  // Two samples at confidence 0.9 (one right) and two at 0.6 (both right):
  // |0.5 - 0.9| * 2/4 + |1 - 0.6| * 2/4 = 0.4.
  const probs = [
    [0.9, 0.1],
    [0.9, 0.1],
    [0.4, 0.6],
    [0.4, 0.6],
  ];
  assert.ok(Math.abs(calibrationError(probs, [0, 1, 1, 1], { input: 'probs' }) - 0.4) < 1e-12);
  assert.ok(Math.abs(calibrationError(probs, [0, 1, 1, 1]) - 0.4) < 1e-12, "'auto' takes them as probabilities");
  // Taken as logits they go through a softmax first, and the value changes.
  assert.ok(Math.abs(calibrationError(probs, [0, 1, 1, 1], { input: 'logits' }) - 0.4) > 0.01);
  // One bin: ECE is |accuracy - mean confidence|.
  assert.ok(Math.abs(calibrationError(probs, [0, 1, 1, 1], { nBins: 1 }) - Math.abs(0.75 - 0.75)) < 1e-12);
});
