import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BalancingStrategy, StepContext } from '../balance/strategy.js';
import { makeBatch, dialogueBatches } from '../data/batch.js';
import type { ConversationDataset } from '../data/types.js';
import { clipGradNorm } from '../engine/clip.js';
import * as F from '../engine/functional.js';
import { Adam, AdamW } from '../engine/optim/adam.js';
import { CosineAnnealingLR, ReduceLROnPlateau, StepLR } from '../engine/optim/lr_scheduler.js';
import type { Optimizer } from '../engine/optim/optimizer.js';
import { SGD } from '../engine/optim/sgd.js';
import { manualSeed } from '../engine/runtime.js';
import { keep, scope } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import type { MultimodalModel } from '../models/conversation_model.js';
import type { Callback, EpochRecord, Logger } from './callbacks.js';
import { type LoopState, hasCheckpoint, loadBest, loadCheckpoint, removePartial, saveBest, saveCheckpoint } from './checkpoint.js';
import { type TrainConfig, DEFAULT_TRAIN_CONFIG, checkTrainConfig } from './config.js';
import { type EvalResult, evaluate } from './evaluate.js';
import { ProgressBar } from './progress.js';

/** A run stopped because the loss stopped being a finite number. */
export class TrainingError extends Error {
  override name = 'TrainingError';
}

export interface FitOptions {
  /** Run directory for checkpoints, best weights and metrics; in memory only when absent. */
  outDir?: string;
  /** Continue from outDir's last checkpoint. */
  resume?: boolean;
  callbacks?: Callback[];
  loggers?: Logger[];
  /** Progress bar on stderr (default: when it is a terminal). */
  progress?: boolean;
}

export interface FitResult {
  bestEpoch: number;
  history: EpochRecord[];
  dev: EvalResult;
  test: EvalResult;
  stoppedEarly: boolean;
}

type Scheduler = { kind: 'none' } | { kind: 'plateau'; s: ReduceLROnPlateau } | { kind: 'epoch'; s: StepLR | CosineAnnealingLR };

/**
 * The one training loop. Balancing methods plug in through the strategy's hooks; the loop owns
 * batching, the optimizer, clipping, scheduling, evaluation, early stopping and checkpoints.
 * Epoch e reseeds the generators from (seed, e), so a resumed run repeats the uninterrupted one.
 */
export class Trainer {
  readonly config: TrainConfig;
  readonly optimizer: Optimizer<{ lr: number }>;
  private readonly scheduler: Scheduler;

  constructor(
    readonly model: MultimodalModel,
    readonly data: ConversationDataset,
    readonly strategy: BalancingStrategy,
    config: Partial<TrainConfig> = {},
  ) {
    this.config = checkTrainConfig({ ...DEFAULT_TRAIN_CONFIG, ...config });
    if (data.splits.train.length === 0) throw new Error('the training split has no dialogues');
    if (data.splits.dev.length === 0) throw new Error('the dev split has no dialogues (hold some out with holdOutDev)');
    this.optimizer = this.makeOptimizer();
    this.scheduler = this.makeScheduler();
  }

