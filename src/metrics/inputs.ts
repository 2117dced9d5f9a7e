import { checkInt, invalid } from '../engine/errors.js';
import { noGrad } from '../engine/grad_mode.js';
import { Tensor } from '../engine/tensor.js';

/** Class indices, one per sample: a 1-D integer Tensor or a plain/typed array. */
export type LabelsInput = Tensor | ArrayLike<number>;
/** Per-class scores, one row per sample: a [N, C] Tensor or an array of rows; logits or probabilities. */
export type ScoresInput = Tensor | readonly ArrayLike<number>[];
/** Predictions: class indices, or scores whose row-wise argmax (first maximum) is the prediction. */
export type PredsInput = LabelsInput | ScoresInput;

/** Scores read back to the host: row-major [n, c], in float64. */
export interface HostScores {
  n: number;
  c: number;
  data: Float64Array;
}

/** Predictions read back to the host; `width` is the score width C when scores were given. */
export interface HostPreds {
  labels: Int32Array;
  width?: number;
}

/** Reads a tensor's values once; without autograd, so any dtype conversion on the way records nothing. */
function readTensor(t: Tensor): { shape: number[]; values: number[] } {
  return noGrad(() => ({ shape: t.shape, values: t.toArray() }));
}

function labelsFrom(name: string, values: ArrayLike<number>): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw invalid(`${name}[${i}]`, 'a non-negative integer class index', v);
    out[i] = v;
  }
  return out;
}

function isRows(x: PredsInput): x is readonly ArrayLike<number>[] {
  return Array.isArray(x) && x.length > 0 && typeof x[0] === 'object' && x[0] !== null;
}

/** Reads class indices (a 1-D tensor or array of non-negative integers). */
export function readLabels(name: string, x: LabelsInput): Int32Array {
  if (x instanceof Tensor) {
    const { shape, values } = readTensor(x);
    if (shape.length !== 1) throw invalid(name, 'a 1-D tensor of class indices', `a tensor of shape [${shape.join(', ')}]`);
    return labelsFrom(name, values);
  }
  if (x === null || typeof x !== 'object' || typeof (x as ArrayLike<number>).length !== 'number' || isRows(x as PredsInput)) {
    throw invalid(name, 'a 1-D Tensor or array of class indices', x);
  }
  return labelsFrom(name, x);
}

function scoresFrom(name: string, n: number, c: number, values: ArrayLike<number>): HostScores {
  const data = Float64Array.from(values);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw invalid(`${name}[${Math.floor(i / c)}][${i % c}]`, 'a finite score', data[i]);
  }
  if (c < 1) throw invalid(name, 'scores with at least one class column', `a width of ${c}`);
  return { n, c, data };
}

/** Reads [N, C] scores (a 2-D tensor or an array of equal-length rows of finite numbers). */
export function readScores(name: string, x: ScoresInput): HostScores {
  if (x instanceof Tensor) {
    const { shape, values } = readTensor(x);
    if (shape.length !== 2) throw invalid(name, 'a 2-D tensor of scores [N, C]', `a tensor of shape [${shape.join(', ')}]`);
    return scoresFrom(name, shape[0]!, shape[1]!, values);
  }
  if (!Array.isArray(x)) throw invalid(name, 'a 2-D Tensor or an array of score rows', x);
  const n = x.length;
  if (n === 0) throw invalid(name, 'at least one row of scores', x);
  const c = (x[0] as ArrayLike<number>).length;
  const values = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const row = x[i] as ArrayLike<number> | null;
    if (row === null || typeof row !== 'object' || row.length !== c) {
      throw invalid(`${name}[${i}]`, `a row of ${c} scores like row 0`, row);
    }
    for (let j = 0; j < c; j++) values[i * c + j] = Number(row[j]);
  }
  return scoresFrom(name, n, c, values);
}

/** Row-wise argmax, the first maximum winning ties (as torch.argmax and numpy.argmax do). */
export function argmaxRows(s: HostScores): Int32Array {
  const out = new Int32Array(s.n);
  for (let i = 0; i < s.n; i++) {
    const base = i * s.c;
    let best = 0;
    for (let j = 1; j < s.c; j++) if (s.data[base + j]! > s.data[base + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Reads predictions: scores (2-D) become their argmax, indices (1-D) are taken as they are. */
export function readPreds(name: string, x: PredsInput): HostPreds {
  const twoD = x instanceof Tensor ? x.ndim === 2 : isRows(x);
  if (!twoD) return { labels: readLabels(name, x as LabelsInput) };
  const s = readScores(name, x as ScoresInput);
  return { labels: argmaxRows(s), width: s.c };
}

/** Throws unless the target has one label per prediction. */
export function checkSameLength(n: number, target: ArrayLike<number>): void {
  if (target.length !== n) throw invalid('target length', `${n} (one label per prediction)`, target.length);
}

/** Checks a given class count. */
export function checkNumClasses(numClasses: unknown): number {
  return checkInt('numClasses', numClasses, 1);
}

/** Throws unless every label is below `limit`; `why` says where the limit came from. */
export function checkLabelsBelow(name: string, labels: ArrayLike<number>, limit: number, why: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= limit) throw invalid(`${name}[${i}]`, `a class index between 0 and ${limit - 1} (${why})`, labels[i]);
  }
}

/** The largest label + 1 (0 for no labels). */
export function labelBound(labels: ArrayLike<number>): number {
  let m = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > m) m = labels[i]!;
  return m + 1;
}

/**
 * The class count: `numClasses` when given (checked against the score width and every label), else
 * the score width when scores were given, else the largest label + 1 over preds and target.
 */
export function resolveNumClasses(numClasses: number | undefined, preds: HostPreds, target: Int32Array): number {
  if (numClasses !== undefined) {
    const c = checkNumClasses(numClasses);
    if (preds.width !== undefined && preds.width !== c) throw invalid('preds width', `${c} score columns (numClasses)`, preds.width);
    checkLabelsBelow('preds', preds.labels, c, 'numClasses');
    checkLabelsBelow('target', target, c, 'numClasses');
    return c;
  }
  if (preds.width !== undefined) {
    checkLabelsBelow('target', target, preds.width, 'the score width');
    return preds.width;
  }
  return Math.max(labelBound(preds.labels), labelBound(target));
}

/** Softmax of one row in float64, shifted by the row maximum. */
export function softmaxRow(data: Float64Array, base: number, c: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < c; j++) max = Math.max(max, data[base + j]!);
  let sum = 0;
  for (let j = 0; j < c; j++) {
    const e = Math.exp(data[base + j]! - max);
    out[j] = e;
    sum += e;
  }
  for (let j = 0; j < c; j++) out[j] = out[j]! / sum;
}
