import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ercDatasetFromValue, IEMOCAP_CLASSES, MELD_CLASSES, MELD_SENTIMENT_CLASSES, readErcPickle } from '../../src/data/erc_pickle.js';
import { PickleSecurityError, readPickle } from '../../src/data/pickle.js';
import type { ConversationDataset, Dialogue } from '../../src/data/types.js';
import { DatasetError } from '../../src/data/validate.js';
import { assertClose, fixturePath } from '../helpers.js';

const fx = (name: string): string => fixturePath('data', name);

interface ExpectedDialogue {
  labels: number[];
  speakers: string[];
  sentences: string[];
  text: number[];
  audio: number[];
  visual: number[];
  sentiment?: number[];
}
interface ExpectedSet {
  train: string[];
  dev: string[];
  test: string[];
  classes: number;
  dialogues: Record<string, ExpectedDialogue>;
}
const expected = JSON.parse(readFileSync(fx('erc_expected.json'), 'utf8')) as { iemocap: ExpectedSet; meld: ExpectedSet };

function all(ds: ConversationDataset): Dialogue[] {
  return [...ds.splits.train, ...ds.splits.dev, ...ds.splits.test];
}

function checkAgainst(ds: ConversationDataset, e: ExpectedSet, what: string, labelKey: 'labels' | 'sentiment' = 'labels'): void {
  for (const d of all(ds)) {
    const x = e.dialogues[d.id];
    assert.ok(x, `${what}: unexpected dialogue ${d.id}`);
    assert.deepEqual(Array.from(d.labels), x[labelKey], `${what} ${d.id} labels`);
    assert.deepEqual(d.speakers, x.speakers, `${what} ${d.id} speakers`);
    assert.deepEqual(d.sentences, x.sentences, `${what} ${d.id} sentences`);
    for (const m of ds.modalities) assertClose(d.features[m]!, x[m as 'text'], 1e-6, 1e-6, `${what} ${d.id} ${m}`);
  }
  assert.deepEqual(ds.splits.test.map((d) => d.id).sort(), [...e.test].sort(), `${what}: test ids`);
  if (e.dev.length && ds.devSource === 'file') {
    assert.deepEqual(
      ds.splits.train.map((d) => d.id),
      e.train,
      `${what}: train ids`,
    );
    assert.deepEqual(
      ds.splits.dev.map((d) => d.id),
      e.dev,
      `${what}: dev ids`,
    );
  } else {
    assert.equal(ds.devSource, 'train-split');
    const trainDev = [...ds.splits.train, ...ds.splits.dev].map((d) => d.id).sort();
    assert.deepEqual(trainDev, [...e.train, ...e.dev].sort(), `${what}: train + held-out dev ids`);
    assert.ok(ds.splits.dev.length >= 1);
  }
}

const IEMOCAP_FILES: [string, string][] = [
  ['ada2i_iemocap_p2.pkl', 'ada2i'],
  ['ada2i_iemocap_p3.pkl', 'ada2i'],
  ['ada2i_iemocap_p4.pkl', 'ada2i'],
  ['ada2i_iemocap_p5.pkl', 'ada2i'],
  ['ada2i_iemocap_py2.pkl', 'ada2i'],
  ['ada2i_iemocap_numpy2_p3.pkl', 'ada2i'],
  ['dialoguernn_iemocap_p2.pkl', 'dialoguernn'],
  ['dialoguernn_iemocap_p3.pkl', 'dialoguernn'],
  ['dialoguernn_iemocap_p4.pkl', 'dialoguernn'],
  ['dialoguernn_iemocap_p5.pkl', 'dialoguernn'],
];
for (const [file, schema] of IEMOCAP_FILES) {
  test(`IEMOCAP-like ${file} reads as ${schema} with the file's values`, () => {
    const ds = readErcPickle(fx(file));
    assert.equal(ds.meta?.schema, schema);
    assert.equal(ds.name, file);
    assert.deepEqual(ds.classNames, IEMOCAP_CLASSES);
    assert.deepEqual(ds.modalities, ['text', 'audio', 'visual']);
    assert.deepEqual(ds.dims, { text: 6, audio: 4, visual: 5 });
    checkAgainst(ds, expected.iemocap, file);
    const forced = readErcPickle(fx(file), { format: schema as 'ada2i' });
    assert.equal(forced.meta?.schema, schema);
  });
}

const MELD_FILES: [string, string, string[]][] = [
  ['ada2i_meld_p4.pkl', 'ada2i', ['text', 'audio', 'visual']],
  ['ada2i_meld_numpy2_p5.pkl', 'ada2i', ['text', 'audio', 'visual']],
  ['meld_raw9_p2.pkl', 'meld', ['text', 'audio']],
  ['meld_raw9_p3.pkl', 'meld', ['text', 'audio']],
  ['meld_raw9_p4.pkl', 'meld', ['text', 'audio']],
  ['meld_raw9_p5.pkl', 'meld', ['text', 'audio']],
  ['meld_raw10_p4.pkl', 'meld', ['text', 'audio', 'visual']],
];
for (const [file, schema, modalities] of MELD_FILES) {
  test(`MELD-like ${file} reads as ${schema}`, () => {
    const ds = readErcPickle(fx(file));
    assert.equal(ds.meta?.schema, schema);
    assert.deepEqual(ds.classNames, MELD_CLASSES);
    assert.deepEqual(ds.modalities, modalities);
    assert.equal(ds.devSource, schema === 'ada2i' ? 'file' : 'train-split');
    checkAgainst(ds, expected.meld, file);
  });
}

