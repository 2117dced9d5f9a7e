import { ArgumentError } from '../engine/errors.js';
import type { Optimizer } from '../engine/optim/optimizer.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelOutputs, MultimodalModel } from '../models/conversation_model.js';

/** What the loop shows a strategy at each training step. */
export interface StepContext {
  /** 1-based epoch. */
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  model: MultimodalModel;
  outputs: ModelOutputs;
  /** (N) labels of the real utterances. */
  labels: Tensor;
  optimizer: Optimizer<{ lr: number }>;
}

export interface EpochContext {
  epoch: number;
  model: MultimodalModel;
  optimizer: Optimizer<{ lr: number }>;
  /** Metrics of the epoch just finished (onEpochEnd only). */
  metrics?: Record<string, unknown>;
}

/**
 * A balancing method, as a plug-in the one training loop calls at fixed hooks. It never owns the
 * loop. Every hook defaults to doing nothing, so a method overrides only what it needs; joint
 * training is the strategy that overrides nothing.
 */
export abstract class BalancingStrategy {
  abstract readonly name: string;

  /** Extra loss terms added to the fused cross entropy, by name (logged per epoch). */
  extraLosses(_ctx: StepContext): Record<string, Tensor> {
    return {};
  }

  /**
   * After backward and gradient clipping, before the optimizer step: rescale or perturb each
   * modality's encoder gradients (model.modalityParameters()).
   */
  afterBackward(_ctx: StepContext): void {}

  /** After the optimizer step (to undo a per-step learning-rate change, say). */
  afterStep(_ctx: StepContext): void {}

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
