import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BalancingStrategy, type EpochContext, type Phase, type StepContext } from '../balance/strategy.js';
import { ConversationData } from '../data/conversation/dataset.js';
import { type Batch, type MultimodalDataset, type SplitName, batchTo } from '../data/dataset.js';
import type { ConversationDataset } from '../data/types.js';
import { clipGradNorm } from '../engine/clip.js';
import { GradEdits } from '../engine/grad_edits.js';
import { Adam, AdamW } from '../engine/optim/adam.js';
import { CosineAnnealingLR, ReduceLROnPlateau, type SchedulerKind, StepLR } from '../engine/optim/lr_scheduler.js';
import type { Optimizer } from '../engine/optim/optimizer.js';
import { SGD } from '../engine/optim/sgd.js';
import type { ProcessGroup } from '../engine/dist.js';
import { manualSeed } from '../engine/runtime.js';
import { keep, scope } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import type { MultimodalModel } from '../models/model.js';
import type { Callback, EpochRecord, Logger } from './callbacks.js';
import { type LoopState, hasCheckpoint, loadBest, loadCheckpoint, removePartial, saveBest, saveCheckpoint } from './checkpoint.js';
import { type TrainConfig, DEFAULT_TRAIN_CONFIG, checkTrainConfig } from './config.js';
import { type EvalResult, evaluate, predictSplit, scorePredictions } from './evaluate.js';
import { savePredictions } from './predictions.js';
import { RidgeProbes } from './probes.js';
import { ProgressBar } from './progress.js';
import { makeDirs } from '../io/dirs.js';

/** A run stopped because the loss stopped being a finite number. */
export class TrainingError extends Error {
  override name = 'TrainingError';
}

export interface FitOptions {
  /** Run directory for checkpoints, best weights, metrics and predictions; in memory only when absent. */
  outDir?: string;
  /** Continue from outDir's last checkpoint. */
  resume?: boolean;
  callbacks?: Callback[];
  loggers?: Logger[];
  /** Progress bar on stderr (default: when it is a terminal). */
  progress?: boolean;
  /** The method's name as the user chose it (summary.json's `method`); the strategy's own name by default. */
  method?: string;
  /** More fields for summary.json (versions, the data file and its checksum...). */
  summary?: Record<string, unknown>;
}

export interface FitResult {
  bestEpoch: number;
  history: EpochRecord[];
  dev: EvalResult;
  test: EvalResult;
  stoppedEarly: boolean;
  /** Why training ended: 'completed', 'early-stopping' (patience ran out in the last phase). */
  stopReason: 'completed' | 'early-stopping';
}

type Scheduler = { kind: 'none' } | { kind: 'plateau'; s: ReduceLROnPlateau } | { kind: 'epoch'; s: StepLR | CosineAnnealingLR };

/** What one training step returns: the summed loss and each term's value. */
export interface StepResult {
  loss: number;
  terms: Record<string, number>;
}

/**
 * The one training loop. Balancing methods plug in through the strategy's hooks; the loop owns
 * batching, devices, the optimizer, clipping, phases, scheduling, evaluation, early stopping,
 * checkpoints and per-sample predictions. Epoch e reseeds the generators from (seed, e), so a
 * resumed run repeats the uninterrupted one.
 */
export class Trainer {
  readonly config: TrainConfig;
  readonly data: MultimodalDataset;
  readonly optimizer: Optimizer<{ lr: number }>;
  readonly phases: Phase[];
  private scheduler: Scheduler = { kind: 'none' };
  /** Where the running step is: set by fit() before each epoch, read by step(). */
  private position: { epoch: number; phase: Phase; step: number };
  private probes: RidgeProbes | null = null;
  /** Data-parallel training: this worker's process group (null in one process). */
  private group: ProcessGroup | null = null;

