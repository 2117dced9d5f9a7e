import { tensor } from '../../src/engine/index.js';
import {
  accuracy,
  classificationReport,
  confusionMatrix,
  f1Score,
  precision,
  precisionRecallFscoreSupport,
  recall,
  support,
  type Average,
} from '../../src/metrics/index.js';
import { COUNTS_TOL, fixture, runChecks, type Check, type ClassificationCase } from './harness.js';

const cases = fixture.classification;
type C = ClassificationCase;

const averaged = (fn: typeof f1Score, key: 'precision' | 'recall' | 'f1'): Check<C>[] =>
  (['weighted', 'macro', 'micro'] as const).map((average) => ({
    metric: `${key} average '${average}'`,
    actual: (c: C) => fn(c.preds, c.target, { numClasses: c.numClasses, average }),
    expected: (c: C) => c.average[average][key],
    tol: COUNTS_TOL,
  }));

const perClass = (fn: typeof f1Score, key: 'precision' | 'recall' | 'f1'): Check<C> => ({
  metric: `${key} average 'none'`,
  actual: (c: C) => fn(c.preds, c.target, { numClasses: c.numClasses, average: 'none' as Average }),
  expected: (c: C) => c.perClass[key],
  tol: COUNTS_TOL,
});

runChecks<C>(cases, [
  { metric: 'accuracy (indices as number[])', actual: (c) => accuracy(c.preds, c.target), expected: (c) => c.accuracy, tol: COUNTS_TOL },
  {
    metric: 'accuracy (Int32Array indices, numClasses given)',
    actual: (c) => accuracy(Int32Array.from(c.preds), Int32Array.from(c.target), { numClasses: c.numClasses }),
    expected: (c) => c.accuracy,
    tol: COUNTS_TOL,
  },
  {
    metric: 'accuracy (logits Tensor, int64 target Tensor)',
    actual: (c) => accuracy(tensor(c.logits), tensor(c.target, { dtype: 'int64' })),
    expected: (c) => c.accuracy,
    tol: COUNTS_TOL,
  },
  ...averaged(f1Score, 'f1'),
  ...averaged(precision, 'precision'),
  ...averaged(recall, 'recall'),
  perClass(f1Score, 'f1'),
  perClass(precision, 'precision'),
  perClass(recall, 'recall'),
  {
    metric: 'weighted F1 from logits rows (number[][]) with numClasses inferred',
    actual: (c) => f1Score(c.logits, c.target),
    expected: (c) => c.average.weighted.f1,
    tol: COUNTS_TOL,
  },
  {
    metric: 'precisionRecallFscoreSupport',
    actual: (c) => {
      const r = precisionRecallFscoreSupport(c.preds, c.target, { numClasses: c.numClasses });
      return [...r.precision, ...r.recall, ...r.f1, ...r.support];
    },
    expected: (c) => [...c.perClass.precision, ...c.perClass.recall, ...c.perClass.f1, ...c.perClass.support],
    tol: COUNTS_TOL,
  },
  {
    metric: 'support',
    actual: (c) => support(c.preds, c.target, { numClasses: c.numClasses }),
    expected: (c) => c.perClass.support,
    tol: 0,
  },
  {
    metric: 'confusionMatrix (labels=range(C))',
    actual: (c) => confusionMatrix(tensor(c.preds, { dtype: 'int64' }), c.target, { numClasses: c.numClasses }),
    expected: (c) => c.confusionMatrix.flat(),
    tol: 0,
  },
  {
    metric: 'classificationReport',
    actual: (c) => {
      const r = classificationReport(c.preds, c.target, { numClasses: c.numClasses });
      return [
        ...r.classes.flatMap((row) => [row.precision, row.recall, row.f1, row.support]),
        r.accuracy,
        r.macro.precision,
        r.macro.recall,
        r.macro.f1,
        r.weighted.precision,
        r.weighted.recall,
        r.weighted.f1,
        r.weighted.support,
      ];
    },
    expected: (c) => [
      ...c.perClass.precision.flatMap((_, k) => [c.perClass.precision[k], c.perClass.recall[k], c.perClass.f1[k], c.perClass.support[k]]),
      c.accuracy,
      c.average.macro.precision,
      c.average.macro.recall,
      c.average.macro.f1,
      c.average.weighted.precision,
      c.average.weighted.recall,
      c.average.weighted.f1,
      c.target.length,
    ],
    tol: COUNTS_TOL,
  },
]);
