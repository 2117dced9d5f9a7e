import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BalancingStrategy, JointTraining, type StepContext, makeStrategy } from '../../src/balance/strategy.js';
import { manualSeed, noGrad, type Tensor, tensor } from '../../src/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { ConversationModel } from '../../src/models/conversation_model.js';
import { TrainingError, Trainer } from '../../src/train/trainer.js';
import { JsonlLogger } from '../../src/train/loggers.js';
import { tinyDataset } from '../tiny_data.js';

const ds = tinyDataset(11);
const modelConfig = { hidden: 8, layers: 1, dimFeedforward: 16, dropout: 0.1 };
const trainConfig = { epochs: 4, batchSize: 4, lr: 3e-3, seed: 3, patience: 0, scheduler: 'none' as const };

function newModel(): ConversationModel {
  manualSeed(5);
  return new ConversationModel(['a', 'b'], ds.dims, 3, modelConfig);
}

function weights(m: ConversationModel): number[] {
  return m.parameters().flatMap((p) => p.toArray());
}

test('joint training learns the strong modality and writes a complete run directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmb-run-'));
  const r = new Trainer(newModel(), ds, new JointTraining(), { ...trainConfig, epochs: 6 }).fit({
    outDir: dir,
    loggers: [new JsonlLogger(join(dir, 'metrics.jsonl'))],
  });
  assert.equal(r.history.length, 6);
  assert.ok(r.history[5]!.trainLoss < r.history[0]!.trainLoss, 'loss went down');
  assert.ok(r.test.accuracy > 0.6, `test accuracy ${r.test.accuracy}`);
  assert.ok(r.test.unimodalAccuracy.a! > r.test.unimodalAccuracy.b!, 'the strong modality is ahead');
  for (const f of ['best.safetensors', 'last.safetensors', 'last.optim.safetensors', 'summary.json', 'metrics.jsonl'])
    assert.ok(existsSync(join(dir, f)), f);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.method, 'joint');
  assert.deepEqual(summary.modalities, ['a', 'b']);
  assert.equal(summary.epochs.length, 6);
  for (const k of ['accuracy', 'weightedF1', 'macroF1']) assert.ok(summary.test[k] >= 0 && summary.test[k] <= 1, k);
  assert.deepEqual(Object.keys(summary.test.perClass), ['c0', 'c1', 'c2']);
  assert.ok(summary.epochs[0].seconds > 0);
  assert.deepEqual(Object.keys(summary.epochs[0].disparityRatio).sort(), ['a', 'b']);
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 6);
  // Per-modality, per-class head weight norms are recorded every epoch (Ada2I's figure 5).
  const norms = JSON.parse(lines[5]!).headWeightNorms as Record<string, number[]>;
  assert.deepEqual(Object.keys(norms), ['a', 'b']);
  assert.equal(norms.a!.length, 3);
  assert.ok(norms.a!.every((v) => v > 0));
  // The best weights are the best dev epoch's; the dev score reported equals that epoch's.
  const best = r.history[r.bestEpoch - 1]!;
  assert.ok(Math.abs(best.dev.weightedF1 - r.dev.weightedF1) < 1e-9);
  assert.equal(readSafetensors(join(dir, 'best.safetensors')).metadata.epoch, String(r.bestEpoch));
});

