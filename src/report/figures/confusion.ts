import { confusionMatrix } from '../../metrics/functional/confusion_matrix.js';
import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { rowsOf } from '../predictions_file.js';
import { type Row, type Spec, bandSize, panels, percent } from './common.js';

/** The test confusion matrix of a run: from its predictions, else as its summary recorded it. */
export function testConfusion(r: RunInput): number[][] | null {
  const t = r.predictions?.splits.test;
  if (t) return confusionMatrix(rowsOf(t.probs, t.n, t.c), t.label, { numClasses: t.c });
  return r.summary?.test?.confusionMatrix ?? null;
}

/** Test confusion matrices, one per run side by side (overlaying them would hide both). */
export function confusionFigure(runs: readonly RunInput[]): Figure | null {
  const specs: Spec[] = [];
  for (const r of runs) {
    const m = testConfusion(r);
    if (!m || m.length === 0) continue;
    const names = m.map((_, i) => r.classNames[i] ?? String(i));
    const rows: Row[] = [];
    let right = 0;
    let total = 0;
    m.forEach((row, t) => {
      const support = row.reduce((a, b) => a + b, 0);
      row.forEach((count, p) => {
        rows.push({ true: names[t]!, predicted: names[p]!, count, share: support > 0 ? count / support : 0 });
        if (t === p) right += count;
        total += count;
      });
    });
    const size = bandSize(names.length, 28, 140, 320);
    specs.push({
      title: { text: r.label, subtitle: `test accuracy ${percent(total > 0 ? right / total : null, 1)}%` },
      data: { values: rows },
      width: size,
      height: size,
      encoding: {
        x: { field: 'predicted', type: 'nominal', sort: names, title: 'predicted', axis: { labelAngle: 0 } },
        y: { field: 'true', type: 'nominal', sort: names, title: 'true class' },
      },
      layer: [
        {
          mark: { type: 'rect', tooltip: true },
          encoding: {
            color: { field: 'share', type: 'quantitative', title: 'share of the true class', scale: { domain: [0, 1], scheme: 'blues' } },
          },
        },
        {
          mark: { type: 'text', fontSize: names.length > 8 ? 9 : 11 },
          encoding: {
            text: { field: 'count', type: 'quantitative' },
            color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
          },
        },
      ],
    });
  }
  if (specs.length === 0) return null;
  return {
    id: 'confusion',
    title: 'Confusion matrix (test)',
    caption:
      'Rows are true classes, columns predictions; counts in the cells, shade the share of the true class. Look for classes absorbed by a neighbour (a bright off-diagonal cell) rather than the overall accuracy.',
    spec: panels(specs, 3),
  };
}
