import { checkNumber, invalid } from './errors.js';
import { isFloating } from './dtype.js';
import { native } from './native.js';
import type { Tensor } from './tensor.js';

/**
 * Sum and sum of squares of every tensor, accumulated in double: [sum_0, sumSq_0, sum_1, ...].
 * One native call and one read of each tensor (CPU float32/float64 through the addon's
 * vectorised loop, other devices and dtypes through libtorch).
 */
export function foreachMoments(tensors: readonly Tensor[]): Float64Array {
  return native.foreachMoments(tensors.map((t) => t.h)) as Float64Array;
}

/** The sample standard deviation (correction 1) from n, sum and sum of squares; 0 for n < 2. */
export function stdFromMoments(n: number, sum: number, sumSq: number): number {
  if (n < 2) return 0;
  return Math.sqrt(Math.max(0, (sumSq - (sum * sum) / n) / (n - 1)));
}

/**
 * tensors[i] = scales[i] * tensors[i] + sigmas[i] * N(0, 1), in place and outside autograd
 * (gradients): the scaling and the noise in one pass. sigma 0 only scales; scale 1 with sigma 0
 * leaves the tensor alone. Each tensor with noise takes one seed from the default generator, in
 * list order, so manualSeed repeats it and the thread count does not change it.
 */
export function foreachScaleNoise_(tensors: readonly Tensor[], scales: readonly number[], sigmas: readonly number[]): void {
  if (scales.length !== tensors.length || sigmas.length !== tensors.length)
    throw invalid('foreachScaleNoise_', `${tensors.length} scales and ${tensors.length} sigmas`, `${scales.length} and ${sigmas.length}`);
  tensors.forEach((t, i) => {
    if (!isFloating(t.dtype)) throw invalid(`foreachScaleNoise_: tensor ${i}`, 'a floating-point tensor', t.dtype);
    if (!Number.isFinite(checkNumber(`foreachScaleNoise_: scales[${i}]`, scales[i])))
      throw invalid(`foreachScaleNoise_: scales[${i}]`, 'a finite number', scales[i]);
    if (!Number.isFinite(checkNumber(`foreachScaleNoise_: sigmas[${i}]`, sigmas[i], 0)))
      throw invalid(`foreachScaleNoise_: sigmas[${i}]`, 'a finite number >= 0', sigmas[i]);
  });
  native.foreachScaleNoise_(
    tensors.map((t) => t.h),
    [...scales],
    [...sigmas],
  );
}
