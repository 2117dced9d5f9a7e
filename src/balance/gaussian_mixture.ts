/**
 * A K-component Gaussian mixture on 1-D data, fitted by EM in float64 (the GMM-guided loss fits
 * K = 2 to the modality gaps). From the same start it reproduces sklearn 1.2's
 * GaussianMixture(covariance_type='full', reg_covar, tol, max_iter) step for step:
 * - every iteration runs an E-step (log-sum-exp) on the current parameters, then an M-step with
 *   nk = sum of responsibilities + 10 * eps, mean = sum r x / nk,
 *   variance = sum r (x - mean)^2 / nk + varianceFloor, weight = nk / sum nk;
 * - the iteration's lower bound is the mean log-likelihood of its E-step, i.e. of the parameters
 *   *before* its M-step; EM stops when it moves by less than `tolerance`;
 * - the returned parameters are those of the last M-step, scored by one more E-step.
 * Pure TypeScript: no tensors, so it runs anywhere and on any thread.
 */
import { mulberry32 } from '../data/split.js';
import { checkInt, checkNumber, invalid } from '../engine/errors.js';

/** A mixture of Gaussians on the real line; the three arrays are indexed by component. */
export interface GaussianMixture1D {
  weights: number[];
  means: number[];
  variances: number[];
}

/**
 * How EM starts.
 * - 'kmeans++': seeded k-means++ seeding (greedy, 2 + floor(ln K) candidates per centre), Lloyd
 *   iterations until the assignment stops changing (at most 100), then one M-step on the one-hot
 *   assignment, as sklearn's k-means init does. Same seed, same start.
 * - 'quantile': means at the (k + 0.5) / K quantiles (linear interpolation, numpy's default),
 *   equal weights, every variance = population variance / K + varianceFloor. No randomness.
 * - explicit parameters: used as given (the floor is not added), like sklearn's
 *   weights_init / means_init / precisions_init = 1 / variances.
 */
export type MixtureInit = 'kmeans++' | 'quantile' | GaussianMixture1D;

export interface MixtureOptions {
  /** K; defaults to the explicit init's length, else 2. */
  components: number;
  init: MixtureInit;
  /** Seeds 'kmeans++'; unused by the other starts. */
  seed: number;
  /** Added to every variance in each M-step (sklearn's reg_covar); 0 lets a component collapse. */
  varianceFloor: number;
  /** EM stops when the mean log-likelihood changes by less than this (sklearn's tol). */
  tolerance: number;
  maxIterations: number;
}

export const MIXTURE_DEFAULTS: Readonly<MixtureOptions> = Object.freeze({
  components: 2,
  init: 'kmeans++',
  seed: 0,
  varianceFloor: 1e-6,
  tolerance: 1e-3,
  maxIterations: 100,
});

/**
 * Why a fit is not an ordinary one.
 * - 'constant': every value is equal. EM is skipped: every component sits on that value with
 *   variance = varianceFloor, weights are 1/K, posteriors 1/K, converged, 0 iterations.
 * - 'few-distinct': fewer distinct values than components. EM runs as usual (finite, no error), but
 *   surplus components share a value with another component or keep a weight near 0.
 */
export type MixtureDegeneracy = 'constant' | 'few-distinct';

export interface MixtureFit extends GaussianMixture1D {
  /** The parameters EM started from. */
  initial: GaussianMixture1D;
  /** Mean per-sample log-likelihood of the data under the returned parameters (sklearn's score(x)). */
  logLikelihood: number;
  /** The last iteration's lower bound (sklearn's lower_bound_): one M-step behind logLikelihood. */
  lowerBound: number;
  /** Each iteration's lower bound: the mean log-likelihood of the parameters entering it. */
  history: number[];
  /** EM iterations run (sklearn's n_iter_). */
  iterations: number;
  /** Whether the lower bound settled within tolerance before maxIterations (sklearn's converged_). */
  converged: boolean;
  /** N x K row-major posteriors of the data under the returned parameters (sklearn's predict_proba). */
  responsibilities: Float64Array;
  degenerate: MixtureDegeneracy | null;
}