  constructor(
    readonly model: MultimodalModel,
    data: MultimodalDataset | ConversationDataset,
    readonly strategy: BalancingStrategy,
    config: Partial<TrainConfig> = {},
  ) {
    this.config = checkTrainConfig({ ...DEFAULT_TRAIN_CONFIG, ...config });
    this.data = 'batches' in data ? data : new ConversationData(data, model.modalities);
    if (this.data.size('train') === 0) throw new Error('the training split has no samples');
    if (this.data.size('dev') === 0) throw new Error('the dev split has no samples (hold some out: data.devFraction)');
    for (const m of model.modalities)
      if (!this.data.modalities.includes(m))
        throw new Error(`the model uses modality '${m}', which the data lacks (it has ${this.data.modalities.join(', ')})`);
    if (this.config.device !== 'cpu') model.to({ device: this.config.device });
    this.optimizer = this.makeOptimizer();
    this.phases = strategy.phases(this.config);
    if (this.phases.length === 0 || this.phases.some((p) => !Number.isInteger(p.epochs) || p.epochs < 1))
      throw new Error(
        `the method '${strategy.name}' gave phases without epochs: ${JSON.stringify(this.phases.map((p) => [p.name, p.epochs]))}`,
      );
    this.position = { epoch: 0, phase: this.phases[0]!, step: 0 };
  }

  /**
   * Makes this trainer one worker of data-parallel training (before fit): it trains on its shard
   * of every global batch, gradients and the strategy's batch statistics are summed across the
   * group, and only rank 0 writes the run directory.
   */
  setProcessGroup(group: ProcessGroup | null): void {
    this.group = group !== null && group.worldSize > 1 ? group : null;
  }

  /** Epochs over all phases. */
  get totalEpochs(): number {
    return this.phases.reduce((a, p) => a + p.epochs, 0);
  }

