import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dialogueBatches, makeBatch } from '../../src/data/conversation/batch.js';
import { holdOutDev, shuffled } from '../../src/data/split.js';
import { tinyDataset } from '../tiny_data.js';

test('makeBatch pads to the longest dialogue and indexes the real utterances in order', () => {
  const ds = tinyDataset(3);
  const dlgs = ds.splits.train.slice(0, 3);
  const b = makeBatch(dlgs, ['a', 'b'], ds.dims);
  const T = Math.max(...dlgs.map((d) => d.labels.length));
  assert.deepEqual(b.inputs.a!.shape, [3, T, 6]);
  assert.deepEqual(
    b.layout.lengths,
    dlgs.map((d) => d.labels.length),
  );
  const mask = b.layout.mask.toArray();
  const pad = b.layout.paddingMask.toArray();
  mask.forEach((v, i) => assert.equal(v, 1 - pad[i]!));
  assert.equal(
    mask.reduce((x, y) => x + y, 0),
    b.labels.shape[0],
  );
  // The real rows gathered through realIndex are exactly the dialogues' features, in order.
  const gathered = b.inputs.a!.reshape(-1, 6).indexSelect(0, b.layout.realIndex).toArray();
  const expected = dlgs.flatMap((d) => Array.from(d.features.a!));
  gathered.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6));
  assert.deepEqual(
    b.labels.toArray(),
    dlgs.flatMap((d) => Array.from(d.labels)),
  );
  // Padded positions are zeros.
  const all = b.inputs.b!.toArray();
  for (let bi = 0; bi < 3; bi++)
    for (let t = dlgs[bi]!.labels.length; t < T; t++) for (let j = 0; j < 5; j++) assert.equal(all[(bi * T + t) * 5 + j], 0);
});

test('dialogueBatches keeps file order without a seed and shuffles reproducibly with one', () => {
  const ds = tinyDataset(4);
  const plain = dialogueBatches(ds.splits.train, { batchSize: 5 })
    .flat()
    .map((d) => d.id);
  assert.deepEqual(
    plain,
    ds.splits.train.map((d) => d.id),
  );
  const s1 = dialogueBatches(ds.splits.train, { batchSize: 5, shuffleSeed: 9 })
    .flat()
    .map((d) => d.id);
  const s2 = dialogueBatches(ds.splits.train, { batchSize: 5, shuffleSeed: 9 })
    .flat()
    .map((d) => d.id);
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1, plain);
  assert.deepEqual([...s1].sort(), [...plain].sort());
  assert.throws(() => dialogueBatches(ds.splits.train, { batchSize: 0 }), /batchSize must be an integer >= 1/);
});

test('holdOutDev takes 10% of the training dialogues by seed, or the first ones', () => {
  const ds = tinyDataset(5, { dialogues: 40 });
  const a = holdOutDev(ds, { seed: 1 });
  assert.equal(a.splits.dev.length, 4);
  assert.equal(a.splits.train.length, 36);
  assert.equal(a.devSource, 'train-split');
  assert.deepEqual(
    holdOutDev(ds, { seed: 1 }).splits.dev.map((d) => d.id),
    a.splits.dev.map((d) => d.id),
  );
  assert.deepEqual(
    holdOutDev(ds, { mode: 'first' }).splits.dev.map((d) => d.id),
    ['tr0', 'tr1', 'tr2', 'tr3'],
  );
  assert.deepEqual(shuffled([1, 2, 3], 7).sort(), [1, 2, 3]);
});
