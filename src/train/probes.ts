import { noGrad } from '../engine/grad_mode.js';
import { cat } from '../engine/ops.js';
import { keep, scope } from '../engine/scope.js';
import { type Tensor, ones, zeros } from '../engine/tensor.js';

/**
 * Per-modality ridge-regression probes: how well a linear read-out of each modality's features
 * alone predicts the label. The head's scored slices can say little under a normalised head such
 * as AMW (their logits are dominated by the bias, so every modality predicts the majority class),
 * which is why the probe is recorded beside them.
 *
 * Each epoch the loop keeps the training batches' detached features (up to 20,000 samples; no
 * copy, no random draw, so training is untouched). At the epoch's end W = (X^T X + lambda I)^-1
 * X^T Y (one-hot targets, a bias column) is solved in float64 (lambda = 1e-3 times the mean
 * diagonal, for scale) and scored on the dev features.
 */
export class RidgeProbes {
  private features: Record<string, Tensor[]> = {};
  private labels: Tensor[] = [];
  private count = 0;

  /** At most `maxSamples` training samples per epoch are kept (the first ones of the shuffled epoch). */
  constructor(
    readonly numClasses: number,
    readonly maxSamples = 20_000,
  ) {}

  /**
   * Keeps one batch's detached features, (N, h_m) per modality, and its (N) int64 labels: one
   * cheap call per modality on the hot path; the sums are formed once, in fit().
   */
  accumulate(features: Readonly<Record<string, Tensor>>, labels: Tensor): void {
    if (this.count >= this.maxSamples) return;
    for (const [m, f] of Object.entries(features)) (this.features[m] ??= []).push(keep(f.detach()));
    this.labels.push(keep(labels.detach()));
    this.count += labels.shape[0]!;
  }

  /** Solves each modality's probe from the kept batches; null before any batch. */
  fit(): Record<string, Float64Array> | null {
    if (this.count === 0) return null;
    return scope(() =>
      noGrad(() => {
        const labels = cat(this.labels, 0);
        const y = zeros([labels.shape[0]!, this.numClasses], { dtype: 'float64', device: labels.device }).scatter(
          1,
          labels.unsqueeze(1),
          1,
        );
        const out: Record<string, Float64Array> = {};
        for (const [m, fs] of Object.entries(this.features)) {
          const f = cat(fs, 0).double();
          const x = cat([f, ones([f.shape[0]!, 1], { dtype: 'float64', device: f.device })], 1);
          out[m] = ridgeSolve(x.T.matmul(x).toArray(), x.T.matmul(y).toArray(), this.numClasses);
        }
        return out;
      }),
    );
  }

  /** Accuracy of each fitted probe on (N, h_m) features with (N) labels. */
  static score(
    weights: Record<string, Float64Array>,
    features: Readonly<Record<string, Tensor>>,
    labels: Tensor,
    numClasses: number,
  ): Record<string, number> {
    const y = labels.toArray();
    const out: Record<string, number> = {};
    for (const [m, w] of Object.entries(weights)) {
      const f = features[m];
      if (f === undefined) continue;
      const x = f.toArray();
      const h = f.shape[1]!;
      let correct = 0;
      for (let i = 0; i < y.length; i++) {
        let best = -Infinity;
        let arg = 0;
        for (let c = 0; c < numClasses; c++) {
          let s = w[h * numClasses + c]!; // the bias row
          for (let j = 0; j < h; j++) s += x[i * h + j]! * w[j * numClasses + c]!;
          if (s > best) [best, arg] = [s, c];
        }
        if (arg === y[i]) correct++;
      }
      out[m] = y.length > 0 ? correct / y.length : NaN;
    }
    return out;
  }

  /** Starts the next epoch. */
  reset(): void {
    for (const t of [...Object.values(this.features).flat(), ...this.labels]) t.dispose();
    this.features = {};
    this.labels = [];
    this.count = 0;
  }
}

/**
 * Solves (G + lambda I) W = R for W ((h+1) x C, row-major) by Cholesky, G the (h+1)^2 Gram matrix
 * and R the (h+1) x C cross products; lambda = 1e-3 times G's mean diagonal (at least 1e-8).
 */
export function ridgeSolve(gram: ArrayLike<number>, cross: ArrayLike<number>, numClasses: number): Float64Array {
  const n = Math.round(Math.sqrt(gram.length));
  let trace = 0;
  for (let i = 0; i < n; i++) trace += gram[i * n + i]!;
  const lambda = Math.max(1e-8, (1e-3 * trace) / n);
  const L = Float64Array.from(gram);
  for (let i = 0; i < n; i++) L[i * n + i]! += lambda;
  // In-place Cholesky: the lower triangle of L becomes the factor.
  for (let j = 0; j < n; j++) {
    let d = L[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! * L[j * n + k]!;
    const root = Math.sqrt(Math.max(d, 1e-300));
    L[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let s = L[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = s / root;
    }
  }
  const W = Float64Array.from(cross);
  for (let c = 0; c < numClasses; c++) {
    for (let i = 0; i < n; i++) {
      let s = W[i * numClasses + c]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * W[k * numClasses + c]!;
      W[i * numClasses + c] = s / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = W[i * numClasses + c]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * W[k * numClasses + c]!;
      W[i * numClasses + c] = s / L[i * n + i]!;
    }
  }
  return W;
}
