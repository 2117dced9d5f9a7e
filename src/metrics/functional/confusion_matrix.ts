import { invalid } from '../../engine/errors.js';
import {
  checkNumClasses,
  checkSameLength,
  labelBound,
  readLabels,
  readPreds,
  resolveNumClasses,
  type LabelsInput,
  type PredsInput,
} from '../inputs.js';

/**
 * Counts of (true class, predicted class) pairs, row-major: counts[t * numClasses + p].
 * The state every count-based metric sums across batches.
 */
export interface Confusion {
  numClasses: number;
  counts: Float64Array;
}

/** Per-class counts read off a confusion matrix. */
export interface ClassCounts {
  tp: Float64Array;
  /** Samples of each true class (sklearn's support). */
  support: Float64Array;
  /** Samples predicted as each class. */
  predicted: Float64Array;
}

export interface ConfusionOptions {
  /** Number of classes; inferred (score width, else largest label + 1) when left out. */
  numClasses?: number;
}

export function emptyConfusion(numClasses = 0): Confusion {
  return { numClasses, counts: new Float64Array(numClasses * numClasses) };
}

function grown(conf: Confusion, numClasses: number): Confusion {
  if (numClasses <= conf.numClasses) return conf;
  const next = emptyConfusion(numClasses);
  const c = conf.numClasses;
  for (let t = 0; t < c; t++) for (let p = 0; p < c; p++) next.counts[t * numClasses + p] = conf.counts[t * c + p]!;
  return next;
}

/**
 * Adds a batch to a confusion state and returns the state (a larger one when an inferred class
 * count had to grow). With `fixed` the class count never changes and labels at or above it are
 * errors; scores whose width differs from an established class count are errors too.
 */
export function addToConfusion(conf: Confusion, preds: PredsInput, target: LabelsInput, fixed?: number): Confusion {
  const p = readPreds('preds', preds);
  const t = readLabels('target', target);
  checkSameLength(p.labels.length, t);
  let c: number;
  if (fixed !== undefined) {
    c = resolveNumClasses(fixed, p, t);
  } else if (p.width !== undefined) {
    if (conf.numClasses > 0 && p.width !== conf.numClasses) {
      throw invalid('preds width', `${conf.numClasses} score columns (the class count of earlier batches)`, p.width);
    }
    c = resolveNumClasses(undefined, p, t);
  } else {
    c = Math.max(conf.numClasses, labelBound(p.labels), labelBound(t));
  }
  const out = grown(conf, c);
  const n = out.numClasses;
  for (let i = 0; i < t.length; i++) out.counts[t[i]! * n + p.labels[i]!]! += 1;
  return out;
}

/** The confusion state of one set of predictions. */
export function confusionOf(preds: PredsInput, target: LabelsInput, numClasses?: number): Confusion {
  const fixed = numClasses === undefined ? undefined : checkNumClasses(numClasses);
  return addToConfusion(emptyConfusion(fixed ?? 0), preds, target, fixed);
}

/** Rows are true classes, columns predicted classes (sklearn's confusion_matrix with labels=range(C)). */
export function confusionToMatrix(conf: Confusion): number[][] {
  const c = conf.numClasses;
  return Array.from({ length: c }, (_, t) => Array.from(conf.counts.subarray(t * c, (t + 1) * c)));
}

export function classCounts(conf: Confusion): ClassCounts {
  const c = conf.numClasses;
  const tp = new Float64Array(c);
  const support = new Float64Array(c);
  const predicted = new Float64Array(c);
  for (let t = 0; t < c; t++) {
    for (let p = 0; p < c; p++) {
      const v = conf.counts[t * c + p]!;
      support[t]! += v;
      predicted[p]! += v;
      if (t === p) tp[t] = v;
    }
  }
  return { tp, support, predicted };
}

/** The confusion matrix: rows true classes, columns predicted classes, counts of samples. */
export function confusionMatrix(preds: PredsInput, target: LabelsInput, options: ConfusionOptions = {}): number[][] {
  return confusionToMatrix(confusionOf(preds, target, options.numClasses));
}

/** Number of samples of each true class. */
export function support(preds: PredsInput, target: LabelsInput, options: ConfusionOptions = {}): number[] {
  return Array.from(classCounts(confusionOf(preds, target, options.numClasses)).support);
}
