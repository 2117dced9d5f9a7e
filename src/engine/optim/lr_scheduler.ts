import { checkInt, checkNumber, checkOneOf, invalid } from '../errors.js';
import type { Optimizer } from './optimizer.js';

/** The loop's schedules by name: none, ReduceLROnPlateau on dev loss, cosine over the epochs, step decay. */
export type SchedulerKind = 'none' | 'plateau' | 'cosine' | 'step';

type AnyOptimizer = Optimizer<{ lr: number }>;

/**
 * Base of epoch-wise learning-rate schedules. Construction records each group's initial lr and
 * applies epoch 0; each step() moves one epoch on. Closed forms, so resuming needs only `lastEpoch`.
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  readonly baseLrs: number[];
  lastEpoch = 0;

  constructor(optimizer: AnyOptimizer) {
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  protected abstract lrAt(base: number, epoch: number): number;

  protected apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.lrAt(this.baseLrs[i]!, this.lastEpoch);
    });
  }

  step(): void {
    this.lastEpoch += 1;
    this.apply();
  }

  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): Record<string, unknown> {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(sd: Record<string, unknown>): void {
    this.lastEpoch = checkInt('lastEpoch', sd.lastEpoch, 0);
    const b = sd.baseLrs as number[] | undefined;
    if (b) b.forEach((v, i) => (this.baseLrs[i] = v));
    this.apply();
  }
}

/** lr = base * gamma^floor(epoch / stepSize) (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly stepSize: number,
    readonly gamma = 0.1,
  ) {
    super(optimizer);
    checkInt('stepSize', stepSize, 1);
    checkNumber('gamma', gamma, 0);
    this.apply();
  }
  protected lrAt(base: number, epoch: number): number {
    return base * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** Cosine from base to etaMin over tMax epochs (CosineAnnealingLR's closed form). */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly tMax: number,
    readonly etaMin = 0,
  ) {
    super(optimizer);
    checkInt('tMax', tMax, 1);
    this.apply();
  }
  protected lrAt(base: number, epoch: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

/** Linear warm-up from startFactor * base to base over totalIters epochs, then constant (LinearLR). */
export class LinearWarmup extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly totalIters = 5,
    readonly startFactor = 1 / 3,
  ) {
    super(optimizer);
    checkInt('totalIters', totalIters, 1);
    checkNumber('startFactor', startFactor, 0, 1);
    this.apply();
  }
  protected lrAt(base: number, epoch: number): number {
    const t = Math.min(epoch, this.totalIters) / this.totalIters;
    return base * (this.startFactor + (1 - this.startFactor) * t);
  }
}

/** lr = base * fn(epoch) (LambdaLR). */
export class LambdaLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly fn: (epoch: number) => number,
  ) {
    super(optimizer);
    if (typeof fn !== 'function') throw invalid('fn', 'a function of the epoch', fn);
    this.apply();
  }
  protected lrAt(base: number, epoch: number): number {
    return base * this.fn(epoch);
  }
}

export interface ReduceLROnPlateauOptions {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLr: number;
  eps: number;
}

/** Multiplies lr by factor when a metric stops improving for `patience` epochs (torch's ReduceLROnPlateau). */
export class ReduceLROnPlateau {
  readonly o: ReduceLROnPlateauOptions;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;

  constructor(
    readonly optimizer: AnyOptimizer,
    o: Partial<ReduceLROnPlateauOptions> = {},
  ) {
    this.o = { mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8, ...o };
    checkOneOf('mode', this.o.mode, ['min', 'max']);
    checkOneOf('thresholdMode', this.o.thresholdMode, ['rel', 'abs']);
    if (!(this.o.factor < 1 && this.o.factor >= 0)) throw invalid('factor', 'a number in [0, 1)', this.o.factor);
    checkInt('patience', this.o.patience, 0);
    this.best = this.o.mode === 'min' ? Infinity : -Infinity;
  }

  private better(a: number, best: number): boolean {
    const { mode, thresholdMode: tm, threshold: th } = this.o;
    if (mode === 'min') return tm === 'rel' ? a < best * (1 - th) : a < best - th;
    return tm === 'rel' ? a > best * (1 + th) : a > best + th;
  }

  step(metric: number): void {
    checkNumber('metric', metric);
    this.lastEpoch += 1;
    if (this.better(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.o.patience) {
      for (const g of this.optimizer.paramGroups) {
        const next = Math.max(g.lr * this.o.factor, this.o.minLr);
        if (g.lr - next > this.o.eps) g.lr = next;
      }
      this.cooldownCounter = this.o.cooldown;
      this.numBadEpochs = 0;
    }
  }

  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): Record<string, unknown> {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch };
  }

  loadStateDict(sd: Record<string, unknown>): void {
    this.best = Number(sd.best);
    this.numBadEpochs = Number(sd.numBadEpochs);
    this.cooldownCounter = Number(sd.cooldownCounter);
    this.lastEpoch = Number(sd.lastEpoch);
  }
}
