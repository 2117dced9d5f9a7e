import { checkOneOf } from '../../engine/errors.js';
import type { LabelsInput, PredsInput } from '../inputs.js';
import { classCounts, confusionOf, type Confusion, type ConfusionOptions } from './confusion_matrix.js';

/**
 * How per-class scores combine, as in sklearn:
 * - 'micro': from the counts summed over classes (equals accuracy for single-label predictions);
 * - 'macro': the plain mean over classes present in the target or the predictions;
 * - 'weighted': the mean weighted by support (the ERC papers' "weighted F1");
 * - 'none': one score per class, all numClasses of them.
 */
export type Average = 'micro' | 'macro' | 'weighted' | 'none';
export const AVERAGES: readonly Average[] = ['micro', 'macro', 'weighted', 'none'];

export type ClassScore = 'precision' | 'recall' | 'f1';

export interface AverageOptions extends ConfusionOptions {
  /** Default 'weighted'. */
  average?: Average;
}

/** A ratio that is 0 where the denominator is 0 (sklearn's zero_division=0). */
function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

function scoreOf(kind: ClassScore, tp: number, support: number, predicted: number): number {
  if (kind === 'precision') return ratio(tp, predicted);
  if (kind === 'recall') return ratio(tp, support);
  // 2PR / (P + R) written with counts: 2tp / (2tp + fp + fn), 2tp + fp + fn = predicted + support.
  return ratio(2 * tp, predicted + support);
}

/** Per-class scores for every class of the state (0 for classes with nothing to divide by). */
export function perClassScores(kind: ClassScore, conf: Confusion): number[] {
  const { tp, support, predicted } = classCounts(conf);
  return Array.from(tp, (v, k) => scoreOf(kind, v, support[k]!, predicted[k]!));
}

/**
 * Precision, recall or F1 of a confusion state, averaged. Classes absent from both the target and
 * the predictions do not count in the macro average (sklearn's default labels=None); they have no
 * weight in 'weighted' and add nothing to 'micro'. Anything divided by zero counts as 0.
 */
export function scoreFromConfusion(kind: ClassScore, conf: Confusion, average: 'none'): number[];
export function scoreFromConfusion(kind: ClassScore, conf: Confusion, average: Exclude<Average, 'none'>): number;
export function scoreFromConfusion(kind: ClassScore, conf: Confusion, average: Average): number | number[];
export function scoreFromConfusion(kind: ClassScore, conf: Confusion, average: Average): number | number[] {
  checkOneOf('average', average, AVERAGES);
  if (average === 'none') return perClassScores(kind, conf);
  const { tp, support, predicted } = classCounts(conf);
  const c = conf.numClasses;
  if (average === 'micro') {
    let sTp = 0;
    let sSupport = 0;
    let sPredicted = 0;
    for (let k = 0; k < c; k++) {
      sTp += tp[k]!;
      sSupport += support[k]!;
      sPredicted += predicted[k]!;
    }
    return scoreOf(kind, sTp, sSupport, sPredicted);
  }
  let sum = 0;
  let weight = 0;
  for (let k = 0; k < c; k++) {
    const w = average === 'weighted' ? support[k]! : support[k]! + predicted[k]! > 0 ? 1 : 0;
    if (w === 0) continue;
    sum += w * scoreOf(kind, tp[k]!, support[k]!, predicted[k]!);
    weight += w;
  }
  return ratio(sum, weight);
}

function scoreFn(kind: ClassScore) {
  function f(preds: PredsInput, target: LabelsInput, options: AverageOptions & { average: 'none' }): number[];
  function f(preds: PredsInput, target: LabelsInput, options?: AverageOptions & { average?: Exclude<Average, 'none'> }): number;
  function f(preds: PredsInput, target: LabelsInput, options?: AverageOptions): number | number[];
  function f(preds: PredsInput, target: LabelsInput, options: AverageOptions = {}): number | number[] {
    const average = checkOneOf('average', options.average ?? 'weighted', AVERAGES);
    return scoreFromConfusion(kind, confusionOf(preds, target, options.numClasses), average);
  }
  return f;
}

/** Precision: of the samples predicted as a class, the share that are that class. */
export const precision = scoreFn('precision');
/** Recall: of the samples of a class, the share predicted as that class. */
export const recall = scoreFn('recall');
/** F1: the harmonic mean of precision and recall. Default average 'weighted', as the ERC papers report. */
export const f1Score = scoreFn('f1');

export interface PrecisionRecallFscoreSupport {
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
}

/** Per-class precision, recall, F1 and support for all numClasses classes (sklearn's average=None, labels=range(C)). */
export function precisionRecallFscoreSupport(
  preds: PredsInput,
  target: LabelsInput,
  options: ConfusionOptions = {},
): PrecisionRecallFscoreSupport {
  const conf = confusionOf(preds, target, options.numClasses);
  return {
    precision: perClassScores('precision', conf),
    recall: perClassScores('recall', conf),
    f1: perClassScores('f1', conf),
    support: Array.from(classCounts(conf).support),
  };
}