test('MELD sentiment labels on request', () => {
  const ds = readErcPickle(fx('meld_raw10_p4.pkl'), { labels: 'sentiment' });
  assert.deepEqual(ds.classNames, MELD_SENTIMENT_CLASSES);
  checkAgainst(ds, expected.meld, 'sentiment', 'sentiment');
  assert.throws(() => readErcPickle(fx('ada2i_meld_p4.pkl'), { labels: 'sentiment' }), /only in the MELD layout/);
});

test('options: modality subset, class names, dev hold-out by seed and mode', () => {
  const ds = readErcPickle(fx('ada2i_iemocap_p4.pkl'), { modalities: ['visual', 'text'], classNames: ['a', 'b', 'c', 'd', 'e', 'f'] });
  assert.deepEqual(ds.modalities, ['visual', 'text']);
  assert.deepEqual(Object.keys(all(ds)[0]!.features).sort(), ['text', 'visual']);
  assert.deepEqual(ds.classNames, ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.equal(ds.meta?.classNamesFrom, 'option');
  assert.throws(() => readErcPickle(fx('meld_raw9_p4.pkl'), { modalities: ['visual'] }), /modality "visual" is not in this meld file/);

  const a = readErcPickle(fx('dialoguernn_iemocap_p4.pkl'), { seed: 1, devFraction: 0.4 });
  const b = readErcPickle(fx('dialoguernn_iemocap_p4.pkl'), { seed: 1, devFraction: 0.4 });
  assert.equal(a.splits.dev.length, 2);
  assert.deepEqual(
    a.splits.dev.map((d) => d.id),
    b.splits.dev.map((d) => d.id),
  );
  const first = readErcPickle(fx('ada2i_iemocap_p4.pkl'), { devMode: 'first', devFraction: 0.4 });
  assert.deepEqual(
    first.splits.dev.map((d) => d.id),
    expected.iemocap.train.slice(0, 2),
  );
  assert.equal(first.meta?.devMode, 'first');
});

test('auto detection explains every layout it tried', () => {
  const err = (() => {
    try {
      ercDatasetFromValue(new Map([['foo', 1]]));
    } catch (e) {
      return e as Error;
    }
    return null;
  })();
  assert.ok(err instanceof DatasetError);
  assert.match(err.message, /ada2i: the dict lacks key\(s\) speaker, label, trainVid, testVid/);
  assert.match(err.message, /dialoguernn: the top-level value is a dict of 1, not a tuple/);
  assert.match(err.message, /meld: /);
  assert.throws(() => ercDatasetFromValue([1, 2, 3]), /tuple has 3 fields, not 9/);
});

test('data problems are located: split ids with no data, dimension mismatch, utterance counts', () => {
  const base = readPickle(fx('ada2i_iemocap_p4.pkl')) as Map<string, unknown>;
  const clone = (): Map<string, unknown> => new Map([...base].map(([k, v]) => [k, v instanceof Map ? new Map(v) : v]));

  const missing = clone();
  missing.set('trainVid', [...(base.get('trainVid') as string[]), 'Ses09_ghost']);
  assert.throws(
    () => ercDatasetFromValue(missing),
    (e: unknown) => e instanceof DatasetError && e.location.dialogue === 'Ses09_ghost' && /no entry for it/.test(e.message),
  );

  const dims = clone();
  const text = dims.get('text') as Map<string, unknown[]>;
  const id = expected.iemocap.train[1]!;
  const rows = [...text.get(id)!];
  rows[1] = [1, 2, 3];
  text.set(id, rows);
  assert.throws(
    () => ercDatasetFromValue(dims),
    (e: unknown) =>
      e instanceof DatasetError && e.location.dialogue === id && e.location.utterance === 1 && /dimension differs/.test(e.message),
  );

  const counts = clone();
  const labels = counts.get('label') as Map<string, unknown[]>;
  labels.set(id, [...labels.get(id)!, 0]);
  assert.throws(
    () => ercDatasetFromValue(counts),
    (e: unknown) =>
      e instanceof DatasetError && e.location.dialogue === id && /utterance counts of the fields disagree|speakers has/.test(e.message),
  );

  const both = clone();
  both.set('testVid', [id]);
  assert.throws(() => ercDatasetFromValue(both), /both the train and the test split/);
});

test('a malicious file read as ERC data is refused as a security problem', () => {
  assert.throws(() => readErcPickle(fx('malicious_p4.pkl')), PickleSecurityError);
});
