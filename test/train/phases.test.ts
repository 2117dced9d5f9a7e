/**
 * What the redrawn contract lets a method do: stages with an optimizer reset and their own
 * learning rate and trainable parameters, a per-sample loss looked up by sample id, and a no-grad
 * pass over the training split at a stage's start (a GMM round's shape).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BalancingStrategy, type EpochContext, type Phase, type StepContext } from '../../src/balance/strategy.js';
import { ConversationData } from '../../src/data/conversation/dataset.js';
import * as F from '../../src/engine/functional.js';
import { fromTypedArray, manualSeed, noGrad, type Tensor } from '../../src/index.js';
import { ConversationModel } from '../../src/models/conversation_model.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyDataset } from '../tiny_data.js';

const raw = tinyDataset(21);
const data = new ConversationData(raw);
const trainLabels = data.labels('train');

function newModel(): ConversationModel {
  manualSeed(4);
  return new ConversationModel(['a', 'b'], raw.dims, 3, { hidden: 8, layers: 1, dimFeedforward: 16, dropout: 0 });
}

const snapshot = (ps: Tensor[]): number[][] => ps.map((p) => p.toArray());

/** Warm-up on modality a's encoder alone, then an adaptive stage with per-sample weights from a pass over train. */
class Staged extends BalancingStrategy {
  readonly name = 'staged';
  readonly log: string[] = [];
  weights: Float32Array | null = null;
  predictRows = 0;
  predictIds: number[] = [];
  labelMismatches = 0;
  seenIds: number[] = [];
  firstStepAfterReset: number | null = null;
  lrInAdaptive: number | null = null;
  bAfterWarmup: number[][] | null = null;

  override phases(): Phase[] {
    return [
      {
        name: 'warmup',
        epochs: 1,
        selectBest: false,
        trainable: (m) => [
          ...m.modalityParameters().a!,
          ...m.parameters().filter((p) => !Object.values(m.modalityParameters()).flat().includes(p)),
        ],
      },
      { name: 'adaptive', epochs: 2, resetOptimizer: true, lr: 0.002, scheduler: 'none' },
    ];
  }

  override onPhaseStart(ctx: EpochContext): void {
    this.log.push(`phase ${ctx.phase.name} at epoch ${ctx.epoch}`);
    if (ctx.phase.name !== 'adaptive') return;
    this.bAfterWarmup = snapshot(ctx.model.modalityParameters().b!);
    const p = ctx.predict('train');
    try {
      this.predictRows = p.fused.shape[0]!;
      this.predictIds = p.index.toArray();
      assert.deepEqual(p.labels.toArray(), Array.from(trainLabels));
      // Per-sample weight: the fused probability of the true class (no gradient, looked up by id later).
      const probs = noGrad(() => p.fused.softmax(1).gather(1, p.labels.unsqueeze(1)).squeeze(1)).toArray();
      this.weights = Float32Array.from(probs);
    } finally {
      p.dispose();
    }
  }

  override onEpochStart(ctx: EpochContext): void {
    this.log.push(`epoch ${ctx.epoch} (${ctx.phase.name})`);
    this.seenIds = [];
  }

  override loss(ctx: StepContext): Record<string, Tensor> {
    const ids = ctx.batch.index.toArray();
    const labels = ctx.labels.toArray();
    ids.forEach((id, k) => {
      if (trainLabels[id] !== labels[k]) this.labelMismatches++;
    });
    this.seenIds.push(...ids);
    if (ctx.phase.name !== 'adaptive') return super.loss(ctx);
    const w = fromTypedArray(Float32Array.from(ids, (id) => this.weights![id]!));
    return { weighted: F.crossEntropy(ctx.outputs.fused, ctx.labels, { reduction: 'none' }).mul(w).mean() };
  }

  override afterStep(ctx: StepContext): void {
    if (ctx.phase.name === 'adaptive' && this.firstStepAfterReset === null) {
      const p = ctx.model.parameters()[0]!;
      this.firstStepAfterReset = ctx.optimizer.state.get(p)!.step;
      this.lrInAdaptive = ctx.optimizer.paramGroups[0]!.lr;
    }
  }

