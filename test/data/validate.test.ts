import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConversationDataset } from '../../src/data/types.js';
import { DatasetError, findDatasetProblems, validateDataset } from '../../src/data/validate.js';
import { tinyDataset } from '../tiny_data.js';

function broken(edit: (ds: ConversationDataset) => void): DatasetError {
  const ds = tinyDataset(5);
  edit(ds);
  try {
    validateDataset(ds);
  } catch (e) {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    return e;
  }
  assert.fail('the dataset was accepted');
}

test('a well-formed dataset has no problems', () => {
  const ds = tinyDataset(5);
  assert.deepEqual(findDatasetProblems(ds), []);
  validateDataset(ds);
});

test('utterance counts that disagree name the dialogue and field', () => {
  const e = broken((ds) => {
    const d = ds.splits.train[2]!;
    d.features.a = d.features.a!.slice(0, (d.labels.length - 1) * ds.dims.a!);
  });
  assert.equal(e.location.field, 'features.a');
  assert.equal(e.location.split, 'train');
  assert.match(e.message, /utterance counts of the fields disagree/);
  const s = broken((ds) => ds.splits.test[0]!.speakers.pop());
  assert.equal(s.location.field, 'speakers');
  const t = broken((ds) => (ds.splits.test[0]!.sentences = ['only one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']));
  assert.equal(t.location.field, 'sentences');
});

test('a feature of the wrong dimension is reported', () => {
  const e = broken((ds) => {
    const d = ds.splits.dev[0]!;
    d.features.b = new Float32Array(d.features.b!.length + 1);
  });
  assert.match(e.message, /not a multiple of the b dimension/);
});

test('NaN and Inf are located to the utterance', () => {
  const e = broken((ds) => {
    const d = ds.splits.train[0]!;
    d.features.b![ds.dims.b! + 2] = NaN;
  });
  assert.equal(e.location.utterance, 1);
  assert.equal(e.location.field, 'features.b');
  assert.match(e.message, /not finite.*replace NaN/);
  const inf = broken((ds) => (ds.splits.test[1]!.features.a![0] = -Infinity));
  assert.equal(inf.location.utterance, 0);
});

test('labels outside the class set, empty dialogues, duplicate ids and empty splits', () => {
  const l = broken((ds) => (ds.splits.train[1]!.labels[0] = ds.classNames.length));
  assert.equal(l.location.field, 'labels');
  assert.equal(l.location.utterance, 0);
  assert.match(l.message, /outside the \d+ classes/);
  const empty = broken((ds) => {
    const d = ds.splits.train[0]!;
    d.labels = new Int32Array(0);
    d.speakers = [];
    for (const m of ds.modalities) d.features[m] = new Float32Array(0);
  });
  assert.match(empty.message, /no utterances/);
  const dup = broken((ds) => ds.splits.test.push(ds.splits.train[0]!));
  assert.match(dup.message, /also appears in the train split/);
  const none = broken((ds) => (ds.splits.test = []));
  assert.match(none.message, /test split has no dialogues/);
  const many = broken((ds) => {
    for (const d of ds.splits.train) d.labels[0] = -1;
  });
  assert.match(many.message, /more problem/);
});
