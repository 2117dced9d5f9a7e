import type { Batch, SplitName } from '../data/dataset.js';
import { ArgumentError } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import type { GradEdits } from '../engine/grad_edits.js';
import type { Optimizer } from '../engine/optim/optimizer.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelOutputs, MultimodalModel } from '../models/model.js';
import type { SchedulerKind } from '../engine/optim/lr_scheduler.js';

/**
 * A stage of training with its own length and settings (BalanceMLA's unimodal pre-training then
 * fine-tuning; the GMM loss's warm-up then adaptive rounds). Every field but name and epochs
 * defaults to "as configured": the same optimizer state, learning rate, parameters and scheduler.
 */
export interface Phase {
  name: string;
  epochs: number;
  /** Every parameter group's learning rate when the phase starts. */
  lr?: number;
  /** Forget the optimizer's moments and step counts when the phase starts. */
  resetOptimizer?: boolean;
  /** The parameters that train in this phase (the others get no gradient); all of them when absent. */
  trainable?: (model: MultimodalModel) => Tensor[];
  /** The phase's learning-rate schedule (rebuilt at its start, over its epochs); the config's when absent. */
  scheduler?: SchedulerKind;
  /**
   * Whether this phase's epochs may become the best checkpoint and count toward early stopping
   * (false for a pre-training phase whose fused output means nothing yet). Default true.
   */
  selectBest?: boolean;
}

/** What the loop shows a strategy at each training step. */
export interface StepContext {
  /** 1-based epoch, counted across phases. */
  epoch: number;
  /** 0-based step within the epoch. */
  step: number;
  phase: Phase;
  model: MultimodalModel;
  /** The batch, with `index`: each sample's id within the training split. */
  batch: Batch;
  outputs: ModelOutputs;
  /** (N) labels of the batch's scored samples (batch.labels). */
  labels: Tensor;
  optimizer: Optimizer<{ lr: number }>;
  /**
   * Sums per-batch statistics over the whole global batch: in data-parallel training each worker
   * sees only its shard, so a method that derives something from a batch (unimodal scores, ratios,
   * counts) passes its local sums here and gets the global ones, the same on every worker. Every
   * worker must call it the same number of times per step. In one process it returns the values.
   * Absent when a strategy is driven outside the loop (then the values are the batch's).
   */
  batchSum?: (values: readonly number[]) => number[];
  /**
   * The step's gradient edits still pending (clipping's scale among them), given to afterBackward
   * only when the strategy sets `takesPendingGradients`: scale and perturb gradients through it and
   * the optimizer applies everything in its one pass. Its moments() are the gradients' as edited.
   */
  gradients?: GradEdits;
}

/** ctx.batchSum when the loop gives one, else the values themselves. */
export function sumOverBatch(ctx: Pick<StepContext, 'batchSum'>, values: readonly number[]): number[] {
  return ctx.batchSum ? ctx.batchSum(values) : [...values];
}

/** No-grad logits of a whole split, in sample-id order, with each row's sample id. The caller disposes them. */
export interface SplitPredictions {
  /** (N, C) fused logits. */
  fused: Tensor;
  /** modality -> (N, C) unimodal logits. */
  unimodal: Record<string, Tensor>;
  /** modality -> (N, h_m) features, when the model gives them. */
  features: Record<string, Tensor>;
  /** (N) int64 labels. */
  labels: Tensor;
  /** (N) int64 sample ids within the split. */
  index: Tensor;
  dispose(): void;
}

export interface EpochContext {
  epoch: number;
  phase: Phase;
  model: MultimodalModel;
  optimizer: Optimizer<{ lr: number }>;
  /** Metrics of the epoch just finished (onEpochEnd only). */
  metrics?: Record<string, unknown>;
  /** Logits of every sample of a split with the model in eval mode and no gradient (a GMM round's pass). */
  predict(split: SplitName): SplitPredictions;
}

/**
 * The default objective: cross entropy of the fused logits, the model's own terms (AFW's loss,
 * auxiliary classifiers), then the strategy's extra terms, by name.
 */
export function defaultLoss(ctx: StepContext, extra: Record<string, Tensor> = {}): Record<string, Tensor> {
  return { fused: F.crossEntropy(ctx.outputs.fused, ctx.labels), ...ctx.outputs.losses, ...extra };
}

/**
 * A balancing method, as a plug-in the one training loop calls at fixed hooks. It never owns the
 * loop. Every hook defaults to doing nothing, so a method overrides only what it needs; joint
 * training is the strategy that overrides nothing.
 *
 * Per step: forward -> loss(ctx) (summed) -> backward -> clipping -> afterBackward -> optimizer
 * step -> afterStep. Per epoch: onEpochStart, the steps, dev evaluation, onEpochEnd. phases()
 * says how the epochs are staged; onPhaseStart runs when each stage begins.
 */
export abstract class BalancingStrategy {
  abstract readonly name: string;

  /**
   * true: afterBackward works on ctx.gradients (pending edits) and never reads gradient values
   * itself, so the loop leaves clipping's scale pending for the optimizer to fold into its pass.
   * false (the default): gradients are clipped in memory before afterBackward, which may read them.
   */
  readonly takesPendingGradients: boolean = false;

  /** The training stages; one phase of config.epochs by default. */
  phases(config: { epochs: number }): Phase[] {
    return [{ name: 'train', epochs: config.epochs }];
  }

  /**
   * The step's objective as named terms, summed by the loop and logged per epoch. Override to
   * weight samples (ctx.batch.index names them), to replace or drop the fused term.
   */
  loss(ctx: StepContext): Record<string, Tensor> {
    return defaultLoss(ctx, this.extraLosses(ctx));
  }

  /** Extra loss terms added to the default objective, by name (logged per epoch). */
  extraLosses(_ctx: StepContext): Record<string, Tensor> {
    return {};
  }

  /**
   * After backward and gradient clipping, before the optimizer step: rescale or perturb each
   * modality's gradients (model.modalityParameters('encoder' | 'branch')).
   */
  afterBackward(_ctx: StepContext): void {}

  /** After the optimizer step (to undo a per-step learning-rate change, say). */
  afterStep(_ctx: StepContext): void {}

  onPhaseStart(_ctx: EpochContext): void {}

  onEpochStart(_ctx: EpochContext): void {}

  onEpochEnd(_ctx: EpochContext): void {}

  /** Per-epoch diagnostics to record in metrics.jsonl (coefficients, ratios...). */
  diagnostics(): Record<string, unknown> {
    return {};
  }

  /** State saved in checkpoints, restored on resume. */
  stateDict(): Record<string, unknown> {
    return {};
  }

  loadStateDict(_state: Record<string, unknown>): void {}
}

/** Plain joint training: the fused cross entropy alone. */
export class JointTraining extends BalancingStrategy {
  readonly name = 'joint';
  override readonly takesPendingGradients = true;
}

export type StrategyFactory = (options: Record<string, unknown>) => BalancingStrategy;

const registry = new Map<string, StrategyFactory>([['joint', () => new JointTraining()]]);

export function registerStrategy(name: string, factory: StrategyFactory): void {
  registry.set(name, factory);
}

export function strategyNames(): string[] {
  return [...registry.keys()];
}

export function makeStrategy(name: string, options: Record<string, unknown> = {}): BalancingStrategy {
  const f = registry.get(name);
  if (!f) throw new ArgumentError(`unknown balancing method '${name}'; known: ${strategyNames().join(', ')}`);
  return f(options);
}
