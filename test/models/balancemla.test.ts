import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClipLayout } from '../../src/data/clip/dataset.js';
import { ClipData } from '../../src/data/clip/dataset.js';
import { ConversationData } from '../../src/data/conversation/dataset.js';
import type { Batch } from '../../src/data/dataset.js';
import { type DType, F, arange, noGrad, stack, type Tensor } from '../../src/engine/index.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { type BalanceMLAConfig, BalanceMLAModel } from '../../src/models/balancemla.js';
import { buildModel } from '../../src/models/recipes.js';
import { defaultRunConfig } from '../../src/train/run_config.js';
import { twoSequenceClips } from '../fixtures/balancemla/two_sequences.js';
import { assertClose, fixturePath, readJsonFixture } from '../helpers.js';
import { tinyClips } from '../tiny_clips.js';
import { tinyDataset } from '../tiny_data.js';

interface Case {
  modalities: string[];
  brff: boolean;
  decisionFusion: 'category' | 'modality' | 'equal';
  brffLayers: number;
  params: [string, number[]][];
}
interface Fixture {
  config: {
    hidden: number;
    layers: number;
    nhead: number;
    dimFeedforward: number;
    brffHeads: number;
    numClasses: number;
    dims: Record<'pair' | 'three', Record<string, number>>;
    lengths: Record<'pair' | 'three', Record<string, number[] | null>>;
  };
  cases: Record<string, Case>;
}

const J = readJsonFixture<Fixture>('balancemla', 'balancemla.json');
const TORCH = loadSafetensors(fixturePath('balancemla', 'balancemla.safetensors'));

function fx(name: string): Tensor {
  const t = TORCH.get(name);
  assert.ok(t, `the fixture has no tensor '${name}'`);
  return t;
}

function modelConfig(c: Case): Partial<BalanceMLAConfig> {
  const k = J.config;
  return {
    hidden: k.hidden,
    layers: k.layers,
    nhead: k.nhead,
    dimFeedforward: k.dimFeedforward,
    dropout: 0,
    brff: c.brff,
    brffLayers: c.brffLayers,
    brffHeads: k.brffHeads,
    decisionFusion: c.decisionFusion,
  };
}

/** The case's model with PyTorch's weights, in the given dtype, and its batch (padding as PyTorch saw it). */
function load(name: string, dtype: DType = 'float64', config: Partial<BalanceMLAConfig> = {}): { model: BalanceMLAModel; batch: Batch } {
  const c = J.cases[name]!;
  const set = name === 'three' ? 'three' : 'pair';
  const pre = name === 'three' ? 'three.' : '';
  const shapes = Object.fromEntries(
    c.modalities.map((m) => [m, [J.config.lengths[set][m] === null ? fx(`${pre}input.${m}`).shape[1]! : -1, J.config.dims[set][m]!]]),
  );
  const model = new BalanceMLAModel(c.modalities, shapes, J.config.numClasses, { ...modelConfig(c), ...config }).to({ dtype });
  const state = new Map<string, Tensor>();
  for (const [n] of c.params)
    state.set(n, fx(name === 'modality' && n.startsWith('decision.') ? `modality.state.${n}` : `${pre}state.${n}`));
  model.loadStateDict(state);
  const layout: ClipLayout = { kind: 'clip', lengths: {}, paddingMask: {} };
  const inputs: Record<string, Tensor> = {};
  for (const m of c.modalities) {
    inputs[m] = fx(`${pre}input.${m}`).to(dtype);
    if (J.config.lengths[set][m] !== null) layout.paddingMask[m] = fx(`${pre}mask.${m}`);
  }
  const labels = fx(`${pre}labels`);
  return { model, batch: { inputs, labels, index: arange(0, labels.shape[0]!, 1, { dtype: 'int64' }), layout } };
}

/** The fine-tuning objective as the loop forms it: CE(fused) plus the model's own terms. */
function objective(model: BalanceMLAModel, batch: Batch): { loss: Tensor; outputs: ReturnType<BalanceMLAModel['forwardDetailed']> } {
  const outputs = model.forwardDetailed(batch);
  const own = model.forward(batch).losses!;
  assert.deepEqual(
    Object.keys(own),
    model.modalities.map((m) => `branch.${m}`),
  );
  const loss = Object.values(own).reduce((a, t) => a.add(t), F.crossEntropy(outputs.fused, batch.labels));
  return { loss, outputs };
}

