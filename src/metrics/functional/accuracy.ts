import {
  checkNumClasses,
  checkSameLength,
  readLabels,
  readPreds,
  resolveNumClasses,
  type LabelsInput,
  type PredsInput,
} from '../inputs.js';

export interface AccuracyOptions {
  /** When given, labels at or above it (and scores of another width) are errors. */
  numClasses?: number;
}

/** Correct predictions and samples seen: the state accuracy sums across batches. */
export interface AccuracyCounts {
  correct: number;
  total: number;
}

/** Counts the correct predictions of one batch. */
export function countCorrect(preds: PredsInput, target: LabelsInput, numClasses?: number): AccuracyCounts {
  const p = readPreds('preds', preds);
  const t = readLabels('target', target);
  checkSameLength(p.labels.length, t);
  resolveNumClasses(numClasses === undefined ? undefined : checkNumClasses(numClasses), p, t);
  let correct = 0;
  for (let i = 0; i < t.length; i++) if (p.labels[i] === t[i]) correct++;
  return { correct, total: t.length };
}

/** correct / total; 0 when nothing was seen. */
export function accuracyFromCounts(c: AccuracyCounts): number {
  return c.total === 0 ? 0 : c.correct / c.total;
}

/** Share of predictions equal to the target (sklearn's accuracy_score). */
export function accuracy(preds: PredsInput, target: LabelsInput, options: AccuracyOptions = {}): number {
  return accuracyFromCounts(countCorrect(preds, target, options.numClasses));
}
