// The fused kernels behind ordinary calls: dropout in one pass each way (no mask in memory) and
// batchMatmul with the batch split across threads. Both must give what the unfused forms give.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, type Tensor, manualSeed, noGrad, ones, randn } from '../../src/index.js';
import { withThreads } from '../helpers.js';

const flat = (t: Tensor): number[] => Array.from(t.reshape(-1).toTypedArray() as Float32Array | Float64Array);

test('dropout is x times its mask, and its gradient is the upstream gradient times the same mask', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    manualSeed(8);
    const x = randn([257, 129], { dtype }).requiresGrad_();
    const up = randn([257, 129], { dtype });
    manualSeed(3);
    const y = F.dropout(x, 0.3, true);
    manualSeed(3);
    const mask = F.dropout(ones([257, 129], { dtype }), 0.3, true);
    assert.deepEqual(flat(y), flat(noGrad(() => x.mul(mask))), `${dtype}: forward`);
    y.mul(up).sum().backward();
    assert.deepEqual(flat(x.grad!), flat(noGrad(() => up.mul(mask))), `${dtype}: backward`);
    // Kept elements are scaled by 1/(1-p); the rest are 0.
    const kept = flat(mask).filter((v) => v !== 0);
    assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
    assert.ok(Math.abs(kept.length / mask.numel() - 0.7) < 0.01);
  }
});

test('dropout keeps NaN where the mask drops (as x * mask does), and goes to libtorch for strided input', () => {
  manualSeed(1);
  const x = randn([1000]);
  noGrad(() => x.fill_(NaN));
  const y = flat(F.dropout(x, 0.5, true));
  assert.ok(
    y.every((v) => Number.isNaN(v)),
    'NaN * 0 is NaN',
  );
  const t = randn([64, 32]).T; // not contiguous
  const z = flat(F.dropout(t, 0.5, true));
  const nonzero = z.filter((v) => v !== 0).length;
  assert.ok(nonzero > 900 && nonzero < 1150, `${nonzero} kept of 2048`);
});

test('batchMatmul equals matmul, values and gradients, whether or not the batch is split', () => {
  for (const threads of [1, 2]) {
    withThreads(threads, () => {
      for (const [lead, m, k, n] of [
        [[7], 19, 33, 21],
        [[2, 3], 110, 128, 110],
        [[1], 5, 6, 7],
        [[3], 300, 200, 100],
      ] as [number[], number, number, number][]) {
        manualSeed(2);
        const a = randn([...lead, m, k], { dtype: 'float64' }).requiresGrad_();
        const b = randn([...lead, k, n], { dtype: 'float64' }).requiresGrad_();
        const up = randn([...lead, m, n], { dtype: 'float64' });
        const y = F.batchMatmul(a, b);
        assert.deepEqual(y.shape, [...lead, m, n]);
        y.mul(up).sum().backward();
        const a2 = a.detach().clone().requiresGrad_();
        const b2 = b.detach().clone().requiresGrad_();
        const ref = a2.matmul(b2);
        ref.mul(up).sum().backward();
        const close = (x: number[], r: number[], what: string): void => {
          for (let i = 0; i < r.length; i++)
            assert.ok(Math.abs(x[i]! - r[i]!) <= 1e-12 * (1 + Math.abs(r[i]!)), `${what} [${lead}] ${m}x${k}x${n}, ${threads} threads`);
        };
        close(flat(y), flat(ref), 'value');
        close(flat(a.grad!), flat(a2.grad!), 'grad a');
        close(flat(b.grad!), flat(b2.grad!), 'grad b');
      }
    });
  }
});

test('batchMatmul works on transposed operands and without gradients, and names a shape mismatch', () => {
  manualSeed(4);
  const q = randn([2, 4, 16, 8]);
  const k = randn([2, 4, 16, 8]);
  const y = noGrad(() => F.batchMatmul(q, k.transpose(-2, -1)));
  const ref = noGrad(() => q.matmul(k.transpose(-2, -1)));
  const [a, b] = [flat(y), flat(ref)];
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5);
  assert.throws(() => F.batchMatmul(randn([2, 3, 4]), randn([3, 4, 5])), /same batch dimensions.*\[2, 3, 4\] and \[3, 4, 5\]/);
  assert.throws(() => F.batchMatmul(randn([3, 4]), randn([4, 5])), /batchMatmul/);
  assert.throws(() => F.batchMatmul(randn([2, 3, 4]), randn([2, 5, 4])), /batchMatmul/);
});