/** EM reached a state with no finite answer; the message says which and how to avoid it. */
export class MixtureError extends Error {
  override name = 'MixtureError';
}

const EPS = 2.220446049250313e-16; // float64 machine epsilon, as numpy's finfo(float64).eps
const LOG_2PI = Math.log(2 * Math.PI);
const LLOYD_MAX_ITERATIONS = 100;

/** Fits a K-component mixture to x by EM. Throws ArgumentError on bad input, MixtureError when a variance reaches 0. */
export function fitGaussianMixture(x: ArrayLike<number>, options: Partial<MixtureOptions> = {}): MixtureFit {
  const o = checkOptions(options);
  const data = checkData('x', x);
  const n = data.length;
  const k = o.components;
  if (n < 2) throw invalid('x', 'at least 2 values', Array.from(data));
  if (n < k) throw invalid('x', `at least as many values as components (${k})`, `${n} values`);

  const sorted = data.slice().sort();
  const distinct = countDistinct(sorted);
  if (distinct === 1) return constantFit(sorted[0]!, n, k, o.varianceFloor);

  let m: GaussianMixture1D;
  if (o.init === 'kmeans++') m = kmeansInit(data, k, o.seed, o.varianceFloor);
  else if (o.init === 'quantile') m = quantileInit(data, sorted, k, o.varianceFloor);
  else m = copyMixture(o.init);
  const initial = copyMixture(m);

  const resp = new Float64Array(n * k);
  const history: number[] = [];
  let bound = -Infinity;
  let converged = false;
  let iterations = 0;
  for (let it = 1; it <= o.maxIterations; it++) {
    iterations = it;
    const previous = bound;
    bound = eStep(data, m, resp);
    m = mStep(data, resp, m, o.varianceFloor);
    history.push(bound);
    if (Math.abs(bound - previous) < o.tolerance) {
      converged = true;
      break;
    }
  }
  const logLikelihood = eStep(data, m, resp);
  return {
    ...m,
    initial,
    logLikelihood,
    lowerBound: bound,
    history,
    iterations,
    converged,
    responsibilities: resp,
    degenerate: distinct < k ? 'few-distinct' : null,
  };
}

/** N x K row-major log(weight_k * N(x_i; mean_k, variance_k)). */
export function logDensities(x: ArrayLike<number>, mixture: GaussianMixture1D): Float64Array {
  const data = checkData('x', x);
  const m = checkMixture('mixture', mixture);
  const out = new Float64Array(data.length * m.weights.length);
  weightedLogProb(data, m, out);
  return out;
}

/** Per-sample log p(x_i) under the mixture (sklearn's score_samples). */
export function logLikelihoods(x: ArrayLike<number>, mixture: GaussianMixture1D): Float64Array {
  const data = checkData('x', x);
  const m = checkMixture('mixture', mixture);
  const k = m.weights.length;
  const lp = new Float64Array(data.length * k);
  weightedLogProb(data, m, lp);
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = rowLogSumExp(lp, i, k, data[i]!);
  return out;
}

/** N x K row-major posterior of each component for each value (sklearn's predict_proba). */
export function posteriors(x: ArrayLike<number>, mixture: GaussianMixture1D): Float64Array {
  const data = checkData('x', x);
  const m = checkMixture('mixture', mixture);
  const out = new Float64Array(data.length * m.weights.length);
  eStep(data, m, out);
  return out;
}

/**
 * Counts of x in `bins` equal-width bins over [lo, hi], as numpy.histogram(x, bins, range):
 * edges[j] = lo + j * (hi - lo) / bins (the last is hi), bins are [edge_j, edge_j+1) except the last,
 * which also holds hi; values outside [lo, hi] are not counted.
 */
