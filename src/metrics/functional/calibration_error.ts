import { checkInt, checkOneOf, invalid } from '../../engine/errors.js';
import { checkLabelsBelow, checkSameLength, readLabels, readScores, softmaxRow, type LabelsInput, type ScoresInput } from '../inputs.js';

/**
 * What the scores are: 'logits' get a softmax; 'probs' are used as they are (rows in [0, 1]
 * summing to 1); 'auto' takes them as probabilities when every row looks like one, else as logits.
 */
export type ScoreKind = 'logits' | 'probs' | 'auto';
const SCORE_KINDS: readonly ScoreKind[] = ['logits', 'probs', 'auto'];

export interface CalibrationOptions {
  /** Equal-width confidence bins; default 15 (MLB's figure 5). */
  nBins?: number;
  /** Default 'auto'. */
  input?: ScoreKind;
}

/** Per-bin sums, the state ECE adds up across batches. */
export interface CalibrationBins {
  nBins: number;
  count: Float64Array;
  confidence: Float64Array;
  correct: Float64Array;
  total: number;
}

/** Row sums of float32 softmax outputs stray from 1 by far less than this. */
const PROB_SUM_TOLERANCE = 1e-4;

export function emptyBins(nBins = 15): CalibrationBins {
  const n = checkInt('nBins', nBins, 1);
  return { nBins: n, count: new Float64Array(n), confidence: new Float64Array(n), correct: new Float64Array(n), total: 0 };
}

function looksLikeProbs(data: Float64Array, n: number, c: number): boolean {
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const v = data[i * c + j]!;
      if (v < 0 || v > 1) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) return false;
  }
  return true;
}

/**
 * The bin of a confidence: edges e_k = k / nBins, bin k holds (e_k, e_{k+1}], bin 0 also holds 0.
 * Compared against the same edges the definition uses, so rounding in conf * nBins cannot move it.
 */
export function binIndex(conf: number, nBins: number): number {
  let k = Math.min(nBins - 1, Math.max(0, Math.ceil(conf * nBins) - 1));
  while (k > 0 && conf <= k / nBins) k--;
  while (k < nBins - 1 && conf > (k + 1) / nBins) k++;
  return k;
}

/** Adds a batch of scores to the bins (in place) and returns them. */
export function addToBins(bins: CalibrationBins, scores: ScoresInput, target: LabelsInput, input: ScoreKind = 'auto'): CalibrationBins {
  const kind = checkOneOf('input', input, SCORE_KINDS);
  const s = readScores('scores', scores);
  const t = readLabels('target', target);
  checkSameLength(s.n, t);
  checkLabelsBelow('target', t, s.c, 'the score width');
  const asProbs = kind === 'probs' || (kind === 'auto' && looksLikeProbs(s.data, s.n, s.c));
  if (kind === 'probs' && !looksLikeProbs(s.data, s.n, s.c)) {
    throw invalid('scores', "rows of probabilities in [0, 1] summing to 1 (input: 'probs')", 'rows that are not');
  }
  const row = new Float64Array(s.c);
  for (let i = 0; i < s.n; i++) {
    const base = i * s.c;
    if (asProbs) row.set(s.data.subarray(base, base + s.c));
    else softmaxRow(s.data, base, s.c, row);
    let best = 0;
    for (let j = 1; j < s.c; j++) if (row[j]! > row[best]!) best = j;
    const conf = row[best]!;
    const k = binIndex(conf, bins.nBins);
    bins.count[k]! += 1;
    bins.confidence[k]! += conf;
    if (best === t[i]) bins.correct[k]! += 1;
  }
  bins.total += s.n;
  return bins;
}

/** ECE = sum_k |acc_k - conf_k| * n_k / n over non-empty bins; 0 when no samples were seen. */
export function eceFromBins(bins: CalibrationBins): number {
  if (bins.total === 0) return 0;
  let ece = 0;
  for (let k = 0; k < bins.nBins; k++) {
    const nk = bins.count[k]!;
    if (nk === 0) continue;
    ece += (Math.abs(bins.correct[k]! / nk - bins.confidence[k]! / nk) * nk) / bins.total;
  }
  return ece;
}

/**
 * Expected calibration error of the max-softmax confidence, with equal-width bins (15 by
 * default): edges k / nBins, bins (lo, hi] with the first one closed at 0. A prediction is the
 * argmax of its row (first maximum) and is correct when it equals the target.
 */
export function calibrationError(scores: ScoresInput, target: LabelsInput, options: CalibrationOptions = {}): number {
  return eceFromBins(addToBins(emptyBins(options.nBins ?? 15), scores, target, options.input ?? 'auto'));
}
