import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type GaussianMixture1D,
  type MixtureFit,
  type MixtureInit,
  MixtureError,
  fitGaussianMixture,
  histogram,
  logDensities,
  logLikelihoods,
  posteriors,
} from '../../src/balance/gaussian_mixture.js';
import { ArgumentError } from '../../src/engine/errors.js';
import { assertClose, readJsonFixture } from '../helpers.js';

interface Case {
  name: string;
  data: string;
  reg_covar: number;
  tol: number;
  max_iter: number;
  init: GaussianMixture1D;
  expected: {
    weights: number[];
    means: number[];
    variances: number[];
    n_iter: number;
    converged: boolean;
    lower_bound: number;
    history: number[];
    score: number;
    predict_proba: number[];
  };
}

interface Fixture {
  datasets: Record<string, number[]>;
  cases: Case[];
  optimum: GaussianMixture1D & { data: string; reg_covar: number; score: number };
  histograms: {
    name: string;
    bins: number;
    range: [number, number];
    counts: number[];
    edges: number[];
    x: number[] | null;
    data: string | null;
  }[];
}

const fx = readJsonFixture<Fixture>('gmm', 'gmm.json');
const data = (name: string): number[] => fx.datasets[name]!;

/** The mixture's components reordered by mean, so fits from different starts compare. */
function byMean(m: GaussianMixture1D): GaussianMixture1D {
  const order = m.means.map((_, c) => c).sort((a, b) => m.means[a]! - m.means[b]!);
  return { weights: order.map((c) => m.weights[c]!), means: order.map((c) => m.means[c]!), variances: order.map((c) => m.variances[c]!) };
}

function assertFinite(fit: MixtureFit): void {
  for (const v of [...fit.weights, ...fit.means, ...fit.variances, ...fit.history, fit.logLikelihood, fit.lowerBound]) {
    assert.ok(Number.isFinite(v), `non-finite value ${v} in ${JSON.stringify(fit)}`);
  }
  assert.ok(fit.responsibilities.every(Number.isFinite), 'non-finite responsibility');
  assertClose([fit.weights.reduce((a, b) => a + b, 0)], [1], 1e-12, 0, 'sum of weights');
}

for (const c of fx.cases) {
  test(`EM from an explicit start matches sklearn: ${c.name}`, () => {
    const x = data(c.data);
    const fit = fitGaussianMixture(x, { init: c.init, varianceFloor: c.reg_covar, tolerance: c.tol, maxIterations: c.max_iter });
    const e = c.expected;
    assert.equal(fit.iterations, e.n_iter, 'iterations');
    assert.equal(fit.converged, e.converged, 'converged');
    assertClose(fit.weights, e.weights, 1e-6, 0, 'weights');
    assertClose(fit.means, e.means, 1e-6, 0, 'means');
    assertClose(fit.variances, e.variances, 1e-6, 0, 'variances');
    assertClose(fit.history, e.history, 1e-6, 0, 'history');
    assertClose([fit.lowerBound], [e.lower_bound], 1e-6, 0, 'lowerBound');
    assertClose([fit.logLikelihood], [e.score], 1e-6, 0, 'logLikelihood');
    assertClose(fit.responsibilities, e.predict_proba, 1e-6, 0, 'responsibilities');
    assert.deepEqual(fit.initial, c.init);
    assert.equal(fit.degenerate, null);
  });
}

test('posteriors and log-likelihoods of a fitted mixture agree with the fit and with sklearn', () => {
  for (const c of fx.cases) {
    const x = data(c.data);
    const fit = fitGaussianMixture(x, { init: c.init, varianceFloor: c.reg_covar, tolerance: c.tol, maxIterations: c.max_iter });
    const p = posteriors(x, fit);
    assert.deepEqual(p, fit.responsibilities, c.name);
    assertClose(p, c.expected.predict_proba, 1e-6, 0, `${c.name} posteriors`);
    const ll = logLikelihoods(x, fit);
    assertClose([ll.reduce((a, b) => a + b, 0) / x.length], [c.expected.score], 1e-6, 0, `${c.name} mean log-likelihood`);
    // Row i of the weighted log densities, log-sum-exp'd, is the sample's log-likelihood.
    const k = fit.weights.length;
    const ld = logDensities(x, fit);
    for (const i of [0, 1, x.length - 1]) {
      const row = Array.from(ld.subarray(i * k, i * k + k));
      assertClose([Math.log(row.reduce((a, b) => a + Math.exp(b), 0))], [ll[i]!], 1e-12, 1e-12, `${c.name} row ${i}`);
    }
  }
});

