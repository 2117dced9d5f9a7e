import { checkNumClasses } from './inputs.js';
import type { LabelsInput, PredsInput } from './inputs.js';
import { accuracyFromCounts, countCorrect, type AccuracyCounts, type AccuracyOptions } from './functional/accuracy.js';
import { StatefulMetric } from './metric.js';

/** Accuracy over every batch seen; the class form of `accuracy`. */
export class Accuracy extends StatefulMetric<AccuracyCounts, number> {
  readonly name: string;
  readonly higherIsBetter = true;
  private readonly numClasses: number | undefined;

  constructor(options: AccuracyOptions & { name?: string } = {}) {
    super();
    this.numClasses = options.numClasses === undefined ? undefined : checkNumClasses(options.numClasses);
    this.name = options.name ?? 'accuracy';
  }
  protected initialState(): AccuracyCounts {
    return { correct: 0, total: 0 };
  }
  update(preds: PredsInput, target: LabelsInput): void {
    const b = countCorrect(preds, target, this.numClasses);
    this.state.correct += b.correct;
    this.state.total += b.total;
  }
  compute(): number {
    return accuracyFromCounts(this.state);
  }
}
