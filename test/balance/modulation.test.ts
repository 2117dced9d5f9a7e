import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DISPARITY_PRESET,
  DisparityModulation,
  JointTraining,
  OGM_GE_PRESET,
  type EpochContext,
  type StepContext,
  batchUnimodalScores,
  makeStrategy,
  modulationCoefficient,
  modulationCoefficients,
  strategyNames,
} from '../../src/balance/index.js';
import { ArgumentError } from '../../src/engine/errors.js';
import { SGD } from '../../src/engine/optim/sgd.js';
import type { Optimizer } from '../../src/engine/optim/optimizer.js';
import { manualSeed, randn, type Tensor, tensor } from '../../src/engine/index.js';
import { disparityRatios, unimodalScores } from '../../src/metrics/index.js';
import { ConversationModel, type ModelOutputs, type MultimodalModel } from '../../src/models/conversation_model.js';
import type { FusionHead } from '../../src/models/fusion.js';
import { Module } from '../../src/nn/module.js';
import type { ParamRef } from '../../src/nn/param_ref.js';
import { Trainer } from '../../src/train/trainer.js';
import { assertClose } from '../helpers.js';
import { tinyDataset } from '../tiny_data.js';

const C = 4;
const N = 8;

/** Logits whose softmax gives each row probability total/N on its label (i mod C), the rest spread evenly. */
function logitsWithScore(total: number): Tensor {
  const p = total / N;
  const q = (1 - p) / (C - 1);
  return tensor(Array.from({ length: N }, (_, i) => Array.from({ length: C }, (_, c) => Math.log(c === i % C ? p : q))));
}

const labels = tensor(
  Array.from({ length: N }, (_, i) => i % C),
  { dtype: 'int64' },
);

function fakeUnimodal(scores: Record<string, number>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(scores).map(([m, s]) => [m, logitsWithScore(s)]));
}

/** A model with hand-shaped encoder parameters per modality and one non-encoder parameter. */
class TinyModel extends Module implements MultimodalModel {
  readonly numClasses = C;
  readonly head = null as unknown as FusionHead;
  private readonly enc: Record<string, Tensor[]> = {};
  readonly fusion: Tensor;

  constructor(
    readonly modalities: string[],
    shapes: Record<string, number[][]>,
  ) {
    super();
    for (const m of modalities) this.enc[m] = shapes[m]!.map((s, i) => this.registerParameter(`${m}_${i}`, randn(s)));
    this.fusion = this.registerParameter('fusion', randn([3, 4]));
  }

  modalityParameters(role?: 'encoder'): Record<string, Tensor[]>;
  modalityParameters(role: 'branch'): Record<string, ParamRef[]>;
  modalityParameters(role: 'encoder' | 'branch' = 'encoder'): Record<string, Tensor[]> | Record<string, ParamRef[]> {
    if (role === 'branch') return Object.fromEntries(Object.entries(this.enc).map(([m, ps]) => [m, ps.map((param) => ({ param }))]));
    return { ...this.enc };
  }

  classWeightNorms(): null {
    return null;
  }

  forward(): ModelOutputs {
    throw new Error('not used');
  }
}

/** One SGD group per modality encoder, named after it, and 'fusion' for the rest: the Trainer's layout. */
function optimizerFor(model: MultimodalModel, lr = 0.1): Optimizer<{ lr: number }> {
  const per = model.modalityParameters();
  const owned = new Set(Object.values(per).flat());
  const groups = [
    ...Object.entries(per).map(([name, params]) => ({ name, params })),
    { name: 'fusion', params: model.parameters().filter((p) => !owned.has(p)) },
  ];
  return new SGD(groups, { lr }) as unknown as Optimizer<{ lr: number }>;
}