test('the stopping rule: the last lower-bound change is under tolerance, earlier ones are not', () => {
  const c = fx.cases.find((k) => k.name === 'three')!;
  const fit = fitGaussianMixture(data(c.data), { init: c.init, varianceFloor: c.reg_covar, tolerance: c.tol, maxIterations: 1000 });
  assert.ok(fit.converged);
  assert.equal(fit.history.length, fit.iterations);
  assert.equal(fit.lowerBound, fit.history.at(-1));
  const changes = fit.history.slice(1).map((h, i) => Math.abs(h - fit.history[i]!));
  assert.ok(changes.at(-1)! < c.tol);
  assert.ok(changes.slice(0, -1).every((d) => d >= c.tol));
  // EM never lowers the likelihood.
  assert.ok(fit.history.every((h, i) => i === 0 || h >= fit.history[i - 1]! - 1e-12));
  assert.ok(fit.logLikelihood >= fit.lowerBound);
});

test('k-means++ and quantile starts reach sklearn optimum on well-separated data', () => {
  const o = fx.optimum;
  const x = data(o.data);
  const starts = [...[0, 1, 2, 3, 4, 5, 6, 7].map((seed) => ({ init: 'kmeans++' as const, seed })), { init: 'quantile' as const, seed: 0 }];
  for (const s of starts) {
    const fit = fitGaussianMixture(x, { ...s, varianceFloor: o.reg_covar, tolerance: 1e-10, maxIterations: 1000 });
    const what = `${s.init} seed ${s.seed}`;
    assert.ok(fit.converged, what);
    const m = byMean(fit);
    assertClose(m.weights, o.weights, 1e-4, 0, `${what} weights`);
    assertClose(m.means, o.means, 1e-4, 0, `${what} means`);
    assertClose(m.variances, o.variances, 1e-4, 0, `${what} variances`);
    assertClose([fit.logLikelihood], [o.score], 1e-6, 0, `${what} logLikelihood`);
  }
});

test('k-means++ is deterministic by seed, and the seed matters', () => {
  const x = data('three');
  const a = fitGaussianMixture(x, { components: 5, seed: 7 });
  const b = fitGaussianMixture(x, { components: 5, seed: 7 });
  assert.deepEqual(a, b);
  const starts = new Set(
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) => JSON.stringify(fitGaussianMixture(x, { components: 5, seed }).initial)),
  );
  assert.ok(starts.size > 1, 'every seed gave the same start');
});

test('the k-means++ start is one M-step on k-means clusters', () => {
  // Two clusters far apart: k-means finds them from any seeding.
  const x = [0, 1, 2, 100, 102];
  const fit = fitGaussianMixture(x, { varianceFloor: 0.5, maxIterations: 1 });
  const m = byMean(fit.initial);
  assertClose(m.means, [1, 101], 1e-12, 1e-12, 'means');
  assertClose(m.variances, [2 / 3 + 0.5, 1 + 0.5], 1e-12, 1e-12, 'variances');
  assertClose(m.weights, [3 / 5, 2 / 5], 1e-12, 1e-12, 'weights');
});

test('the quantile start: means at the (k + 0.5)/K quantiles, equal weights, variance / K + floor', () => {
  const x = [10, 1, 4, 2, 3];
  const fit = fitGaussianMixture(x, { init: 'quantile', varianceFloor: 0.25, maxIterations: 1 });
  // Sorted 1 2 3 4 10: quantile 0.25 sits at position 1, 0.75 at position 3. Mean 4, variance 50 / 5.
  assert.deepEqual(fit.initial, { weights: [0.5, 0.5], means: [2, 4], variances: [5.25, 5.25] });
  const three = fitGaussianMixture([0, 1, 2, 3], { init: 'quantile', components: 3, varianceFloor: 0, maxIterations: 1 });
  // Positions (1/6, 1/2, 5/6) * 3 with linear interpolation.
  assertClose(three.initial.means, [0.5, 1.5, 2.5], 1e-12, 0, 'means');
  assertClose(three.initial.variances, [1.25 / 3, 1.25 / 3, 1.25 / 3], 1e-12, 0, 'variances');
});

