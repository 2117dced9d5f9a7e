import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GmmGuidedLoss, annealing, checkGmmLossOptions } from '../../src/balance/gmm_loss.js';
import type { Phase, StepContext } from '../../src/balance/strategy.js';
import { ConversationData } from '../../src/data/conversation/dataset.js';
import { manualSeed, tensor, type Tensor } from '../../src/index.js';
import { ConversationModel } from '../../src/models/conversation_model.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyDataset } from '../tiny_data.js';

const softmax = (row: number[]): number[] => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

test('the per-sample loss on a hand-computed batch: gamma constant by sample id, g carries gradient', () => {
  const s = new GmmGuidedLoss({
    lambda1: 0.5,
    lambda2: 2,
    lambda3: 3,
    lambda0: 1,
    anneal: 'none',
    warmupEpochs: 1,
    rounds: 1,
    epochsPerRound: 1,
  });
  // State as a round would leave it: per-sample posteriors of imbalance, the balanced mean, the pair.
  const gammaById = [0.1, 0.9, 0.5, 0.0];
  s.loadStateDict({ gamma: gammaById, muBalanced: 0.05, pair: ['a', 'b'] });
  const phase: Phase = { name: 'round-1', epochs: 1 };
  s.onEpochStart({
    epoch: 2,
    phase,
    model: null as never,
    optimizer: null as never,
    predict: () => {
      throw new Error('unused');
    },
  });
  const F = [
    [1, 0.2, -0.5],
    [0.1, 0.3, 0.2],
  ];
  const A = [
    [2, -1, 0],
    [0.5, 0.5, 1],
  ];
  const B = [
    [0, 0, 0.3],
    [-1, 2, 0],
  ];
  const y = [0, 2];
  const ids = [3, 1];
  const fused = tensor(F, { requiresGrad: true });
  const ua = tensor(A, { requiresGrad: true });
  const ub = tensor(B, { requiresGrad: true });
  const labels = tensor(y);
  const ctx = {
    epoch: 2,
    step: 0,
    phase,
    model: null as never,
    batch: { inputs: {}, labels, index: tensor(ids) },
    outputs: { fused, unimodal: { a: ua, b: ub } },
    labels,
    optimizer: null as never,
  } as unknown as StepContext;
  const terms = s.loss(ctx);
  assert.deepEqual(Object.keys(terms).sort(), ['gap', 'pull', 'weighted']);
  // By hand.
  const ce = F.map((r, i) => -Math.log(softmax(r)[y[i]!]!));
  const g = A.map((r, i) => softmax(r)[y[i]!]! - softmax(B[i]!)[y[i]!]!);
  const gam = ids.map((id) => gammaById[id]!);
  const weighted = (ce[0]! * (1 + 3 * gam[0]!) + ce[1]! * (1 + 3 * gam[1]!)) / 2;
  const gap = (0.5 * (g[0]! ** 2 + g[1]! ** 2)) / 2;
  const pull = (2 * (gam[0]! * (g[0]! - 0.05) ** 2 + gam[1]! * (g[1]! - 0.05) ** 2)) / 2;
  assert.ok(Math.abs(terms.weighted!.item() - weighted) < 1e-6);
  assert.ok(Math.abs(terms.gap!.item() - gap) < 1e-6);
  assert.ok(Math.abs(terms.pull!.item() - pull) < 1e-6);
  (Object.values(terms) as Tensor[]).reduce((a, t) => a.add(t)).backward();
  // d/du_a of lambda1 g^2/N + lambda2 gamma (g - mu)^2/N through g = P_a - P_b, P_a = softmax(u_a)[y].
  const ga = ua.grad!.toArray();
  A.forEach((row, i) => {
    const p = softmax(row);
    const dLdg = (0.5 * 2 * g[i]! + 2 * gam[i]! * 2 * (g[i]! - 0.05)) / 2;
    for (let c = 0; c < 3; c++) {
      const dPdu = p[y[i]!]! * ((c === y[i] ? 1 : 0) - p[c]!);
      assert.ok(Math.abs(ga[i * 3 + c]! - dLdg * dPdu) < 1e-6, `grad a[${i},${c}]`);
    }
  });
  assert.ok(ub.grad!.abs().sum().item() > 0, 'the weaker modality is pulled too');
});