function ctxFor(model: MultimodalModel, scores: Record<string, number>, optimizer: Optimizer<{ lr: number }>, epoch = 1): StepContext {
  const unimodal = fakeUnimodal(scores);
  const outputs = { fused: Object.values(unimodal)[0]!, unimodal, features: {} };
  return { epoch, step: 0, phase, model, batch: { inputs: {}, labels, index: labels }, outputs, labels, optimizer };
}

const phase = { name: 'train', epochs: 10 };

function epochCtx(epoch: number, model: MultimodalModel, optimizer: Optimizer<{ lr: number }>): EpochContext {
  return {
    epoch,
    phase,
    model,
    optimizer,
    predict: () => {
      throw new Error('not used');
    },
  };
}

/** Gives every parameter a random gradient and returns copies of them. */
function randomGrads(model: Module): Map<Tensor, number[]> {
  const out = new Map<Tensor, number[]>();
  for (const p of model.parameters()) {
    p.grad = randn(p.shape);
    out.set(p, p.grad!.toArray());
  }
  return out;
}

function gradOf(p: Tensor): number[] {
  return p.grad!.toArray();
}

function scaled(v: number[], k: number): number[] {
  return v.map((x) => Math.fround(x * k));
}

test('the coefficient: hand values, and the jump just above rho = 1', () => {
  const alpha = 0.1;
  const rho = disparityRatios({ t: 6, a: 3, v: 2 });
  assert.deepEqual(rho, { t: 3, a: 1.5, v: 1 });
  const k = modulationCoefficients(rho, alpha);
  assertClose([k.t, k.a, k.v], [1 - Math.tanh(0.3), 1 - Math.tanh(0.15), 1], 1e-12, 0);
  assertClose([k.t, k.a], [0.7086873875, 0.8511149664], 1e-9, 0);
  assert.equal(modulationCoefficient(1, alpha), 1);
  assert.equal(modulationCoefficient(0.5, alpha), 1);
  // relu(rho), not relu(rho - 1): just above 1 the coefficient is already 1 - tanh(alpha).
  assertClose([modulationCoefficient(1 + 1e-12, alpha)], [1 - Math.tanh(alpha)], 1e-10, 0);
  assert.equal(modulationCoefficient(5, 0), 1);
});

test('scores from fake logits with known softmax scores, ratios and coefficients', () => {
  const unimodal = fakeUnimodal({ t: 6, a: 3, v: 2 });
  const s = batchUnimodalScores(unimodal, labels, ['t', 'a', 'v']);
  assertClose([s.t!, s.a!, s.v!], [6, 3, 2], 1e-5, 0, 's');
  const reference = unimodalScores(unimodal, labels);
  assertClose([s.t!, s.a!, s.v!], [reference.t, reference.a, reference.v], 1e-9, 1e-9, 's vs unimodalScores');

  const model = new TinyModel(['t', 'a', 'v'], { t: [[2]], a: [[2]], v: [[2]] });
  const strategy = new DisparityModulation({ alpha: 0.2 });
  const step = strategy.measure(ctxFor(model, { t: 6, a: 3, v: 2 }, optimizerFor(model)));
  assertClose(Object.values(step.ratios), [3, 1.5, 1], 1e-5, 0, 'rho');
  assertClose(Object.values(step.coefficients), [1 - Math.tanh(0.6), 1 - Math.tanh(0.3), 1], 1e-5, 0, 'k');
  assert.throws(() => batchUnimodalScores(unimodal, labels, ['x']), /unimodal logits for modality 'x'/);
  assert.throws(() => batchUnimodalScores({ t: randn([3, C]) }, labels, ['t']), /one row per label/);
});

