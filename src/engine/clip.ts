import { checkNumber } from './errors.js';
import { GradEdits } from './grad_edits.js';
import { noGrad } from './grad_mode.js';
import { disposeHandles, native } from './native.js';
import { scope } from './scope.js';
import { type Handle, Tensor } from './tensor.js';

function gradHandles(params: Iterable<Tensor>): Handle[] {
  const list = [...params];
  return (native.grads(list.map((p) => p.h)) as (Handle | null)[]).filter((g): g is Handle => g !== null);
}

/**
 * Rescales gradients in place so their joint p-norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
 * Returns the total norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  checkNumber('maxNorm', maxNorm, 0);
  if (normType === 2) {
    // The training loop's clipping (one read of every gradient, sums of squares in double), applied at once.
    const edits = new GradEdits([...params]);
    const total = edits.clipNorm(maxNorm);
    edits.apply();
    return total;
  }
  const grads = gradHandles(params);
  if (grads.length === 0) return 0;
  try {
    return clipTo(grads, maxNorm, normType);
  } finally {
    disposeHandles(grads);
  }
}

function clipTo(grads: Handle[], maxNorm: number, normType: number): number {
  return scope(() =>
    noGrad(() => {
      let total: number;
      if (normType === Infinity) {
        total = Math.max(...grads.map((g) => new Tensor(g).abs().max().item()));
      } else {
        const norms = (native.foreachNorm(grads, normType) as Handle[]).map((h) => new Tensor(h));
        const stacked = new Tensor(
          native.stack(
            norms.map((n) => n.h),
            0,
          ),
        );
        total = stacked.norm(normType).item();
      }
      const coef = maxNorm / (total + 1e-6);
      if (coef < 1) native.foreachMulScalar_(grads, coef);
      return total;
    }),
  );
}

/** Clamps every gradient element to [-clipValue, clipValue] in place. */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  checkNumber('clipValue', clipValue, 0);
  const grads = gradHandles(params);
  for (const g of grads) native.clamp_(g, -clipValue, clipValue);
  disposeHandles(grads);
}
