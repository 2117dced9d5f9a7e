import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BALANCEMLA_DEFAULTS, BalanceMLASchedule, checkBalanceMLAOptions, makeStrategy } from '../../src/balance/index.js';
import type { EpochContext } from '../../src/balance/strategy.js';
import { ClipData } from '../../src/data/clip/dataset.js';
import { saveClips } from '../../src/data/clip/format.js';
import { manualSeed } from '../../src/engine/index.js';
import { BalanceMLAModel } from '../../src/models/balancemla.js';
import { applyPreset, defaultRunConfig, METHOD_VARIANTS, validateRunConfig } from '../../src/train/run_config.js';
import { Trainer } from '../../src/train/trainer.js';
import { twoSequenceClips } from '../fixtures/balancemla/two_sequences.js';
import { runCli } from '../helpers.js';

test('options and phases: unimodal pre-training, then fine-tuning with a reset optimizer at its own learning rate', () => {
  assert.deepEqual(checkBalanceMLAOptions({}), { ...BALANCEMLA_DEFAULTS });
  assert.deepEqual(BALANCEMLA_DEFAULTS, { pretrainEpochs: 25, finetuneEpochs: 5, finetuneLr: 5e-5 });
  assert.throws(() => checkBalanceMLAOptions({ pretrainEpoch: 3 }), /a known option \(pretrainEpochs, finetuneEpochs, finetuneLr\)/);
  assert.throws(() => checkBalanceMLAOptions({ pretrainEpochs: -1 }), /balancemla\.pretrainEpochs/);
  assert.throws(() => checkBalanceMLAOptions({ finetuneEpochs: 0 }), /balancemla\.finetuneEpochs/);
  assert.throws(() => checkBalanceMLAOptions({ finetuneLr: 0 }), /balancemla\.finetuneLr/);
  const s = makeStrategy('balancemla', { pretrainEpochs: 3, finetuneEpochs: 2 });
  assert.ok(s instanceof BalanceMLASchedule);
  assert.deepEqual(
    s.phases().map((p) => [p.name, p.epochs, p.lr, Boolean(p.resetOptimizer), p.selectBest !== false, Boolean(p.trainable)]),
    [
      ['pretrain', 3, undefined, false, false, true],
      ['finetune', 2, 5e-5, true, true, false],
    ],
  );
  assert.deepEqual(
    new BalanceMLASchedule({ pretrainEpochs: 0, finetuneLr: null }).phases().map((p) => [p.name, p.lr]),
    [['finetune', undefined]],
  );
});

test('a short schedule: pre-training leaves the fusion modules bit for bit as they were; fine-tuning starts a fresh optimizer', () => {
  const raw = twoSequenceClips(5, { train: 24, dev: 6, test: 6 });
  const data = new ClipData(raw);
  manualSeed(3);
  const model = new BalanceMLAModel(['audio', 'video'], raw.shapes, 3, {
    hidden: 8,
    layers: 1,
    nhead: 1,
    dimFeedforward: 8,
    dropout: 0,
    brffHeads: 2,
    brffLayers: 1,
  });
  const named = model.namedParameters();
  const isFusion = (n: string): boolean => n.startsWith('brff.') || n.startsWith('decision.');
  const snapshot = (): Map<string, number[]> => new Map(named.map(([n, p]) => [n, p.toArray()]));
  const initial = snapshot();
  const seen: { phase: string; values: Map<string, number[]>; stateSize: number; lrs: number[]; requiresGrad: Map<string, boolean> }[] = [];
  const steps: number[][] = [];
  const alone: boolean[] = [];
  class Watched extends BalanceMLASchedule {
    override onPhaseStart(ctx: EpochContext): void {
      seen.push({
        phase: ctx.phase.name,
        values: snapshot(),
        stateSize: ctx.optimizer.state.size,
        lrs: ctx.optimizer.paramGroups.map((g) => g.lr),
        requiresGrad: new Map(named.map(([n, p]) => [n, p.requiresGrad])),
      });
    }
    override onEpochEnd(ctx: EpochContext): void {
      steps.push([...ctx.optimizer.state.values()].map((s) => s.step));
      alone.push(model.unimodalOnly);
    }
  }
  const s = new Watched({ pretrainEpochs: 2, finetuneEpochs: 1, finetuneLr: 1e-3 });
  const trainer = new Trainer(model, data, s, { epochs: 99, batchSize: 8, optimizer: 'adam', lr: 0.01, patience: 0, scheduler: 'none' });
  const r = trainer.fit();
  assert.deepEqual(
    r.history.map((h) => h.phase),
    ['pretrain', 'pretrain', 'finetune'],
  );
  assert.deepEqual(Object.keys(r.history[0]!.trainLossTerms), ['unimodal.audio', 'unimodal.video']);
  assert.deepEqual(Object.keys(r.history[2]!.trainLossTerms), ['fused', 'branch.audio', 'branch.video']);
  assert.equal(r.bestEpoch, 3, 'pre-training epochs are not candidates for the best checkpoint');
  assert.deepEqual(alone, [true, true, false], 'the branches run alone in pre-training');

  const [pre, fine] = seen as [(typeof seen)[0], (typeof seen)[0]];
  assert.deepEqual([pre.phase, fine.phase], ['pretrain', 'finetune']);
  // Pre-training: only the branches (encoders and their classifiers) train.
  for (const [n] of named) assert.equal(pre.requiresGrad.get(n), !isFusion(n), `${n} trainable in pre-training`);
  for (const [n] of named) {
    if (isFusion(n)) assert.deepEqual(fine.values.get(n), initial.get(n), `${n} unchanged by pre-training`);
    else assert.notDeepEqual(fine.values.get(n), initial.get(n), `${n} trained in pre-training`);
  }
  // 3 batches an epoch: 6 steps of pre-training on the branch parameters only, then a fresh state.
  const branchCount = named.filter(([n]) => !isFusion(n)).length;
  assert.deepEqual(steps[1], new Array<number>(branchCount).fill(6));
  assert.equal(fine.stateSize, 0, 'the optimizer state is reset when fine-tuning starts');
  assert.deepEqual(
    fine.lrs,
    fine.lrs.map(() => 1e-3),
  );
  assert.deepEqual(steps[2], new Array<number>(named.length).fill(3), 'fine-tuning counts its steps from 0, for every parameter');
  for (const [n] of named) assert.equal(fine.requiresGrad.get(n), true);
  const after = snapshot();
  for (const [n] of named) if (isFusion(n)) assert.notDeepEqual(after.get(n), initial.get(n), `${n} trained in fine-tuning`);
});

