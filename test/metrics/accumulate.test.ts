import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor } from '../../src/engine/index.js';
import {
  Accuracy,
  CalibrationError,
  ConfusionMatrix,
  F1Score,
  MetricCollection,
  Precision,
  Recall,
  accuracy,
  calibrationError,
  confusionMatrix,
  createMetric,
  f1Score,
  precision,
  recall,
  METRIC_NAMES,
  type Metric,
} from '../../src/metrics/index.js';
import { batchBounds, fixture } from './harness.js';

function feed(metric: Metric, preds: unknown[], target: number[], asTensor = false): void {
  for (const [lo, hi] of batchBounds(target.length)) {
    const p = preds.slice(lo, hi);
    const t = target.slice(lo, hi);
    if (asTensor)
      metric.update(
        Array.isArray(p[0]) ? tensor(p as number[][]) : tensor(p as number[], { dtype: 'int64' }),
        tensor(t, { dtype: 'int64' }),
      );
    else metric.update(p as number[], t);
  }
}

for (const c of fixture.classification) {
  test(`class forms accumulated over batches equal the functions on the whole: ${c.name}`, () => {
    const n = { numClasses: c.numClasses };
    const pairs: [Metric, unknown][] = [
      [new Accuracy(), accuracy(c.preds, c.target)],
      [new F1Score(), f1Score(c.preds, c.target)],
      [new F1Score({ average: 'macro', ...n }), f1Score(c.preds, c.target, { average: 'macro', ...n })],
      [new F1Score({ average: 'micro' }), f1Score(c.preds, c.target, { average: 'micro' })],
      [new F1Score({ average: 'none', ...n }), f1Score(c.preds, c.target, { average: 'none', ...n })],
      [new Precision({ average: 'macro' }), precision(c.preds, c.target, { average: 'macro' })],
      [new Recall({ average: 'none', ...n }), recall(c.preds, c.target, { average: 'none', ...n })],
      [new ConfusionMatrix(n), confusionMatrix(c.preds, c.target, n)],
    ];
    for (const [metric, whole] of pairs) {
      feed(metric, c.preds, c.target);
      assert.deepEqual(metric.compute(), whole, metric.name);
      metric.reset();
      feed(metric, c.logits, c.target, true);
      assert.deepEqual(metric.compute(), whole, `${metric.name} from logits tensors`);
    }
    const ece = new CalibrationError();
    feed(ece, c.logits, c.target);
    assert.equal(ece.compute(), calibrationError(c.logits, c.target));
  });
}

test('an inferred class count grows with the labels seen', () => {
  const m = new ConfusionMatrix();
  m.update([0, 1], [1, 1]);
  assert.deepEqual(m.compute(), [
    [0, 0],
    [1, 1],
  ]);
  m.update([3], [0]);
  assert.deepEqual(m.compute(), confusionMatrix([0, 1, 3], [1, 1, 0]));
  assert.equal(m.compute().length, 4);
});

test('reset starts over; compute before any update gives 0 or an empty matrix', () => {
  const acc = new Accuracy();
  assert.equal(acc.compute(), 0);
  acc.update([1, 1], [1, 0]);
  assert.equal(acc.compute(), 0.5);
  acc.reset();
  acc.update([1], [1]);
  assert.equal(acc.compute(), 1);
  assert.deepEqual(new ConfusionMatrix().compute(), []);
  assert.deepEqual(new ConfusionMatrix({ numClasses: 2 }).compute(), [
    [0, 0],
    [0, 0],
  ]);
  assert.equal(new CalibrationError().compute(), 0);
});

test('higherIsBetter flags', () => {
  assert.equal(new Accuracy().higherIsBetter, true);
  assert.equal(new F1Score().higherIsBetter, true);
  assert.equal(new Precision().higherIsBetter, true);
  assert.equal(new Recall().higherIsBetter, true);
  assert.equal(new CalibrationError().higherIsBetter, false);
  assert.equal(new ConfusionMatrix().higherIsBetter, null);
});

test('default names', () => {
  assert.deepEqual(
    [
      new Accuracy(),
      new F1Score(),
      new F1Score({ average: 'none' }),
      new Recall({ average: 'macro' }),
      new ConfusionMatrix(),
      new CalibrationError(),
    ].map((m) => m.name),
    ['accuracy', 'f1_weighted', 'f1_per_class', 'recall_macro', 'confusion_matrix', 'ece'],
  );
  assert.equal(new F1Score({ name: 'wf1' }).name, 'wf1');
});

test('MetricCollection updates, computes and resets every metric, keyed by name', () => {
  const c = fixture.classification.find((x) => x.name === 'meld7')!;
  const col = new MetricCollection({ acc: new Accuracy(), wf1: new F1Score(), mf1: new F1Score({ average: 'macro' }) });
  feed(
    { name: 'col', higherIsBetter: null, update: (p, t) => col.update(p, t), compute: () => col.compute(), reset: () => col.reset() },
    c.preds,
    c.target,
  );
  const r = col.compute();
  assert.deepEqual(r, {
    acc: accuracy(c.preds, c.target),
    wf1: f1Score(c.preds, c.target),
    mf1: f1Score(c.preds, c.target, { average: 'macro' }),
  });
  const wf1: number = r.wf1;
  assert.equal(typeof wf1, 'number');
  assert.equal(col.get('mf1').higherIsBetter, true);
  col.reset();
  assert.deepEqual(col.compute(), { acc: 0, wf1: 0, mf1: 0 });
  const byName = MetricCollection.of(new Accuracy(), new F1Score());
  assert.deepEqual(byName.names, ['accuracy', 'f1_weighted']);
});

test('the registry makes every metric by name', () => {
  assert.deepEqual([...METRIC_NAMES], ['accuracy', 'precision', 'recall', 'f1', 'confusion_matrix', 'calibration_error']);
  for (const name of METRIC_NAMES) assert.equal(typeof createMetric(name).compute, 'function');
  const f1 = createMetric('f1', { average: 'macro', numClasses: 3 });
  assert.ok(f1 instanceof F1Score);
  assert.equal(f1.name, 'f1_macro');
  assert.equal(createMetric('calibration_error', { nBins: 10 }).nBins, 10);
});