test('options, annealing and the stage schedule', () => {
  assert.equal(annealing('linear', 0), 1);
  assert.equal(annealing('linear', 0.75), 0.25);
  assert.ok(Math.abs(annealing('cosine', 0.5) - 0.5) < 1e-12);
  assert.equal(annealing('none', 0.9), 1);
  assert.throws(() => checkGmmLossOptions({ rounds: 0 }), /gmm\.rounds/);
  assert.throws(() => checkGmmLossOptions({ lamda1: 1 }), /a known option/);
  assert.throws(() => checkGmmLossOptions({ pair: ['a'] }), /two modality names/);
  const phases = new GmmGuidedLoss({ warmupEpochs: 2, rounds: 3, epochsPerRound: 4 }).phases();
  assert.deepEqual(
    phases.map((p) => [p.name, p.epochs, Boolean(p.resetOptimizer)]),
    [
      ['warmup', 2, false],
      ['round-1', 4, true],
      ['round-2', 4, false],
      ['round-3', 4, false],
    ],
  );
});

test('a short run: warm-up, then rounds that fit the mixture over the training gaps and record it', () => {
  const raw = tinyDataset(31);
  const data = new ConversationData(raw);
  manualSeed(2);
  const model = new ConversationModel(['a', 'b'], raw.dims, 3, { encoder: 'mlp', hidden: 8, dropout: 0 });
  const s = new GmmGuidedLoss({ warmupEpochs: 1, rounds: 2, epochsPerRound: 1 });
  const r = new Trainer(model, data, s, { epochs: 99, batchSize: 4, lr: 0.01, patience: 0, scheduler: 'none' }).fit();
  assert.deepEqual(
    r.history.map((h) => h.phase),
    ['warmup', 'round-1', 'round-2'],
  );
  const rounds = r.history.map(
    (h) =>
      h.strategy.round as { round: number; mixture: { weights: number[] }; histogram: { counts: number[] }; pair: string[] } | undefined,
  );
  assert.equal(rounds[0], undefined);
  assert.equal(rounds[1]!.round, 1);
  assert.equal(rounds[2]!.round, 2);
  for (const rr of rounds.slice(1)) {
    assert.ok(Math.abs(rr!.mixture.weights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.equal(
      rr!.histogram.counts.reduce((a, b) => a + b, 0),
      data.size('train'),
    );
    assert.deepEqual(rr!.pair, ['a', 'b'], "the dominant modality first: 'a' carries the label");
  }
  assert.deepEqual(Object.keys(r.history[1]!.trainLossTerms).sort(), ['gap', 'pull', 'weighted']);
  assert.ok((r.history[2]!.strategy.lambda as number) < (r.history[1]!.strategy.lambda as number), 'lambda(t) anneals');
});

test("gaps 'epoch': the round's gaps come from the preceding epoch's training steps, equal to a pass when the weights stand still", () => {
  const raw = tinyDataset(31);
  const fit = (gaps: 'pass' | 'epoch', lr: number) => {
    const data = new ConversationData(raw);
    manualSeed(2);
    const model = new ConversationModel(['a', 'b'], raw.dims, 3, { encoder: 'mlp', hidden: 8, dropout: 0 });
    const s = new GmmGuidedLoss({ warmupEpochs: 1, rounds: 2, epochsPerRound: 1, gaps });
    const r = new Trainer(model, data, s, { epochs: 99, batchSize: 4, lr, patience: 0, scheduler: 'none' }).fit();
    return r.history
      .map((h) => h.strategy.round as { gapSource: string; mixture: { means: number[] }; histogram: { counts: number[] } } | undefined)
      .filter((x) => x !== undefined);
  };
  // lr 0: the weights never move, so the training steps see what the pass sees (no dropout here).
  const pass = fit('pass', 0);
  const epoch = fit('epoch', 0);
  assert.deepEqual(
    epoch.map((r) => r.gapSource),
    ['epoch', 'epoch'],
  );
  assert.deepEqual(
    pass.map((r) => r.gapSource),
    ['pass', 'pass'],
  );
  for (let k = 0; k < 2; k++) {
    assert.deepEqual(epoch[k]!.histogram.counts, pass[k]!.histogram.counts);
    epoch[k]!.mixture.means.forEach((m, c) => assert.ok(Math.abs(m - pass[k]!.mixture.means[c]!) < 1e-6, `round ${k + 1} mean ${c}`));
  }
  // Training for real, the recorded gaps are the steps' own (the model moves within the epoch): still a full histogram.
  const moving = fit('epoch', 0.01);
  for (const r of moving)
    assert.equal(
      r.histogram.counts.reduce((a, b) => a + b, 0),
      new ConversationData(raw).size('train'),
    );
  assert.throws(() => new GmmGuidedLoss({ gaps: 'steps' }), /gmm\.gaps/);
});
