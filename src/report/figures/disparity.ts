import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { EPOCH_AXIS, LINE_MARK, PANEL, type Row, drawable, seriesEncoding } from './common.js';

/** Each modality's dev disparity ratio per epoch (OGM-GE's rho: its unimodal score over the weakest one's). */
export function disparityFigure(runs: readonly RunInput[]): Figure | null {
  const rows: Row[] = [];
  const drawn = new Set<string>();
  for (const r of runs)
    for (const e of r.epochs) {
      const ratios = e.disparityRatio ?? {};
      if (Object.keys(ratios).length < 2) continue;
      for (const [modality, value] of Object.entries(ratios))
        if (drawable(value)) {
          rows.push({ source: r.label, modality, epoch: e.epoch, value });
          drawn.add(r.label);
        }
    }
  if (rows.length === 0) return null;
  return {
    id: 'disparity',
    title: 'Disparity ratio per modality (dev)',
    caption:
      "Each modality's unimodal score over the weakest modality's (the weakest sits at 1). A modality far above 1 dominates; balancing should bring the ratios together over training.",
    spec: {
      width: PANEL.width * 1.6,
      height: PANEL.height * 1.2,
      layer: [
        { data: { values: [{}] }, mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { y: { datum: 1 } } },
        {
          data: { values: rows },
          mark: LINE_MARK,
          encoding: {
            x: EPOCH_AXIS,
            y: { field: 'value', type: 'quantitative', title: 'disparity ratio', scale: { zero: false } },
            ...seriesEncoding(drawn.size),
          },
        },
      ],
    },
  };
}
