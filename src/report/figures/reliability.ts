import { addToBins, eceFromBins, emptyBins } from '../../metrics/functional/calibration_error.js';
import { ReportError } from '../errors.js';
import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { rowsOf } from '../predictions_file.js';
import { PANEL, type Row, type Spec, panels } from './common.js';

export const RELIABILITY_BINS = 15;

/** The test split's calibration bins and ECE (15 equal-width bins), or null without predictions. */
export function testCalibration(r: RunInput): { bins: Row[]; ece: number } | null {
  const t = r.predictions?.splits.test;
  if (!t || t.n === 0) return null;
  let bins;
  try {
    bins = addToBins(emptyBins(RELIABILITY_BINS), rowsOf(t.probs, t.n, t.c), t.label, 'probs');
  } catch (e) {
    throw new ReportError(`${r.dir}/predictions.safetensors: test.probs cannot be read as probabilities (${(e as Error).message})`);
  }
  const rows: Row[] = [];
  for (let k = 0; k < bins.nBins; k++) {
    const n = bins.count[k]!;
    if (n === 0) continue;
    rows.push({
      lo: k / bins.nBins,
      hi: (k + 1) / bins.nBins,
      accuracy: bins.correct[k]! / n,
      confidence: bins.confidence[k]! / n,
      count: n,
    });
  }
  return { bins: rows, ece: eceFromBins(bins) };
}

/** Reliability diagrams of the fused test predictions, one per run, ECE in each title. */
export function reliabilityFigure(runs: readonly RunInput[]): Figure | null {
  const specs: Spec[] = [];
  const eces: string[] = [];
  for (const r of runs) {
    const cal = testCalibration(r);
    if (!cal) continue;
    eces.push(`${runs.length > 1 ? `${r.label} ` : ''}${cal.ece.toFixed(3)}`);
    specs.push({
      title: { text: r.label, subtitle: `ECE ${cal.ece.toFixed(4)}` },
      width: PANEL.height * 1.2,
      height: PANEL.height * 1.2,
      layer: [
        {
          data: { values: cal.bins },
          mark: { type: 'rect', tooltip: true, color: '#4c78a8', opacity: 0.8, stroke: 'white' },
          encoding: {
            x: { field: 'lo', type: 'quantitative', title: 'confidence', scale: { domain: [0, 1] } },
            x2: { field: 'hi' },
            y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
            y2: { datum: 0 },
          },
        },
        {
          data: { values: cal.bins },
          mark: { type: 'point', filled: true, color: '#e45756', size: 30, tooltip: true },
          encoding: { x: { field: 'confidence', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
        },
        {
          data: { values: [{ x: 0, y: 0, x2: 1, y2: 1 }] },
          mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            y: { field: 'y', type: 'quantitative' },
            x2: { field: 'x2' },
            y2: { field: 'y2' },
          },
        },
      ],
    });
  }
  if (specs.length === 0) return null;
  return {
    id: 'reliability',
    title: `Reliability diagram (test, ${RELIABILITY_BINS} bins): ECE ${eces.join(', ')}`,
    caption:
      'Accuracy of the fused predictions per confidence bin (bars; red dots at the bin’s mean confidence) against the diagonal of perfect calibration. Bars below the diagonal: overconfident; ECE is the count-weighted gap.',
    spec: panels(specs, 4),
  };
}