export function histogram(x: ArrayLike<number>, bins: number, range: [number, number]): { edges: number[]; counts: number[] } {
  const data = checkData('x', x);
  checkInt('bins', bins, 1);
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[0] < range[1])) {
    throw invalid('range', '[lo, hi] with finite lo < hi', range);
  }
  const [lo, hi] = range;
  const step = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, j) => (j === bins ? hi : j * step + lo));
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (hi - lo);
  for (const v of data) {
    if (v < lo || v > hi) continue;
    let j = Math.min(Math.trunc((v - lo) * scale), bins - 1);
    // The scaled index can be off by one within an ulp of an edge; the edges decide.
    if (v < edges[j]!) j--;
    else if (j < bins - 1 && v >= edges[j + 1]!) j++;
    counts[j]!++;
  }
  return { edges, counts };
}

// ---------------------------------------------------------------------------------------------
// EM steps

/** Fills out (N x K) with log(w_k N(x_i)) the way sklearn rounds it: y = x * p - mean * p, p = 1/sqrt(var). */
function weightedLogProb(x: Float64Array, m: GaussianMixture1D, out: Float64Array): void {
  const k = m.weights.length;
  for (let c = 0; c < k; c++) {
    const p = 1 / Math.sqrt(m.variances[c]!);
    const mp = m.means[c]! * p;
    const offset = Math.log(p) - 0.5 * LOG_2PI + Math.log(m.weights[c]!);
    for (let i = 0; i < x.length; i++) {
      const y = x[i]! * p - mp;
      out[i * k + c] = offset - 0.5 * y * y;
    }
  }
}

/** log sum_k exp(lp[i, k]); throws when the value has no finite density under any component. */
function rowLogSumExp(lp: Float64Array, i: number, k: number, value: number): number {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, lp[i * k + c]!);
  if (!Number.isFinite(max)) {
    throw new MixtureError(
      `Value ${value} (index ${i}) has zero density under every component (its squared distance overflows): ` +
        'rescale the data or start from wider variances',
    );
  }
  let s = 0;
  for (let c = 0; c < k; c++) s += Math.exp(lp[i * k + c]! - max);
  return Math.log(s) + max;
}

/** Writes the posteriors into resp (N x K) and returns the mean log-likelihood. */
function eStep(x: Float64Array, m: GaussianMixture1D, resp: Float64Array): number {
  const k = m.weights.length;
  weightedLogProb(x, m, resp);
  const total = new Sum();
  for (let i = 0; i < x.length; i++) {
    const norm = rowLogSumExp(resp, i, k, x[i]!);
    total.add(norm);
    for (let c = 0; c < k; c++) resp[i * k + c] = Math.exp(resp[i * k + c]! - norm);
  }
  return total.value / x.length;
}

/**
 * sklearn's M-step. One departure: a component with no responsibility at all (every posterior
 * underflowed to 0) keeps its mean and variance instead of moving to mean 0; its weight still
 * falls to 10 * eps / N.
 */
function mStep(x: Float64Array, resp: Float64Array, previous: GaussianMixture1D, floor: number): GaussianMixture1D {
  const k = previous.weights.length;
  const nk: number[] = [];
  const means: number[] = [];
  const variances: number[] = [];
  for (let c = 0; c < k; c++) {
    const mass = new Sum();
    const moment = new Sum();
    for (let i = 0; i < x.length; i++) {
      const r = resp[i * k + c]!;
      mass.add(r);
      moment.add(r * x[i]!);
    }
    const count = mass.value + 10 * EPS;
    nk.push(count);
    if (mass.value === 0) {
      means.push(previous.means[c]!);
      variances.push(previous.variances[c]!);
      continue;
    }
    const mean = moment.value / count;
    const spread = new Sum();
    for (let i = 0; i < x.length; i++) {
      const d = x[i]! - mean;
      spread.add(resp[i * k + c]! * d * d);
    }
    means.push(mean);
    variances.push(checkVariance(c, spread.value / count + floor));
  }
  const all = nk.reduce((a, b) => a + b, 0);
  return { weights: nk.map((v) => v / all), means, variances };
}

