import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MLB,
  MLB_DEFAULTS,
  MultiLoss,
  type StepContext,
  makeStrategy,
  mlbCoefficient,
  mlbCoefficients,
  mlbRatios,
  strategyNames,
} from '../../src/balance/index.js';
import { ArgumentError } from '../../src/engine/errors.js';
import type { Optimizer } from '../../src/engine/optim/optimizer.js';
import { SGD } from '../../src/engine/optim/sgd.js';
import { manualSeed, randn, type Tensor, tensor } from '../../src/engine/index.js';
import { ConversationModel } from '../../src/models/conversation_model.js';
import type { MultiHead } from '../../src/models/fusion.js';
import type { MultimodalModel } from '../../src/models/model.js';
import { Trainer } from '../../src/train/trainer.js';
import { assertClose } from '../helpers.js';
import { tinyDataset } from '../tiny_data.js';

const C = 3;
const N = 6;
const HIDDEN = 8;
const labels = tensor(
  Array.from({ length: N }, (_, i) => i % C),
  { dtype: 'int64' },
);

/** Logits whose softmax puts probability p on each row's label (i mod C), the rest spread evenly: s = p. */
function logitsWithScore(p: number): Tensor {
  const q = (1 - p) / (C - 1);
  return tensor(Array.from({ length: N }, (_, i) => Array.from({ length: C }, (_, c) => Math.log(c === i % C ? p : q))));
}

function multiModel(modalities = ['a', 'b'], head = 'multi'): ConversationModel {
  const dims: Record<string, number> = { a: 6, b: 5, c: 4 };
  return new ConversationModel(modalities, dims, C, { encoder: 'mlp', hidden: HIDDEN, dropout: 0, head });
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

const phase = { name: 'train', epochs: 10 };

function ctxFor(
  model: MultimodalModel,
  scores: Record<string, number>,
  optimizer: Optimizer<{ lr: number }>,
  epoch = 1,
  extra: Partial<StepContext['outputs']> = {},
): StepContext {
  const unimodal = Object.fromEntries(Object.entries(scores).map(([m, s]) => [m, logitsWithScore(s)]));
  const outputs = { fused: logitsWithScore(0.5), unimodal, features: {}, ...extra };
  return { epoch, step: 0, phase, model, batch: { inputs: {}, labels, index: labels }, outputs, labels, optimizer };
}

/** Mean cross entropy in plain numbers: logsumexp(row) - row[y]. */
function crossEntropy(logits: number[][], y: number[]): number {
  const terms = logits.map((row, i) => {
    const max = Math.max(...row);
    return max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) - row[y[i]!]!;
  });
  return terms.reduce((a, t) => a + t, 0) / terms.length;
}

/** Gives every parameter a random gradient; returns copies of them, in parameter order. */
function randomGrads(model: MultimodalModel): Tensor[] {
  return model.parameters().map((p) => {
    p.grad = randn(p.shape);
    return p.grad!.clone();
  });
}

/** Per parameter of the two-modality multi-head model, the factor each gradient element should carry. */
function expectedFactors(model: ConversationModel, k: Record<string, number>): Map<Tensor, (col: number) => number> {
  const head = model.head as MultiHead;
  const enc = model.modalityParameters();
  const out = new Map<Tensor, (col: number) => number>();
  for (const m of ['a', 'b']) {
    for (const p of [...enc[m]!, ...head.classifiers.get(m).parameters()]) out.set(p, () => k[m]!);
  }
  // fc.weight is (C, 2 * HIDDEN): a's columns first, then b's; the bias belongs to no branch.
  out.set(head.fc.weight, (col) => (col < HIDDEN ? k.a! : k.b!));
  out.set(head.fc.bias!, () => 1);
  return out;
}

function checkGrads(model: ConversationModel, before: Tensor[], factor: Map<Tensor, (col: number) => number>, what: string): void {
  const params = model.parameters();
  assert.equal(factor.size, params.length, 'every parameter is checked');
  params.forEach((p, i) => {
    const f = factor.get(p)!;
    const width = p.shape.at(-1)!;
    const expected = before[i]!.toArray().map((g, j) => g * f(j % width));
    assertClose(p.grad!, expected, 1e-6, 1e-5, `${what}: ${model.namedParameters()[i]![0]}`);
  });
}

