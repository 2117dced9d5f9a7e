import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readErcPickle } from '../../src/data/erc_pickle.js';
import { DATASET_FORMAT, inspectDataset, loadDataset, parseDataset, saveDataset, serializeDataset } from '../../src/data/format.js';
import { SPLITS, type ConversationDataset } from '../../src/data/types.js';
import { DatasetError } from '../../src/data/validate.js';
import { parseSafetensors, serializeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';
import { fixturePath } from '../helpers.js';
import { tinyDataset } from '../tiny_data.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-dataset-'));

function assertSame(a: ConversationDataset, b: ConversationDataset): void {
  assert.equal(b.name, a.name);
  assert.deepEqual(b.modalities, a.modalities);
  assert.deepEqual(b.dims, a.dims);
  assert.deepEqual(b.classNames, a.classNames);
  assert.equal(b.devSource, a.devSource);
  assert.deepEqual(b.meta, a.meta);
  for (const s of SPLITS) {
    assert.equal(b.splits[s].length, a.splits[s].length);
    a.splits[s].forEach((d, i) => {
      const e = b.splits[s][i]!;
      assert.equal(e.id, d.id);
      assert.deepEqual(Array.from(e.labels), Array.from(d.labels));
      assert.deepEqual(e.speakers, d.speakers);
      assert.deepEqual(e.sentences, d.sentences);
      for (const m of a.modalities) assert.deepEqual(Array.from(e.features[m]!), Array.from(d.features[m]!));
    });
  }
}

test('a converted pickle round-trips through the dataset file exactly', () => {
  const ds = readErcPickle(fixturePath('data', 'ada2i_meld_p4.pkl'));
  const path = join(dir, 'meld.safetensors');
  saveDataset(ds, path);
  assertSame(ds, loadDataset(path));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
    'no temporary file is left behind',
  );
});

test('the file is plain safetensors: one tensor per split and modality, the index in the metadata', () => {
  const ds = tinyDataset(2);
  const { tensors, metadata } = parseSafetensors(serializeDataset(ds));
  assert.equal(metadata.format, DATASET_FORMAT);
  assert.equal(metadata.version, '1');
  assert.deepEqual([...tensors.keys()].sort(), [
    'dev/a',
    'dev/b',
    'dev/labels',
    'test/a',
    'test/b',
    'test/labels',
    'train/a',
    'train/b',
    'train/labels',
  ]);
  const n = ds.splits.train.reduce((x, d) => x + d.labels.length, 0);
  assert.deepEqual(tensors.get('train/a')!.shape, [n, ds.dims.a]);
  assert.equal(tensors.get('train/labels')!.dtype, 'I32');
  const index = JSON.parse(metadata.index!) as { splits: { train: { ids: string[]; offsets: number[] } } };
  assert.deepEqual(
    index.splits.train.ids,
    ds.splits.train.map((d) => d.id),
  );
  assert.equal(index.splits.train.offsets.at(-1), n);
  assert.equal(metadata.sentences, undefined, 'no sentences, no sentences key');
  assertSame(ds, parseDataset(serializeDataset(ds)));
});

test('saving refuses an invalid dataset and keeps the earlier file', () => {
  const path = join(dir, 'keep.safetensors');
  const ds = tinyDataset(3);
  saveDataset(ds, path);
  const before = readFileSync(path);
  ds.splits.train[0]!.features.a![0] = NaN;
  assert.throws(() => saveDataset(ds, path), DatasetError);
  assert.deepEqual(readFileSync(path), before);
});

test('loading refuses files that are not mmbalance datasets, with the reason', () => {
  const other = join(dir, 'other.safetensors');
  writeFileSync(other, serializeSafetensors({}, { format: 'pt' }));
  assert.throws(() => loadDataset(other), /format "pt", not "mmbalance.conversations"/);
  const ds = tinyDataset(4);
  const { tensors, metadata } = parseSafetensors(serializeDataset(ds));
  tensors.delete('dev/b');
  const path = join(dir, 'missing.safetensors');
  writeFileSync(path, serializeSafetensors(tensors, metadata));
  assert.throws(() => loadDataset(path), /tensor dev\/b is missing/);
  const nan = parseSafetensors(serializeDataset(ds));
  const t = nan.tensors.get('test/a')!;
  const f = new Float32Array(t.data.slice().buffer);
  f[3] = Infinity;
  nan.tensors.set('test/a', { ...t, data: new Uint8Array(f.buffer) });
  assert.throws(() => parseDataset(serializeSafetensors(nan.tensors, nan.metadata)), /not finite/);
  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, readFileSync(other).subarray(0, 10));
  assert.throws(() => loadDataset(truncated), SafetensorsError);
  assert.equal(existsSync(join(dir, 'nope.safetensors')), false);
});

test('inspectDataset summarises counts, dims and classes', () => {
  const ds = readErcPickle(fixturePath('data', 'ada2i_iemocap_p4.pkl'));
  const text = inspectDataset(ds);
  assert.match(text, /3 modalities \(text 6, audio 4, visual 5\), 6 classes/);
  assert.match(text, /held out of the training dialogues/);
  assert.match(text, /^train\s+4\s+\d+/m);
  assert.match(text, /^test\s+2\s+\d+/m);
  for (const c of ds.classNames) assert.ok(text.includes(c));
  assert.match(text, /sentences: yes/);
});