test("scaling touches exactly the modality's encoder gradients", () => {
  manualSeed(1);
  const model = new ConversationModel(['a', 'b'], { a: 6, b: 5 }, 3, { encoder: 'mlp', hidden: 8 });
  const before = randomGrads(model);
  const strategy = new DisparityModulation({ alpha: 0.3, noise: false });
  strategy.afterBackward(ctxFor(model, { a: 4, b: 2 }, optimizerFor(model)));
  const k = 1 - Math.tanh(0.6);
  assertClose([strategy.last!.coefficients.a!, strategy.last!.coefficients.b!], [k, 1], 1e-5, 0);
  const enc = model.modalityParameters();
  assert.ok(enc.a!.length >= 2 && enc.b!.length >= 2);
  for (const p of enc.a!) assertClose(gradOf(p), scaled(before.get(p)!, strategy.last!.coefficients.a!), 1e-7, 1e-6, 'encoder a');
  const untouched = model.parameters().filter((p) => !enc.a!.includes(p));
  assert.ok(untouched.some((p) => enc.b!.includes(p)) && untouched.length > enc.b!.length, 'b and the head are checked');
  for (const p of untouched) assert.deepEqual(gradOf(p), before.get(p), 'b encoder and head untouched');
});

test('no modulation outside the epoch window', () => {
  manualSeed(2);
  const model = new ConversationModel(['a', 'b'], { a: 6, b: 5 }, 3, { encoder: 'mlp', hidden: 8 });
  const opt = optimizerFor(model);
  const strategy = new DisparityModulation({ alpha: 0.5, startEpoch: 2, endEpoch: 3 });
  for (const epoch of [1, 2, 3, 4]) {
    strategy.onEpochStart(epochCtx(epoch, model, opt));
    const before = randomGrads(model);
    strategy.afterBackward(ctxFor(model, { a: 2, b: 4 }, opt, epoch));
    const inside = epoch === 2 || epoch === 3;
    assert.equal(strategy.last!.modulated, inside);
    const changed = model.parameters().filter((p) => gradOf(p).some((x, i) => x !== before.get(p)![i]));
    if (inside) assert.equal(changed.length, Object.values(model.modalityParameters()).flat().length, `epoch ${epoch}`);
    else assert.equal(changed.length, 0, `epoch ${epoch}`);
    const d = strategy.diagnostics();
    assert.equal(d.steps, 1);
    assert.equal(d.modulatedSteps, inside ? 1 : 0);
    assertClose(Object.values(d.rho as Record<string, number>), [1, 2], 1e-5, 0, 'rho');
  }
});

test("noise: mean 0, std of the original or the scaled gradient; 'lr' mode sizes it by the unscaled one", () => {
  const alpha = 0.5;
  const k = 1 - Math.tanh(2 * alpha);
  const cases = [
    { options: { noiseStd: 'original' }, expected: { a: 2, b: 3 } },
    { options: { noiseStd: 'scaled' }, expected: { a: 2 * k, b: 3 } },
    { options: { apply: 'lr', noiseStd: 'scaled' }, expected: { a: 2, b: 3 } },
  ];
  for (const { options, expected } of cases) {
    manualSeed(3);
    const model = new TinyModel(['a', 'b'], { a: [[400, 500]], b: [[400, 500]] });
    const [pa] = model.modalityParameters().a!;
    const [pb] = model.modalityParameters().b!;
    const ga = randn([400, 500]).mul(2);
    const gb = randn([400, 500]).mul(3);
    pa!.grad = ga.clone();
    pb!.grad = gb.clone();
    const strategy = new DisparityModulation({ alpha, ...options });
    const opt = optimizerFor(model);
    strategy.afterBackward(ctxFor(model, { a: 4, b: 2 }, opt));
    const kA = options.apply === 'lr' ? 1 : strategy.last!.coefficients.a!;
    const stats = (p: Tensor, g0: Tensor, kk: number, sd: number, m: string): void => {
      const noise = p.grad!.sub(g0.mul(kk));
      const mean = noise.mean().item();
      const std = noise.std().item();
      const label = `${JSON.stringify(options)} ${m}`;
      assert.ok(Math.abs(mean) < 0.01 * sd, `${label}: noise mean ${mean}`);
      assert.ok(Math.abs(std / sd - 1) < 0.02, `${label}: noise std ${std}, expected ${sd}`);
    };
    stats(pa!, ga, kA, expected.a * (ga.std().item() / 2), 'a');
    stats(pb!, gb, 1, expected.b * (gb.std().item() / 3), 'b');
    strategy.afterStep(ctxFor(model, { a: 4, b: 2 }, opt));
  }
});

