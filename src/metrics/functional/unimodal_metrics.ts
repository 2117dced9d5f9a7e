import type { LabelsInput, PredsInput } from '../inputs.js';
import { accuracyFromCounts } from './accuracy.js';
import { classCounts, confusionOf } from './confusion_matrix.js';
import { scoreFromConfusion } from './precision_recall_f1.js';
import { modalityNames } from './unimodal_scores.js';

export interface UnimodalResult {
  accuracy: number;
  weightedF1: number;
}

/** Accuracy and weighted F1 of each modality's own predictions (unimodal logits or class indices). */
export function unimodalMetrics<M extends string>(
  preds: Readonly<Record<M, PredsInput>>,
  target: LabelsInput,
  options: { numClasses?: number } = {},
): Record<M, UnimodalResult> {
  const out = {} as Record<M, UnimodalResult>;
  for (const m of modalityNames('preds', preds)) {
    const conf = confusionOf(preds[m], target, options.numClasses);
    const { tp, support } = classCounts(conf);
    const correct = tp.reduce((a, b) => a + b, 0);
    const total = support.reduce((a, b) => a + b, 0);
    out[m] = { accuracy: accuracyFromCounts({ correct, total }), weightedF1: scoreFromConfusion('f1', conf, 'weighted') };
  }
  return out;
}
