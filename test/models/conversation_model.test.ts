import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeBatch } from '../../src/data/conversation/batch.js';
import { manualSeed, noGrad } from '../../src/index.js';
import { ConversationModel } from '../../src/models/conversation_model.js';
import { defaultHeads } from '../../src/models/encoders.js';
import { assertClose } from '../helpers.js';
import { tinyDataset } from '../tiny_data.js';

const ds = tinyDataset(7);

for (const encoder of ['transformer', 'mlp'] as const) {
  test(`${encoder} encoders with a concat head: unimodal logits slice the head and add up to the fused logits`, () => {
    manualSeed(0);
    const model = new ConversationModel(['a', 'b'], ds.dims, 3, { encoder, hidden: 8, layers: 1, dimFeedforward: 16, dropout: 0 });
    model.eval();
    const batch = makeBatch(ds.splits.train.slice(0, 4), ['a', 'b'], ds.dims);
    noGrad(() => {
      const out = model.forward(batch);
      const N = batch.labels.shape[0]!;
      assert.deepEqual(out.fused.shape, [N, 3]);
      // W [h_a; h_b] + b = (W_a h_a + b/2) + (W_b h_b + b/2)
      assertClose(out.unimodal.a!.add(out.unimodal.b!), out.fused.toArray(), 1e-5, 1e-5, 'sum of unimodal logits');
      assert.deepEqual(out.features!.a!.shape, [N, 8]);
    });
  });
}

test('every parameter belongs to exactly one modality encoder or to the head, by name', () => {
  const model = new ConversationModel(['a', 'b'], ds.dims, 3, { hidden: 8, layers: 2, dimFeedforward: 16 });
  const per = model.modalityParameters();
  const names = new Map(model.namedParameters().map(([n, p]) => [p, n]));
  for (const [m, ps] of Object.entries(per)) for (const p of ps) assert.ok(names.get(p)!.startsWith(`encoders.${m}.`), names.get(p));
  const owned = new Set(Object.values(per).flat());
  for (const [n, p] of model.namedParameters()) if (!owned.has(p)) assert.ok(n.startsWith('head.'), n);
  assert.ok(names.has(per.a![0]!));
  assert.ok([...names.values()].includes('encoders.a.transformer.layers.1.self_attn.in_proj_weight'));
});

test('padding is masked: a dialogue gives the same outputs alone and in a padded batch', () => {
  manualSeed(1);
  const model = new ConversationModel(['a', 'b'], ds.dims, 3, { hidden: 8, layers: 1, dimFeedforward: 16, dropout: 0 });
  model.eval();
  const short = ds.splits.train.find((d) => d.labels.length === 2) ?? ds.splits.train[0]!;
  const long = ds.splits.train.find((d) => d.labels.length >= 6)!;
  noGrad(() => {
    const alone = model.forward(makeBatch([short], ['a', 'b'], ds.dims)).fused.toArray();
    const padded = model
      .forward(makeBatch([short, long], ['a', 'b'], ds.dims))
      .fused.toArray()
      .slice(0, alone.length);
    assertClose(padded, alone, 1e-5, 1e-5, 'padded vs alone');
  });
});

test('sum and MLP heads; the MLP head trains unimodal probes on detached features', () => {
  const sum = new ConversationModel(['a', 'b'], ds.dims, 3, { encoder: 'mlp', hidden: 8, head: 'sum' });
  const mlp = new ConversationModel(['a', 'b'], ds.dims, 3, { encoder: 'mlp', hidden: 8, head: 'mlp', headHidden: 16 });
  assert.equal(sum.head.unimodalProbes, false);
  assert.equal(mlp.head.unimodalProbes, true);
  const batch = makeBatch(ds.splits.train.slice(0, 2), ['a', 'b'], ds.dims);
  const out = mlp.forward(batch);
  out.unimodal.a!.sum().backward();
  for (const p of mlp.modalityParameters().a!) assert.equal(p.grad, null, 'probe loss must not reach the encoder');
  assert.ok(mlp.namedParameters().some(([n]) => n === 'head.unimodal.a.weight'));
  assert.equal(defaultHeads(768), 6);
  assert.equal(defaultHeads(512), 8);
  assert.equal(defaultHeads(1024), 8);
  assert.equal(defaultHeads(13 * 17), 13);
  assert.equal(defaultHeads(17), 1);
});

test('the AMW head plugs into ConversationModel; its unimodal logits are the raw concat slices', () => {
  manualSeed(2);
  const model = new ConversationModel(['a', 'b'], ds.dims, 3, { encoder: 'mlp', hidden: 8, head: 'amw' });
  model.eval();
  const batch = makeBatch(ds.splits.train.slice(0, 3), ['a', 'b'], ds.dims);
  noGrad(() => {
    const out = model.forward(batch);
    const w = model.head.namedParameters().find(([n]) => n === 'fc.weight')![1];
    const b = model.head.namedParameters().find(([n]) => n === 'fc.bias')![1];
    const concat = out
      .features!.a!.matmul(w.narrow(1, 0, 8).T)
      .add(out.features!.b!.matmul(w.narrow(1, 8, 8).T))
      .add(b);
    assertClose(out.unimodal.a!.add(out.unimodal.b!), concat.toArray(), 1e-5, 1e-5, 'sum of slices');
    assert.notDeepEqual(out.fused.toArray(), concat.toArray());
  });
});

test("packed encoders give the padded computation's outputs and gradients at the real utterances", () => {
  const make = (packed: boolean): ConversationModel => {
    manualSeed(9);
    return new ConversationModel(['a', 'b'], ds.dims, 3, {
      hidden: 8,
      layers: 2,
      dimFeedforward: 16,
      dropout: 0,
      packed,
      afw: true,
      afwRank: 2,
      afwDropout: 0,
      head: 'amw',
    });
  };
  const batch = makeBatch(ds.splits.train.slice(0, 5), ['a', 'b'], ds.dims);
  assert.ok(batch.labels.shape[0]! < batch.layout.mask.numel(), 'the batch has padding');
  const results = [true, false].map((packed) => {
    const m = make(packed);
    const out = m.forward(batch);
    out.fused.sum().add(out.losses!.afw!).backward();
    return {
      fused: out.fused.toArray(),
      afw: out.losses!.afw!.item(),
      grads: m.namedParameters().map(([n, p]) => [n, p.grad!.toArray()] as const),
    };
  });
  assertClose(results[0]!.fused, results[1]!.fused, 1e-5, 1e-5, 'fused');
  assert.ok(Math.abs(results[0]!.afw - results[1]!.afw) < 1e-5);
  results[0]!.grads.forEach(([n, g], i) => assertClose(g, results[1]!.grads[i]![1], 1e-5, 1e-4, `grad of ${n}`));
});

test('afwOrder puts the listed modalities first, skips names the model lacks, and refuses repeats', () => {
  const make = (afwOrder: unknown): ConversationModel =>
    new ConversationModel(['a', 'b'], ds.dims, 3, {
      hidden: 8,
      layers: 1,
      dimFeedforward: 16,
      afw: true,
      afwRank: 2,
      afwOrder: afwOrder as string[],
    });
  assert.deepEqual(make([]).afw!.layers.items[0]!.order, ['a', 'b']);
  assert.deepEqual(make(['x', 'b']).afw!.layers.items[0]!.order, ['b', 'a']);
  assert.throws(() => make(['b', 'b']), /distinct modality names .* for afwOrder but received \['b', 'b'\]/);
  assert.throws(() => make('b,a'), /for afwOrder/);
});