test('coefficients on hand-computed cases', () => {
  const alpha = 0.8;
  // a ahead of b: r_a = 0.3 / 0.6, r_b = 0.6 / 0.3.
  const r = mlbRatios({ a: 0.6, b: 0.3 });
  assertClose([r.a, r.b], [0.5, 2], 1e-12, 0, 'r');
  // r < 1: beta = 2 whatever betaMax, k = 1 + tanh(0.8 * -0.5) < 1.
  for (const betaMax of [2, 10])
    assertClose([mlbCoefficient(0.5, alpha, betaMax)], [1 - Math.tanh(0.4)], 1e-12, 0, `r < 1, betaMax ${betaMax}`);
  assertClose([mlbCoefficient(0.5, alpha, 2)], [0.6200510377447751], 1e-12, 0);
  // r > 1: beta = betaMax.
  assertClose([mlbCoefficient(2, alpha, 2)], [1 + Math.tanh(0.8)], 1e-12, 0, 'betaMax 2');
  assertClose([mlbCoefficient(2, alpha, 2)], [1.6640367702678491], 1e-12, 0);
  assertClose([mlbCoefficient(2, alpha, 10)], [1 + 9 * Math.tanh(0.8)], 1e-12, 0, 'betaMax 10');
  assertClose([mlbCoefficient(2, alpha, 10)], [6.976330932410642], 1e-12, 0);
  // r = 1: no change, exactly.
  assert.equal(mlbCoefficient(1, alpha, 10), 1);
  assert.deepEqual(mlbCoefficients(mlbRatios({ a: 0.4, b: 0.4, c: 0.4 }), alpha, 10), { a: 1, b: 1, c: 1 });
  assert.equal(mlbCoefficient(3, 0, 10), 1, 'alpha 0');
  // Three modalities: r_m compares s_m with the mean of the other two.
  const r3 = mlbRatios({ a: 0.6, b: 0.3, c: 0.15 });
  assertClose([r3.a, r3.b, r3.c], [(0.3 + 0.15) / 2 / 0.6, (0.6 + 0.15) / 2 / 0.3, (0.6 + 0.3) / 2 / 0.15], 1e-12, 0, 'r3');
  assertClose([r3.a, r3.b, r3.c], [0.375, 1.25, 3], 1e-12, 0, 'r3 values');
  const k3 = mlbCoefficients(r3, alpha, 2);
  assertClose([k3.a, k3.b, k3.c], [1 + Math.tanh(-0.5), 1 + Math.tanh(0.2), 1 + Math.tanh(1.6)], 1e-12, 0, 'k3 betaMax 2');
  const k3b = mlbCoefficients(r3, alpha, 10);
  assertClose([k3b.a, k3b.b, k3b.c], [0.5378828427399902, 2.776377882024136, 9.295016989658242], 1e-12, 0, 'k3 betaMax 10');
  // Zero scores: a modality at 0 behind others tends to betaMax; all at 0 is balanced.
  assert.deepEqual(mlbRatios({ a: 0, b: 0 }), { a: 1, b: 1 });
  const rz = mlbRatios({ a: 0, b: 0.4 });
  assert.equal(rz.a, Infinity);
  assert.equal(mlbCoefficient(rz.a, alpha, 10), 10);
  assertClose([mlbCoefficient(rz.b, alpha, 10)], [1 - Math.tanh(0.8)], 1e-12, 0);
  assert.throws(() => mlbRatios({ a: 0.5 }), /two modalities or more/);
});

test('measure: s is the batch mean of the true-class probability under each classifier', () => {
  manualSeed(1);
  const model = multiModel(['a', 'b', 'c']);
  const strategy = new MLB({ betaMax: 10 });
  const step = strategy.measure(ctxFor(model, { a: 0.6, b: 0.3, c: 0.15 }, optimizerFor(model)));
  assertClose(Object.values(step.scores), [0.6, 0.3, 0.15], 1e-6, 0, 's');
  assertClose(Object.values(step.ratios), [0.375, 1.25, 3], 1e-5, 0, 'r');
  assertClose(Object.values(step.coefficients), [0.5378828427399902, 2.776377882024136, 9.295016989658242], 1e-5, 0, 'k');
});