/** Largest |a - e| / max(1, max |e|) over a tensor: float32 agreement relative to the tensor's scale. */
function scaledError(a: Tensor, e: Tensor): number {
  const x = a.toArray();
  const y = e.toArray();
  const scale = y.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0) / scale;
}

/** Compares outputs, loss and every parameter's gradient with PyTorch's; returns the largest scaled difference. */
function checkCase(name: string, dtype: DType, tol: number): number {
  const c = J.cases[name]!;
  const { model, batch } = load(name, dtype);
  assert.deepEqual(
    model.namedParameters().map(([n, p]) => [n, p.shape]),
    c.params,
    `${name}: parameter names, order and shapes as PyTorch's state_dict`,
  );
  model.train();
  const { loss, outputs } = objective(model, batch);
  let worst = 0;
  const compare = (got: Tensor, key: string): void => {
    // The loss is stored with shape [1].
    const want = key === 'loss' ? fx(`${name}.${key}`).reshape([]) : fx(`${name}.${key}`);
    assert.deepEqual(got.shape, want.shape, `${name} ${key} shape`);
    const err = scaledError(got, want);
    worst = Math.max(worst, err);
    assert.ok(err <= tol, `${name} ${key} (${dtype}): scaled difference ${err} > ${tol}`);
  };
  compare(outputs.fused, 'fused');
  for (const m of c.modalities) {
    compare(outputs.unimodal[m]!, `unimodal.${m}`);
    compare(outputs.branch[m]!, `branch.${m}`);
  }
  compare(loss, 'loss');
  loss.backward();
  for (const [n, p] of model.namedParameters()) {
    assert.ok(p.grad, `${name}: ${n} has a gradient`);
    compare(p.grad, `grad.${n}`);
  }
  return worst;
}

test('parity with PyTorch in float64: outputs, loss and every gradient of the full model and each ablation', (t) => {
  for (const name of ['full', 'no_brff', 'modality', 'equal', 'three'])
    t.diagnostic(`${name}: largest scaled difference ${checkCase(name, 'float64', 1e-12).toExponential(1)}`);
});

test('parity with PyTorch in float32: within 1e-5 of each tensor’s scale', (t) => {
  // float32 against float64 references: rounding alone, summed in different orders.
  for (const name of ['full', 'no_brff', 'modality', 'equal', 'three'])
    t.diagnostic(`${name}: largest scaled difference ${checkCase(name, 'float32', 1e-5).toExponential(1)}`);
});

test('values at padded steps change nothing: every mask reaches its softmax and its mean', () => {
  const { model, batch } = load('full');
  const clean = noGrad(() => model.forwardDetailed(batch));
  const layout = batch.layout as ClipLayout;
  const noisy: Batch = {
    ...batch,
    inputs: Object.fromEntries(Object.entries(batch.inputs).map(([m, x]) => [m, x.maskedFill(layout.paddingMask[m]!.unsqueeze(2), 1e3)])),
  };
  const dirty = noGrad(() => model.forwardDetailed(noisy));
  assertClose(dirty.fused, clean.fused.toArray(), 1e-12, 0, 'fused');
  for (const m of model.modalities) assertClose(dirty.branch[m]!, clean.branch[m]!.toArray(), 1e-12, 0, `branch ${m}`);
});

test('without AttentionBRFF: no BRFF parameters, each branch is its unimodal model, and the output is the full model with BRFF bypassed', () => {
  const full = load('full').model;
  const { model, batch } = load('no_brff');
  assert.equal(model.brff, null);
  assert.ok(!model.namedParameters().some(([n]) => n.startsWith('brff.')));
  const o = noGrad(() => model.forwardDetailed(batch));
  for (const m of model.modalities) assert.equal(o.branch[m], o.unimodal[m], 'branch_m is classifier_m(mean f^m)');
  // A full model whose every block ends in a zero layer norm adds nothing: f^{fuse-b} = f^b + 0.
  noGrad(() => {
    for (const b of full.modalities) {
      const last = full.brff!.get(b).layers.items.at(-1)!;
      last.norm2.weight!.zero_();
      last.norm2.bias!.zero_();
    }
  });
  const bypassed = noGrad(() => full.forwardDetailed(batch));
  assert.deepEqual(bypassed.fused.toArray(), o.fused.toArray(), 'same fused output, bit for bit');
  for (const m of model.modalities) {
    assert.deepEqual(bypassed.unimodal[m]!.toArray(), o.unimodal[m]!.toArray());
    assert.deepEqual(bypassed.branch[m]!.toArray(), o.branch[m]!.toArray());
  }
});

