import type { Figure } from '../figure.js';
import type { RobustnessInput } from '../inputs.js';
import { PANEL, type Row, type Spec, drawable, seriesEncoding } from './common.js';

const METRICS = [
  ['accuracy', 'accuracy'],
  ['weightedF1', 'weighted F1'],
] as const;

const CORRUPTION_TITLE: Record<string, string> = { gaussian: 'Gaussian noise', freqmask: 'frequency masking', zero: 'zeroed' };

/** Test score as one modality's input is corrupted more and more: a row per metric, a column per corruption. */
export function robustnessFigure(inputs: readonly RobustnessInput[]): Figure | null {
  const corruptions: { corruption: string; levelName: string }[] = [];
  const rows: Row[] = [];
  for (const input of inputs)
    for (const c of input.doc.curves) {
      if (!corruptions.some((k) => k.corruption === c.corruption)) corruptions.push({ corruption: c.corruption, levelName: c.levelName });
      for (const l of c.levels)
        for (const [key] of METRICS) {
          const value = l[key];
          if (drawable(value))
            rows.push({
              kind: 'curve',
              source: input.label,
              modality: c.modality,
              corruption: c.corruption,
              metric: key,
              level: l.level,
              value: 100 * value,
            });
        }
    }
  if (rows.length === 0) return null;
  for (const input of inputs)
    for (const [key] of METRICS) rows.push({ kind: 'clean', source: input.label, metric: key, value: 100 * input.doc.clean[key] });
  const sources = new Set(inputs.map((i) => i.label)).size;
  const panel = (metric: string, metricTitle: string, c: { corruption: string; levelName: string }): Spec => ({
    title: `${CORRUPTION_TITLE[c.corruption] ?? c.corruption}`,
    width: PANEL.width,
    height: PANEL.height,
    layer: [
      {
        transform: [{ filter: `datum.kind === 'clean' && datum.metric === '${metric}'` }],
        mark: { type: 'rule', color: '#999', strokeDash: [4, 4] },
        encoding: { y: { field: 'value', type: 'quantitative' }, ...(sources > 1 ? { detail: { field: 'source' } } : {}) },
      },
      {
        transform: [{ filter: `datum.kind === 'curve' && datum.metric === '${metric}' && datum.corruption === '${c.corruption}'` }],
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x: { field: 'level', type: 'quantitative', title: c.levelName },
          y: { field: 'value', type: 'quantitative', title: `test ${metricTitle} (%)` },
          ...seriesEncoding(sources, 'run'),
        },
      },
    ],
  });
  return {
    id: 'robustness',
    title: 'Robustness: test score under corrupted inputs',
    caption:
      "Each line corrupts one modality's input at growing levels (dashed: the clean score). A model that leans on one modality collapses when that one is corrupted and hardly moves when the others are.",
    spec: {
      data: { values: rows },
      vconcat: METRICS.map(([metric, title]) => ({ hconcat: corruptions.map((c) => panel(metric, title, c)) })),
    },
  };
}
