/** Shared pieces of the figures' Vega-Lite specifications. */
import type { ScoreName } from '../inputs.js';

export type Row = Record<string, string | number | boolean | null>;
export type Spec = Record<string, unknown>;

/** One panel's plotting area, in pixels. */
export const PANEL = { width: 260, height: 170 } as const;

export const SCORE_LABEL: Record<ScoreName, string> = { accuracy: 'accuracy', weightedF1: 'weighted F1' };

/** True for a number that can be drawn (metrics files write Infinity and NaN as null). */
export function drawable(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export const EPOCH_AXIS = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } } as const;

/**
 * How per-modality lines are told apart: by modality when one source is drawn, else colour by
 * source (run, input) and dash by modality, so every source keeps one colour across figures.
 */
export function seriesEncoding(sources: number, sourceTitle = 'run'): Spec {
  return sources > 1
    ? {
        color: { field: 'source', type: 'nominal', title: sourceTitle },
        strokeDash: {
          field: 'modality',
          type: 'nominal',
          title: 'modality',
          // A dash in the legend, not a dot: the modality is told by the line's pattern.
          legend: {
            symbolType: 'stroke',
            symbolSize: 300,
            symbolStrokeWidth: 2,
            encode: { symbols: { update: { stroke: { value: '#444' }, fill: { value: 'transparent' } } } },
          },
        },
      }
    : { color: { field: 'modality', type: 'nominal', title: 'modality' } };
}

/** A line with its points, values in the tooltip. */
export const LINE_MARK = { type: 'line', point: { size: 24 }, tooltip: true, strokeWidth: 1.6 } as const;

export function percent(x: number | null | undefined, digits = 2): string {
  return typeof x === 'number' && Number.isFinite(x) ? (100 * x).toFixed(digits) : 'n/a';
}

export function meanStdText(m: { mean: number; std: number }): string {
  return `${percent(m.mean)} ± ${percent(m.std)}`;
}

/** A grid of panels, `columns` a row. */
export function panels(specs: Spec[], columns = 3): Spec {
  return specs.length === 1 ? specs[0]! : { concat: specs, columns };
}

/** Pixels for a categorical axis of `n` entries. */
export function bandSize(n: number, per = 24, min = 120, max = 360): number {
  return Math.max(min, Math.min(max, n * per));
}
