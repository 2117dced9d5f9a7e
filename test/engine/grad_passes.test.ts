// Whole-gradient passes (foreachMoments, foreachScaleNoise_), the instruction-set copies of the
// addon's own loops, and the operator profiler.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import {
  F,
  GradEdits,
  type Tensor,
  clipGradNorm,
  foreachMoments,
  foreachScaleNoise_,
  manualSeed,
  noGrad,
  optim,
  profileOps,
  randn,
  scalarTensor,
  simdLevel,
  stdFromMoments,
  zeros,
} from '../../src/index.js';
import { withThreads } from '../helpers.js';

function jsMoments(xs: ArrayLike<number>): [number, number] {
  let s = 0;
  let q = 0;
  for (let i = 0; i < xs.length; i++) {
    s += xs[i]!;
    q += xs[i]! * xs[i]!;
  }
  return [s, q];
}

test('foreachMoments: sum and sum of squares of each tensor in double, any size, dtype and layout', () => {
  manualSeed(3);
  const ts = [
    randn([0]),
    randn([1]),
    randn([7]),
    randn([1000, 257]).add(0.5), // several chunks on several threads, nonzero mean
    randn([300, 41], { dtype: 'float64' }),
    randn([64, 33]).T, // not contiguous: libtorch's path
  ];
  const m = foreachMoments(ts);
  assert.equal(m.length, 2 * ts.length);
  ts.forEach((t, i) => {
    const [s, q] = jsMoments(t.contiguous().toTypedArray() as Float32Array);
    assert.ok(Math.abs(m[2 * i]! - s) <= 1e-9 * Math.max(1, q), `tensor ${i}: sum ${m[2 * i]} vs ${s}`);
    assert.ok(Math.abs(m[2 * i + 1]! - q) <= 1e-12 * Math.max(1, q), `tensor ${i}: sum of squares ${m[2 * i + 1]} vs ${q}`);
  });
  // The same numbers on one thread and on two (pieces are added in element order).
  const one = withThreads(1, () => foreachMoments([ts[3]!]));
  const two = withThreads(2, () => foreachMoments([ts[3]!]));
  assert.ok(Math.abs(one[1]! - two[1]!) <= 1e-12 * one[1]!);
  assert.deepEqual(foreachMoments([]), new Float64Array(0));
});

test('stdFromMoments is the sample standard deviation, 0 below two elements', () => {
  const x = [1, 2, 4, 7];
  const [s, q] = jsMoments(x);
  const mean = s / 4;
  const ref = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / 3);
  assert.ok(Math.abs(stdFromMoments(4, s, q) - ref) < 1e-12);
  assert.equal(stdFromMoments(1, 3, 9), 0);
  assert.equal(stdFromMoments(5, 5, 5), 0); // all equal: never a square root of a rounding below 0
});

test('foreachScaleNoise_: the scale alone is exact; the noise is addGaussianNoise_ draw for draw', () => {
  manualSeed(11);
  const x = randn([20_001]);
  const y = randn([33], { dtype: 'float64' });
  noGrad(() => {
    const a = x.clone();
    const b = y.clone();
    foreachScaleNoise_([a, b], [0.25, 1], [0, 0]);
    assert.deepEqual(a.toArray(), x.mul(0.25).toArray());
    assert.deepEqual(b.toArray(), y.toArray());

    // scale 1: the same numbers as addGaussianNoise_ from the same seed, tensor after tensor.
    manualSeed(5);
    const c = x.clone();
    const d = y.clone();
    foreachScaleNoise_([c, d], [1, 1], [0.5, 2]);
    manualSeed(5);
    const c2 = x.clone();
    const d2 = y.clone();
    c2.addGaussianNoise_(0.5);
    d2.addGaussianNoise_(2);
    assert.deepEqual(c.toArray(), c2.toArray());
    assert.deepEqual(d.toArray(), d2.toArray());

    // a scale and noise: a x + sigma z with the same z.
    manualSeed(5);
    const e = x.clone();
    foreachScaleNoise_([e], [0.3], [0.5]);
    const z = c2.sub(x).toTypedArray() as Float32Array;
    const got = e.sub(x.mul(0.3)).toTypedArray() as Float32Array;
    for (let i = 0; i < z.length; i += 97) assert.ok(Math.abs(got[i]! - z[i]!) < 1e-5, `element ${i}: ${got[i]} vs ${z[i]}`);
    // The noise has the asked standard deviation.
    const m = foreachMoments([e.sub(x.mul(0.3))]);
    const sd = stdFromMoments(x.numel(), m[0]!, m[1]!);
    assert.ok(Math.abs(sd - 0.5) < 0.02, `noise std ${sd}`);
  });
});

