import { test } from 'node:test';
import { assertClose, readJsonFixture } from '../helpers.js';

/** One classification case from gen_metrics.py (sklearn's results on seeded predictions). */
export interface ClassificationCase {
  name: string;
  numClasses: number;
  target: number[];
  preds: number[];
  logits: number[][];
  accuracy: number;
  average: Record<'weighted' | 'macro' | 'micro', { precision: number; recall: number; f1: number }>;
  perClass: { precision: number[]; recall: number[]; f1: number[]; support: number[] };
  f1MacroAllLabels: number;
  confusionMatrix: number[][];
  ece: number;
}

export interface UnimodalCase {
  name: string;
  numClasses: number;
  modalities: string[];
  target: number[];
  logits: Record<string, number[][]>;
  fusedLogits: number[][];
  scores: Record<string, number>;
  rho: Record<string, number>;
  perModality: Record<string, { accuracy: number; weightedF1: number }>;
  agreement: { counts: number[]; multimodalCorrect: number[] };
}

export interface MetricsFixture {
  nBins: number;
  classification: ClassificationCase[];
  unimodal: UnimodalCase[];
}

export const fixture = readJsonFixture<MetricsFixture>('metrics', 'metrics.json');

/** Values computed from counts: only rounding in a division or two. */
export const COUNTS_TOL = 1e-12;
/** Values through a softmax (float32 in torch, float64 here). */
export const SOFTMAX_TOL = 1e-6;

/**
 * The shared harness: one check of a metric against its reference, run as one test per fixture
 * case. `actual` computes the metric from the case, `expected` reads the reference off it.
 */
export interface Check<C> {
  metric: string;
  actual: (c: C) => number | readonly number[] | readonly (readonly number[])[] | Record<string, number>;
  expected: (c: C) => unknown;
  tol: number;
}

function values(v: unknown, keys?: string[]): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v))
    return (keys ?? Object.keys(v)).map((k) => (v as Record<string, unknown>)[k]);
  return v;
}

export function runChecks<C extends { name: string }>(cases: readonly C[], checks: readonly Check<C>[]): void {
  for (const check of checks) {
    for (const c of cases) {
      test(`${check.metric} matches the reference: ${c.name}`, () => {
        const a = check.actual(c);
        const e = check.expected(c);
        // Records compare key by key, in the reference's key order.
        const keys = e !== null && typeof e === 'object' && !Array.isArray(e) ? Object.keys(e) : undefined;
        if (keys !== undefined && a !== null && typeof a === 'object' && !Array.isArray(a)) {
          assertClose(values(a, keys) as number[], values(e, keys), check.tol, check.tol, `${check.metric} (${keys.join(', ')})`);
          return;
        }
        assertClose((Array.isArray(a) ? a.flat() : [a]) as number[], Array.isArray(e) ? e : [e], check.tol, check.tol, check.metric);
      });
    }
  }
}

/** Splits 0..n-1 into uneven consecutive batches (sizes 1, 7, 13, ...), the last one the remainder. */
export function batchBounds(n: number): [number, number][] {
  const out: [number, number][] = [];
  let lo = 0;
  for (let size = 1; lo < n; size += 6) {
    out.push([lo, Math.min(n, lo + size)]);
    lo += size;
  }
  return out;
}
