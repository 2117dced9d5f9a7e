import { addToConfusion, confusionToMatrix, emptyConfusion, type Confusion, type ConfusionOptions } from './functional/confusion_matrix.js';
import { checkNumClasses, type LabelsInput, type PredsInput } from './inputs.js';
import { StatefulMetric } from './metric.js';

/**
 * A metric whose state is a confusion matrix: fixed at numClasses when given, else growing to
 * the largest label (or the score width) seen so far.
 */
export abstract class ConfusionMetric<R> extends StatefulMetric<Confusion, R> {
  protected readonly numClasses: number | undefined;

  constructor(options: ConfusionOptions) {
    super();
    this.numClasses = options.numClasses === undefined ? undefined : checkNumClasses(options.numClasses);
  }
  protected initialState(): Confusion {
    return emptyConfusion(this.numClasses ?? 0);
  }
  update(preds: PredsInput, target: LabelsInput): void {
    this.state = addToConfusion(this.state, preds, target, this.numClasses);
  }
}

/** The confusion matrix over every batch seen (rows true, columns predicted); the class form of `confusionMatrix`. */
export class ConfusionMatrix extends ConfusionMetric<number[][]> {
  readonly name: string;
  readonly higherIsBetter = null;

  constructor(options: ConfusionOptions & { name?: string } = {}) {
    super(options);
    this.name = options.name ?? 'confusion_matrix';
  }
  compute(): number[][] {
    return confusionToMatrix(this.state);
  }
}
