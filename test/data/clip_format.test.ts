import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClipData, holdOutClipDev } from '../../src/data/clip/dataset.js';
import { datasetFileKind, inspectClips, loadClips, saveClips, serializeClips, parseClips } from '../../src/data/clip/format.js';
import type { ClipDataset } from '../../src/data/clip/types.js';
import { tinyClips } from '../tiny_clips.js';
import { findClipProblems } from '../../src/data/clip/validate.js';

test('clip datasets round-trip through their safetensors file, bytes deterministic', () => {
  const ds = tinyClips();
  const path = join(mkdtempSync(join(tmpdir(), 'mmb-clips-')), 'c.safetensors');
  saveClips(ds, path);
  assert.equal(datasetFileKind(path), 'clips');
  const back = loadClips(path);
  assert.deepEqual(back.shapes, ds.shapes);
  assert.deepEqual(back.classNames, ds.classNames);
  assert.deepEqual(back.meta, ds.meta);
  for (const s of ['train', 'dev', 'test'] as const) {
    assert.deepEqual(back.splits[s].ids, ds.splits[s].ids);
    assert.deepEqual(Array.from(back.splits[s].labels), Array.from(ds.splits[s].labels));
    for (const m of ds.modalities) assert.deepEqual(Array.from(back.splits[s].features[m]!), Array.from(ds.splits[s].features[m]!));
    assert.deepEqual(Array.from(back.splits[s].lengths.seq!), Array.from(ds.splits[s].lengths.seq!));
  }
  assert.deepEqual(serializeClips(tinyClips()), serializeClips(tinyClips()));
  assert.match(inspectClips(ds), /seq \[T, 3\]/);
  assert.match(inspectClips(ds), /seq sequence lengths: min 1/);
});

test('validation names split, sample and field for NaN, shapes, labels, empty sequences, duplicates', () => {
  const problems = (edit: (d: ClipDataset) => void): string[] => {
    const d = tinyClips();
    edit(d);
    return findClipProblems(d).map((e) => e.message);
  };
  assert.deepEqual(
    problems(() => {}),
    [],
  );
  assert.match(problems((d) => (d.splits.dev.features.vec![7] = NaN))[0]!, /^dev split, sample "dv-1", field vec: value NaN/);
  assert.match(problems((d) => (d.splits.test.labels[2] = 7))[0]!, /test split, sample "te-2", field label: label 7 names no class/);
  assert.match(
    problems((d) => {
      const l = d.splits.train.lengths.seq!;
      const removed = l[3]! * 3;
      l[3] = 0;
      d.splits.train.features.seq = d.splits.train.features.seq!.slice(0, d.splits.train.features.seq!.length - removed);
    })[0]!,
    /train split, sample "tr-3", field seq: sequence length 0/,
  );
  assert.match(
    problems((d) => (d.splits.train.features.image = new Float32Array(5)))[0]!,
    /train split, field image: 5 values, expected 320/,
  );
  assert.match(problems((d) => (d.splits.dev.ids[1] = 'dv-0'))[0]!, /sample "dv-0": the id appears twice/);
  assert.match(problems((d) => (d.shapes.vec = [0]))[0]!, /field vec: shape \[0\]/);
  assert.throws(() => parseClips(new Uint8Array(8)), /not a valid|safetensors/i);
});

test('batches: fixed shapes stacked, variable sequences padded with masks, ids stable under shuffling', () => {
  const ds = tinyClips(3);
  const data = new ClipData(ds);
  const all: number[] = [];
  for (const b of data.batches('train', { batchSize: 6, shuffleSeed: 5 })) {
    const ids = b.index.toArray();
    all.push(...ids);
    assert.deepEqual(b.inputs.image!.shape, [ids.length, 1, 4, 4]);
    assert.deepEqual(
      b.labels.toArray(),
      ids.map((i) => ds.splits.train.labels[i]!),
    );
    const lengths = ids.map((i) => ds.splits.train.lengths.seq![i]!);
    const T = Math.max(...lengths);
    assert.deepEqual(b.inputs.seq!.shape, [ids.length, T, 3]);
    const layout = b.layout!;
    assert.deepEqual(layout.lengths.seq!.toArray(), lengths);
    const mask = layout.paddingMask.seq!.toArray();
    lengths.forEach((t, k) => {
      for (let j = 0; j < T; j++) assert.equal(mask[k * T + j], j >= t ? 1 : 0);
    });
  }
  assert.deepEqual(
    all.sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(data.sampleName('test', 3), 'te-3');
  const held = holdOutClipDev(
    {
      ...ds,
      splits: {
        ...ds.splits,
        dev: {
          ids: [],
          labels: new Int32Array(0),
          features: { image: new Float32Array(0), seq: new Float32Array(0), vec: new Float32Array(0) },
          lengths: { seq: new Int32Array(0) },
        },
      },
    },
    { fraction: 0.25, seed: 2 },
  );
  assert.equal(held.splits.dev.labels.length, 5);
  assert.equal(held.splits.train.labels.length, 15);
  assert.equal(held.devSource, 'train-split');
  assert.deepEqual(findClipProblems(held), []);
  const ids = new Set([...held.splits.train.ids, ...held.splits.dev.ids]);
  assert.equal(ids.size, 20, 'disjoint and complete');
});
