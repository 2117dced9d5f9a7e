import { invalid } from '../../engine/errors.js';
import { checkLabelsBelow, checkSameLength, readLabels, readScores, softmaxRow, type LabelsInput, type ScoresInput } from '../inputs.js';

/**
 * Unimodal scores s_m = sum_i softmax(u_m,i)[y_i] over a batch, one per modality (methods.md,
 * "Unimodal logits and scores"). The logits are read back to the host and the softmax is taken
 * there in float64, so nothing is recorded for autograd.
 */
export function unimodalScores<M extends string>(logits: Readonly<Record<M, ScoresInput>>, target: LabelsInput): Record<M, number> {
  const names = modalityNames('logits', logits);
  const t = readLabels('target', target);
  const out = {} as Record<M, number>;
  for (const m of names) {
    const s = readScores(`logits.${m}`, logits[m]);
    checkSameLength(s.n, t);
    checkLabelsBelow('target', t, s.c, `the width of logits.${m}`);
    const row = new Float64Array(s.c);
    let sum = 0;
    for (let i = 0; i < s.n; i++) {
      softmaxRow(s.data, i * s.c, s.c, row);
      sum += row[t[i]!]!;
    }
    out[m] = sum;
  }
  return out;
}

/**
 * OGM-GE's disparity ratio generalised to M modalities: rho_m = s_m / min_j s_j, so the weakest
 * modality has 1 and the others how many times its score they reach.
 */
export function disparityRatios<M extends string>(scores: Readonly<Record<M, number>>): Record<M, number> {
  const names = modalityNames('scores', scores);
  let min = Infinity;
  for (const m of names) {
    const s = scores[m];
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) throw invalid(`scores.${m}`, 'a finite non-negative unimodal score', s);
    min = Math.min(min, s);
  }
  if (min === 0) throw invalid('scores', 'positive unimodal scores (is the batch empty?)', 0);
  const out = {} as Record<M, number>;
  for (const m of names) out[m] = scores[m] / min;
  return out;
}

/** The modality names of a record, which must hold at least one. */
export function modalityNames<M extends string>(name: string, record: Readonly<Record<M, unknown>>): M[] {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw invalid(name, 'a record keyed by modality', record);
  const names = Object.keys(record) as M[];
  if (names.length === 0) throw invalid(name, 'at least one modality', 'an empty record');
  return names;
}