test('a one-element gradient gets finite noise, and a parameter without gradient is skipped', () => {
  manualSeed(6);
  const model = new TinyModel(['a', 'b'], { a: [[1], [3]], b: [[2]] });
  const [single, none] = model.modalityParameters().a!;
  single!.grad = tensor([0.5]);
  model.modalityParameters().b![0]!.grad = randn([2]);
  const strategy = new DisparityModulation({ alpha: 0.2, noise: true });
  strategy.afterBackward(ctxFor(model, { a: 6, b: 3 }, optimizerFor(model)));
  const g = gradOf(single!)[0]!;
  assert.ok(Number.isFinite(g), `gradient ${g}`);
  assertClose([g], [0.5 * strategy.last!.coefficients.a!], 1e-6, 0, 'sigma is 1e-8 for one element');
  assert.equal(none!.grad, null);
});

test("'conv' modulates only 4-D kernels", () => {
  manualSeed(4);
  const model = new TinyModel(['a', 'b'], { a: [[4, 3, 3, 3], [4, 3], [4]], b: [[2, 2, 1, 1], [5]] });
  for (const noise of [false, true]) {
    const before = randomGrads(model);
    const strategy = new DisparityModulation({ alpha: 0.4, params: 'conv', noise });
    strategy.afterBackward(ctxFor(model, { a: 6, b: 3 }, optimizerFor(model)));
    const k = strategy.last!.coefficients.a!;
    assert.ok(k < 1);
    const [kernel, weight, bias] = model.modalityParameters().a!;
    if (!noise) assertClose(gradOf(kernel!), scaled(before.get(kernel!)!, k), 1e-7, 1e-6, 'kernel');
    else assert.notDeepEqual(gradOf(kernel!), scaled(before.get(kernel!)!, k));
    const bKernel = model.modalityParameters().b![0]!;
    if (noise) assert.notDeepEqual(gradOf(bKernel), before.get(bKernel), 'noise on the k = 1 kernel too');
    for (const p of [weight!, bias!, model.modalityParameters().b![1]!, model.fusion]) assert.deepEqual(gradOf(p), before.get(p));
  }
});

test("'lr' scales the modality's group learning rate for the step and restores it after", () => {
  manualSeed(5);
  const model = new TinyModel(['a', 'b'], { a: [[3, 4], [3]], b: [[2, 5]] });
  const opt = optimizerFor(model, 0.1);
  const before = randomGrads(model);
  const weights = new Map(model.parameters().map((p) => [p, p.toArray()]));
  const strategy = new DisparityModulation({ alpha: 0.3, apply: 'lr', noise: false });
  const ctx = ctxFor(model, { a: 5, b: 2 }, opt);
  strategy.afterBackward(ctx);
  const k = strategy.last!.coefficients.a!;
  assertClose([k], [1 - Math.tanh(0.75)], 1e-5, 0);
  const lr = Object.fromEntries(opt.paramGroups.map((g) => [g.name, g.lr]));
  assertClose([lr.a!, lr.b!, lr.fusion!], [0.1 * k, 0.1, 0.1], 1e-12, 0);
  for (const p of model.parameters()) assert.deepEqual(gradOf(p), before.get(p), 'gradients unscaled');
  opt.step();
  strategy.afterStep(ctx);
  for (const g of opt.paramGroups) assert.equal(g.lr, 0.1, `group ${g.name} restored`);
  for (const p of model.modalityParameters().a!) {
    const expected = weights.get(p)!.map((w, i) => w - 0.1 * k * before.get(p)![i]!);
    assertClose(p.toArray(), expected, 1e-6, 1e-5, 'SGD step of a at lr * k');
  }
  const unnamed = new SGD(model.parameters(), { lr: 0.1 }) as unknown as Optimizer<{ lr: number }>;
  assert.throws(() => strategy.afterBackward(ctxFor(model, { a: 5, b: 2 }, unnamed)), /parameter group named 'a'/);
});