  /** One parameter group per modality encoder (named after it) and one for the rest ('fusion'). */
  private makeOptimizer(): Optimizer<{ lr: number }> {
    const c = this.config;
    const perModality = this.model.modalityParameters('encoder');
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

  private makeScheduler(kind: SchedulerKind, epochs: number): Scheduler {
    const c = this.config;
    switch (kind) {
      case 'plateau':
        return { kind: 'plateau', s: new ReduceLROnPlateau(this.optimizer, { factor: c.schedulerFactor, patience: c.schedulerPatience }) };
      case 'cosine':
        return { kind: 'epoch', s: new CosineAnnealingLR(this.optimizer, epochs) };
      case 'step':
        return { kind: 'epoch', s: new StepLR(this.optimizer, c.stepSize, c.schedulerFactor) };
      default:
        return { kind: 'none' };
    }
  }

  /** Sets the phase's learning rate, optimizer state, trainable parameters and schedule. */
  private enterPhase(phase: Phase, fresh: boolean): void {
    if (fresh) {
      if (phase.lr !== undefined) for (const g of this.optimizer.paramGroups) g.lr = phase.lr;
      if (phase.resetOptimizer) this.optimizer.resetState();
    }
    const trainable = phase.trainable ? new Set(phase.trainable(this.model)) : null;
    for (const p of this.model.parameters()) p.requiresGrad_(trainable === null || trainable.has(p));
    this.scheduler = this.makeScheduler(phase.scheduler ?? this.config.scheduler, phase.epochs);
  }

  private monitorValue(r: EvalResult): number {
    const m = this.config.monitor;
    return m === 'dev.loss' ? -r.loss : m === 'dev.accuracy' ? r.accuracy : r.weightedF1;
  }

  private epochContext(epoch: number, phase: Phase, metrics?: Record<string, unknown>): EpochContext {
    return {
      epoch,
      phase,
      model: this.model,
      optimizer: this.optimizer,
      metrics,
      predict: (split: SplitName) => predictSplit(this.model, this.data, split, this.evalOptions()),
    };
  }

  private evalOptions(onBatch?: () => void) {
    return { batchSize: this.config.batchSize, device: this.config.device, onBatch };
  }

  /**
   * One optimisation step on one batch: forward, the strategy's loss, backward, clipping, the
   * strategy's gradient hook, the optimizer step. The seam where data-parallel training reduces
   * gradients. Runs inside the caller's scope: tensors made here are freed with it.
   */
  step(batch: Batch): StepResult {
    const c = this.config;
    const model = this.model;
    const group = this.group;
    const { epoch, phase, step } = this.position;
    const onDevice = c.device === 'cpu' ? batch : batchTo(batch, c.device);
    const outputs = model.forward(onDevice);
    const replicas = batch.replicas ?? 1;
    const batchSum =
      group === null ? (v: readonly number[]) => [...v] : (v: readonly number[]) => group.sumNumbers(v).map((x) => x / replicas);
    const ctx: StepContext = {
      epoch,
      step,
      phase,
      model,
      batch: onDevice,
      outputs,
      labels: onDevice.labels,
      optimizer: this.optimizer,
      batchSum,
    };
    const named = this.strategy.loss(ctx);
    const terms = Object.values(named);
    if (terms.length === 0) throw new Error(`the method '${this.strategy.name}' gave no loss terms`);
    const total = terms.slice(1).reduce((a, t) => a.add(t), terms[0]!);
    let value = total.item();
    let termValues = Object.fromEntries(Object.entries(named).map(([k, t]) => [k, t.item()]));
    // Data-parallel: the global batch's loss is the mean over all its samples, so each worker's
    // mean gradient is weighed by its share of them (exact with shards of unequal size, and an
    // average over the copies of a replicated batch). Every worker sees the same global loss, so
    // a non-finite one stops all of them at the same step.
    let share = 1;
    if (group !== null) {
      const n = onDevice.labels.shape[0]!;
      const names = Object.keys(termValues);
      const sums = group.sumNumbers([n, n * value, ...names.map((k) => n * termValues[k]!)]);
      value = sums[1]! / sums[0]!;
      termValues = Object.fromEntries(names.map((k, i) => [k, sums[i + 2]! / sums[0]!]));
      share = n / sums[0]!;
    }
    if (!Number.isFinite(value)) {
      throw new TrainingError(
        `the loss became ${value} at epoch ${epoch}, batch ${step + 1}. The run stopped; the last good checkpoint is kept. ` +
          'Lower the learning rate, or clip gradients (--set train.clipGradNorm=1), and check the data for extreme values.',
      );
    }
    this.optimizer.zeroGrad();
    total.backward();
    if (group !== null) reduceGradients(group, model.parameters(), share);
    // A strategy that works on pending edits gets clipping as one more edit: the fused optimizer
    // then applies clipping, scaling and noise as it reads each gradient, with no pass of its own.
    const edits = this.strategy.takesPendingGradients ? new GradEdits(model.parameters()) : null;
    if (c.clipGradNorm > 0) {
      if (edits) edits.clipNorm(c.clipGradNorm);
      else clipGradNorm(model.parameters(), c.clipGradNorm);
    }
    if (edits) ctx.gradients = edits;
    this.strategy.afterBackward(ctx);
    this.optimizer.step(edits);
    this.strategy.afterStep(ctx);
    if (this.probes && outputs.features) this.probes.accumulate(outputs.features, onDevice.labels);
    return { loss: value, terms: termValues };
  }

  /**
   * Data-parallel: every worker takes rank 0's weights and buffers (at the start, after a resume),
   * and rank 0's buffers before each evaluation (BatchNorm's running statistics are gathered from
   * each worker's own shard, as PyTorch's DDP without SyncBatchNorm; evaluating with rank 0's keeps
   * every worker's dev scores, best epoch and early stopping the same).
   */
  private syncFromRankZero(buffersOnly: boolean): void {
    if (this.group === null) return;
    const buffers = this.model.namedBuffers().map(([, b]) => b);
    const tensors = buffersOnly ? buffers : [...this.model.parameters(), ...buffers];
    for (const same of byDtype(tensors)) this.group.broadcast(same, 0);
  }

  /** Trains one epoch; returns the mean loss and the mean of each term. */
  private trainEpoch(epoch: number, bar: ProgressBar, callbacks: Callback[]): StepResult {
    const c = this.config;
    this.model.train();
    let lossSum = 0;
    let n = 0;
    const termSums: Record<string, number> = {};
    const shard = this.group === null ? undefined : { rank: this.group.rank, count: this.group.worldSize };
    for (const batch of this.data.batches('train', { batchSize: c.batchSize, shuffleSeed: c.seed * 7919 + epoch, shard })) {
      this.position.step = n;
      const { loss, terms } = scope(() => this.step(batch));
      lossSum += loss;
      for (const [k, v] of Object.entries(terms)) termSums[k] = (termSums[k] ?? 0) + v;
      for (const cb of callbacks) cb.onBatchEnd(epoch, n, loss);
      n++;
      bar.tick({ loss: lossSum / n });
    }
    return { loss: lossSum / n, terms: Object.fromEntries(Object.entries(termSums).map(([k, v]) => [k, v / n])) };
  }

  fit(o: FitOptions = {}): FitResult {
    const c = this.config;
    const callbacks = o.callbacks ?? [];
    const loggers = o.loggers ?? [];
    const progress = o.progress ?? (Boolean(process.stderr.isTTY) && !process.env.CI);
    const started = new Date();
    // Data-parallel: rank 0 alone writes the run directory; the others read it to resume.
    const writeDir = this.group === null || this.group.rank === 0 ? o.outDir : undefined;
    if (writeDir) {
      makeDirs(writeDir);
      removePartial(writeDir);
    }
    let state: LoopState = {
      epoch: 0,
      phase: 0,
      phaseEpoch: 0,
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
      state = { ...state, ...loadCheckpoint(o.outDir, this.model, this.optimizer) };
    }
    this.syncFromRankZero(false);
    let best: Map<string, Tensor> | null = null;
    const history = state.history as unknown as EpochRecord[];
    if (o.resume) for (const l of loggers) l.restore?.(state.history);
    for (const l of loggers) l.logHyperparams({ method: o.method ?? this.strategy.name, modalities: this.model.modalities, ...c });
    for (const cb of callbacks) cb.onTrainStart();
    this.probes = c.probes ? new RidgeProbes(this.data.classNames.length) : null;
    let stopReason: FitResult['stopReason'] = 'completed';
    let epoch = state.epoch;
    for (let pi = state.phase; pi < this.phases.length; pi++) {
      const phase = this.phases[pi]!;
      const resuming = o.resume === true && pi === state.phase && state.phaseEpoch > 0;
      this.enterPhase(phase, !resuming);
      if (resuming) {
        if (this.scheduler.kind !== 'none') this.scheduler.s.loadStateDict(state.scheduler);
        this.strategy.loadStateDict(state.strategy);
        callbacks.forEach((cb, i) => cb.loadStateDict(state.callbacks[i] ?? {}));
      } else {
        state.phaseEpoch = 0;
        state.badEpochs = 0;
        if (o.resume && pi === state.phase) {
          this.strategy.loadStateDict(state.strategy);
          callbacks.forEach((cb, i) => cb.loadStateDict(state.callbacks[i] ?? {}));
        }
        this.strategy.onPhaseStart(this.epochContext(epoch + 1, phase));
      }
      let phaseStopped = false;
      for (let pe = state.phaseEpoch + 1; pe <= phase.epochs; pe++) {
        epoch++;
        this.position = { epoch, phase, step: 0 };
        manualSeed(c.seed * 1000 + epoch);
        this.strategy.onEpochStart(this.epochContext(epoch, phase));
        for (const cb of callbacks) cb.onEpochStart(epoch);
        this.probes?.reset();
        const lr = this.optimizer.paramGroups[0]!.lr;
        const t0 = performance.now();
        const timestamp = new Date().toISOString();
        const bar = new ProgressBar(
          this.data.numBatches('train', { batchSize: c.batchSize }) + this.data.numBatches('dev', { batchSize: c.batchSize }) + 1,
          `epoch ${epoch}/${this.totalEpochs}${this.phases.length > 1 ? ` (${phase.name})` : ''}`,
          progress,
        );
        let record: EpochRecord;
        let dev: EvalResult;
        try {
          const train = this.trainEpoch(epoch, bar, callbacks);
          const seconds = (performance.now() - t0) / 1000;
          this.syncFromRankZero(true);
          const devPred = predictSplit(
            this.model,
            this.data,
            'dev',
            this.evalOptions(() => bar.tick()),
          );
          let probeAccuracy: Record<string, number> | null = null;
          try {
            dev = scorePredictions(devPred, this.data.classNames.length);
            const weights = this.probes?.fit() ?? null;
            if (weights) probeAccuracy = RidgeProbes.score(weights, devPred.features, devPred.labels, this.data.classNames.length);
          } finally {
            devPred.dispose();
          }
          if (this.scheduler.kind === 'plateau') this.scheduler.s.step(dev.loss);
          else if (this.scheduler.kind === 'epoch') this.scheduler.s.step();
          record = {
            epoch,
            phase: phase.name,
            timestamp,
            seconds,
            wallSeconds: 0,
            trainLoss: train.loss,
            trainLossTerms: train.terms,
            lr,
            dev: { loss: dev.loss, accuracy: dev.accuracy, weightedF1: dev.weightedF1, macroF1: dev.macroF1 },
            unimodalAccuracy: dev.unimodalAccuracy,
            probeAccuracy,
            unimodalScore: dev.unimodalScore,
            disparityRatio: dev.disparityRatio,
            strategy: this.strategy.diagnostics(),
            headWeightNorms: this.model.classWeightNorms(),
          };
          const selecting = selects(phase);
          if (selecting && this.monitorValue(dev) > state.bestScore) {
            state.bestScore = this.monitorValue(dev);
            state.bestEpoch = epoch;
            state.badEpochs = 0;
            if (writeDir) saveBest(writeDir, this.model, epoch);
            else {
              for (const t of best?.values() ?? []) t.dispose();
              best = new Map([...this.model.stateDict()].map(([k, t]) => [k, keep(t.clone())]));
            }
          } else if (selecting) {
            state.badEpochs++;
          }
          this.strategy.onEpochEnd(this.epochContext(epoch, phase, record as unknown as Record<string, unknown>));
          for (const cb of callbacks) cb.onEpochEnd(record);
          state.epoch = epoch;
          state.phase = pi;
          state.phaseEpoch = pe;
          record.wallSeconds = (performance.now() - t0) / 1000;
          history.push(record);
          state.history = history as unknown as Record<string, unknown>[];
          state.scheduler = this.scheduler.kind === 'none' ? {} : this.scheduler.s.stateDict();
          state.strategy = this.strategy.stateDict();
          state.callbacks = callbacks.map((cb) => cb.stateDict());
          if (writeDir) saveCheckpoint(writeDir, this.model, this.optimizer, state);
          bar.tick();
        } finally {
          bar.close();
        }
        for (const l of loggers) l.logMetrics(record as unknown as Record<string, unknown>, epoch);
        if (selects(phase) && c.patience > 0 && state.badEpochs >= c.patience) {
          phaseStopped = true;
          break;
        }
      }
      if (phaseStopped && pi === this.phases.length - 1) stopReason = 'early-stopping';
      // The next phase starts afresh (resume state applies to the phase it was saved in only).
      state.phaseEpoch = 0;
      if (phaseStopped && pi < this.phases.length - 1) {
        state.phase = pi + 1;
        if (writeDir) saveCheckpoint(writeDir, this.model, this.optimizer, state);
      }
    }
    for (const p of this.model.parameters()) p.requiresGrad_(true);
    this.probes?.reset();
    for (const cb of callbacks) cb.onTrainEnd();
    // The reported results come from the best dev epoch's weights (the last ones if no phase selected any).
    if (writeDir && state.bestEpoch > 0) loadBest(writeDir, this.model);
    else if (best) this.model.loadStateDict(best);
    else if (writeDir) saveBest(writeDir, this.model, state.epoch);
    const preds = {
      dev: predictSplit(this.model, this.data, 'dev', this.evalOptions()),
      test: predictSplit(this.model, this.data, 'test', this.evalOptions()),
    };
    let result: FitResult;
    try {
      const C = this.data.classNames.length;
      const dev = scorePredictions(preds.dev, C);
      const test = scorePredictions(preds.test, C);
      result = { bestEpoch: state.bestEpoch || state.epoch, history, dev, test, stoppedEarly: stopReason === 'early-stopping', stopReason };
      if (writeDir) savePredictions(join(writeDir, 'predictions.safetensors'), preds, this.data);
    } finally {
      preds.dev.dispose();
      preds.test.dispose();
    }
    if (writeDir) {
      const ended = new Date();
      const summary = {
        ...summarize(o.method ?? this.strategy.name, [...this.model.modalities], result, [...this.data.classNames]),
        strategy: this.strategy.name,
        seed: c.seed,
        phases: this.phases.map((p) => ({ name: p.name, epochs: p.epochs })),
        startedAt: started.toISOString(),
        endedAt: ended.toISOString(),
        wallSeconds: (ended.getTime() - started.getTime()) / 1000,
        ...o.summary,
      };
      writeFileSync(join(writeDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    }
    return result;
  }

  /** Evaluates the current weights on one split. */
  evaluate(split: SplitName): EvalResult {
    return evaluate(this.model, this.data, split, this.evalOptions());
  }
}

/**
 * Sums every gradient across the workers after weighing this worker's by `share` (its part of the
 * global batch's samples): the gradient of the global batch's mean loss, before clipping and
 * before the strategy's gradient hook. One collective per dtype over the concatenated gradients.
 */
function reduceGradients(group: ProcessGroup, params: readonly Tensor[], share: number): void {
  scope(() => {
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (share !== 1) for (const g of grads) g.mul_(share);
    for (const same of byDtype(grads)) group.allReduce(same, 'sum');
  });
}

/** The tensors in groups of one dtype each (a collective takes one dtype), in their order. */
function byDtype(tensors: readonly Tensor[]): Tensor[][] {
  const groups = new Map<string, Tensor[]>();
  for (const t of tensors) {
    const list = groups.get(t.dtype);
    if (list) list.push(t);
    else groups.set(t.dtype, [t]);
  }
  return [...groups.values()];
}

function selects(phase: Phase): boolean {
  return phase.selectBest !== false;
}

/** summary.json: the shape the CLI and reports read. */
export function summarize(method: string, modalities: string[], r: FitResult, classNames: string[]): Record<string, unknown> {
  return {
    method,
    modalities,
    bestEpoch: r.bestEpoch,
    stoppedEarly: r.stoppedEarly,
    stopReason: r.stopReason,
    test: {
      accuracy: r.test.accuracy,
      weightedF1: r.test.weightedF1,
      macroF1: r.test.macroF1,
      loss: r.test.loss,
      perClass: perClass(r.test, classNames),
      confusionMatrix: r.test.confusion,
      unimodalAccuracy: r.test.unimodalAccuracy,
    },
    dev: { accuracy: r.dev.accuracy, weightedF1: r.dev.weightedF1, loss: r.dev.loss },
    classNames,
    epochs: r.history.map((h) => ({
      epoch: h.epoch,
      phase: h.phase,
      seconds: h.seconds,
      wallSeconds: h.wallSeconds,
      trainLoss: h.trainLoss,
      dev: { accuracy: h.dev.accuracy, weightedF1: h.dev.weightedF1 },
      unimodalAccuracy: h.unimodalAccuracy,
      probeAccuracy: h.probeAccuracy,
      disparityRatio: h.disparityRatio,
    })),
  };
}

function perClass(r: EvalResult, classNames: string[]): Record<string, unknown> {
  return Object.fromEntries(r.perClass.map((c, i) => [classNames[i] ?? String(i), c]));
}
