import { checkNumber, invalid } from './errors.js';
import { disposeHandles, native } from './native.js';
import type { Handle, Tensor } from './tensor.js';

/** One parameter's pending edit: its gradient is to become scale * g + sigma * N(0, 1). */
export interface GradEdit {
  readonly scale: number;
  readonly sigma: number;
  /** The noise's seed, taken from the default generator when the noise was asked for. */
  readonly seed: readonly [number, number] | null;
}

/** A gradient's element count, sum and sum of squares (in double). */
export interface GradMoments {
  numel: number;
  sum: number;
  sumSq: number;
}

/**
 * Edits of one step's gradients held back until the optimizer's pass: per parameter,
 * g <- scale * g + sigma * N(0, 1). Clipping's coefficient and the disparity modulation's scaling
 * and noise are such edits; the fused Adam applies them as it reads each gradient, so a step
 * rewrites no gradient in memory (each such pass costs as much as reading the gradients twice).
 * Other optimizers, and anything that must read the edited values, call apply() first.
 *
 * moments() reads every gradient once per step (at its first call) and answers for the gradient
 * with its pending scale; it refuses a parameter with pending noise (its values are not drawn yet).
 */
export class GradEdits {
  private readonly edits = new Map<Tensor, GradEdit>();
  private raw: Map<Tensor, GradMoments> | null = null;

  constructor(readonly params: readonly Tensor[]) {}

  /** Whether any of the given parameters (all by default) has a pending edit. */
  pending(params: readonly Tensor[] = this.params): boolean {
    return this.edits.size > 0 && params.some((p) => this.edits.has(p));
  }

  /** Moments of each parameter's gradient as edited (null where it has none). */
  moments(params: readonly Tensor[] = this.params): (GradMoments | null)[] {
    const raw = this.readRaw();
    return params.map((p) => {
      const m = raw.get(p);
      if (m === undefined) return null;
      const e = this.edits.get(p);
      if (e === undefined) return { ...m };
      if (e.sigma !== 0) throw invalid('GradEdits.moments', 'a parameter without pending noise', 'one with noise pending');
      return { numel: m.numel, sum: e.scale * m.sum, sumSq: e.scale * e.scale * m.sumSq };
    });
  }

  /** Multiplies p's gradient by k (its pending noise too). */
  scale(p: Tensor, k: number): void {
    if (!Number.isFinite(checkNumber('GradEdits.scale: k', k))) throw invalid('GradEdits.scale: k', 'a finite number', k);
    const e = this.edits.get(p) ?? { scale: 1, sigma: 0, seed: null };
    this.edits.set(p, { scale: e.scale * k, sigma: e.sigma * Math.abs(k), seed: e.seed });
  }

  /** Adds N(0, sigma^2) noise to p's gradient, after its pending scale; its seed is drawn now. */
  addNoise(p: Tensor, sigma: number): void {
    if (!Number.isFinite(checkNumber('GradEdits.addNoise: sigma', sigma, 0)))
      throw invalid('GradEdits.addNoise: sigma', 'a finite number >= 0', sigma);
    const e = this.edits.get(p) ?? { scale: 1, sigma: 0, seed: null };
    if (e.sigma !== 0) throw invalid('GradEdits.addNoise', 'one noise per parameter and step', 'a second one');
    if (sigma === 0) return;
    const seed = native.drawSeed() as [number, number];
    this.edits.set(p, { scale: e.scale, sigma, seed });
  }

  /**
   * Clipping: scales every gradient so their joint 2-norm (as edited) is at most maxNorm, as
   * torch.nn.utils.clip_grad_norm_ does. Returns the norm before.
   */
  clipNorm(maxNorm: number): number {
    checkNumber('maxNorm', maxNorm, 0);
    let sq = 0;
    const ms = this.moments();
    for (const m of ms) if (m) sq += m.sumSq;
    const total = Math.sqrt(sq);
    const coef = maxNorm / (total + 1e-6);
    if (coef < 1) this.params.forEach((p, i) => ms[i] && this.scale(p, coef));
    return total;
  }

  /** The edits of params as the fused optimizer takes them: scales, sigmas and seeds ([lo, hi] each). */
  argsFor(params: readonly Tensor[]): [number[], number[], number[]] {
    const scales: number[] = [];
    const sigmas: number[] = [];
    const seeds: number[] = [];
    for (const p of params) {
      const e = this.edits.get(p);
      scales.push(e?.scale ?? 1);
      sigmas.push(e?.sigma ?? 0);
      seeds.push(e?.seed?.[0] ?? 0, e?.seed?.[1] ?? 0);
    }
    return [scales, sigmas, seeds];
  }

  /** Writes the pending edits of params (all by default) into their gradients, and forgets them. */
  apply(params: readonly Tensor[] = this.params): void {
    const todo = params.filter((p) => this.edits.has(p));
    if (todo.length === 0) return;
    const grads = native.grads(todo.map((p) => p.h)) as (Handle | null)[];
    const hs: Handle[] = [];
    const applied: Tensor[] = [];
    todo.forEach((p, i) => {
      if (grads[i] !== null) {
        hs.push(grads[i]!);
        applied.push(p);
      }
    });
    try {
      const [scales, sigmas, seeds] = this.argsFor(applied);
      if (hs.length > 0) native.foreachScaleNoise_(hs, scales, sigmas, seeds);
    } finally {
      disposeHandles(hs);
    }
    for (const p of todo) this.edits.delete(p);
    this.raw = null; // read again if asked: the applied gradients changed
  }

  private readRaw(): Map<Tensor, GradMoments> {
    if (this.raw) return this.raw;
    const grads = native.grads(this.params.map((p) => p.h)) as (Handle | null)[];
    const hs = grads.filter((g): g is Handle => g !== null);
    try {
      const m = native.foreachMoments(hs) as Float64Array;
      const raw = new Map<Tensor, GradMoments>();
      let j = 0;
      this.params.forEach((p, i) => {
        if (grads[i] === null) return;
        const numel = p.numel();
        raw.set(p, { numel, sum: m[2 * j]!, sumSq: m[2 * j + 1]! });
        j++;
      });
      this.raw = raw;
      return raw;
    } finally {
      disposeHandles(hs);
    }
  }
}