/** The fused prediction by hand: log sum_m alpha[., c, m] softmax(branch_m)[c], from probabilities. */
function mixture(alpha: Tensor, branch: Tensor[]): Tensor {
  return stack(
    branch.map((b) => b.softmax(1)),
    2,
  )
    .mul(alpha)
    .sum(2)
    .log();
}

test('decision fusion: category-level weights sum to 1 per class; without category-level weighting one weight per modality; without adaptive fusion 1/M', () => {
  const full = load('full');
  const ref = noGrad(() => full.model.forwardDetailed(full.batch));
  const [N, C] = ref.fused.shape as [number, number];
  const M = full.model.modalities.length;
  assert.deepEqual(ref.logWeights.shape, [N, C, M]);
  assertClose(ref.logWeights.exp().sum(2), new Array<number>(N * C).fill(1), 1e-12, 0, 'sum over modalities');
  // The weights differ between classes (that is what category-level means).
  const w = ref.logWeights.exp().select(2, 0).toArray();
  assert.ok(w.some((v) => Math.abs(v - w[0]!) > 1e-3));
  const branches = (o: typeof ref): Tensor[] => full.model.modalities.map((m) => o.branch[m]!);
  assertClose(ref.fused, mixture(ref.logWeights.exp(), branches(ref)).toArray(), 1e-12, 0, 'category fused');

  for (const [name, shape] of [
    ['modality', [N, 1, M]],
    ['equal', [1, 1, M]],
  ] as const) {
    const { model, batch } = load(name);
    const o = noGrad(() => model.forwardDetailed(batch));
    assert.deepEqual(o.logWeights.shape, shape, `${name}: weights' shape`);
    if (name === 'equal') {
      assert.equal(model.decision, null);
      assertClose(o.logWeights.exp(), [0.5, 0.5], 1e-15, 0, 'equal weights');
    } else assert.deepEqual(model.decision!.weight.shape, [M, M * model.hidden]);
    // Only the decision weights changed: the branches are the full model's, bit for bit.
    for (const m of model.modalities) {
      assert.deepEqual(o.unimodal[m]!.toArray(), ref.unimodal[m]!.toArray(), `${name}: unimodal ${m}`);
      assert.deepEqual(o.branch[m]!.toArray(), ref.branch[m]!.toArray(), `${name}: branch ${m}`);
    }
    assertClose(o.fused, mixture(o.logWeights.exp(), branches(o)).toArray(), 1e-12, 0, `${name} fused`);
    // Without category-level weights the mixture is a distribution: log-probabilities.
    assertClose(o.fused.exp().sum(1), new Array<number>(N).fill(1), 1e-12, 0, `${name}: fused sums to 1`);
  }
});

test('unimodal-only (pre-training): the branches alone, fused as the mean of their predictions, no work for the fusion modules', () => {
  const { model, batch } = load('full');
  const ref = noGrad(() => model.forwardDetailed(batch));
  model.setUnimodalOnly(true);
  const { loss, outputs: o } = objective(model, batch);
  for (const m of model.modalities) {
    assert.equal(o.branch[m], o.unimodal[m]);
    assert.deepEqual(o.unimodal[m]!.toArray(), ref.unimodal[m]!.toArray());
  }
  assertClose(o.logWeights.exp(), [0.5, 0.5], 1e-15, 0, 'equal weights');
  const mean = stack(
    model.modalities.map((m) => o.unimodal[m]!.softmax(1)),
    2,
  )
    .mean(2)
    .log();
  assertClose(o.fused, mean.toArray(), 1e-12, 0, 'fused = log of the mean unimodal prediction');
  loss.backward();
  for (const [n, p] of model.namedParameters())
    assert.equal(p.grad === null, n.startsWith('brff.') || n.startsWith('decision.'), `${n}: gradient only outside the fusion modules`);
  model.setUnimodalOnly(false);
  assert.deepEqual(noGrad(() => model.forwardDetailed(batch)).fused.toArray(), ref.fused.toArray());
});