test('OGM-GE with two modalities equals the original two-modality rule', () => {
  const alpha = 0.35;
  /** Peng et al.'s code: ratio_v = s_v / s_a, ratio_a = 1 / ratio_v, only the one ahead is slowed. */
  const original = (sa: number, sv: number): { a: number; v: number } => {
    const ratioV = sv / sa;
    const ratioA = 1 / ratioV;
    return ratioV > 1 ? { a: 1, v: 1 - Math.tanh(alpha * Math.max(0, ratioV)) } : { a: 1 - Math.tanh(alpha * Math.max(0, ratioA)), v: 1 };
  };
  const strategy = makeStrategy('ogm-ge', { alpha }) as DisparityModulation;
  for (const [sa, sv] of [
    [1, 2],
    [2, 1],
    [3.7, 3.6],
    [0.2, 7.9],
    [5, 5.0001],
  ] as const) {
    const expected = original(sa, sv);
    assertClose(Object.values(modulationCoefficients(disparityRatios({ a: sa, v: sv }), alpha)), [expected.a, expected.v], 1e-12, 0);
  }
  const model = new TinyModel(['a', 'v'], { a: [[2]], v: [[2]] });
  const step = strategy.measure(ctxFor(model, { a: 2, v: 6 }, optimizerFor(model)));
  assertClose([step.ratios.v!, step.ratios.a!], [3, 1], 1e-5, 0);
  const expected = original(2, 6);
  assertClose([step.coefficients.a!, step.coefficients.v!], [expected.a, expected.v], 1e-5, 0);
});

test("both methods are registered, with their own defaults, and read the config's options", () => {
  assert.ok(strategyNames().includes('disparity') && strategyNames().includes('ogm-ge'));
  const d = makeStrategy('disparity', {}) as DisparityModulation;
  const o = makeStrategy('ogm-ge', { params: 'conv', endEpoch: null }) as DisparityModulation;
  assert.equal(d.name, 'disparity');
  assert.equal(o.name, 'ogm-ge');
  assert.deepEqual(d.options, DISPARITY_PRESET.defaults);
  assert.deepEqual(d.options, {
    alpha: 0.1,
    startEpoch: 1,
    endEpoch: Infinity,
    noise: true,
    noiseStd: 'scaled',
    params: 'all',
    apply: 'grad',
  });
  assert.deepEqual(o.options, { ...OGM_GE_PRESET.defaults, params: 'conv' });
  assert.equal(o.options.noiseStd, 'original');
  assert.equal(o.options.endEpoch, Infinity);
});

test('bad options are ArgumentErrors naming the option', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ alpha: -0.1 }, /finite number >= 0 for disparity\.alpha but received -0\.1/],
    [{ alpha: Infinity }, /disparity\.alpha/],
    [{ alpha: '0.1' }, /disparity\.alpha/],
    [{ startEpoch: 0 }, /integer >= 1 for disparity\.startEpoch/],
    [{ startEpoch: 1.5 }, /disparity\.startEpoch/],
    [{ startEpoch: 5, endEpoch: 3 }, /an epoch >= startEpoch \(5\) for disparity\.endEpoch but received 3/],
    [{ noise: 'yes' }, /a boolean for disparity\.noise/],
    [{ noiseStd: 'after' }, /one of 'original', 'scaled' for disparity\.noiseStd but received 'after'/],
    [{ params: 'linear' }, /one of 'all', 'conv' for disparity\.params/],
    [{ apply: 'loss' }, /one of 'grad', 'lr' for disparity\.apply/],
    [{ apply: 'lr', params: 'conv' }, /whole parameter group/],
    [
      { alpah: 0.1 },
      /a known option \(alpha, startEpoch, endEpoch, noise, noiseStd, params, apply\) for disparity options but received 'alpah'/,
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => makeStrategy('disparity', options),
      (e: unknown) => e instanceof ArgumentError && message.test(e.message),
      JSON.stringify(options),
    );
  }
  assert.throws(() => makeStrategy('ogm-ge', { alpha: -1 }), /ogm-ge\.alpha/);
});