function checkVariance(component: number, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new MixtureError(
      `Component ${component} collapsed onto a single value (variance ${v}): ` + 'use a varianceFloor above 0 or fewer components',
    );
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Starts

function quantileInit(x: Float64Array, sorted: Float64Array, k: number, floor: number): GaussianMixture1D {
  const n = sorted.length;
  const means = Array.from({ length: k }, (_, c) => {
    const pos = ((c + 0.5) / k) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
  });
  const variance = checkVariance(0, populationVariance(x) / k + floor);
  return { weights: new Array<number>(k).fill(1 / k), means, variances: new Array<number>(k).fill(variance) };
}

function kmeansInit(x: Float64Array, k: number, seed: number, floor: number): GaussianMixture1D {
  const centres = kmeansPlusPlus(x, k, mulberry32(seed));
  const label = new Int32Array(x.length).fill(-1);
  for (let it = 0; it < LLOYD_MAX_ITERATIONS; it++) {
    let changed = false;
    for (let i = 0; i < x.length; i++) {
      const c = nearest(x[i]!, centres);
      if (c !== label[i]) changed = true;
      label[i] = c;
    }
    if (!changed) break;
    const total = new Float64Array(k);
    const count = new Float64Array(k);
    for (let i = 0; i < x.length; i++) {
      total[label[i]!]! += x[i]!;
      count[label[i]!]!++;
    }
    // An empty cluster keeps its centre.
    for (let c = 0; c < k; c++) if (count[c]! > 0) centres[c] = total[c]! / count[c]!;
  }
  const resp = new Float64Array(x.length * k);
  for (let i = 0; i < x.length; i++) resp[i * k + label[i]!] = 1;
  // A cluster left empty keeps its centre and the data's spread (mStep keeps "previous" parameters).
  const previous: GaussianMixture1D = {
    weights: new Array<number>(k).fill(1 / k),
    means: centres,
    variances: new Array<number>(k).fill(populationVariance(x) + floor),
  };
  return mStep(x, resp, previous, floor);
}

/** k-means++ seeding with greedy local trials: each new centre is the best of a few D^2 draws. */
function kmeansPlusPlus(x: Float64Array, k: number, rand: () => number): number[] {
  const n = x.length;
  const trials = 2 + Math.floor(Math.log(k));
  const centres = [x[Math.floor(rand() * n)]!];
  const d2 = x.map((v) => (v - centres[0]!) ** 2);
  const cumulative = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) cumulative[i] = acc += d2[i]!;
    let best = -1;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      // With every point on a centre already (fewer distinct values than k) draw uniformly.
      const j = acc > 0 ? upperBound(cumulative, rand() * acc) : Math.floor(rand() * n);
      const candidate = x[Math.min(j, n - 1)]!;
      let potential = 0;
      for (let i = 0; i < n; i++) potential += Math.min(d2[i]!, (x[i]! - candidate) ** 2);
      if (potential < bestPotential) {
        bestPotential = potential;
        best = Math.min(j, n - 1);
      }
    }
    const centre = x[best]!;
    centres.push(centre);
    for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i]!, (x[i]! - centre) ** 2);
  }
  return centres;
}

/** First index whose cumulative sum exceeds target. */
function upperBound(cumulative: Float64Array, target: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function nearest(v: number, centres: number[]): number {
  let best = 0;
  for (let c = 1; c < centres.length; c++) if (Math.abs(v - centres[c]!) < Math.abs(v - centres[best]!)) best = c;
  return best;
}

function constantFit(value: number, n: number, k: number, floor: number): MixtureFit {
  if (!(floor > 0)) {
    throw new MixtureError(`All ${n} values equal ${value}: a mixture of them needs a varianceFloor above 0`);
  }
  const m: GaussianMixture1D = {
    weights: new Array<number>(k).fill(1 / k),
    means: new Array<number>(k).fill(value),
    variances: new Array<number>(k).fill(floor),
  };
  const resp = new Float64Array(n * k);
  const logLikelihood = eStep(new Float64Array(n).fill(value), m, resp);
  return {
    ...m,
    initial: copyMixture(m),
    logLikelihood,
    lowerBound: logLikelihood,
    history: [],
    iterations: 0,
    converged: true,
    responsibilities: resp,
    degenerate: 'constant',
  };
}

// ---------------------------------------------------------------------------------------------
// Validation and small helpers

function checkData(name: string, x: ArrayLike<number>): Float64Array {
  if (x === null || typeof x !== 'object' || typeof x.length !== 'number') throw invalid(name, 'an array of numbers', x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`${name}[${i}]`, 'a finite number', v);
    out[i] = v;
  }
  return out;
}