test("'grad' scales exactly the branch gradients (encoder, own classifier, fc.weight slice) by k", () => {
  manualSeed(2);
  const model = multiModel();
  const before = randomGrads(model);
  const strategy = new MLB({ betaMax: 10 });
  const opt = optimizerFor(model);
  strategy.afterBackward(ctxFor(model, { a: 0.6, b: 0.3 }, opt));
  const k = { a: 1 - Math.tanh(0.4), b: 1 + 9 * Math.tanh(0.8) };
  assertClose([strategy.last!.coefficients.a!, strategy.last!.coefficients.b!], [k.a, k.b], 1e-5, 0);
  const applied = strategy.last!.coefficients;
  checkGrads(model, before, expectedFactors(model, applied), 'grad');
  for (const g of opt.paramGroups) assert.equal(g.lr, 0.1, `group ${g.name}: lr untouched`);
});

test("'lr' scales the encoder group's lr for the step, the shared-group parts' gradients, and restores the lr", () => {
  manualSeed(3);
  const model = multiModel();
  const weights = model.parameters().map((p) => p.toArray());
  const before = randomGrads(model);
  const strategy = new MLB({ apply: 'lr' });
  const opt = optimizerFor(model, 0.1);
  const ctx = ctxFor(model, { a: 0.3, b: 0.6 }, opt);
  strategy.afterBackward(ctx);
  const k = strategy.last!.coefficients;
  assertClose([k.a!, k.b!], [1 + Math.tanh(0.8), 1 - Math.tanh(0.4)], 1e-5, 0);
  const lr = Object.fromEntries(opt.paramGroups.map((g) => [g.name, g.lr]));
  assertClose([lr.a!, lr.b!, lr.fusion!], [0.1 * k.a!, 0.1 * k.b!, 0.1], 1e-12, 0, 'lr during the step');
  // Encoder gradients untouched (their group's lr carries k); classifier and slice gradients scaled.
  const factor = expectedFactors(model, k);
  for (const p of Object.values(model.modalityParameters()).flat()) factor.set(p, () => 1);
  checkGrads(model, before, factor, 'lr');
  opt.step();
  strategy.afterStep(ctx);
  for (const g of opt.paramGroups) assert.equal(g.lr, 0.1, `group ${g.name} restored`);

  // For plain SGD the step equals the 'grad' form's.
  manualSeed(3);
  const twin = multiModel();
  twin.parameters().forEach((p, i) => {
    assert.deepEqual(p.toArray(), weights[i]);
    p.grad = before[i]!.clone();
  });
  const twinOpt = optimizerFor(twin, 0.1);
  new MLB({ apply: 'grad' }).afterBackward(ctxFor(twin, { a: 0.3, b: 0.6 }, twinOpt));
  twinOpt.step();
  twin.parameters().forEach((p, i) => assertClose(model.parameters()[i]!, p.toArray(), 1e-6, 1e-5, `SGD step ${i}`));

  const unnamed = new SGD(model.parameters(), { lr: 0.1 }) as unknown as Optimizer<{ lr: number }>;
  assert.throws(() => strategy.afterBackward(ctxFor(model, { a: 0.3, b: 0.6 }, unnamed)), /parameter group named 'a'/);
});

test('Multi-Loss terms equal cross entropies computed directly; MLB has the same objective', () => {
  manualSeed(4);
  const model = multiModel();
  const fused = randn([N, C]);
  const unimodal = { a: randn([N, C]), b: randn([N, C]) };
  const own = tensor(0.25);
  const y = labels.toArray();
  const ctx = ctxFor(model, { a: 0.5, b: 0.5 }, optimizerFor(model), 1, { fused, unimodal, losses: { afw: own } });
  for (const strategy of [new MultiLoss(), new MLB()]) {
    const terms = strategy.loss(ctx);
    assert.deepEqual(Object.keys(terms), ['fused', 'afw', 'unimodal.a', 'unimodal.b'], strategy.name);
    const values = Object.values(terms).map((t) => t.item());
    const expected = [
      crossEntropy(fused.tolist() as number[][], y),
      0.25,
      crossEntropy(unimodal.a.tolist() as number[][], y),
      crossEntropy(unimodal.b.tolist() as number[][], y),
    ];
    assertClose(values, expected, 1e-5, 1e-5, `${strategy.name} terms`);
  }
  // One modality: Multi-Loss works; MLB has no ratio to compute.
  const single = multiModel(['a']);
  const one = ctxFor(single, { a: 0.5 }, optimizerFor(single));
  assert.deepEqual(Object.keys(new MultiLoss().loss(one)), ['fused', 'unimodal.a']);
  assert.throws(
    () => new MLB().loss(one),
    (e: unknown) => e instanceof ArgumentError && /two modalities or more/.test(e.message) && /use multi-loss/.test(e.message),
  );
});

