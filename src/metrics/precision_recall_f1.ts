import { checkOneOf } from '../engine/errors.js';
import { ConfusionMetric } from './confusion_matrix.js';
import { AVERAGES, scoreFromConfusion, type Average, type AverageOptions, type ClassScore } from './functional/precision_recall_f1.js';

type Result<A extends Average> = A extends 'none' ? number[] : number;

abstract class ClassScoreMetric<A extends Average> extends ConfusionMetric<Result<A>> {
  readonly name: string;
  readonly higherIsBetter = true;
  readonly average: A;
  protected abstract readonly kind: ClassScore;

  constructor(prefix: string, options: AverageOptions & { average?: A; name?: string }) {
    super(options);
    this.average = checkOneOf('average', options.average ?? 'weighted', AVERAGES) as A;
    this.name = options.name ?? `${prefix}_${this.average === 'none' ? 'per_class' : this.average}`;
  }
  compute(): Result<A> {
    return scoreFromConfusion(this.kind, this.state, this.average) as Result<A>;
  }
}

/** Precision over every batch seen; default average 'weighted'. The class form of `precision`. */
export class Precision<A extends Average = 'weighted'> extends ClassScoreMetric<A> {
  protected readonly kind = 'precision';
  constructor(options: AverageOptions & { average?: A; name?: string } = {}) {
    super('precision', options);
  }
}

/** Recall over every batch seen; default average 'weighted'. The class form of `recall`. */
export class Recall<A extends Average = 'weighted'> extends ClassScoreMetric<A> {
  protected readonly kind = 'recall';
  constructor(options: AverageOptions & { average?: A; name?: string } = {}) {
    super('recall', options);
  }
}

/** F1 over every batch seen; default average 'weighted' (name 'f1_weighted'). The class form of `f1Score`. */
export class F1Score<A extends Average = 'weighted'> extends ClassScoreMetric<A> {
  protected readonly kind = 'f1';
  constructor(options: AverageOptions & { average?: A; name?: string } = {}) {
    super('f1', options);
  }
}
