import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classificationReport, f1Score, formatClassificationReport, precisionRecallFscoreSupport } from '../../src/metrics/index.js';
import { fixture } from './harness.js';

const byName = (name: string) => fixture.classification.find((c) => c.name === name)!;

test('macro average leaves out classes absent from both target and predictions (sklearn labels=None)', () => {
  const c = byName('absent_from_both');
  const macro = f1Score(c.preds, c.target, { numClasses: c.numClasses, average: 'macro' });
  assert.ok(Math.abs(macro - c.average.macro.f1) < 1e-12);
  // sklearn with labels=range(C) would average the absent classes in as 0.
  assert.ok(Math.abs(macro - c.f1MacroAllLabels) > 0.1);
  // The result does not depend on whether numClasses was given.
  assert.equal(f1Score(c.preds, c.target, { average: 'macro' }), macro);
});

test('a class never predicted has precision 0; a class never present has recall 0 (zero_division=0)', () => {
  const np = byName('never_predicted');
  const r = precisionRecallFscoreSupport(np.preds, np.target, { numClasses: np.numClasses });
  assert.equal(r.precision[2], 0);
  assert.equal(r.f1[2], 0);
  assert.ok(r.support[2]! > 0);
  const abs = byName('never_present');
  const q = precisionRecallFscoreSupport(abs.preds, abs.target, { numClasses: abs.numClasses });
  assert.equal(q.recall[3], 0);
  assert.equal(q.support[3], 0);
});

test('micro F1 equals accuracy for single-label predictions', () => {
  for (const c of fixture.classification) {
    assert.ok(Math.abs(f1Score(c.preds, c.target, { average: 'micro' }) - c.accuracy) < 1e-12, c.name);
  }
});

test('classificationReport names classes and formats like sklearn', () => {
  const c = byName('iemocap6');
  const names = ['hap', 'sad', 'neu', 'ang', 'exc', 'fru'];
  const r = classificationReport(c.preds, c.target, { numClasses: 6, classNames: names });
  assert.deepEqual(
    r.classes.map((row) => row.name),
    names,
  );
  assert.deepEqual(
    classificationReport([0, 1], [0, 1]).classes.map((row) => row.name),
    ['0', '1'],
  );
  const text = formatClassificationReport(r);
  const lines = text.split('\n');
  assert.match(lines[0]!, /precision\s+recall\s+f1-score\s+support/);
  assert.match(text, new RegExp(`hap\\s+${r.classes[0]!.precision.toFixed(2)}`));
  assert.match(text, /weighted avg/);
  assert.match(text, new RegExp(`accuracy\\s+${r.accuracy.toFixed(2)}\\s+${c.target.length}`));
});

test('empty inputs give 0, not NaN', () => {
  assert.equal(f1Score([], [], { average: 'macro' }), 0);
  assert.deepEqual(
    classificationReport([], [], { numClasses: 2 }).classes.map((r) => r.support),
    [0, 0],
  );
});
