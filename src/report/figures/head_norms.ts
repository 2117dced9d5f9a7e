import type { Figure } from '../figure.js';
import type { EpochLine, RunInput } from '../inputs.js';
import { PANEL, type Row, type Spec, drawable, panels } from './common.js';

/** The epoch whose head is drawn: the best one when it recorded norms, else the last that did. */
function normsEpoch(r: RunInput): { line: EpochLine; which: 'best' | 'last' } | null {
  const best = r.summary?.bestEpoch;
  const atBest = r.epochs.find((e) => e.epoch === best && e.headWeightNorms);
  if (atBest) return { line: atBest, which: 'best' };
  const last = [...r.epochs].reverse().find((e) => e.headWeightNorms);
  return last ? { line: last, which: 'last' } : null;
}

/** Norm of each class's weights in each modality's part of the fusion head, one panel per run. */
export function headNormsFigure(runs: readonly RunInput[]): Figure | null {
  const specs: Spec[] = [];
  for (const r of runs) {
    const at = normsEpoch(r);
    if (!at) continue;
    const rows: Row[] = [];
    for (const [modality, norms] of Object.entries(at.line.headWeightNorms ?? {}))
      norms.forEach((value, c) => {
        if (drawable(value)) rows.push({ modality, class: r.classNames[c] ?? String(c), classIndex: c, value });
      });
    if (rows.length === 0) continue;
    const modalities = new Set(rows.map((row) => row.modality)).size;
    const classes = new Set(rows.map((row) => row.classIndex)).size;
    specs.push({
      title: { text: r.label, subtitle: `epoch ${at.line.epoch} (${at.which})` },
      data: { values: rows },
      width: Math.max(160, Math.min(340, classes * modalities * 12)),
      height: PANEL.height,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'class', type: 'nominal', sort: { field: 'classIndex' }, title: 'class', axis: { labelAngle: 0 } },
        xOffset: { field: 'modality', type: 'nominal' },
        y: { field: 'value', type: 'quantitative', title: 'weight norm' },
        color: { field: 'modality', type: 'nominal', title: 'modality' },
      },
    });
  }
  if (specs.length === 0) return null;
  return {
    id: 'head-norms',
    title: 'Fusion head weight norms per modality and class',
    caption:
      "The norm of each class's weights in each modality's part of the fusion head (best epoch, else the last). A modality with uniformly smaller norms contributes little to the fused logits.",
    spec: panels(specs, 3),
  };
}
