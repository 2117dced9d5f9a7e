import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { EPOCH_AXIS, LINE_MARK, PANEL, type Row, SCORE_LABEL, drawable } from './common.js';

/** Train loss, dev loss and the dev score each run selected its best epoch by, per epoch. */
export function trainingCurvesFigure(runs: readonly RunInput[]): Figure | null {
  const monitors = new Set(runs.map((r) => r.monitor));
  const scorePanel = monitors.size === 1 ? `dev ${SCORE_LABEL[runs[0]!.monitor]}` : "dev score (each run's monitored one)";
  const order = ['train loss', 'dev loss', scorePanel];
  const rows: Row[] = [];
  for (const r of runs)
    for (const e of r.epochs) {
      const values: [string, unknown][] = [
        ['train loss', e.trainLoss],
        ['dev loss', e.dev?.loss],
        [scorePanel, e.dev?.[r.monitor]],
      ];
      for (const [panel, value] of values)
        if (drawable(value)) rows.push({ run: r.label, epoch: e.epoch, panel, value, phase: e.phase ?? null });
    }
  if (rows.length === 0) return null;
  return {
    id: 'training-curves',
    title: 'Training and dev curves',
    caption:
      'Train loss, dev loss and dev score per epoch. Look for dev loss turning up while train loss keeps falling (overfitting) and for where the dev score peaks.',
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
          color: { field: 'run', type: 'nominal', title: 'run' },
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

/** Each term of the training objective per epoch, when a run's objective has more than one. */
export function lossTermsFigure(runs: readonly RunInput[]): Figure | null {
  const rows: Row[] = [];
  const withTerms = runs.filter((r) => r.epochs.some((e) => Object.keys(e.trainLossTerms ?? {}).length > 1));
  for (const r of withTerms)
    for (const e of r.epochs)
      for (const [term, value] of Object.entries(e.trainLossTerms ?? {}))
        if (drawable(value)) rows.push({ run: r.label, term, epoch: e.epoch, value });
  if (rows.length === 0) return null;
  const inner = {
    width: PANEL.width,
    height: PANEL.height,
    mark: LINE_MARK,
    encoding: {
      x: EPOCH_AXIS,
      y: { field: 'value', type: 'quantitative', title: 'mean over the epoch' },
      color: { field: 'term', type: 'nominal', title: 'loss term' },
    },
  };
  return {
    id: 'loss-terms',
    title: 'Loss terms',
    caption:
      "Each term of the training objective per epoch (fused cross entropy, each modality's own loss, a method's extra terms). Look for one term dominating the sum or a modality's loss that stops falling.",
    spec:
      withTerms.length > 1
        ? {
            data: { values: rows },
            facet: { field: 'run', type: 'nominal', title: null },
            columns: 3,
            spec: inner,
            resolve: { scale: { y: 'independent' } },
          }
        : { data: { values: rows }, ...inner, title: withTerms[0]!.label },
  };
}