test('components default to the explicit start length', () => {
  const c = fx.cases.find((k) => k.name === 'three')!;
  const fit = fitGaussianMixture(data(c.data), { init: c.init, maxIterations: 2 });
  assert.equal(fit.weights.length, 3);
  assert.equal(fit.responsibilities.length, 3 * data(c.data).length);
});

test('two distinct values: each component settles on one with the floor variance', () => {
  const x = data('two_values');
  const zeros = x.filter((v) => v === 0).length / x.length;
  for (const init of ['kmeans++', 'quantile'] as const) {
    const fit = fitGaussianMixture(x, { init, varianceFloor: 1e-6 });
    assert.ok(fit.converged, init);
    assert.equal(fit.degenerate, null);
    const m = byMean(fit);
    assertClose(m.means, [0, 1], 1e-12, 0, `${init} means`);
    assertClose(m.variances, [1e-6, 1e-6], 1e-15, 0, `${init} variances`);
    assertClose(m.weights, [zeros, 1 - zeros], 1e-12, 0, `${init} weights`);
  }
});

test('constant data: every component on the value with the floor variance, flagged', () => {
  const x = [3, 3, 3, 3];
  const inits: MixtureInit[] = ['kmeans++', 'quantile', { weights: [0.9, 0.1], means: [0, 5], variances: [1, 1] }];
  for (const init of inits) {
    const fit = fitGaussianMixture(x, { init, varianceFloor: 0.01 });
    assert.equal(fit.degenerate, 'constant');
    assert.deepEqual(
      { weights: fit.weights, means: fit.means, variances: fit.variances },
      { weights: [0.5, 0.5], means: [3, 3], variances: [0.01, 0.01] },
    );
    assert.ok(fit.converged);
    assert.equal(fit.iterations, 0);
    assertClose([fit.logLikelihood], [-0.5 * Math.log(2 * Math.PI * 0.01)], 1e-12, 0, 'logLikelihood');
    assertClose(fit.responsibilities, new Array(8).fill(0.5), 1e-15, 0, 'responsibilities');
    assertFinite(fit);
  }
  assert.throws(
    () => fitGaussianMixture(x, { varianceFloor: 0 }),
    (e: unknown) => e instanceof MixtureError && /varianceFloor above 0/.test(e.message),
  );
});

test('fewer distinct values than components: a finite fit, flagged', () => {
  const x = [0, 0, 1, 1, 1];
  for (const init of ['kmeans++', 'quantile'] as const) {
    for (const seed of [0, 1, 2, 3]) {
      const fit = fitGaussianMixture(x, { init, seed, components: 3 });
      assert.equal(fit.degenerate, 'few-distinct');
      assertFinite(fit);
      // The mixture still describes both values: each has its own mass.
      const p = posteriors([0, 1], fit);
      const near = (v: number): number => fit.means.reduce((s, m, c) => s + (Math.abs(m - v) < 1e-6 ? fit.weights[c]! : 0), 0);
      assertClose([near(0), near(1)], [0.4, 0.6], 1e-9, 0, `${init} seed ${seed} mass`);
      assert.ok(p.every(Number.isFinite));
    }
  }
});

test('a component collapsing with no variance floor is an error that names the way out', () => {
  const x = [0, 0, 0, 5, 5, 5];
  assert.throws(
    () => fitGaussianMixture(x, { init: 'quantile', varianceFloor: 0, tolerance: 0, maxIterations: 1000 }),
    (e: unknown) => e instanceof MixtureError && /collapsed/.test(e.message) && /varianceFloor/.test(e.message),
  );
  // k-means puts each value in its own cluster: the start itself has no variance.
  assert.throws(() => fitGaussianMixture([0, 5], { varianceFloor: 0 }), MixtureError);
});