test('foreachScaleNoise_ repeats under manualSeed whatever the thread count', () => {
  const run = (threads: number): number[] =>
    withThreads(threads, () => {
      manualSeed(9);
      const t = zeros([100_003]);
      noGrad(() => foreachScaleNoise_([t], [1], [1]));
      return Array.from(t.toTypedArray() as Float32Array);
    });
  assert.deepEqual(run(1), run(2));
});

test('foreachScaleNoise_ refuses what it cannot do, naming the argument', () => {
  const t = zeros([4]);
  assert.throws(() => foreachScaleNoise_([t], [1, 2], [0]), /2 and 1|1 scales/);
  assert.throws(() => foreachScaleNoise_([t], [1], [-1]), /sigmas\[0\]/);
  assert.throws(() => foreachScaleNoise_([t], [NaN], [0]), /scales\[0\]/);
  assert.throws(() => foreachScaleNoise_([t], [Infinity], [0]), /scales\[0\]/);
  assert.throws(() => foreachScaleNoise_([zeros([3], { dtype: 'int64' })], [1], [1]), /floating-point/);
  assert.throws(() => foreachScaleNoise_([zeros([3]).requiresGrad_()], [1], [1]), /requires grad/);
});

// Every instruction-set copy of the loops gives the same numbers: each run in its own process,
// with MMBALANCE_SIMD choosing the copy (a copy this CPU cannot run falls back to a lower one).
const CHILD = `
import { F, GradEdits, foreachMoments, foreachScaleNoise_, manualSeed, noGrad, optim, randn, simdLevel, ones } from '${new URL('../../src/index.js', import.meta.url).href}';
manualSeed(1);
const x = randn([10_007]);
const p = randn([5_003]).requiresGrad_();
const out = noGrad(() => {
  manualSeed(2);
  const mask = F.dropout(ones([10_007]), 0.3, true).toArray();
  manualSeed(3);
  const n = x.clone();
  foreachScaleNoise_([n], [0.7], [0.4]);
  const m = Array.from(foreachMoments([x]));
  return { mask, noise: n.toArray(), m };
});
const opt = new optim.Adam([p], { lr: 0.01, weightDecay: 0.1 });
for (let i = 0; i < 3; i++) {
  opt.zeroGrad();
  p.square().sum().backward();
  opt.step();
}
// A step with the scaling and noise folded into the fused loop (AdamNoise, odd chunk edges).
opt.zeroGrad();
p.square().sum().backward();
manualSeed(7);
const e = new GradEdits([p]);
e.scale(p, 0.5);
e.addNoise(p, 0.3);
opt.step(e);
process.stdout.write(JSON.stringify({ level: simdLevel(), ...out, adam: p.toArray() }));
`;

test('the AVX-512, AVX2 and baseline copies of the loops compute the same numbers', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const results = ['baseline', 'avx2', 'avx512'].map((level) => {
    const raw = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: here,
      env: { ...process.env, MMBALANCE_SIMD: level },
      encoding: 'utf8',
    });
    return JSON.parse(raw) as { level: string; mask: number[]; noise: number[]; m: number[]; adam: number[] };
  });
  assert.equal(results[0]!.level, 'baseline');
  const levels = results.map((r) => r.level);
  // The best copy is what runs when nothing is asked.
  assert.equal(levels[2], simdLevel());
  for (const r of results.slice(1)) {
    assert.deepEqual(r.mask, results[0]!.mask, `${r.level} dropout mask`);
    assert.deepEqual(r.noise, results[0]!.noise, `${r.level} noise`);
    assert.deepEqual(r.adam, results[0]!.adam, `${r.level} Adam`);
    for (let i = 0; i < 2; i++)
      assert.ok(Math.abs(r.m[i]! - results[0]!.m[i]!) <= 1e-9 * Math.abs(results[0]!.m[1]!), `${r.level} moments`);
  }
});

