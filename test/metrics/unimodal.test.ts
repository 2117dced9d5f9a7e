import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGradEnabled, tensor } from '../../src/engine/index.js';
import { agreementTable, disparityRatios, unimodalMetrics, unimodalScores } from '../../src/metrics/index.js';
import { COUNTS_TOL, fixture, runChecks, SOFTMAX_TOL, type UnimodalCase } from './harness.js';

const cases = fixture.unimodal;

runChecks<UnimodalCase>(cases, [
  { metric: 'unimodal scores s_m (rows)', actual: (c) => unimodalScores(c.logits, c.target), expected: (c) => c.scores, tol: SOFTMAX_TOL },
  {
    metric: 'unimodal scores s_m (float32 Tensors)',
    actual: (c) =>
      unimodalScores(Object.fromEntries(c.modalities.map((m) => [m, tensor(c.logits[m]!)])), tensor(c.target, { dtype: 'int64' })),
    expected: (c) => c.scores,
    tol: SOFTMAX_TOL,
  },
  {
    metric: 'disparity ratio rho_m',
    actual: (c) => disparityRatios(unimodalScores(c.logits, c.target)),
    expected: (c) => c.rho,
    tol: SOFTMAX_TOL,
  },
  {
    metric: 'unimodal accuracy and weighted F1',
    actual: (c) =>
      Object.values(unimodalMetrics(c.logits, c.target, { numClasses: c.numClasses })).flatMap((r) => [r.accuracy, r.weightedF1]),
    expected: (c) => c.modalities.flatMap((m) => [c.perModality[m]!.accuracy, c.perModality[m]!.weightedF1]),
    tol: COUNTS_TOL,
  },
  {
    metric: 'agreement table with the multimodal predictions',
    actual: (c) => {
      const t = agreementTable(c.logits, c.target, { multimodal: c.fusedLogits });
      return [...t.rows.map((r) => r.count), ...t.rows.map((r) => r.multimodalCorrect!)];
    },
    expected: (c) => [...c.agreement.counts, ...c.agreement.multimodalCorrect],
    tol: 0,
  },
]);

test('unimodal scores record no graph for logits that require grad', () => {
  const c = cases[0]!;
  const a = tensor(c.logits.a!, { requiresGrad: true });
  const s = unimodalScores({ a }, c.target);
  assert.equal(typeof s.a, 'number');
  assert.equal(a.grad, null);
  assert.equal(isGradEnabled(), true);
});

test('disparity ratio: the weakest modality has 1, two modalities give reciprocal ratios', () => {
  assert.deepEqual(disparityRatios({ a: 4, v: 2 }), { a: 2, v: 1 });
  const r = disparityRatios({ t: 30, a: 20, v: 10 });
  assert.deepEqual(r, { t: 3, a: 2, v: 1 });
});

test('agreement table rows for two modalities read both wrong / only a / only v / both right', () => {
  const target = [0, 1, 2, 0, 1];
  const t = agreementTable({ a: [0, 1, 0, 1, 1], v: [0, 0, 2, 1, 0] }, target, { multimodal: [0, 1, 2, 1, 0] });
  assert.deepEqual(t.sources, ['a', 'v']);
  assert.deepEqual(
    t.rows.map((r) => [r.label, r.correct, r.count, r.multimodalCorrect]),
    [
      ['both wrong', [], 1, 0],
      ['only a', ['a'], 2, 1],
      ['only v', ['v'], 1, 1],
      ['both right', ['a', 'v'], 1, 1],
    ],
  );
  assert.equal(t.total, 5);
  assert.equal(t.rows[1]!.fraction, 0.4);
  const three = agreementTable(fixture.unimodal[1]!.logits, fixture.unimodal[1]!.target);
  assert.deepEqual(
    three.rows.map((r) => r.label),
    ['all wrong', 'only t', 'only a', 'only t and a', 'only v', 'only t and v', 'only a and v', 'all right'],
  );
  assert.equal(three.rows[0]!.multimodalCorrect, undefined);
});
