// The addon's own random draws (dropout masks, gradient noise): distribution, seeding, thread
// independence, autograd and the fallbacks to libtorch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, manualSeed, noGrad, ones, randn, scalarTensor, zeros } from '../../src/index.js';
import { withThreads } from '../helpers.js';

// Standard normal CDF by the Abramowitz-Stegun erf approximation (|error| < 1.5e-7).
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return 0.5 * (1 + (x < 0 ? -erf : erf));
}

test('dropout keeps each element with probability 1 - p and scales kept ones by 1/(1 - p)', () => {
  const n = 400_001;
  for (const p of [0.1, 0.5, 0.9]) {
    const y = F.dropout(ones([n]), p, true).toTypedArray() as Float32Array;
    let kept = 0;
    for (const v of y) {
      if (v === 0) continue;
      assert.ok(Math.abs(v - 1 / (1 - p)) < 1e-6, `a kept element is ${v}, expected ${1 / (1 - p)}`);
      kept++;
    }
    // 5 binomial standard deviations.
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(kept - n * (1 - p)) < 5 * sd, `p=${p}: kept ${kept} of ${n}`);
  }
});

test('dropout masks repeat under manualSeed, differ between calls, and do not depend on the thread count', () => {
  const x = ones([50_000]);
  const draw = (threads: number) =>
    withThreads(threads, () => {
      manualSeed(11);
      return [F.dropout(x, 0.5, true).toArray() as number[], F.dropout(x, 0.5, true).toArray() as number[]];
    });
  const [a1, a2] = draw(1);
  const [b1, b2] = draw(2);
  assert.deepEqual(a1, b1);
  assert.deepEqual(a2, b2);
  assert.notDeepEqual(a1, a2);
});

test("dropout's gradient is its mask, and the float64 path matches float32's statistics", () => {
  const x = randn([2000], { dtype: 'float64' }).requiresGrad_();
  const y = F.dropout(x, 0.25, true);
  y.sum().backward();
  const g = x.grad!.toArray() as number[];
  const yv = y.toArray() as number[];
  const xv = x.toArray() as number[];
  g.forEach((gi, i) => {
    assert.ok(gi === 0 || Math.abs(gi - 1 / 0.75) < 1e-12, `gradient ${gi}`);
    assert.ok(Math.abs(yv[i]! - gi * xv[i]!) < 1e-12, 'output = mask * input');
  });
  const keep = g.filter((v) => v !== 0).length / g.length;
  assert.ok(Math.abs(keep - 0.75) < 0.05, `keep rate ${keep}`);
});

test('dropout edge cases go to libtorch: p = 0 and eval are the identity, p = 1 zeroes, float16 errors', () => {
  const x = randn([100]);
  assert.deepEqual(F.dropout(x, 0, true).toArray(), x.toArray());
  assert.deepEqual(F.dropout(x, 0.5, false).toArray(), x.toArray());
  assert.ok((F.dropout(x, 1, true).toArray() as number[]).every((v) => v === 0));
  // libtorch 1.13 has no CPU float16 dropout: its message arrives as an error, not an abort.
  assert.throws(() => F.dropout(ones([10], { dtype: 'float16' }), 0.5, true), /not implemented for 'Half'/);
  assert.throws(() => F.dropout(x, 1.5, true), /p/);
});

test('addGaussianNoise_ adds N(0, sigma^2): moments, tail mass and CDF points, float32 and float64', () => {
  const n = 1_000_000;
  for (const dtype of ['float32', 'float64'] as const) {
    const z = zeros([n], { dtype });
    noGrad(() => z.addGaussianNoise_(2));
    const a = z.toTypedArray() as Float32Array | Float64Array;
    const pts = [-2.5, -1.5, -0.5, 0, 0.5, 1.5, 2.5];
    const below = pts.map(() => 0);
    let s = 0;
    let s2 = 0;
    let s4 = 0;
    let tail = 0;
    for (const v of a) {
      const u = v / 2;
      s += u;
      s2 += u * u;
      s4 += u ** 4;
      if (Math.abs(u) > 3) tail++;
      pts.forEach((p, k) => {
        if (u < p) below[k]!++;
      });
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `${dtype} mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / n), `${dtype} variance ${variance}`);
    assert.ok(Math.abs(s4 / n - 3) < 5 * Math.sqrt(96 / n), `${dtype} kurtosis ${s4 / n}`);
    // P(|Z| > 3) = 0.0026998: the tails are where a fast sampler's shortcuts show first.
    assert.ok(Math.abs(tail / n - 0.0026998) < 5 * Math.sqrt(0.0027 / n), `${dtype} tail ${tail / n}`);
    pts.forEach((p, k) => {
      const want = normalCdf(p);
      const got = below[k]! / n;
      assert.ok(Math.abs(got - want) < 5 * Math.sqrt((want * (1 - want)) / n), `${dtype} CDF(${p}) = ${got}, want ${want}`);
    });
  }
});

test('addGaussianNoise_ repeats under manualSeed, ignores the thread count, and takes sigma as a 0-d tensor', () => {
  const base = randn([30_000]);
  const noisy = (threads: number, sigma: number | ReturnType<typeof scalarTensor>) =>
    withThreads(threads, () => {
      manualSeed(4);
      const t = base.clone();
      t.addGaussianNoise_(sigma);
      return t.toArray() as number[];
    });
  const a = noisy(1, 0.5);
  assert.deepEqual(noisy(2, 0.5), a);
  assert.deepEqual(noisy(2, scalarTensor(0.5, { dtype: 'float32' })), a);
  const b = base.toArray() as number[];
  assert.ok(a.some((v, i) => v !== b[i]));
  // sigma 0 leaves the tensor as it was.
  assert.deepEqual(noisy(2, 0), b);
});

test('addGaussianNoise_ refuses integer tensors, negative sigma and tensors that require grad', () => {
  assert.throws(() => zeros([3], { dtype: 'int64' }).addGaussianNoise_(1), /floating-point/);
  assert.throws(() => zeros([3]).addGaussianNoise_(-1), /sigma/);
  assert.throws(() => zeros([3]).requiresGrad_().addGaussianNoise_(1), /requires grad/);
  // A non-contiguous tensor goes to libtorch's generator and still gets noise.
  const t = zeros([20, 30]).T;
  t.addGaussianNoise_(1);
  assert.ok((t.contiguous().reshape([-1]).toArray() as number[]).some((v) => v !== 0));
});
