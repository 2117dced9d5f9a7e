import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConversationData } from '../../src/data/conversation/dataset.js';
import { F, manualSeed, noGrad, randn, type Tensor, tensor } from '../../src/engine/index.js';
import { ConversationModel } from '../../src/models/conversation_model.js';
import { MultiHead, heads, makeHead } from '../../src/models/fusion.js';
import { refGrad } from '../../src/nn/param_ref.js';
import { assertClose } from '../helpers.js';
import { tinyDataset } from '../tiny_data.js';

/** x W^T + b in plain numbers. */
function affine(x: number[][], w: number[][], b: number[]): number[][] {
  return x.map((row) => w.map((wc, c) => wc.reduce((a, wj, j) => a + wj * row[j]!, b[c]!)));
}

function matrix(t: Tensor): number[][] {
  return t.tolist() as number[][];
}

test("the 'multi' head: concat logits, and unimodal logits from each modality's own classifier", () => {
  manualSeed(1);
  assert.ok(heads.names().includes('multi'));
  const head = makeHead('multi', ['a', 'b'], { a: 3, b: 2 }, 4);
  assert.ok(head instanceof MultiHead);
  assert.equal(head.ownUnimodalClassifiers, true);
  assert.equal(head.unimodalProbes, false, 'the classifiers are not probes on detached features');
  assert.deepEqual(
    head.namedParameters().map(([n, p]) => [n, p.shape]),
    [
      ['fc.weight', [4, 5]],
      ['fc.bias', [4]],
      ['classifiers.a.weight', [4, 3]],
      ['classifiers.a.bias', [4]],
      ['classifiers.b.weight', [4, 2]],
      ['classifiers.b.bias', [4]],
    ],
  );
  const h = { a: randn([6, 3]), b: randn([6, 2]) };
  const out = noGrad(() => head.forward(h));
  assert.deepEqual(out.fused.shape, [6, 4]);
  assert.deepEqual(Object.keys(out.unimodal), ['a', 'b']);
  const ha = matrix(h.a);
  const hb = matrix(h.b);
  const fused = affine(
    ha.map((r, i) => [...r, ...hb[i]!]),
    matrix(head.fc.weight),
    head.fc.bias!.toArray(),
  );
  assertClose(out.fused, fused, 1e-5, 1e-5, 'fused = W [h_a; h_b] + b');
  for (const [m, x] of [
    ['a', ha],
    ['b', hb],
  ] as const) {
    const c = head.classifiers.get(m);
    assertClose(out.unimodal[m]!, affine(x, matrix(c.weight), c.bias!.toArray()), 1e-5, 1e-5, `unimodal ${m} = classifier(h_${m})`);
  }
  // Unlike the concat head, the unimodal logits are not slices of the fused ones.
  const sum = out.unimodal.a!.add(out.unimodal.b!).toArray();
  assert.ok(
    sum.some((v, i) => Math.abs(v - out.fused.toArray()[i]!) > 1e-3),
    'unimodal logits are not fused slices',
  );
  // classWeightNorms stays the fused weight's per-modality row norms.
  const w = matrix(head.fc.weight);
  const norms = head.classWeightNorms();
  assertClose(
    norms.a!,
    w.map((r) => Math.hypot(...r.slice(0, 3))),
    1e-5,
    1e-5,
    'norms a',
  );
  assertClose(
    norms.b!,
    w.map((r) => Math.hypot(...r.slice(3))),
    1e-5,
    1e-5,
    'norms b',
  );
});

test('unimodal logits are not detached: their loss reaches the features and the encoders', () => {
  manualSeed(2);
  const head = new MultiHead(['a', 'b'], { a: 3, b: 2 }, 4);
  const h = { a: randn([5, 3]).requiresGrad_(true), b: randn([5, 2]).requiresGrad_(true) };
  const labels = tensor([0, 3, 1, 2, 0], { dtype: 'int64' });
  F.crossEntropy(head.forward(h).unimodal.a!, labels).backward();
  assert.ok(h.a.grad !== null && h.a.grad.abs().sum().item() > 0, 'h_a gets a gradient');
  assert.equal(h.b.grad, null, "a's loss does not reach h_b");
  assert.ok(head.classifiers.get('a').weight.grad!.abs().sum().item() > 0);
  assert.equal(head.fc.weight.grad, null, "a's classifier loss does not train the fused head");

  const ds = tinyDataset(3, { dialogues: 4 });
  const data = new ConversationData(ds);
  const model = new ConversationModel(['a', 'b'], ds.dims, 3, { encoder: 'mlp', hidden: 8, dropout: 0, head: 'multi' });
  const [batch] = [...data.batches('train', { batchSize: 4 })];
  const out = model.forward(batch!);
  assert.deepEqual(out.losses, {}, 'the head adds no loss of its own');
  F.crossEntropy(out.unimodal.b!, batch!.labels).backward();
  const enc = model.modalityParameters();
  assert.ok(
    enc.b!.every((p) => p.grad !== null && p.grad.abs().sum().item() > 0),
    'every parameter of encoder b gets a gradient',
  );
  assert.ok(
    enc.a!.every((p) => p.grad === null),
    'encoder a gets none',
  );
});

test('branch parameters: own classifier whole, then the slice of fc.weight; a scale on the slice changes only that block', () => {
  manualSeed(3);
  const head = new MultiHead(['a', 'b', 'c'], { a: 3, b: 2, c: 4 }, 3);
  const refs = head.branchParameters('b');
  assert.equal(refs.length, 3);
  assert.equal(refs[0]!.param, head.classifiers.get('b').weight);
  assert.equal(refs[1]!.param, head.classifiers.get('b').bias);
  assert.equal(refs[0]!.slice, undefined);
  assert.equal(refs[1]!.slice, undefined);
  assert.equal(refs[2]!.param, head.fc.weight);
  assert.deepEqual(refs[2]!.slice, { dim: 1, start: 3, length: 2 });
  assert.throws(() => head.branchParameters('x'), /one of 'a', 'b', 'c' for modality but received 'x'/);

  head.fc.weight.grad = randn([3, 9]);
  const before = matrix(head.fc.weight.grad);
  noGrad(() => refGrad(refs[2]!)!.mul_(3));
  const after = matrix(head.fc.weight.grad);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 9; c++) {
      const k = c >= 3 && c < 5 ? 3 : 1;
      assertClose([after[r]![c]!], [before[r]![c]! * k], 1e-6, 1e-6, `fc.weight.grad[${r}][${c}]`);
    }

  const ds = tinyDataset(4, { dialogues: 4 });
  const model = new ConversationModel(['a', 'b'], ds.dims, 3, { encoder: 'mlp', hidden: 8, head: 'multi' });
  const branch = model.modalityParameters('branch');
  const enc = model.modalityParameters();
  const mh = model.head as MultiHead;
  for (const [m, start] of [
    ['a', 0],
    ['b', 8],
  ] as const) {
    const b = branch[m]!;
    assert.deepEqual(
      b.map((r) => r.param),
      [...enc[m]!, mh.classifiers.get(m).weight, mh.classifiers.get(m).bias!, mh.fc.weight],
    );
    assert.deepEqual(b.at(-1)!.slice, { dim: 1, start, length: 8 });
  }
});