test('--resume continues exactly: 2 epochs + resume to 4 equals 4 straight epochs', () => {
  const a = mkdtempSync(join(tmpdir(), 'mmb-a-'));
  const b = mkdtempSync(join(tmpdir(), 'mmb-b-'));
  const straight = newModel();
  const ra = new Trainer(straight, ds, new JointTraining(), trainConfig).fit({ outDir: a });
  new Trainer(newModel(), ds, new JointTraining(), { ...trainConfig, epochs: 2 }).fit({ outDir: b });
  const resumedModel = newModel();
  const rb = new Trainer(resumedModel, ds, new JointTraining(), trainConfig).fit({ outDir: b, resume: true });
  assert.deepEqual(
    rb.history.map((h) => h.trainLoss),
    ra.history.map((h) => h.trainLoss),
  );
  assert.deepEqual(
    readSafetensors(join(a, 'last.safetensors')).tensors.get('head.fc.weight')!.toArray(),
    readSafetensors(join(b, 'last.safetensors')).tensors.get('head.fc.weight')!.toArray(),
  );
  assert.equal(rb.test.weightedF1, ra.test.weightedF1);
  assert.throws(
    () =>
      new Trainer(newModel(), ds, new JointTraining(), trainConfig).fit({ outDir: mkdtempSync(join(tmpdir(), 'mmb-c-')), resume: true }),
    /nothing to resume/,
  );
});

class NaNAt extends BalancingStrategy {
  readonly name = 'nan-at';
  constructor(readonly epoch: number) {
    super();
  }
  override extraLosses(ctx: StepContext): Record<string, Tensor> {
    return ctx.epoch === this.epoch ? { bad: tensor(NaN) } : {};
  }
}

test('a NaN loss stops the run naming epoch and batch, and keeps the last good checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmb-nan-'));
  assert.throws(
    () => new Trainer(newModel(), ds, new NaNAt(3), trainConfig).fit({ outDir: dir }),
    (e: Error) => e instanceof TrainingError && /NaN at epoch 3, batch 1/.test(e.message),
  );
  const loop = JSON.parse(readSafetensors(join(dir, 'last.safetensors')).metadata.mmbalanceLoop!);
  assert.equal(loop.epoch, 2);
});

class Recorder extends BalancingStrategy {
  readonly name = 'recorder';
  readonly calls: string[] = [];
  override onEpochStart(): void {
    this.calls.push('start');
  }
  override extraLosses(ctx: StepContext): Record<string, Tensor> {
    this.calls.push('loss');
    assert.equal(ctx.outputs.fused.shape[0], ctx.labels.shape[0]);
    return { zero: ctx.outputs.fused.sum().mul(0) };
  }
  override afterBackward(ctx: StepContext): void {
    this.calls.push('after');
    // Freeze modality b: its encoder must not move.
    noGrad(() => {
      for (const p of ctx.model.modalityParameters().b!) p.grad?.zero_();
    });
  }
  override afterStep(): void {
    this.calls.push('step');
  }
  override onEpochEnd(): void {
    this.calls.push('end');
  }
  override diagnostics(): Record<string, unknown> {
    return { calls: this.calls.length };
  }
}

test("strategy hooks run in order; afterBackward can act on one modality's encoder gradients", () => {
  const model = newModel();
  const before = model.modalityParameters().b!.map((p) => p.toArray());
  const beforeA = model.modalityParameters().a!.map((p) => p.toArray());
  const s = new Recorder();
  const r = new Trainer(model, ds, s, { ...trainConfig, epochs: 1, optimizer: 'sgd', weightDecay: 0 }).fit();
  assert.deepEqual(s.calls.slice(0, 5), ['start', 'loss', 'after', 'step', 'loss']);
  assert.equal(s.calls.at(-1), 'end');
  assert.deepEqual(
    model.modalityParameters().b!.map((p) => p.toArray()),
    before,
  );
  assert.notDeepEqual(
    model.modalityParameters().a!.map((p) => p.toArray()),
    beforeA,
  );
  assert.ok((r.history[0]!.strategy.calls as number) > 0);
  assert.deepEqual(Object.keys(r.history[0]!.trainLossTerms), ['fused', 'zero']);
});

test('the strategy registry names the known methods on a typo', () => {
  assert.equal(makeStrategy('joint').name, 'joint');
  assert.throws(() => makeStrategy('jiont'), /unknown balancing method 'jiont'; known: joint/);
  assert.throws(
    () => new Trainer(newModel(), ds, new JointTraining(), { epochs: 0 }),
    /Expected integer >= 1 for train.epochs but received 0/,
  );
  assert.ok(weights(newModel()).length > 0);
});