test('a value with no finite density under any component is an error, not NaN', () => {
  const init = { weights: [0.5, 0.5], means: [0, 1], variances: [1, 1] };
  assert.throws(
    () => fitGaussianMixture([0, 1, 1e200], { init }),
    (e: unknown) => e instanceof MixtureError && /index 2/.test(e.message),
  );
  assert.throws(() => posteriors([1e200], init), MixtureError);
});

test('bad data and options are argument errors naming the argument', () => {
  const bad: [() => unknown, RegExp][] = [
    [() => fitGaussianMixture([]), /for x but/],
    [() => fitGaussianMixture([1]), /at least 2 values for x/],
    [() => fitGaussianMixture([1, 2], { components: 3 }), /at least as many values as components \(3\) for x/],
    [() => fitGaussianMixture([1, Number.NaN, 2]), /finite number for x\[1\]/],
    [() => fitGaussianMixture([1, 2, Infinity]), /finite number for x\[2\]/],
    [() => fitGaussianMixture([1, 2, '3' as unknown as number]), /finite number for x\[2\]/],
    [() => fitGaussianMixture(5 as unknown as number[]), /array of numbers for x/],
    [() => fitGaussianMixture([1, 2], { components: 0 }), /for components/],
    [() => fitGaussianMixture([1, 2], { components: 1.5 }), /for components/],
    [() => fitGaussianMixture([1, 2], { maxIterations: 0 }), /for maxIterations/],
    [() => fitGaussianMixture([1, 2], { varianceFloor: -1 }), /for varianceFloor/],
    [() => fitGaussianMixture([1, 2], { tolerance: Number.NaN }), /for tolerance/],
    [() => fitGaussianMixture([1, 2], { seed: 0.5 }), /for seed/],
    [() => fitGaussianMixture([1, 2], { init: 'kmeans' as 'kmeans++' }), /'kmeans\+\+', 'quantile' or .* for init/],
    [
      () => fitGaussianMixture([1, 2], { components: 3, init: { weights: [0.5, 0.5], means: [0, 1], variances: [1, 1] } }),
      /array of 3 numbers for init.weights/,
    ],
    [
      () => fitGaussianMixture([1, 2], { init: { weights: [0.5, 0.6], means: [0, 1], variances: [1, 1] } }),
      /summing to 1 for init.weights/,
    ],
    [() => fitGaussianMixture([1, 2], { init: { weights: [1.5, -0.5], means: [0, 1], variances: [1, 1] } }), /for init.weights\[0\]/],
    [() => fitGaussianMixture([1, 2], { init: { weights: [0.5, 0.5], means: [0, 1], variances: [1, 0] } }), /> 0 for init.variances\[1\]/],
    [() => fitGaussianMixture([1, 2], { init: { weights: [0.5, 0.5], means: [0, Number.NaN], variances: [1, 1] } }), /for init.means\[1\]/],
    [() => posteriors([1, 2], { weights: [1], means: [0, 1], variances: [1] }), /array of 1 numbers for mixture.means/],
    [() => logLikelihoods([1, Number.NaN], { weights: [1], means: [0], variances: [1] }), /for x\[1\]/],
  ];
  for (const [f, message] of bad) assert.throws(f, (e: unknown) => e instanceof ArgumentError && message.test(e.message), String(f));
});

test('histogram matches numpy.histogram, edge values included', () => {
  for (const h of fx.histograms) {
    const x = h.x ?? data(h.data!);
    const got = histogram(x, h.bins, h.range);
    assert.deepEqual(got.counts, h.counts, `${h.name} counts`);
    assert.deepEqual(got.edges, h.edges, `${h.name} edges`);
  }
});

test('histogram counts every value in range once and none outside', () => {
  const x = data('skewed_gaps');
  const { counts, edges } = histogram(x, 13, [0, 0.5]);
  assert.equal(edges.length, 14);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    x.filter((v) => v >= 0 && v <= 0.5).length,
  );
  assert.throws(() => histogram(x, 0, [0, 1]), ArgumentError);
  assert.throws(() => histogram(x, 2, [1, 1]), /\[lo, hi\] with finite lo < hi for range/);
  assert.throws(() => histogram([0, Number.NaN], 2, [0, 1]), /for x\[1\]/);
});
