import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  ercDatasetFromValue,
  IEMOCAP_4_CLASSES,
  IEMOCAP_CLASSES,
  MELD_CLASSES,
  MELD_SENTIMENT_CLASSES,
  MOSEI_2_CLASSES,
  MOSEI_7_CLASSES,
  readErcPickle,
} from '../../src/data/erc_pickle.js';
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
  /** CMU-MOSEI fixtures: the binary task's labels (`labels` holds the 7-class ones). */
  labels2?: number[];
}
interface ExpectedSet {
  train: string[];
  dev: string[];
  test: string[];
  classes: number;
  dialogues: Record<string, ExpectedDialogue>;
}
const expected = JSON.parse(readFileSync(fx('erc_expected.json'), 'utf8')) as { iemocap: ExpectedSet; meld: ExpectedSet };
const mosei = (JSON.parse(readFileSync(fx('mosei_expected.json'), 'utf8')) as { mosei: ExpectedSet }).mosei;

function all(ds: ConversationDataset): Dialogue[] {
  return [...ds.splits.train, ...ds.splits.dev, ...ds.splits.test];
}

function checkAgainst(
  ds: ConversationDataset,
  e: ExpectedSet,
  what: string,
  labelKey: 'labels' | 'sentiment' | 'labels2' = 'labels',
): void {
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

/** The error a call throws (it must throw one). */
function errorOf(f: () => unknown): DatasetError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

const MOSEI_TASKS = fx('mosei_tasks_p4.pkl');

test('CMU-MOSEI label[task][vid]: the 7-class task, with valVid as the dev split', () => {
  const ds = readErcPickle(MOSEI_TASKS, { task: 'sentiment_7' });
  assert.equal(ds.meta?.schema, 'ada2i');
  assert.deepEqual(ds.classNames, MOSEI_7_CLASSES);
  assert.deepEqual(ds.classNames, ['sneg', 'neg', 'wneg', 'neu', 'wpos', 'pos', 'spos']);
  assert.equal(ds.devSource, 'file');
  assert.deepEqual(
    ds.splits.dev.map((d) => d.id),
    mosei.dev,
  );
  assert.deepEqual(
    ds.splits.train.map((d) => d.id),
    mosei.train,
  );
  checkAgainst(ds, mosei, 'MOSEI 7-class');
  assert.ok(all(ds).some((d) => d.labels.includes(6)));
  assert.equal(ds.meta?.task, 'sentiment_7');
  assert.deepEqual(JSON.parse(ds.meta?.tasks ?? 'null'), ['sentiment_2', 'sentiment_7']);
  assert.equal(ds.meta?.labels, 'task');
  assert.equal(ds.meta?.devSplitKey, 'valVid');
  assert.match(ds.meta?.classNamesFrom ?? '', /7 label values \(CMU-MOSEI task "sentiment_7"\)/);
});

test('CMU-MOSEI: the 2-class task reads the other label set of the same file', () => {
  const ds = readErcPickle(MOSEI_TASKS, { task: 'sentiment_2' });
  assert.deepEqual(ds.classNames, MOSEI_2_CLASSES);
  assert.deepEqual(ds.classNames, ['neg', 'pos']);
  assert.equal(ds.devSource, 'file');
  checkAgainst(ds, mosei, 'MOSEI 2-class', 'labels2');
  // The binary labels are the 7-class ones binned at sentiment 0 (label 3).
  for (const d of all(ds))
    assert.deepEqual(
      Array.from(d.labels),
      mosei.dialogues[d.id]!.labels.map((y) => (y >= 3 ? 1 : 0)),
    );
  assert.equal(ds.meta?.task, 'sentiment_2');
});

test('CMU-MOSEI: several tasks and no task option is an error naming the tasks and the option', () => {
  const e = errorOf(() => readErcPickle(MOSEI_TASKS));
  assert.match(e.message, /2 tasks \("sentiment_2", "sentiment_7"\)/);
  assert.match(e.message, /pass the task option \(data\.task\)/);
  assert.ok(e.message.startsWith(MOSEI_TASKS), 'the message names the file');
  const unknown = errorOf(() => readErcPickle(MOSEI_TASKS, { task: 'sentiment_3' }));
  assert.match(unknown.message, /task option names "sentiment_3", which is not in this file; its tasks are "sentiment_2", "sentiment_7"/);
  // The labels option is MELD's; a MOSEI file chooses labels by task.
  assert.throws(() => readErcPickle(MOSEI_TASKS, { task: 'sentiment_7', labels: 'sentiment' }), /chosen with the task option/);
});

test('CMU-MOSEI: a single task (an integer key) is used without the option', () => {
  const file = fx('mosei_one_task_p3.pkl');
  const ds = readErcPickle(file);
  assert.deepEqual(ds.classNames, MOSEI_2_CLASSES);
  assert.equal(ds.meta?.task, '2');
  assert.equal(ds.devSource, 'train-split');
  checkAgainst(ds, { ...mosei, train: [...mosei.train, ...mosei.dev], dev: [] }, 'MOSEI one task', 'labels2');
  assert.equal(readErcPickle(file, { task: '2' }).meta?.task, '2');
  assert.throws(() => readErcPickle(file, { task: '7' }), /its tasks are "2"/);
});

test('CMU-MOSEI: raw sentiment scores as labels are refused, saying labels must be class indices', () => {
  const e = errorOf(() => readErcPickle(fx('mosei_float_labels_p4.pkl')));
  assert.match(e.message, /a real number: labels must be integer class indices/);
  assert.match(e.message, /raw CMU-MOSEI sentiment scores in \[-3, 3\] must be binned/);
  assert.equal(e.location.split, 'train');
  assert.equal(e.location.dialogue, mosei.train[0]);
  assert.equal(e.location.utterance, 0);
});

test('CMU-MOSEI: integer scores -3..3, labels of neither task size, and the task option on other layouts', () => {
  const base = readPickle(MOSEI_TASKS) as Map<string, unknown>;
  const withLabels = (f: (y: number) => number): Map<string, unknown> => {
    const seven = (base.get('label') as Map<string, Map<string, unknown[]>>).get('sentiment_7')!;
    const relabelled = new Map([...seven].map(([id, ys]) => [id, ys.map((y) => f(Number(y)))]));
    return new Map([...base, ['label', new Map([['scores', relabelled]])]]);
  };
  assert.throws(() => ercDatasetFromValue(withLabels((y) => y - 3)), /go down to -3: they look like sentiment scores/);
  // Labels 0..3: neither 2-class nor 7-class, so the names must come from the caller.
  const four = withLabels((y) => y % 4);
  assert.throws(
    () => ercDatasetFromValue(four),
    /labels 0\.\.3, neither 2-class \(0\.\.1\) nor 7-class \(0\.\.6\) sentiment; pass classNames/,
  );
  assert.deepEqual(ercDatasetFromValue(four, { classNames: ['a', 'b', 'c', 'd'] }).classNames, ['a', 'b', 'c', 'd']);

  assert.throws(
    () => readErcPickle(fx('ada2i_iemocap_p4.pkl'), { task: 'sentiment_7' }),
    /has one label per utterance, so drop the option/,
  );
  assert.throws(() => readErcPickle(fx('dialoguernn_iemocap_p4.pkl'), { task: 'sentiment_7' }), /drop the option/);
});

test('valVid is read as the dev split of an Ada2I dict', () => {
  const base = readPickle(fx('ada2i_iemocap_p4.pkl')) as Map<string, unknown>;
  const [first, ...rest] = expected.iemocap.train;
  const value = new Map([...base, ['trainVid', rest], ['valVid', [first!]]]);
  const ds = ercDatasetFromValue(value);
  assert.equal(ds.devSource, 'file');
  assert.deepEqual(
    ds.splits.dev.map((d) => d.id),
    [first],
  );
  assert.deepEqual(
    ds.splits.train.map((d) => d.id),
    rest,
  );
  assert.equal(ds.meta?.devSplitKey, 'valVid');
  // A dev id also listed for training is located against the key it came from.
  const twice = new Map([...base, ['valVid', [first!]]]);
  assert.throws(
    () => ercDatasetFromValue(twice),
    /both the train and the dev split ids; each dialogue must be in exactly one \(fix valVid\)/,
  );
});

/** What the 4-class protocol keeps of an expected IEMOCAP dialogue: its utterance indices and labels. */
function iemocap4(x: ExpectedDialogue, merge: boolean): { keep: number[]; labels: number[] } {
  const mapped = x.labels.map((y) => (merge && y === 4 ? 0 : y));
  const keep = mapped.flatMap((y, i) => (y < 4 ? [i] : []));
  return { keep, labels: keep.map((i) => mapped[i]!) };
}

function checkIemocap4(ds: ConversationDataset, merge: boolean, what: string): void {
  assert.deepEqual(ds.classNames, IEMOCAP_4_CLASSES, what);
  assert.deepEqual(ds.classNames, ['hap', 'sad', 'neu', 'ang'], what);
  const kept = Object.keys(expected.iemocap.dialogues).filter((id) => iemocap4(expected.iemocap.dialogues[id]!, merge).keep.length > 0);
  assert.deepEqual(
    all(ds)
      .map((d) => d.id)
      .sort(),
    kept.sort(),
    `${what}: dialogues`,
  );
  for (const d of all(ds)) {
    const x = expected.iemocap.dialogues[d.id]!;
    const { keep, labels } = iemocap4(x, merge);
    assert.deepEqual(Array.from(d.labels), labels, `${what} ${d.id} labels`);
    assert.deepEqual(
      d.speakers,
      keep.map((i) => x.speakers[i]),
      `${what} ${d.id} speakers`,
    );
    assert.deepEqual(
      d.sentences,
      keep.map((i) => x.sentences[i]),
      `${what} ${d.id} sentences`,
    );
    for (const m of ['text', 'audio', 'visual'] as const) {
      const dim = ds.dims[m]!;
      assertClose(
        d.features[m]!,
        keep.flatMap((i) => x[m].slice(i * dim, (i + 1) * dim)),
        1e-6,
        1e-6,
        `${what} ${d.id} ${m}`,
      );
    }
  }
  assert.deepEqual(ds.splits.test.map((d) => d.id).sort(), expected.iemocap.test.filter((id) => kept.includes(id)).sort(), `${what}: test`);
  assert.equal(ds.meta?.iemocapClasses, '4');
  assert.equal(ds.meta?.mergeExcitement, String(merge));
}

for (const file of ['ada2i_iemocap_p4.pkl', 'dialoguernn_iemocap_p4.pkl']) {
  test(`IEMOCAP 4-class protocol on ${file}: exc and fru utterances and emptied dialogues leave`, () => {
    const ds = readErcPickle(fx(file), { iemocapClasses: 4 });
    checkIemocap4(ds, false, file);
    // The fixture's 23 utterances: 7 are exc or fru; Ses04F_script01 has only those and is dropped.
    const count = (x: ConversationDataset): number => all(x).reduce((a, d) => a + d.labels.length, 0);
    assert.equal(count(ds), 16);
    assert.ok(!all(ds).some((d) => d.id === 'Ses04F_script01'));
    assert.equal(ds.meta?.droppedUtterances, '7');
    assert.equal(ds.meta?.droppedDialogues, '1');
    assert.ok(all(ds).every((d) => d.labels.every((y) => y < 4)));
    // The dev split is held out of the training dialogues that remain.
    assert.equal(ds.devSource, 'train-split');
    assert.equal(ds.splits.train.length + ds.splits.dev.length, 4);

    const merged = readErcPickle(fx(file), { iemocapClasses: 4, mergeExcitement: true });
    checkIemocap4(merged, true, `${file} merged`);
    assert.equal(count(merged), 19);
    assert.deepEqual(Array.from(all(merged).find((d) => d.id === 'Ses04F_script01')!.labels), [0]);
    assert.equal(merged.meta?.droppedUtterances, '4');
    assert.equal(merged.meta?.droppedDialogues, '0');

    const six = readErcPickle(fx(file), { iemocapClasses: 6 });
    assert.deepEqual(six.classNames, IEMOCAP_CLASSES);
    assert.equal(count(six), 23);
  });
}

test('IEMOCAP 4-class: option conflicts and non-IEMOCAP data are refused', () => {
  assert.throws(() => readErcPickle(fx('ada2i_iemocap_p4.pkl'), { mergeExcitement: true }), /it needs iemocapClasses 4/);
  assert.throws(
    () => readErcPickle(fx('ada2i_iemocap_p4.pkl'), { iemocapClasses: 4, classNames: ['a', 'b', 'c', 'd'] }),
    /pass it or classNames, not both/,
  );
  assert.throws(() => readErcPickle(fx('ada2i_iemocap_p4.pkl'), { iemocapClasses: 5 as 4 }), /use 6 .* or 4/);
  assert.throws(
    () => readErcPickle(fx('ada2i_meld_p4.pkl'), { iemocapClasses: 4 }),
    /narrows IEMOCAP's 6 classes, but this file's classes are neu, sup/,
  );
  assert.throws(() => readErcPickle(MOSEI_TASKS, { task: 'sentiment_7', iemocapClasses: 4 }), /drop the option/);
  // A split left without a dialogue is named.
  const base = readPickle(fx('ada2i_iemocap_p4.pkl')) as Map<string, unknown>;
  const onlyFru = new Map([...base, ['testVid', ['Ses04F_script01']], ['trainVid', expected.iemocap.train.slice(0, 4)]]);
  assert.throws(
    () => ercDatasetFromValue(onlyFru, { iemocapClasses: 4 }),
    /no test dialogue keeps an utterance labelled hap, sad, neu or ang/,
  );
});
