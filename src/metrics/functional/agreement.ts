import { invalid } from '../../engine/errors.js';
import { checkSameLength, readLabels, readPreds, resolveNumClasses, type LabelsInput, type PredsInput } from '../inputs.js';
import { modalityNames } from './unimodal_scores.js';

export interface AgreementRow {
  /** The sources that are right on these samples (all others are wrong). */
  correct: string[];
  /** 'both wrong', 'only a', 'only v', 'both right' for two sources; 'all ...' beyond. */
  label: string;
  count: number;
  /** count / total (0 for no samples). */
  fraction: number;
  /** Of these samples, how many the multimodal prediction got right (when one was given). */
  multimodalCorrect?: number;
}

/**
 * How often each combination of sources is right (MLB fig. 4). Row r holds the samples on which
 * exactly the sources whose bit is set in r are right (bit j for the j-th source, in the record's
 * key order): rows run from all wrong to all right.
 */
export interface AgreementTable {
  sources: string[];
  total: number;
  rows: AgreementRow[];
}

export interface AgreementOptions {
  /** The fused (multimodal) predictions, to count how many of each row it gets right. */
  multimodal?: PredsInput;
  numClasses?: number;
}

const MAX_SOURCES = 12;

function rowLabel(sources: readonly string[], correct: readonly string[]): string {
  const all = sources.length === 2 ? 'both' : 'all';
  if (correct.length === 0) return `${all} wrong`;
  if (correct.length === sources.length) return `${all} right`;
  return `only ${correct.join(' and ')}`;
}

/** Agreement between the predictions of several sources (modalities), optionally crossed with the multimodal ones. */
export function agreementTable(
  preds: Readonly<Record<string, PredsInput>>,
  target: LabelsInput,
  options: AgreementOptions = {},
): AgreementTable {
  const sources = modalityNames('preds', preds);
  if (sources.length > MAX_SOURCES) throw invalid('preds', `at most ${MAX_SOURCES} sources`, `${sources.length} sources`);
  const t = readLabels('target', target);
  const rows = 1 << sources.length;
  const mask = new Int32Array(t.length);
  sources.forEach((m, j) => {
    const p = readPreds(`preds.${m}`, preds[m]!);
    checkSameLength(p.labels.length, t);
    resolveNumClasses(options.numClasses, p, t);
    for (let i = 0; i < t.length; i++) if (p.labels[i] === t[i]) mask[i]! |= 1 << j;
  });
  const count = new Array<number>(rows).fill(0);
  for (let i = 0; i < t.length; i++) count[mask[i]!]!++;
  let mm: number[] | undefined;
  if (options.multimodal !== undefined) {
    const p = readPreds('multimodal', options.multimodal);
    checkSameLength(p.labels.length, t);
    resolveNumClasses(options.numClasses, p, t);
    mm = new Array<number>(rows).fill(0);
    for (let i = 0; i < t.length; i++) if (p.labels[i] === t[i]) mm[mask[i]!]!++;
  }
  return {
    sources,
    total: t.length,
    rows: count.map((n, r) => {
      const correct = sources.filter((_, j) => (r >> j) & 1);
      const row: AgreementRow = { correct, label: rowLabel(sources, correct), count: n, fraction: t.length === 0 ? 0 : n / t.length };
      if (mm !== undefined) row.multimodalCorrect = mm[r]!;
      return row;
    }),
  };
}
