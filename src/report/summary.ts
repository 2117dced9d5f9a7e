import type { FigureTable } from './figure.js';
import { percent } from './figures/common.js';
import { verdictHeadline } from './figures/diagnose.js';
import { testCalibration } from './figures/reliability.js';
import type { ReportInput } from './inputs.js';
import { allRuns } from './load.js';

/** The report's header: what was loaded (a diagnosis with its verdict in a few words) and the runs' numbers. */
export interface ReportSummary {
  /** One line: the runs, methods and data. */
  overview: string;
  /** One line per input. */
  loaded: string[];
  runs: FigureTable | null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summarizeInputs(inputs: readonly ReportInput[]): ReportSummary {
  const runs = allRuns(inputs);
  const loaded: string[] = [];
  for (const i of inputs) {
    if (i.kind === 'run') {
      const state = i.summary ? 'finished' : 'not finished';
      loaded.push(`run ${i.label}: ${i.dataName}, ${plural(i.epochs.length, 'epoch')}, ${state} (${i.dir})`);
    } else if (i.kind === 'sweep') {
      const what =
        i.table === 'methods'
          ? `method sweep, ${plural(new Set(i.rows.map((r) => r.method)).size, 'method')}`
          : `modality sweep, ${plural(i.rows.length, 'subset')}`;
      const tests = i.robustness.length > 0 ? `, ${plural(i.robustness.length, 'robustness test')}` : '';
      loaded.push(`${what} × ${plural(i.seeds, 'seed')} on ${i.dataName}, ${plural(i.runs.length, 'run')} read${tests} (${i.dir})`);
    } else if (i.kind === 'robustness') {
      const c = i.doc.clean;
      loaded.push(
        `robustness test of ${i.label}: ${plural(i.doc.curves.length, 'curve')}; clean ${i.doc.split} accuracy ${percent(c.accuracy)}%, weighted F1 ${percent(c.weightedF1)}% (${i.file})`,
      );
    } else {
      const s = i.doc.data.sizes;
      loaded.push(
        `diagnosis of ${i.label} (${i.doc.data.kind}; ${s.train}/${s.dev}/${s.test} train/dev/test samples): ${verdictHeadline(i)} (${i.dir})`,
      );
    }
  }
  const methods = [...new Set(runs.map((r) => r.method))];
  const data = [...new Set([...runs.map((r) => r.dataName), ...inputs.flatMap((i) => (i.kind === 'diagnose' ? [i.label] : []))])];
  const parts = [plural(runs.length, 'run')];
  if (methods.length > 0) parts.push(`methods: ${methods.join(', ')}`);
  if (data.length > 0) parts.push(`data: ${data.join(', ')}`);
  const table: FigureTable | null =
    runs.length === 0
      ? null
      : {
          columns: [
            'run',
            'method',
            'modalities',
            'data',
            'seed',
            'epochs',
            'best epoch',
            'test accuracy (%)',
            'test weighted F1 (%)',
            'test ECE',
            'time (s)',
          ],
          rows: runs.map((r) => {
            const ece = testCalibration(r)?.ece;
            return [
              r.label,
              r.method,
              r.modalities.join('+'),
              r.dataName,
              r.seed === null ? '?' : String(r.seed),
              String(r.epochs.length),
              r.summary?.bestEpoch === undefined ? '–' : String(r.summary.bestEpoch),
              percent(r.summary?.test?.accuracy),
              percent(r.summary?.test?.weightedF1),
              ece === undefined ? 'n/a' : ece.toFixed(3),
              typeof r.summary?.wallSeconds === 'number' ? r.summary.wallSeconds.toFixed(1) : '–',
            ];
          }),
        };
  return {
    overview: parts.join('; '),
    loaded,
    runs: table,
  };
}