  /** One parameter group per modality encoder (named after it) and one for the rest ('fusion'). */
  private makeOptimizer(): Optimizer<{ lr: number }> {
    const c = this.config;
    const perModality = this.model.modalityParameters();
    const owned = new Set(Object.values(perModality).flat());
    const groups = [
      ...Object.entries(perModality).map(([name, params]) => ({ name, params })),
      { name: 'fusion', params: this.model.parameters().filter((p) => !owned.has(p)) },
    ].filter((g) => g.params.length > 0);
    if (c.optimizer === 'sgd')
      return new SGD(groups, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay }) as unknown as Optimizer<{ lr: number }>;
    const Cls = c.optimizer === 'adamw' ? AdamW : Adam;
    return new Cls(groups, { lr: c.lr, weightDecay: c.weightDecay }) as unknown as Optimizer<{ lr: number }>;
  }

  private makeScheduler(): Scheduler {
    const c = this.config;
    switch (c.scheduler) {
      case 'plateau':
        return { kind: 'plateau', s: new ReduceLROnPlateau(this.optimizer, { factor: c.schedulerFactor, patience: c.schedulerPatience }) };
      case 'cosine':
        return { kind: 'epoch', s: new CosineAnnealingLR(this.optimizer, c.epochs) };
      case 'step':
        return { kind: 'epoch', s: new StepLR(this.optimizer, c.stepSize, c.schedulerFactor) };
      default:
        return { kind: 'none' };
    }
  }

  private evalOptions() {
    return { modalities: this.model.modalities, dims: this.data.dims, batchSize: this.config.batchSize, numClasses: this.model.numClasses };
  }

  private monitorValue(r: EvalResult): number {
    const m = this.config.monitor;
    return m === 'dev.loss' ? -r.loss : m === 'dev.accuracy' ? r.accuracy : r.weightedF1;
  }

  /** Trains one epoch; returns the mean loss and mean extra-loss terms. */
  private trainEpoch(epoch: number, progress: boolean, callbacks: Callback[]): { loss: number; terms: Record<string, number> } {
    const c = this.config;
    const model = this.model;
    model.train();
    const batches = dialogueBatches(this.data.splits.train, { batchSize: c.batchSize, shuffleSeed: c.seed * 7919 + epoch });
    const bar = new ProgressBar(batches.length, `epoch ${epoch}/${c.epochs}`, progress);
    let lossSum = 0;
    const termSums: Record<string, number> = {};
    try {
      batches.forEach((dlgs, b) => {
        const { loss, terms } = scope(() => {
          const batch = makeBatch(dlgs, model.modalities, this.data.dims);
          const outputs = model.forward(batch);
          const ctx: StepContext = { epoch, batch: b, model, outputs, labels: batch.labels, optimizer: this.optimizer };
          let total = F.crossEntropy(outputs.fused, batch.labels);
          const named: Record<string, Tensor> = { ...outputs.losses, ...this.strategy.extraLosses(ctx) };
          for (const [k, logits] of Object.entries(outputs.auxLogits ?? {})) named[k] = F.crossEntropy(logits, batch.labels);
          if (model.head.unimodalProbes) {
            // Probes see detached features: this term trains them and cannot reach the encoders.
            named.probes = Object.values(outputs.unimodal)
              .map((u) => F.crossEntropy(u, batch.labels))
              .reduce((a, t) => a.add(t));
          }
          for (const t of Object.values(named)) total = total.add(t);
          const value = total.item();
          if (!Number.isFinite(value)) {
            throw new TrainingError(
              `the loss became ${value} at epoch ${epoch}, batch ${b + 1}. The run stopped; the last good checkpoint is kept. ` +
                'Lower the learning rate, or clip gradients (--set train.clipGradNorm=1), and check the data for extreme values.',
            );
          }
          this.optimizer.zeroGrad();
          total.backward();
          if (c.clipGradNorm > 0) clipGradNorm(model.parameters(), c.clipGradNorm);
          this.strategy.afterBackward(ctx);
          this.optimizer.step();
          this.strategy.afterStep(ctx);
          return { loss: value, terms: Object.fromEntries(Object.entries(named).map(([k, t]) => [k, t.item()])) };
        });
        lossSum += loss;
        for (const [k, v] of Object.entries(terms)) termSums[k] = (termSums[k] ?? 0) + v;
        for (const cb of callbacks) cb.onBatchEnd(epoch, b, loss);
        bar.tick({ loss: lossSum / (b + 1) });
      });
    } finally {
      bar.close();
    }
    const n = batches.length;
    return { loss: lossSum / n, terms: Object.fromEntries(Object.entries(termSums).map(([k, v]) => [k, v / n])) };
  }

  fit(o: FitOptions = {}): FitResult {
    const c = this.config;
    const callbacks = o.callbacks ?? [];
    const loggers = o.loggers ?? [];
    const progress = o.progress ?? (Boolean(process.stderr.isTTY) && !process.env.CI);
    if (o.outDir) {
      mkdirSync(o.outDir, { recursive: true });
      removePartial(o.outDir);
    }
    let state: LoopState = {
      epoch: 0,
      bestEpoch: 0,
      bestScore: -Infinity,
      badEpochs: 0,
      history: [],
      scheduler: {},
      strategy: {},
      callbacks: [],
    };
    if (o.resume) {
      if (!o.outDir) throw new Error('resume needs the run directory (outDir)');
      if (!hasCheckpoint(o.outDir)) throw new Error(`nothing to resume in ${o.outDir}: no last checkpoint there`);
      state = loadCheckpoint(o.outDir, this.model, this.optimizer);
      if (this.scheduler.kind !== 'none') this.scheduler.s.loadStateDict(state.scheduler);
      this.strategy.loadStateDict(state.strategy);
      callbacks.forEach((cb, i) => cb.loadStateDict(state.callbacks[i] ?? {}));
    }
    let best: Map<string, Tensor> | null = null;
    const history = state.history as unknown as EpochRecord[];
    if (o.resume) for (const l of loggers) l.restore?.(state.history);
    for (const l of loggers) l.logHyperparams({ method: this.strategy.name, modalities: this.model.modalities, ...c });
    for (const cb of callbacks) cb.onTrainStart();
    let stoppedEarly = false;
    for (let epoch = state.epoch + 1; epoch <= c.epochs; epoch++) {
      manualSeed(c.seed * 1000 + epoch);
      this.strategy.onEpochStart({ epoch, model: this.model, optimizer: this.optimizer });
      for (const cb of callbacks) cb.onEpochStart(epoch);
      const lr = this.optimizer.paramGroups[0]!.lr;
      const t0 = performance.now();
      const train = this.trainEpoch(epoch, progress, callbacks);
      const seconds = (performance.now() - t0) / 1000;
      const dev = evaluate(this.model, this.data.splits.dev, this.evalOptions());
      if (this.scheduler.kind === 'plateau') this.scheduler.s.step(dev.loss);
      else if (this.scheduler.kind === 'epoch') this.scheduler.s.step();
      const record: EpochRecord = {
        epoch,
        seconds,
        trainLoss: train.loss,
        trainLossTerms: train.terms,
        lr,
        dev: { loss: dev.loss, accuracy: dev.accuracy, weightedF1: dev.weightedF1, macroF1: dev.macroF1 },
        unimodalAccuracy: dev.unimodalAccuracy,
        unimodalScore: dev.unimodalScore,
        disparityRatio: dev.disparityRatio,
        strategy: this.strategy.diagnostics(),
        headWeightNorms: this.model.head.classWeightNorms(),
      };
      history.push(record);
      const score = this.monitorValue(dev);
      if (score > state.bestScore) {
        state.bestScore = score;
        state.bestEpoch = epoch;
        state.badEpochs = 0;
        if (o.outDir) saveBest(o.outDir, this.model, epoch);
        else {
          for (const t of best?.values() ?? []) t.dispose();
          best = new Map([...this.model.stateDict()].map(([k, t]) => [k, keep(t.clone())]));
        }
      } else {
        state.badEpochs++;
      }
      this.strategy.onEpochEnd({
        epoch,
        model: this.model,
        optimizer: this.optimizer,
        metrics: record as unknown as Record<string, unknown>,
      });
      for (const cb of callbacks) cb.onEpochEnd(record);
      for (const l of loggers) l.logMetrics(record as unknown as Record<string, unknown>, epoch);
      state.epoch = epoch;
      state.history = history as unknown as Record<string, unknown>[];
      state.scheduler = this.scheduler.kind === 'none' ? {} : this.scheduler.s.stateDict();
      state.strategy = this.strategy.stateDict();
      state.callbacks = callbacks.map((cb) => cb.stateDict());
      if (o.outDir) saveCheckpoint(o.outDir, this.model, this.optimizer, state);
      if (c.patience > 0 && state.badEpochs >= c.patience) {
        stoppedEarly = true;
        break;
      }
    }
    for (const cb of callbacks) cb.onTrainEnd();
    // The reported results come from the best dev epoch's weights.
    if (o.outDir) loadBest(o.outDir, this.model);
    else if (best) this.model.loadStateDict(best);
    const dev = evaluate(this.model, this.data.splits.dev, this.evalOptions());
    const test = evaluate(this.model, this.data.splits.test, this.evalOptions());
    const result: FitResult = { bestEpoch: state.bestEpoch, history, dev, test, stoppedEarly };
    if (o.outDir)
      writeFileSync(
        join(o.outDir, 'summary.json'),
        JSON.stringify(summarize(this.strategy.name, this.model.modalities, result, this.data.classNames), null, 2) + '\n',
      );
    return result;
  }
}

/** summary.json: the shape the CLI and reports read. */
export function summarize(method: string, modalities: string[], r: FitResult, classNames: string[]): Record<string, unknown> {
  return {
    method,
    modalities,
    bestEpoch: r.bestEpoch,
    stoppedEarly: r.stoppedEarly,
    test: { accuracy: r.test.accuracy, weightedF1: r.test.weightedF1, macroF1: r.test.macroF1, perClass: perClass(r.test, classNames) },
    dev: { accuracy: r.dev.accuracy, weightedF1: r.dev.weightedF1 },
    epochs: r.history.map((h) => ({
      epoch: h.epoch,
      seconds: h.seconds,
      trainLoss: h.trainLoss,
      dev: { accuracy: h.dev.accuracy, weightedF1: h.dev.weightedF1 },
      unimodalAccuracy: h.unimodalAccuracy,
      disparityRatio: h.disparityRatio,
    })),
  };
}

function perClass(r: EvalResult, classNames: string[]): Record<string, unknown> {
  return Object.fromEntries(r.perClass.map((c, i) => [classNames[i] ?? String(i), c]));
}
