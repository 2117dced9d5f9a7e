import { checkDevice, type Device } from '../engine/device.js';
import { ArgumentError, checkInt, checkNumber, checkOneOf } from '../engine/errors.js';
import type { SchedulerKind } from '../engine/optim/lr_scheduler.js';

export type { SchedulerKind };

export type OptimizerKind = 'adam' | 'adamw' | 'sgd';
export type Monitor = 'dev.weightedF1' | 'dev.accuracy' | 'dev.loss';

/** The training loop's settings. Every field has a default; see DEFAULT_TRAIN_CONFIG. */
export interface TrainConfig {
  epochs: number;
  /** Dialogues per batch. */
  batchSize: number;
  optimizer: OptimizerKind;
  lr: number;
  weightDecay: number;
  /** SGD only. */
  momentum: number;
  /** 'plateau' watches dev loss (as Ada2I's code); 'cosine' anneals over the epochs; 'step' halves every stepSize epochs. */
  scheduler: SchedulerKind;
  schedulerPatience: number;
  schedulerFactor: number;
  stepSize: number;
  /** Max gradient 2-norm over all parameters; 0 turns clipping off. */
  clipGradNorm: number;
  monitor: Monitor;
  /** Epochs without improvement of `monitor` before stopping; 0 turns early stopping off. */
  patience: number;
  seed: number;
  /** Where the model and batches live: 'cpu', 'cuda' or 'cuda:N' (needs a CUDA libtorch). */
  device: Device;
  /**
   * Record each modality's strength with a ridge-regression probe on its detached features
   * (fitted on the epoch's training batches, scored on dev): `probeAccuracy` in metrics.jsonl.
   */
  probes: boolean;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 30,
  batchSize: 10,
  optimizer: 'adam',
  lr: 1e-4,
  weightDecay: 1e-8,
  momentum: 0.9,
  scheduler: 'plateau',
  schedulerPatience: 10,
  schedulerFactor: 0.5,
  stepSize: 10,
  clipGradNorm: 2,
  monitor: 'dev.weightedF1',
  patience: 20,
  seed: 12,
  device: 'cpu',
  probes: true,
};

export function checkTrainConfig(c: TrainConfig): TrainConfig {
  checkInt('train.epochs', c.epochs, 1);
  checkInt('train.batchSize', c.batchSize, 1);
  checkOneOf('train.optimizer', c.optimizer, ['adam', 'adamw', 'sgd']);
  checkNumber('train.lr', c.lr, 0);
  checkNumber('train.weightDecay', c.weightDecay, 0);
  checkOneOf('train.scheduler', c.scheduler, ['none', 'plateau', 'cosine', 'step']);
  checkInt('train.schedulerPatience', c.schedulerPatience, 0);
  checkNumber('train.schedulerFactor', c.schedulerFactor, 0, 0.999);
  checkInt('train.stepSize', c.stepSize, 1);
  checkNumber('train.clipGradNorm', c.clipGradNorm, 0);
  checkOneOf('train.monitor', c.monitor, ['dev.weightedF1', 'dev.accuracy', 'dev.loss']);
  checkInt('train.patience', c.patience, 0);
  checkInt('train.seed', c.seed, 0, 2 ** 32 - 1);
  checkDevice(c.device);
  if (typeof c.probes !== 'boolean') throw new ArgumentError(`Expected true or false for train.probes but received ${String(c.probes)}`);
  return c;
}