test("modalityParameters: the encoder, and the branch (encoder and own classifier); BRFF and the decision layer are fusion's", () => {
  const { model } = load('full');
  const names = new Map(model.namedParameters().map(([n, p]) => [p, n]));
  const enc = model.modalityParameters('encoder');
  const branch = model.modalityParameters('branch');
  assert.deepEqual(Object.keys(branch), ['audio', 'video']);
  for (const m of model.modalities) {
    assert.ok(enc[m]!.every((p) => names.get(p)!.startsWith(`encoders.${m}.`)));
    assert.ok(branch[m]!.every((r) => r.slice === undefined));
    assert.deepEqual(
      branch[m]!.map((r) => names.get(r.param)),
      [...enc[m]!.map((p) => names.get(p)), `classifiers.${m}.weight`, `classifiers.${m}.bias`],
    );
  }
  const owned = new Set(Object.values(branch).flatMap((rs) => rs.map((r) => names.get(r.param)!)));
  const rest = [...names.values()].filter((n) => !owned.has(n));
  assert.ok(rest.length > 0 && rest.every((n) => n.startsWith('brff.') || n.startsWith('decision.')));
  const norms = model.classWeightNorms();
  assert.equal(norms.audio!.length, J.config.numClasses);
});

test('one modality: no fusion modules, the fused output is the branch’s log-probabilities', () => {
  const m = new BalanceMLAModel(['a'], { a: [-1, 4] }, 3, { hidden: 8, nhead: 2, dimFeedforward: 8, dropout: 0, brffHeads: 2 });
  assert.equal(m.brff, null);
  assert.equal(m.decision, null);
  const x = fx('input.video').float();
  const batch: Batch = {
    inputs: { a: x },
    labels: fx('labels'),
    index: arange(0, 4, 1, { dtype: 'int64' }),
    layout: { kind: 'clip', lengths: {}, paddingMask: { a: fx('mask.video') } } satisfies ClipLayout,
  };
  const o = noGrad(() => m.forwardDetailed(batch));
  assertClose(o.fused, o.branch.a!.logSoftmax(1).toArray(), 1e-6, 0, 'fused');
});

test('configuration errors name the key', () => {
  const seq = { a: [-1, 4], b: [5, 6] };
  assert.throws(() => new BalanceMLAModel(['a', 'b'], { a: [1, 4, 4], b: [5, 6] }, 3), /sequences \[T, d\].*form=sequence/);
  assert.throws(
    () => new BalanceMLAModel(['a', 'b'], seq, 3, { hidden: 12, brffHeads: 8 }),
    /divisor of model\.hidden \(12\).*model\.brffHeads/,
  );
  assert.throws(
    () => new BalanceMLAModel(['a', 'b'], seq, 3, { decisionFusion: 'classwise' as 'category' }),
    /'category', 'modality', 'equal'.*model\.decisionFusion/,
  );
  assert.throws(() => new BalanceMLAModel(['a', 'b'], seq, 3, { brffLayers: 0 }), /model\.brffLayers/);
  // Heads need not divide the width when there is nothing to fuse.
  assert.doesNotThrow(() => new BalanceMLAModel(['a', 'b'], seq, 3, { hidden: 12, brffHeads: 8, brff: false }));
});

test("the 'balancemla' recipe: clip sequences only, with the model.* keys of the configuration", () => {
  const c = defaultRunConfig();
  c.model = { ...c.model, hidden: 8, layers: 1, nhead: 1, dimFeedforward: 8, brffHeads: 2, decisionFusion: 'modality' };
  const data = new ClipData(twoSequenceClips(3));
  const model = buildModel('balancemla', data, { model: c.model, ada2i: c.ada2i, seed: 1 }) as BalanceMLAModel;
  assert.ok(model instanceof BalanceMLAModel);
  assert.equal(model.decisionFusion, 'modality');
  assert.equal(model.brff!.get('audio').layers.length, 3);
  const again = buildModel('balancemla', data, { model: c.model, ada2i: c.ada2i, seed: 1 }) as BalanceMLAModel;
  assert.deepEqual(model.decision!.weight.toArray(), again.decision!.weight.toArray(), 'weights start from the seed');
  const out = noGrad(() => model.forward(data.makeBatch('train', [0, 1, 2])));
  assert.deepEqual(out.fused.shape, [3, 3]);
  assert.deepEqual(Object.keys(out.features!), ['audio', 'video']);
  assert.throws(
    () => buildModel('balancemla', new ClipData(tinyClips(1)), { model: c.model, ada2i: c.ada2i, seed: 1 }),
    /modality 'image' has samples of shape \[1, 4, 4\]/,
  );
  assert.throws(
    () => buildModel('balancemla', new ConversationData(tinyDataset(1)), { model: c.model, ada2i: c.ada2i, seed: 1 }),
    /builds models for clip data, not conversation data/,
  );
});
