import { agreementTable } from '../../metrics/functional/agreement.js';
import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { rowsOf } from '../predictions_file.js';
import { type Row, type Spec, panels } from './common.js';

/** Every pair of modalities, in order. */
function pairs(ms: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < ms.length; i++) for (let j = i + 1; j < ms.length; j++) out.push([ms[i]!, ms[j]!]);
  return out;
}

/**
 * Agreement of the modalities' own test predictions: for a pair a, b, the samples both get wrong,
 * only a gets right, only b, or both. With more than two modalities, one matrix per pair: each
 * reads the same way as the two-modality case, and an all-modality table would need 2^M cells.
 */
export function agreementFigure(runs: readonly RunInput[]): Figure | null {
  const specs: Spec[] = [];
  for (const r of runs) {
    const t = r.predictions?.splits.test;
    if (!t || t.n === 0) continue;
    const fused = rowsOf(t.probs, t.n, t.c);
    for (const [a, b] of pairs(Object.keys(t.unimodal))) {
      const table = agreementTable({ [a]: rowsOf(t.unimodal[a]!, t.n, t.c), [b]: rowsOf(t.unimodal[b]!, t.n, t.c) }, t.label, {
        multimodal: fused,
        numClasses: t.c,
      });
      // Row r of the table: bit 0 set when a is right, bit 1 when b is.
      const rows: Row[] = table.rows.map((row, k) => ({
        a: k & 1 ? 'right' : 'wrong',
        b: k & 2 ? 'right' : 'wrong',
        case: row.label,
        count: row.count,
        share: row.fraction,
        fusedRight: row.multimodalCorrect ?? null,
        text: `${row.count} (${(100 * row.fraction).toFixed(0)}%)\nfused right ${row.multimodalCorrect ?? 0}`,
      }));
      specs.push({
        title: { text: `${a} vs ${b}`, subtitle: `${r.label} · ${t.n} test samples` },
        data: { values: rows },
        width: 170,
        height: 130,
        encoding: {
          x: { field: 'b', type: 'nominal', sort: ['wrong', 'right'], title: `${b} is`, axis: { labelAngle: 0 } },
          y: { field: 'a', type: 'nominal', sort: ['wrong', 'right'], title: `${a} is` },
        },
        layer: [
          {
            mark: { type: 'rect', tooltip: true },
            encoding: {
              color: { field: 'share', type: 'quantitative', title: 'share of samples', scale: { domain: [0, 1], scheme: 'greens' } },
            },
          },
          {
            mark: { type: 'text', lineBreak: '\n', fontSize: 11 },
            encoding: {
              text: { field: 'text', type: 'nominal' },
              color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
            },
          },
        ],
      });
    }
  }
  if (specs.length === 0) return null;
  return {
    id: 'agreement',
    title: 'Agreement of the modalities (test)',
    caption:
      "Samples each modality's own predictions get right or wrong, per pair of modalities, with how many of them the fused model gets right. A large 'only a' cell and a small 'only b' one: b adds little that a does not already know.",
    spec: panels(specs, 4),
  };
}