test('stateDict carries the running epoch through JSON', () => {
  const model = new TinyModel(['a', 'b'], { a: [[2]], b: [[2]] });
  const opt = optimizerFor(model);
  const a = new DisparityModulation({ alpha: 0.2, startEpoch: 2, noise: false });
  a.afterBackward(ctxFor(model, { a: 3, b: 6 }, opt, 1));
  a.afterBackward(ctxFor(model, { a: 3, b: 6 }, opt, 2));
  const state = JSON.parse(JSON.stringify(a.stateDict())) as Record<string, unknown>;
  assert.equal((state.options as Record<string, unknown>).endEpoch, null);
  const b = new DisparityModulation({ alpha: 0.2, startEpoch: 2, noise: false });
  b.loadStateDict(state);
  assert.deepEqual(b.diagnostics(), a.diagnostics());
  assert.equal(b.diagnostics().modulatedSteps, 1);
  b.loadStateDict({});
  assert.deepEqual(b.diagnostics(), { rho: {}, coefficient: {}, steps: 0, modulatedSteps: 0 });
});

test('end to end: 2 epochs of the Trainer with disparity record diagnostics; alpha 0 without noise is joint training', () => {
  const ds = tinyDataset(11, { dialogues: 12 });
  const modelConfig = { encoder: 'mlp' as const, hidden: 8, dropout: 0 };
  const trainConfig = { epochs: 2, batchSize: 4, lr: 3e-3, seed: 3, patience: 0, scheduler: 'none' as const };
  const newModel = (): ConversationModel => {
    manualSeed(5);
    return new ConversationModel(['a', 'b'], ds.dims, 3, modelConfig);
  };
  const trainer = new Trainer(newModel(), ds, makeStrategy('disparity', { alpha: 0.5, startEpoch: 2, apply: 'lr' }), trainConfig);
  const r = trainer.fit({ progress: false });
  assert.equal(r.history.length, 2);
  const [e1, e2] = r.history.map(
    (h) => h.strategy as { rho: Record<string, number>; coefficient: Record<string, number>; steps: number; modulatedSteps: number },
  );
  assert.ok(e1!.steps === 3 && e1!.modulatedSteps === 0, JSON.stringify(e1));
  assert.ok(e2!.steps === 3 && e2!.modulatedSteps === 3, JSON.stringify(e2));
  for (const e of [e1!, e2!]) {
    assert.deepEqual(Object.keys(e.rho).sort(), ['a', 'b']);
    for (const m of ['a', 'b']) {
      assert.ok(e.rho[m]! >= 1, `rho ${m} ${e.rho[m]}`);
      assert.ok(e.coefficient[m]! > 0 && e.coefficient[m]! <= 1, `k ${m} ${e.coefficient[m]}`);
    }
  }
  for (const g of trainer.optimizer.paramGroups) assert.equal(g.lr, 3e-3, `group ${g.name} lr restored`);

  const joint = newModel();
  new Trainer(joint, ds, new JointTraining(), trainConfig).fit({ progress: false });
  const neutral = newModel();
  new Trainer(neutral, ds, makeStrategy('disparity', { alpha: 0, noise: false }), trainConfig).fit({ progress: false });
  assert.deepEqual(
    neutral.parameters().map((p) => p.toArray()),
    joint.parameters().map((p) => p.toArray()),
  );
});
