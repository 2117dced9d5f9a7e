import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { EPOCH_AXIS, LINE_MARK, PANEL, type Row, drawable, seriesEncoding } from './common.js';

/** The per-modality quantities balancing methods record in strategy{}, with the panel each is drawn in. */
const PER_MODALITY: [key: string, panel: string][] = [
  ['rho', 'ρ: disparity ratio (step mean)'],
  ['coefficient', 'modulation coefficient'],
  ['k', 'k: MLB coefficient'],
  ['r', 'r: MLB ratio'],
  ['s', 's: MLB unimodal score'],
];
const LAMBDA_PANEL = 'λ: GMM loss weight';

/**
 * What the balancing method did each epoch: Ada2I and OGM-GE's ratio rho and gradient coefficient,
 * MLB's k, r and s, the GMM loss's weight lambda.
 */
export function modulationFigure(runs: readonly RunInput[]): Figure | null {
  const rows: Row[] = [];
  const drawn = new Set<string>();
  for (const r of runs)
    for (const e of r.epochs) {
      const s = e.strategy ?? {};
      for (const [key, panel] of PER_MODALITY) {
        const values = s[key];
        if (values === null || typeof values !== 'object') continue;
        for (const [modality, value] of Object.entries(values as Record<string, unknown>))
          if (drawable(value)) {
            rows.push({ source: r.label, modality, panel, epoch: e.epoch, value });
            drawn.add(r.label);
          }
      }
      if (drawable(s.lambda)) {
        rows.push({ source: r.label, modality: 'all', panel: LAMBDA_PANEL, epoch: e.epoch, value: s.lambda });
        drawn.add(r.label);
      }
    }
  if (rows.length === 0) return null;
  const order = [...PER_MODALITY.map(([, p]) => p), LAMBDA_PANEL].filter((p) => rows.some((row) => row.panel === p));
  return {
    id: 'modulation',
    title: "The balancing method's coefficients per epoch",
    caption:
      'Per-epoch means of what the method applied: Ada2I/OGM-GE scale the dominant modality’s gradients by the coefficient (below 1 when its ratio ρ is above 1); MLB speeds up a modality that is behind (k > 1 when r > 1); the GMM loss weighs its extra terms by λ. Look for coefficients settling near 1 as the modalities even out.',
    spec: {
      data: { values: rows },
      facet: { field: 'panel', type: 'nominal', sort: order, header: { title: null, labelFontSize: 12 } },
      columns: 3,
      spec: {
        width: PANEL.width,
        height: PANEL.height,
        mark: LINE_MARK,
        encoding: {
          x: EPOCH_AXIS,
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
          ...seriesEncoding(drawn.size),
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}
