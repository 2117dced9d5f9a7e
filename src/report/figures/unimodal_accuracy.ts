import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { EPOCH_AXIS, LINE_MARK, PANEL, type Row, drawable, seriesEncoding } from './common.js';

const SCORED = "scored: the head's slice or the modality's own classifier";
const PROBE = 'probe: ridge on detached features';

/**
 * Dev accuracy of each modality per epoch, two ways that answer different questions: the logits
 * the method scores (what the model itself gets from the modality), and a ridge probe on the
 * modality's detached features (what its encoder has learnt, whether or not the head uses it).
 */
export function unimodalAccuracyFigure(runs: readonly RunInput[]): Figure | null {
  const rows: Row[] = [];
  const drawn = new Set<string>();
  for (const r of runs)
    for (const e of r.epochs)
      for (const [panel, values] of [
        [SCORED, e.unimodalAccuracy],
        [PROBE, e.probeAccuracy],
      ] as const)
        for (const [modality, value] of Object.entries(values ?? {}))
          if (drawable(value)) {
            rows.push({ source: r.label, modality, panel, epoch: e.epoch, value });
            drawn.add(r.label);
          }
  if (rows.length === 0) return null;
  return {
    id: 'unimodal-accuracy',
    title: 'Unimodal accuracy per epoch (dev)',
    caption:
      'Left, the accuracy of the logits the model gets from each modality; right, a ridge probe on the same encoder’s detached features. A modality whose probe is good but whose scored accuracy stays low is learnt but ignored by the fusion: the imbalance balancing methods target.',
    spec: {
      data: { values: rows },
      facet: { field: 'panel', type: 'nominal', sort: [SCORED, PROBE], header: { title: null, labelFontSize: 12 } },
      columns: 2,
      spec: {
        width: PANEL.width,
        height: PANEL.height,
        mark: LINE_MARK,
        encoding: {
          x: EPOCH_AXIS,
          y: { field: 'value', type: 'quantitative', title: 'dev accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } },
          ...seriesEncoding(drawn.size),
        },
      },
    },
  };
}