test('profileOps names the operators a call ran, with counts and times', () => {
  manualSeed(4);
  const a = randn([64, 32]).requiresGrad_();
  const { result, ops } = profileOps(() => {
    const y = F.linear(a, randn([16, 32]))
      .relu()
      .sum();
    y.backward();
    return y.item();
  });
  assert.ok(Number.isFinite(result));
  const names = new Set(ops.map((o) => o.name));
  for (const n of ['aten::linear', 'aten::relu', 'aten::sum']) assert.ok(names.has(n), `${n} in ${[...names].join(', ')}`);
  assert.ok(
    [...names].some((n) => n.includes('Backward')),
    'the backward nodes are profiled too',
  );
  for (const o of ops) {
    assert.ok(o.calls >= 1 && o.totalMs >= 0 && o.selfMs <= o.totalMs + 1e-9, JSON.stringify(o));
  }
  for (let i = 1; i < ops.length; i++) assert.ok(ops[i - 1]!.selfMs >= ops[i]!.selfMs, 'sorted by self time');
  // The profiler is off again, and a failing call leaves it off too.
  assert.throws(() => profileOps(() => profileOps(() => 0)), /already running/);
  assert.throws(
    () =>
      profileOps(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  const again = profileOps(() => scalarTensor(1).add(1).item());
  assert.equal(again.result, 2);
  assert.ok(again.ops.some((o) => o.name === 'aten::add'));
});

// Two parameters with the same gradients each time: sizes that split into chunks with odd edges.
function setup(seed: number): { ps: Tensor[]; grads: () => void } {
  manualSeed(seed);
  const ps = [randn([100_001]).requiresGrad_(), randn([301, 7]).requiresGrad_()];
  const targets = ps.map((p) => randn(p.shape));
  return {
    ps,
    grads: () => ps.forEach((p, i) => p.sub(targets[i]!).square().sum().mul(0.01).backward()),
  };
}

test('pending edits folded into the fused Adam give the parameters that editing the gradients first gives', () => {
  for (const optName of ['adam', 'sgd'] as const) {
    const run = (pendingPath: boolean): number[][] => {
      const { ps, grads } = setup(21);
      const opt = optName === 'adam' ? new optim.Adam(ps, { lr: 0.01, weightDecay: 0.01 }) : new optim.SGD(ps, { lr: 0.1, momentum: 0.9 });
      for (let step = 0; step < 3; step++) {
        opt.zeroGrad();
        grads();
        manualSeed(100 + step);
        if (pendingPath) {
          const e = new GradEdits(ps);
          const total = e.clipNorm(0.5);
          assert.ok(total > 0.5, 'the clip is active');
          const [m0] = e.moments([ps[0]!]);
          e.scale(ps[0]!, 0.7);
          e.addNoise(ps[0]!, 0.1 * stdFromMoments(m0!.numel, m0!.sum, m0!.sumSq));
          e.scale(ps[1]!, 1.3);
          opt.step(e);
        } else {
          clipGradNorm(ps, 0.5);
          const g0 = ps[0]!.grad!;
          const std = noGrad(() => g0.std().item());
          noGrad(() => {
            foreachScaleNoise_([g0], [0.7], [0.1 * std]);
            ps[1]!.grad!.mul_(1.3);
          });
          opt.step();
        }
      }
      return ps.map((p) => Array.from(p.detach().reshape(-1).toTypedArray() as Float32Array));
    };
    const a = run(true);
    const b = run(false);
    for (let t = 0; t < 2; t++) {
      let worst = 0;
      for (let i = 0; i < a[t]!.length; i++) worst = Math.max(worst, Math.abs(a[t]![i]! - b[t]![i]!));
      assert.ok(worst < 2e-5, `${optName}, parameter ${t}: largest difference ${worst}`);
    }
  }
});

test('GradEdits: moments follow the pending scale; noise is drawn once per parameter; apply writes and forgets', () => {
  const { ps, grads } = setup(5);
  grads();
  const e = new GradEdits(ps);
  const [m] = e.moments([ps[1]!]);
  const ref = foreachMoments([ps[1]!.grad!]);
  assert.ok(Math.abs(m!.sumSq - ref[1]!) <= 1e-9 * ref[1]!);
  e.scale(ps[1]!, 2);
  assert.ok(Math.abs(e.moments([ps[1]!])[0]!.sumSq - 4 * ref[1]!) <= 1e-9 * ref[1]!);
  e.addNoise(ps[1]!, 0.5);
  assert.throws(() => e.addNoise(ps[1]!, 0.5), /one noise per parameter/);
  assert.throws(() => e.moments([ps[1]!]), /pending noise/);
  assert.throws(() => e.scale(ps[0]!, NaN), /k/);
  assert.ok(e.pending() && !e.pending([ps[0]!]));
  const before = ps[1]!.grad!.clone();
  e.apply();
  assert.ok(!e.pending());
  const diff = noGrad(() => ps[1]!.grad!.sub(before.mul(2)));
  const dm = foreachMoments([diff]);
  const sd = stdFromMoments(diff.numel(), dm[0]!, dm[1]!);
  assert.ok(Math.abs(sd - 0.5) < 0.05, `noise std ${sd}`);
  // Moments are read again after apply.
  const after = e.moments([ps[1]!])[0]!;
  assert.ok(Math.abs(after.sumSq - foreachMoments([ps[1]!.grad!])[1]!) <= 1e-9 * after.sumSq);
});

test('a misspelt MMBALANCE_SIMD is refused when the engine loads, naming the values it takes', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const url = new URL('../../src/index.js', import.meta.url).href;
  assert.throws(
    () =>
      execFileSync(process.execPath, ['--input-type=module', '-e', `await import('${url}');`], {
        cwd: here,
        env: { ...process.env, MMBALANCE_SIMD: 'avx3' },
        encoding: 'utf8',
        stdio: 'pipe',
      }),
    (e: Error & { stderr?: string }) => /MMBALANCE_SIMD must be avx512, avx2 or baseline \(got 'avx3'\)/.test(e.stderr ?? ''),
  );
});
