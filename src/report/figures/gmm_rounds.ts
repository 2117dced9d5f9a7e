import type { Figure } from '../figure.js';
import type { RunInput } from '../inputs.js';
import { PANEL, type Row, type Spec, drawable, panels } from './common.js';

/** What the GMM-guided loss records on the first epoch of each round (strategy.round). */
interface RoundRecord {
  round: number;
  epoch: number;
  pair: string[];
  mixture: { weights: number[]; means: number[]; variances: number[] };
  balanced: number;
  iterations?: number;
  converged?: boolean;
  degenerate?: string | null;
  meanGamma?: number;
  histogram: { edges: number[]; counts: number[] };
}

function isRound(v: unknown): v is RoundRecord {
  const r = v as RoundRecord | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    typeof r.round === 'number' &&
    Array.isArray(r.histogram?.edges) &&
    Array.isArray(r.histogram?.counts) &&
    r.histogram.edges.length === r.histogram.counts.length + 1 &&
    Array.isArray(r.mixture?.means) &&
    r.mixture.means.length === 2
  );
}

function normalPdf(x: number, mean: number, variance: number): number {
  return Math.exp(-((x - mean) ** 2) / (2 * variance)) / Math.sqrt(2 * Math.PI * variance);
}

/** The part of the fixed histogram range [-1, 1] worth drawing: the filled bins and both components, a bin of margin. */
function visibleRange(r: RoundRecord): [number, number] {
  const { edges, counts } = r.histogram;
  const width = edges[1]! - edges[0]!;
  let lo = Infinity;
  let hi = -Infinity;
  counts.forEach((c, i) => {
    if (c > 0) {
      lo = Math.min(lo, edges[i]!);
      hi = Math.max(hi, edges[i + 1]!);
    }
  });
  r.mixture.means.forEach((m, k) => {
    const sd = Math.sqrt(r.mixture.variances[k]!);
    if (drawable(m) && drawable(sd)) {
      lo = Math.min(lo, m - 3 * sd);
      hi = Math.max(hi, m + 3 * sd);
    }
  });
  if (!(lo < hi)) return [edges[0]!, edges[edges.length - 1]!];
  return [Math.max(edges[0]!, lo - width), Math.min(edges[edges.length - 1]!, hi + width)];
}

/** The two components as densities scaled to the histogram's counts: n * binWidth * w_k * N(x; mu_k, var_k). */
function componentCurves(r: RoundRecord, range: [number, number]): Row[] {
  const { edges, counts } = r.histogram;
  const n = counts.reduce((a, b) => a + b, 0);
  const width = edges[1]! - edges[0]!;
  const rows: Row[] = [];
  for (let k = 0; k < 2; k++) {
    const mean = r.mixture.means[k]!;
    const variance = r.mixture.variances[k]!;
    const weight = r.mixture.weights[k]!;
    if (!drawable(mean) || !drawable(variance) || !drawable(weight) || variance <= 0) continue;
    const sd = Math.sqrt(variance);
    // An even grid over the range, and a fine one across the component, so a narrow peak keeps its height.
    const xs = new Set<number>();
    for (let i = 0; i <= 80; i++) xs.add(range[0] + ((range[1] - range[0]) * i) / 80);
    for (let i = -24; i <= 24; i++) {
      const x = mean + (4 * sd * i) / 24;
      if (x >= range[0] && x <= range[1]) xs.add(x);
    }
    const component = k === r.balanced ? 'balanced component' : 'imbalanced component';
    for (const x of [...xs].sort((a, b) => a - b)) rows.push({ component, x, y: n * width * weight * normalPdf(x, mean, variance) });
  }
  return rows;
}

/**
 * The GMM-guided loss, round by round: the histogram of the per-sample gaps g = P_a - P_b it fitted,
 * with the mixture's two Gaussian components drawn over it as densities scaled to the counts.
 */
export function gmmRoundsFigure(runs: readonly RunInput[]): Figure | null {
  const specs: Spec[] = [];
  const pairs = new Set<string>();
  for (const r of runs)
    for (const e of r.epochs) {
      const round = e.strategy?.round;
      if (!isRound(round)) continue;
      pairs.add(round.pair.join(' − '));
      const range = visibleRange(round);
      const { edges, counts } = round.histogram;
      const bars: Row[] = counts
        .map((count, i) => ({ kind: 'bin', x0: edges[i]!, x1: edges[i + 1]!, count }))
        .filter((b) => b.x1 > range[0] && b.x0 < range[1]);
      const status = round.degenerate ? `degenerate (${round.degenerate})` : round.converged === false ? 'not converged' : 'converged';
      specs.push({
        title: {
          text: `${runs.length > 1 ? `${r.label} · ` : ''}round ${round.round} (epoch ${round.epoch})`,
          subtitle: `gap ${round.pair.join(' − ')}; ${status}${drawable(round.meanGamma) ? `; mean γ ${round.meanGamma.toFixed(2)}` : ''}`,
        },
        width: PANEL.width,
        height: PANEL.height,
        layer: [
          {
            data: { values: bars },
            mark: { type: 'rect', color: '#bbb', stroke: 'white', strokeWidth: 0.5, tooltip: true, clip: true },
            encoding: {
              x: {
                field: 'x0',
                type: 'quantitative',
                title: `gap P(${round.pair[0]}) − P(${round.pair[1]})`,
                scale: { domain: range, nice: false },
              },
              x2: { field: 'x1' },
              y: { field: 'count', type: 'quantitative', title: 'training samples' },
              y2: { datum: 0 },
            },
          },
          {
            data: { values: componentCurves(round, range) },
            mark: { type: 'line', strokeWidth: 2, clip: true },
            encoding: {
              x: { field: 'x', type: 'quantitative' },
              y: { field: 'y', type: 'quantitative' },
              color: {
                field: 'component',
                type: 'nominal',
                title: 'mixture',
                scale: { domain: ['balanced component', 'imbalanced component'], range: ['#54a24b', '#e45756'] },
              },
            },
          },
        ],
      });
    }
  if (specs.length === 0) return null;
  return {
    id: 'gmm-rounds',
    title: `GMM-guided loss: the gap and its two-component mixture, per round (${[...pairs].join(', ')})`,
    caption:
      "The histogram of each training sample's gap between the two modalities' true-class probabilities when the round began, and the fitted components scaled to it. The balanced component should grow and move towards 0 from round to round.",
    spec: panels(specs, 4),
  };
}