test('a head whose unimodal logits are slices of the fused head is refused at the first step, naming the fix', () => {
  manualSeed(5);
  for (const head of ['concat', 'mlp']) {
    const model = multiModel(['a', 'b'], head);
    const ctx = ctxFor(model, { a: 0.5, b: 0.4 }, optimizerFor(model));
    for (const name of ['multi-loss', 'mlb']) {
      const strategy = makeStrategy(name);
      assert.throws(
        () => strategy.loss(ctx),
        (e: unknown) => e instanceof ArgumentError && /--set model\.head=multi/.test(e.message) && e.message.includes(name),
        `${name} with head ${head}`,
      );
    }
    assert.throws(() => new MLB().afterBackward(ctx), /--set model\.head=multi/);
  }
});

test('both are registered; options have defaults, and bad ones are ArgumentErrors naming the option', () => {
  assert.ok(strategyNames().includes('multi-loss') && strategyNames().includes('mlb'));
  assert.ok(makeStrategy('multi-loss') instanceof MultiLoss);
  const mlb = makeStrategy('mlb', { endEpoch: null }) as MLB;
  assert.ok(mlb instanceof MLB);
  assert.equal(mlb.name, 'mlb');
  assert.deepEqual(mlb.options, { alpha: 0.8, betaMax: 2, apply: 'grad', startEpoch: 1, endEpoch: Infinity });
  assert.deepEqual(mlb.options, MLB_DEFAULTS);
  assert.equal((makeStrategy('mlb', { alpha: 1, betaMax: 10, apply: 'lr' }) as MLB).options.betaMax, 10);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['mlb', { alpha: -0.1 }, /finite number >= 0 for mlb\.alpha but received -0\.1/],
    ['mlb', { alpha: '0.8' }, /mlb\.alpha/],
    ['mlb', { betaMax: 0 }, /finite number > 0 .* for mlb\.betaMax but received 0/],
    ['mlb', { betaMax: Infinity }, /mlb\.betaMax/],
    ['mlb', { apply: 'loss' }, /one of 'grad', 'lr' for mlb\.apply but received 'loss'/],
    ['mlb', { startEpoch: 0 }, /integer >= 1 for mlb\.startEpoch/],
    ['mlb', { startEpoch: 4, endEpoch: 2 }, /an epoch >= startEpoch \(4\) for mlb\.endEpoch but received 2/],
    ['mlb', { beta: 2 }, /a known option \(alpha, betaMax, apply, startEpoch, endEpoch\) for mlb options but received 'beta'/],
    ['multi-loss', { alpha: 0.8 }, /no options .* for multi-loss options but received 'alpha'/],
  ];
  for (const [name, options, message] of cases) {
    assert.throws(
      () => makeStrategy(name, options),
      (e: unknown) => e instanceof ArgumentError && message.test(e.message),
      `${name} ${JSON.stringify(options)}`,
    );
  }
});

test('the epoch window, diagnostics as per-epoch means, and the running sums through a checkpoint', () => {
  manualSeed(6);
  const model = multiModel();
  const opt = optimizerFor(model);
  const strategy = new MLB({ startEpoch: 2, endEpoch: 2 });
  let before = randomGrads(model);
  strategy.afterBackward(ctxFor(model, { a: 0.6, b: 0.3 }, opt, 1));
  assert.equal(strategy.last!.modulated, false);
  checkGrads(model, before, expectedFactors(model, { a: 1, b: 1 }), 'outside the window');
  before = randomGrads(model);
  strategy.afterBackward(ctxFor(model, { a: 0.3, b: 0.3 }, opt, 2));
  assert.equal(strategy.last!.modulated, true);
  const d = strategy.diagnostics() as { k: Record<string, number>; r: Record<string, number>; s: Record<string, number> } & Record<
    string,
    unknown
  >;
  assert.equal(d.steps, 2);
  assert.equal(d.modulatedSteps, 1);
  assertClose([d.s.a!, d.s.b!], [(0.6 + 0.3) / 2, 0.3], 1e-6, 0, 's mean');
  assertClose([d.r.a!, d.r.b!], [(0.5 + 1) / 2, (2 + 1) / 2], 1e-5, 0, 'r mean');
  assertClose([d.k.a!, d.k.b!], [(1 - Math.tanh(0.4) + 1) / 2, (1 + Math.tanh(0.8) + 1) / 2], 1e-5, 0, 'k mean');
  strategy.afterBackward(ctxFor(model, { a: 0.6, b: 0.3 }, opt, 3));
  assert.equal(strategy.last!.modulated, false);

  const state = JSON.parse(JSON.stringify(strategy.stateDict())) as Record<string, unknown>;
  assert.equal((state.options as Record<string, unknown>).endEpoch, 2);
  const restored = new MLB({ startEpoch: 2, endEpoch: 2 });
  restored.loadStateDict(state);
  assert.deepEqual(restored.diagnostics(), strategy.diagnostics());
  restored.loadStateDict({});
  assert.deepEqual(restored.diagnostics(), { k: {}, r: {}, s: {}, steps: 0, modulatedSteps: 0 });
  assert.equal((new MLB().stateDict().options as Record<string, unknown>).endEpoch, null);
});