  // The per-sample weights are the method's state: saved in checkpoints so a resumed stage has them.
  override stateDict(): Record<string, unknown> {
    return { weights: this.weights ? Array.from(this.weights) : null };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.weights = Array.isArray(state.weights) ? Float32Array.from(state.weights as number[]) : null;
  }

  override onEpochEnd(): void {
    assert.deepEqual(
      [...this.seenIds].sort((x, y) => x - y),
      Array.from({ length: trainLabels.length }, (_, i) => i),
      'every training sample once per epoch',
    );
  }
}

test('phases: trainable subsets, an optimizer reset with its own lr, a per-sample loss by sample id, predict(train)', () => {
  const model = newModel();
  const b0 = snapshot(model.modalityParameters().b!);
  const a0 = snapshot(model.modalityParameters().a!);
  const s = new Staged();
  const r = new Trainer(model, data, s, { epochs: 99, batchSize: 4, lr: 0.01, seed: 3, patience: 0, weightDecay: 0 }).fit();
  assert.deepEqual(s.log, [
    'phase warmup at epoch 1',
    'epoch 1 (warmup)',
    'phase adaptive at epoch 2',
    'epoch 2 (adaptive)',
    'epoch 3 (adaptive)',
  ]);
  assert.deepEqual(
    r.history.map((h) => h.phase),
    ['warmup', 'adaptive', 'adaptive'],
  );
  // Warm-up trained a's encoder and the head, not b's encoder; the adaptive stage trains everything.
  assert.deepEqual(s.bAfterWarmup, b0, "b's encoder frozen during warm-up");
  assert.notDeepEqual(snapshot(model.modalityParameters().a!), a0);
  assert.notDeepEqual(snapshot(model.modalityParameters().b!), b0);
  assert.ok(r.bestEpoch >= 2, 'the warm-up epoch is never the best checkpoint');
  assert.equal(s.firstStepAfterReset, 1, 'Adam restarted its step count');
  assert.equal(s.lrInAdaptive, 0.002);
  assert.equal(s.predictRows, trainLabels.length);
  assert.deepEqual(
    s.predictIds,
    Array.from({ length: trainLabels.length }, (_, i) => i),
  );
  assert.equal(s.labelMismatches, 0, 'batch.index names each sample of the split');
  assert.deepEqual(Object.keys(r.history[0]!.trainLossTerms), ['fused']);
  assert.deepEqual(Object.keys(r.history[1]!.trainLossTerms), ['weighted']);
  // Weighting every sample by a weight in (0, 1) lowers the loss below the plain cross entropy's.
  assert.ok(r.history[1]!.trainLoss < r.history[0]!.trainLoss);
});

test('phases resume exactly: interrupted after epoch 2 of 3 and resumed equals straight', () => {
  const a = mkdtempSync(join(tmpdir(), 'mmb-ph-a-'));
  const b = mkdtempSync(join(tmpdir(), 'mmb-ph-b-'));
  const cfg = { epochs: 99, batchSize: 4, lr: 0.01, seed: 3, patience: 0, weightDecay: 0 };
  const straight = new Trainer(newModel(), data, new Staged(), cfg).fit({ outDir: a });
  class Interrupt extends Staged {
    override onEpochStart(ctx: EpochContext): void {
      if (ctx.epoch === 3) throw new Error('interrupted');
      super.onEpochStart(ctx);
    }
  }
  assert.throws(() => new Trainer(newModel(), data, new Interrupt(), cfg).fit({ outDir: b }), /interrupted/);
  const s = new Staged();
  const resumed = new Trainer(newModel(), data, s, cfg).fit({ outDir: b, resume: true });
  // Resumed inside the adaptive stage: its weights come from the checkpoint, not a new pass.
  assert.deepEqual(s.log, ['epoch 3 (adaptive)']);
  assert.deepEqual(
    resumed.history.map((h) => h.trainLoss),
    straight.history.map((h) => h.trainLoss),
  );
  assert.equal(resumed.test.accuracy, straight.test.accuracy);
});
