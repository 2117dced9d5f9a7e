import type { Figure } from '../figure.js';
import type { MethodRow, SweepInput } from '../inputs.js';
import { PANEL, type Row, SCORE_LABEL, bandSize, meanStdText, percent } from './common.js';

type MethodSweep = SweepInput & { table: 'methods'; rows: MethodRow[] };

/** A method sweep: each method's test score over seeds, as bars with error bars and as the sweep's table. */
export function methodComparisonFigure(sweeps: readonly SweepInput[]): Figure | null {
  const methods = sweeps.filter((s): s is MethodSweep => s.table === 'methods' && s.rows.length > 0);
  if (methods.length === 0) return null;
  const scores = new Set(methods.map((s) => s.score));
  const scoreName = scores.size === 1 ? SCORE_LABEL[methods[0]!.score] : 'score';
  const rows: Row[] = [];
  const order: string[] = [];
  for (const s of methods)
    for (const row of s.rows) {
      if (!order.includes(row.method)) order.push(row.method);
      const group = `${methods.length > 1 ? `${s.label}: ` : ''}${row.modalities.join('+')}`;
      const m = row.score;
      rows.push({ kind: 'score', group, method: row.method, mean: 100 * m.mean, lo: 100 * (m.mean - m.std), hi: 100 * (m.mean + m.std) });
      for (const v of m.runs) rows.push({ kind: 'seed', group, method: row.method, value: 100 * v });
    }
  const x = { field: 'method', type: 'nominal', sort: order, title: null, axis: { labelAngle: -30 } };
  const inner = {
    width: bandSize(order.length, 44, PANEL.width, 520),
    height: PANEL.height * 1.2,
    encoding: { x },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'score'" }],
        mark: { type: 'bar', tooltip: true, opacity: 0.85 },
        encoding: {
          y: { field: 'mean', type: 'quantitative', title: `test ${scoreName} (%)`, scale: { zero: false } },
          color: { field: 'method', type: 'nominal', sort: order, legend: null },
        },
      },
      {
        transform: [{ filter: "datum.kind === 'score'" }],
        mark: { type: 'rule', color: 'black', strokeWidth: 1.5 },
        encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
      {
        transform: [{ filter: "datum.kind === 'seed'" }],
        mark: { type: 'point', filled: true, color: 'black', size: 18, tooltip: true },
        encoding: { y: { field: 'value', type: 'quantitative' } },
      },
    ],
  };
  const groups = new Set(rows.map((r) => r.group));
  const many = methods.length > 1;
  return {
    id: 'method-comparison',
    title: `Methods compared: test ${scoreName} (mean ± std over seeds)`,
    caption:
      'Bars are the mean over seeds, whiskers ± one standard deviation, dots the seeds. Differences smaller than the whiskers are not worth reading; the table adds unimodal accuracy, calibration, agreement and cost.',
    spec:
      groups.size > 1
        ? { data: { values: rows }, facet: { field: 'group', type: 'nominal', title: null }, columns: 2, spec: inner }
        : { data: { values: rows }, title: [...groups][0]!, ...inner },
    table: {
      columns: [
        ...(many ? ['sweep'] : []),
        'method',
        'modalities',
        `${scoreName} (%)`,
        'unimodal accuracy (%)',
        'ECE',
        'agreement (mean counts)',
        's / epoch',
        'runs',
      ],
      rows: methods.flatMap((s) =>
        s.rows.map((r) => [
          ...(many ? [s.label] : []),
          r.method,
          r.modalities.join('+'),
          meanStdText(r.score),
          Object.entries(r.unimodalAccuracy ?? {})
            .map(([m, v]) => `${m} ${percent(v)}`)
            .join(', '),
          typeof r.ece === 'number' ? r.ece.toFixed(3) : 'n/a',
          r.agreement ? r.agreement.map((a) => `${a.label} ${a.count.toFixed(0)}`).join(', ') : '–',
          typeof r.epochSeconds === 'number' ? r.epochSeconds.toFixed(2) : 'n/a',
          String(r.score.runs.length),
        ]),
      ),
    },
  };
}