test('end to end on the tiny conversations: Multi-Loss and MLB train (loss goes down) and MLB records k, r, s', () => {
  const ds = tinyDataset(11, { dialogues: 12 });
  const trainConfig = { epochs: 4, batchSize: 4, lr: 1e-2, seed: 3, patience: 0, scheduler: 'none' as const };
  const newModel = (): ConversationModel => {
    manualSeed(5);
    return new ConversationModel(['a', 'b'], ds.dims, 3, { encoder: 'mlp', hidden: 8, dropout: 0, head: 'multi' });
  };
  const runs: Record<string, ConversationModel> = {};
  const variants: [string, Record<string, unknown>][] = [
    ['multi-loss', {}],
    ['mlb', {}],
    ['mlb-lr', { apply: 'lr', betaMax: 10 }],
    ['mlb-alpha0', { alpha: 0 }],
  ];
  for (const [name, options] of variants) {
    const model = newModel();
    runs[name] = model;
    const trainer = new Trainer(model, ds, makeStrategy(name.startsWith('mlb') ? 'mlb' : name, options), trainConfig);
    const r = trainer.fit({ progress: false });
    assert.equal(r.history.length, 4);
    const losses = r.history.map((h) => h.trainLoss);
    assert.ok(losses.at(-1)! < losses[0]!, `${name}: train loss ${losses.join(', ')}`);
    for (const h of r.history) assert.deepEqual(Object.keys(h.trainLossTerms), ['fused', 'unimodal.a', 'unimodal.b'], name);
    for (const g of trainer.optimizer.paramGroups) assert.equal(g.lr, 1e-2, `${name}: group ${g.name} lr restored`);
    if (name === 'multi-loss') {
      assert.deepEqual(r.history[0]!.strategy, {});
      continue;
    }
    for (const h of r.history) {
      const d = h.strategy as { k: Record<string, number>; r: Record<string, number>; s: Record<string, number>; steps: number };
      assert.equal(d.steps, 3, name);
      for (const key of ['k', 'r', 's'] as const) assert.deepEqual(Object.keys(d[key]).sort(), ['a', 'b'], `${name} ${key}`);
      for (const m of ['a', 'b']) {
        assert.ok(d.s[m]! > 0 && d.s[m]! < 1, `${name} s.${m} ${d.s[m]}`);
        assert.ok(d.r[m]! > 0 && Number.isFinite(d.r[m]!), `${name} r.${m} ${d.r[m]}`);
        assert.ok(d.k[m]! > 0, `${name} k.${m} ${d.k[m]}`);
      }
      if (name === 'mlb-alpha0') assert.deepEqual(d.k, { a: 1, b: 1 });
    }
    if (name !== 'mlb-alpha0') {
      // 'a' carries the label clearly: by the last epoch b is behind, so it is sped up and a slowed.
      const last = r.history.at(-1)!.strategy as { k: Record<string, number>; s: Record<string, number> };
      assert.ok(last.s.a! > last.s.b! && last.k.b! > 1 && last.k.a! < 1, `${name}: ${JSON.stringify(last)}`);
    }
  }
  // With alpha 0 every k is 1: MLB trains exactly as Multi-Loss.
  assert.deepEqual(
    runs['mlb-alpha0']!.parameters().map((p) => p.toArray()),
    runs['multi-loss']!.parameters().map((p) => p.toArray()),
  );
  assert.notDeepEqual(
    runs.mlb!.parameters().map((p) => p.toArray()),
    runs['multi-loss']!.parameters().map((p) => p.toArray()),
  );
});
