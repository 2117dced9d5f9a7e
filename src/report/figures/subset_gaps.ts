import type { Figure } from '../figure.js';
import type { SubsetRow, SweepInput } from '../inputs.js';
import { PANEL, type Row, bandSize, meanStdText, percent } from './common.js';

type SubsetSweep = SweepInput & { table: 'subsets'; rows: SubsetRow[] };

/** A modality sweep: each subset's weighted F1 over seeds, and how far it falls short of all modalities together. */
export function subsetGapsFigure(sweeps: readonly SweepInput[]): Figure | null {
  const subsets = sweeps.filter((s): s is SubsetSweep => s.table === 'subsets' && s.rows.length > 0);
  if (subsets.length === 0) return null;
  const rows: Row[] = [];
  const order: string[] = [];
  for (const s of subsets)
    for (const row of s.rows) {
      const subset = row.modalities.join('+');
      if (!order.includes(subset)) order.push(subset);
      const f = row.weightedF1;
      rows.push({ kind: 'score', sweep: s.label, subset, mean: 100 * f.mean, lo: 100 * (f.mean - f.std), hi: 100 * (f.mean + f.std) });
      for (const v of f.runs) rows.push({ kind: 'seed', sweep: s.label, subset, value: 100 * v });
      if (row.gapToAll !== null) rows.push({ kind: 'gap', sweep: s.label, subset, gap: 100 * row.gapToAll });
    }
  const many = subsets.length > 1;
  const x = { field: 'subset', type: 'nominal', sort: order, title: 'modalities', axis: { labelAngle: -30 } };
  const offset = many ? { xOffset: { field: 'sweep', type: 'nominal' }, color: { field: 'sweep', type: 'nominal', title: 'sweep' } } : {};
  const width = bandSize(order.length * (many ? subsets.length : 1), 40, PANEL.width, 520);
  const scorePanel = {
    title: 'weighted F1 (%), mean ± std over seeds',
    width,
    height: PANEL.height,
    encoding: { x, ...offset },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'score'" }],
        mark: { type: 'bar', tooltip: true, ...(many ? {} : { color: '#4c78a8' }), opacity: 0.85 },
        encoding: { y: { field: 'mean', type: 'quantitative', title: 'weighted F1 (%)' } },
      },
      {
        transform: [{ filter: "datum.kind === 'score'" }],
        mark: { type: 'rule', color: 'black' },
        encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
      {
        transform: [{ filter: "datum.kind === 'seed'" }],
        mark: { type: 'point', filled: true, color: 'black', size: 18, tooltip: true },
        encoding: { y: { field: 'value', type: 'quantitative' } },
      },
    ],
  };
  const gapPanel = {
    title: 'gap: all modalities minus this subset (wF1 points)',
    width,
    height: PANEL.height,
    transform: [{ filter: "datum.kind === 'gap'" }],
    mark: { type: 'bar', tooltip: true, ...(many ? {} : { color: '#f58518' }) },
    encoding: { x, ...offset, y: { field: 'gap', type: 'quantitative', title: 'wF1 points' } },
  };
  const hasGap = rows.some((r) => r.kind === 'gap');
  return {
    id: 'subset-gaps',
    title: 'Modality subsets: score and gap to all modalities',
    caption:
      'Left, test weighted F1 of each modality subset (mean ± std, dots are seeds); right, how much adding the missing modalities gains. A subset whose gap is near 0 means the modalities it leaves out contribute almost nothing.',
    spec: { data: { values: rows }, hconcat: hasGap ? [scorePanel, gapPanel] : [scorePanel] },
    table: {
      columns: [...(many ? ['sweep'] : []), 'modalities', 'weighted F1 (%)', 'accuracy (%)', 'gap to all (wF1 points)', 'runs'],
      rows: subsets.flatMap((s) =>
        s.rows.map((r) => [
          ...(many ? [s.label] : []),
          r.modalities.join('+'),
          meanStdText(r.weightedF1),
          meanStdText(r.accuracy),
          r.gapToAll === null ? 'n/a' : percent(r.gapToAll),
          String(r.weightedF1.runs.length),
        ]),
      ),
    },
  };
}