function checkMixture(name: string, m: GaussianMixture1D, components?: number): GaussianMixture1D {
  if (m === null || typeof m !== 'object') throw invalid(name, 'an object with weights, means and variances', m);
  const k = components ?? (Array.isArray(m.weights) ? m.weights.length : 0);
  if (k < 1) throw invalid(`${name}.weights`, 'a non-empty array', m.weights);
  for (const key of ['weights', 'means', 'variances'] as const) {
    const v: unknown = m[key];
    if (!Array.isArray(v) || v.length !== k) throw invalid(`${name}.${key}`, `an array of ${k} numbers`, v);
    v.forEach((e, c) => {
      if (typeof e !== 'number' || !Number.isFinite(e)) throw invalid(`${name}.${key}[${c}]`, 'a finite number', e);
    });
  }
  m.weights.forEach((w, c) => checkNumber(`${name}.weights[${c}]`, w, 0, 1));
  m.variances.forEach((v, c) => {
    if (!(v > 0)) throw invalid(`${name}.variances[${c}]`, 'a number > 0', v);
  });
  const total = m.weights.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-6) throw invalid(`${name}.weights`, 'weights summing to 1', m.weights);
  return m;
}

function checkOptions(options: Partial<MixtureOptions>): MixtureOptions {
  if (options === null || typeof options !== 'object') throw invalid('options', 'an object', options);
  const init = options.init ?? MIXTURE_DEFAULTS.init;
  const explicit = typeof init === 'object' && init !== null;
  const components = options.components ?? (explicit && Array.isArray(init.weights) ? init.weights.length : MIXTURE_DEFAULTS.components);
  checkInt('components', components, 1);
  if (explicit) checkMixture('init', init, components);
  else if (init !== 'kmeans++' && init !== 'quantile') {
    throw invalid('init', "'kmeans++', 'quantile' or { weights, means, variances }", init);
  }
  return {
    components,
    init,
    seed: checkInt('seed', options.seed ?? MIXTURE_DEFAULTS.seed),
    varianceFloor: checkNonNegative('varianceFloor', options.varianceFloor ?? MIXTURE_DEFAULTS.varianceFloor),
    tolerance: checkNonNegative('tolerance', options.tolerance ?? MIXTURE_DEFAULTS.tolerance),
    maxIterations: checkInt('maxIterations', options.maxIterations ?? MIXTURE_DEFAULTS.maxIterations, 1),
  };
}

function checkNonNegative(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(name, 'a finite number >= 0', v);
  return v;
}

function copyMixture(m: GaussianMixture1D): GaussianMixture1D {
  return { weights: [...m.weights], means: [...m.means], variances: [...m.variances] };
}

function countDistinct(sorted: Float64Array): number {
  let count = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) count++;
  return count;
}

function populationVariance(x: Float64Array): number {
  const total = new Sum();
  for (const v of x) total.add(v);
  const mean = total.value / x.length;
  const spread = new Sum();
  for (const v of x) spread.add((v - mean) * (v - mean));
  return spread.value / x.length;
}

/** Neumaier's compensated sum: EM's sums over many samples stay within an ulp or two of exact. */
class Sum {
  private s = 0;
  private c = 0;
  add(v: number): void {
    const t = this.s + v;
    this.c += Math.abs(this.s) >= Math.abs(v) ? this.s - t + v : v - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}
