import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgumentError, tensor } from '../../src/engine/index.js';
import {
  Accuracy,
  CalibrationError,
  ConfusionMatrix,
  F1Score,
  MetricCollection,
  accuracy,
  agreementTable,
  calibrationError,
  classificationReport,
  confusionMatrix,
  createMetric,
  disparityRatios,
  f1Score,
  unimodalScores,
  type MetricName,
} from '../../src/metrics/index.js';

function throwsArg(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ArgumentError, `expected an ArgumentError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('mismatched lengths', () => {
  throwsArg(() => accuracy([0, 1, 2], [0, 1]), /Expected 3 \(one label per prediction\) for target length but received 2/);
  throwsArg(() => f1Score(tensor([[0.1, 0.9]]), [0, 1]), /for target length but received 2/);
  throwsArg(() => new Accuracy().update([0], [0, 1]), /target length/);
  throwsArg(() => calibrationError([[0.5, 0.5]], [0, 0]), /target length/);
  throwsArg(() => unimodalScores({ a: [[1, 2]] }, [0, 1]), /target length/);
  throwsArg(() => agreementTable({ a: [0, 1] }, [0, 1], { multimodal: [1] }), /target length/);
});

test('labels out of range', () => {
  throwsArg(
    () => accuracy([0, 3], [0, 1], { numClasses: 3 }),
    /Expected a class index between 0 and 2 \(numClasses\) for preds\[1\] but received 3/,
  );
  throwsArg(() => confusionMatrix([0, 1], [0, 5], { numClasses: 3 }), /for target\[1\] but received 5/);
  throwsArg(() => f1Score([[0.2, 0.8]], [2]), /between 0 and 1 \(the score width\) for target\[0\]/);
  throwsArg(() => new ConfusionMatrix({ numClasses: 2 }).update([2], [0]), /preds\[0\] but received 2/);
  throwsArg(() => calibrationError([[0.2, 0.8]], [4]), /target\[0\]/);
  throwsArg(() => unimodalScores({ a: [[1, 2]] }, [2]), /the width of logits.a/);
});

test('labels that are not non-negative integers', () => {
  throwsArg(() => accuracy([0, -1], [0, 1]), /non-negative integer class index for preds\[1\] but received -1/);
  throwsArg(() => accuracy([0, 1.5], [0, 1]), /preds\[1\] but received 1.5/);
  throwsArg(() => accuracy([0, 1], tensor([[0, 1]])), /1-D tensor of class indices for target/);
  throwsArg(() => accuracy([0], 'x' as unknown as number[]), /for target but received 'x'/);
  throwsArg(() => calibrationError([[0.2, NaN]], [0]), /finite score for scores\[0\]\[1\]/);
  throwsArg(() => f1Score([[0.2, 0.8], [0.1]], [0, 1]), /a row of 2 scores like row 0 for preds\[1\]/);
});

test('bad numClasses, average, nBins and score input', () => {
  throwsArg(() => accuracy([0], [0], { numClasses: -2 }), /Expected integer >= 1 for numClasses but received -2/);
  throwsArg(() => new F1Score({ numClasses: 0 }), /numClasses but received 0/);
  throwsArg(() => confusionMatrix([0], [0], { numClasses: 2.5 }), /numClasses but received 2.5/);
  throwsArg(() => f1Score([[0.2, 0.8]], [0], { numClasses: 3 }), /Expected 3 score columns \(numClasses\) for preds width but received 2/);
  throwsArg(
    () => f1Score([0], [0], { average: 'samples' as 'macro' }),
    /Expected one of 'micro', 'macro', 'weighted', 'none' for average but received 'samples'/,
  );
  throwsArg(() => new F1Score({ average: 'binary' as 'macro' }), /for average/);
  throwsArg(() => new CalibrationError({ nBins: 0 }), /Expected integer >= 1 for nBins but received 0/);
  throwsArg(() => calibrationError([[2, -1]], [0], { input: 'probs' }), /rows of probabilities/);
  throwsArg(() => calibrationError([0, 1] as unknown as number[][], [0, 1]), /2-D Tensor or an array of score rows|row/);
  throwsArg(() => classificationReport([0, 1], [0, 1], { classNames: ['a'] }), /Expected 2 class names \(one per class\) for classNames/);
});

test('scores of another width than earlier batches', () => {
  const m = new ConfusionMatrix();
  m.update([[0.1, 0.9]], [1]);
  throwsArg(
    () => m.update([[0.1, 0.2, 0.7]], [1]),
    /2 score columns \(the class count of earlier batches\) for preds width but received 3/,
  );
});

test('disparity ratios need positive finite scores', () => {
  throwsArg(() => disparityRatios({ a: 0, v: 0 }), /positive unimodal scores/);
  throwsArg(() => disparityRatios({ a: NaN }), /finite non-negative unimodal score for scores.a/);
  throwsArg(() => disparityRatios({}), /at least one modality/);
});

test('unknown metric names error and list the known ones', () => {
  throwsArg(
    () => createMetric('auroc' as MetricName),
    /Expected one of 'accuracy', 'precision', 'recall', 'f1', 'confusion_matrix', 'calibration_error' for metric name but received 'auroc'/,
  );
  const col = new MetricCollection({ acc: new Accuracy() });
  throwsArg(() => col.get('f1' as 'acc'), /Expected one of 'acc' for metric name but received 'f1'/);
  throwsArg(() => MetricCollection.of(new Accuracy(), new Accuracy()), /distinct names/);
  throwsArg(() => new MetricCollection({ x: 3 } as never), /a Metric \(update, compute, reset\) for metrics.x/);
});