test("the 'balancemla' preset and method variant", () => {
  const c = validateRunConfig(applyPreset(defaultRunConfig(), 'balancemla'));
  assert.equal(c.method, 'balancemla');
  assert.equal(c.recipe, 'balancemla');
  assert.deepEqual(c.methodOptions, { pretrainEpochs: 25, finetuneEpochs: 5, finetuneLr: 5e-5 });
  assert.equal(c.train.lr, 3e-4);
  assert.equal(c.train.batchSize, 32);
  assert.deepEqual([c.model.brff, c.model.brffLayers, c.model.brffHeads, c.model.decisionFusion], [true, 3, 8, 'category']);
  assert.equal(c.model.hidden % c.model.brffHeads!, 0);
  const v = defaultRunConfig();
  METHOD_VARIANTS.balancemla!.apply(v);
  assert.deepEqual([v.method, v.recipe], ['balancemla', 'balancemla']);
  // The ablations are configuration keys, checked like every other.
  assert.throws(
    () => validateRunConfig({ ...c, model: { ...c.model, decisionFusion: 'classwise' as 'category' } }),
    /model\.decisionFusion/,
  );
});

test('train --preset balancemla through the command line writes a run directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmb-balancemla-'));
  const file = join(dir, 'seq.safetensors');
  saveClips(twoSequenceClips(7, { train: 16, dev: 6, test: 6 }), file);
  const small = ['model.hidden=8', 'model.layers=1', 'model.dimFeedforward=8', 'model.brffHeads=2', 'train.batchSize=8'];
  const sets = (xs: string[]): string[] => xs.flatMap((x) => ['--set', x]);
  const out = join(dir, 'run');
  const r = runCli(
    'train',
    '--preset',
    'balancemla',
    '--data',
    file,
    '--out',
    out,
    '--quiet',
    ...sets([...small, 'methodOptions.pretrainEpochs=2', 'methodOptions.finetuneEpochs=2']),
  );
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['config.json', 'summary.json', 'metrics.jsonl', 'predictions.safetensors']) assert.ok(existsSync(join(out, f)), f);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.strategy, 'balancemla');
  assert.equal(summary.recipe, 'balancemla');
  assert.deepEqual(summary.phases, [
    { name: 'pretrain', epochs: 2 },
    { name: 'finetune', epochs: 2 },
  ]);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { phase: string; lr: number; unimodalAccuracy?: Record<string, number> });
  assert.deepEqual(
    lines.map((l) => [l.phase, l.lr]),
    [
      ['pretrain', 3e-4],
      ['pretrain', 3e-4],
      ['finetune', 5e-5],
      ['finetune', 5e-5],
    ],
  );
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.preset, 'balancemla');
  // The ablations through the configuration.
  const ablated = runCli(
    'train',
    '--preset',
    'balancemla',
    '--data',
    file,
    '--out',
    join(dir, 'equal'),
    '--quiet',
    ...sets([
      ...small,
      'model.brff=false',
      'model.decisionFusion=equal',
      'methodOptions.pretrainEpochs=1',
      'methodOptions.finetuneEpochs=1',
    ]),
  );
  assert.equal(ablated.status, 0, ablated.stderr);
});
