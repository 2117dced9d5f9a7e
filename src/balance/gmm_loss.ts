import type { SplitPredictions } from './strategy.js';
import { checkInt, checkNumber, checkOneOf, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { noGrad } from '../engine/grad_mode.js';
import { fromTypedArray, type Tensor } from '../engine/tensor.js';
import { BalancingStrategy, type EpochContext, type Phase, type StepContext, defaultLoss } from './strategy.js';
import { type GaussianMixture1D, fitGaussianMixture, histogram } from './gaussian_mixture.js';

export type Annealing = 'linear' | 'cosine' | 'none';

export interface GmmLossOptions {
  /** Stage 1: epochs of the default objective. */
  warmupEpochs: number;
  /** Stage 1: add each modality's unimodal cross entropy to the warm-up objective. */
  warmupUnimodal: boolean;
  /** Stage 2: rounds of (gaps over train, EM fit, posteriors, epochsPerRound epochs). The paper reports four. */
  rounds: number;
  epochsPerRound: number;
  /** Weight of the harder weighting of imbalanced samples: (1 + lambda3 gamma_i) CE_i. 0 switches it off. */
  lambda3: number;
  /** Weight of the gap-shrinking term lambda1 g_i^2. 0 switches it off. */
  lambda1: number;
  /** Weight of the pull towards the balanced mode lambda2 gamma_i (g_i - mu_bal)^2. 0 switches it off. */
  lambda2: number;
  /** lambda(t) = lambda0 * schedule(t) over the adaptive stage. */
  lambda0: number;
  anneal: Annealing;
  /** The two modalities [p, q] whose gap is used; [] for the dominant and the weakest by training accuracy (more than two: the max-min gap when 'maxmin'). */
  pair: string[];
  /** With more than two modalities and no pair: the gap max_m P_m - min_m P_m (methods.md). */
  maxMin: boolean;
  /** Fixed histogram bins of the gaps recorded per round (range [-1, 1]). */
  histogramBins: number;
  seed: number;
  /**
   * Where a round's gaps come from: 'pass', a no-grad pass over the training split when the round
   * begins (methods.md); 'epoch', the training forward passes of the epoch just before it (no extra
   * pass; each sample's value is from the step that saw it, so up to an epoch old, and in training
   * mode). 'epoch' falls back to a pass when that epoch was not seen (a run resumed at the round).
   */
  gaps: 'pass' | 'epoch';
}

export const DEFAULT_GMM_LOSS_OPTIONS: GmmLossOptions = {
  warmupEpochs: 5,
  warmupUnimodal: false,
  rounds: 4,
  epochsPerRound: 5,
  lambda3: 1,
  lambda1: 1,
  lambda2: 1,
  lambda0: 1,
  anneal: 'linear',
  pair: [],
  maxMin: true,
  histogramBins: 40,
  seed: 0,
  gaps: 'pass',
};

const OPTION_KEYS = Object.keys(DEFAULT_GMM_LOSS_OPTIONS) as (keyof GmmLossOptions)[];

export function checkGmmLossOptions(options: Record<string, unknown>): GmmLossOptions {
  for (const k of Object.keys(options))
    if (!(OPTION_KEYS as string[]).includes(k)) throw invalid('gmm options', `a known option (${OPTION_KEYS.join(', ')})`, k);
  const o = { ...DEFAULT_GMM_LOSS_OPTIONS, ...options } as Record<keyof GmmLossOptions, unknown>;
  const bool = (k: keyof GmmLossOptions): boolean => {
    if (typeof o[k] !== 'boolean') throw invalid(`gmm.${k}`, 'true or false', o[k]);
    return o[k] as boolean;
  };
  if (!Array.isArray(o.pair) || !(o.pair.length === 0 || o.pair.length === 2) || !o.pair.every((m) => typeof m === 'string'))
    throw invalid('gmm.pair', 'two modality names, or [] for the dominant and the weakest', o.pair);
  return {
    warmupEpochs: checkInt('gmm.warmupEpochs', o.warmupEpochs, 1),
    warmupUnimodal: bool('warmupUnimodal'),
    rounds: checkInt('gmm.rounds', o.rounds, 1),
    epochsPerRound: checkInt('gmm.epochsPerRound', o.epochsPerRound, 1),
    lambda3: checkNumber('gmm.lambda3', o.lambda3, 0),
    lambda1: checkNumber('gmm.lambda1', o.lambda1, 0),
    lambda2: checkNumber('gmm.lambda2', o.lambda2, 0),
    lambda0: checkNumber('gmm.lambda0', o.lambda0, 0),
    anneal: checkOneOf('gmm.anneal', o.anneal, ['linear', 'cosine', 'none']),
    pair: o.pair as string[],
    maxMin: bool('maxMin'),
    histogramBins: checkInt('gmm.histogramBins', o.histogramBins, 2),
    seed: checkInt('gmm.seed', o.seed, 0),
    gaps: checkOneOf('gmm.gaps', o.gaps, ['pass', 'epoch']),
  };
}

/** Each sample's true-class probability and whether the argmax was right, per modality, indexed by sample id. */
function perSample(p: SplitPredictions): { probs: Record<string, number[]>; correct: Record<string, boolean[]> } {
  const probs: Record<string, number[]> = {};
  const correct: Record<string, boolean[]> = {};
  const ids = p.index.toArray();
  const y = p.labels.toArray();
  noGrad(() => {
    for (const [m, u] of Object.entries(p.unimodal)) {
      const pm = u.softmax(1).gather(1, p.labels.unsqueeze(1)).squeeze(1).toArray();
      const pred = u.argmax(1).toArray();
      probs[m] = [];
      correct[m] = [];
      ids.forEach((id, k) => {
        probs[m]![id] = pm[k]!;
        correct[m]![id] = pred[k] === y[k];
      });
    }
  });
  return { probs, correct };
}

/** lambda(t) for progress t in [0, 1] through the adaptive stage. */
export function annealing(kind: Annealing, t: number): number {
  const c = Math.min(1, Math.max(0, t));
  return kind === 'linear' ? 1 - c : kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * c)) : 1;
}

/** What a round measured, recorded in metrics.jsonl (the GMM paper's figures 2 and 3). */
export interface RoundRecord {
  round: number;
  epoch: number;
  pair: string[];
  mixture: GaussianMixture1D;
  /** Index of the balanced component: the one whose mean is nearer 0. */
  balanced: number;
  iterations: number;
  converged: boolean;
  /** 'constant' when every gap was equal (then gamma is 0 for every sample). */
  degenerate: string | null;
  meanGamma: number;
  histogram: { edges: number[]; counts: number[] };
  /** Seconds of the no-grad pass over the training split, and of the gaps, fit and posteriors. */
  passSeconds: number;
  fitSeconds: number;
  /** 'pass' or 'epoch': where the gaps came from (see GmmLossOptions.gaps). */
  gapSource: 'pass' | 'epoch';
}

/**
 * The GMM-guided adaptive loss (seed paper 002), as methods.md reconstructs it: the paper's
 * equations were lost and no code is public, so every term is switchable and its weight an option.
 *
 * Stage 1 (warm-up): the default objective (optionally with the unimodal cross entropies).
 * Stage 2, each round: the true-class probabilities P_m,i of every training sample under each
 * modality's unimodal logits give the gap g_i = P_p,i - P_q,i (or max - min over the modalities);
 * a 2-component Gaussian mixture is fitted to the gaps by EM; the balanced component is the one
 * whose mean is nearer 0, and gamma_i is each sample's posterior of the other one. The round's
 * epochs then train with, per sample,
 *   L_i = (1 + lambda3 gamma_i) CE_i + lambda(t) [lambda1 g_i^2 + lambda2 gamma_i (g_i - mu_bal)^2],
 * gamma_i constant (looked up by sample id), g_i with gradient, lambda(t) = lambda0 decaying over
 * the adaptive stage. The optimizer's state is reset when stage 2 begins (the paper: resetting
 * beats sharing).
 */
export class GmmGuidedLoss extends BalancingStrategy {
  readonly name = 'gmm';
  readonly options: Readonly<GmmLossOptions>;
  private gamma: Float32Array | null = null;
  private muBalanced = 0;
  private pair: string[] = [];
  private round: RoundRecord | null = null;
  private lambdaNow = 0;
  private rounds: RoundRecord[] = [];
  /** With gaps 'epoch': each training sample's true-class probability per modality, and whether its argmax was right, from the epoch before a round. */
  private seen: { epoch: number; probs: Record<string, number[]>; correct: Record<string, boolean[]>; ids: Set<number> } | null = null;

  constructor(options: Record<string, unknown> = {}) {
    super();
    this.options = Object.freeze(checkGmmLossOptions(options));
  }

  override phases(): Phase[] {
    const o = this.options;
    return [
      { name: 'warmup', epochs: o.warmupEpochs },
      ...Array.from({ length: o.rounds }, (_, r) => ({ name: `round-${r + 1}`, epochs: o.epochsPerRound, resetOptimizer: r === 0 })),
    ];
  }

  /** Per-sample gaps of a split's predictions, in sample-id order: g = P_p - P_q (or max - min). */
  gaps(p: SplitPredictions): Float64Array {
    return this.gapsFrom(perSample(p).probs);
  }

  private choosePair(p: SplitPredictions): string[] {
    return this.choosePairFrom(perSample(p).correct);
  }

  override onPhaseStart(ctx: EpochContext): void {
    if (!ctx.phase.name.startsWith('round-')) return;
    // The round's cost beyond its epochs: one no-grad pass over the training split, then the fit.
    const t0 = performance.now();
    const seen = this.seen;
    const complete = seen !== null && Object.values(seen.probs).every((a) => a.length === seen.ids.size);
    const recorded = this.options.gaps === 'epoch' && seen?.epoch === ctx.epoch - 1 && complete ? seen : null;
    this.seen = null;
    const p = recorded ? null : ctx.predict('train');
    const passSeconds = (performance.now() - t0) / 1000;
    try {
      if (this.pair.length === 0 && this.rounds.length === 0) this.pair = p ? this.choosePair(p) : this.choosePairFrom(recorded!.correct);
      const g = p ? this.gaps(p) : this.gapsFrom(recorded!.probs);
      const fit = fitGaussianMixture(g, { components: 2, init: 'kmeans++', seed: this.options.seed });
      const balanced = Math.abs(fit.means[0]!) <= Math.abs(fit.means[1]!) ? 0 : 1;
      const post = fit.responsibilities;
      this.gamma = new Float32Array(g.length);
      let sum = 0;
      // Every gap equal: one mode, nothing imbalanced to weight (the fit's two components coincide).
      if (fit.degenerate !== 'constant')
        for (let i = 0; i < g.length; i++) {
          this.gamma[i] = post[i * 2 + (1 - balanced)]!;
          sum += this.gamma[i]!;
        }
      this.muBalanced = fit.means[balanced]!;
      this.round = {
        round: Number(ctx.phase.name.slice('round-'.length)),
        epoch: ctx.epoch,
        pair: [...this.pair],
        mixture: { weights: fit.weights, means: fit.means, variances: fit.variances },
        balanced,
        iterations: fit.iterations,
        converged: fit.converged,
        degenerate: fit.degenerate,
        meanGamma: sum / g.length,
        histogram: histogram(g, this.options.histogramBins, [-1, 1]),
        passSeconds,
        fitSeconds: (performance.now() - t0) / 1000 - passSeconds,
        gapSource: p ? 'pass' : 'epoch',
      };
      this.rounds.push(this.round);
    } finally {
      p?.dispose();
    }
  }

  /** Whether this epoch's training steps record the gaps for the round that starts after it. */
  private recordsGaps(epoch: number): boolean {
    const o = this.options;
    const k = epoch - o.warmupEpochs;
    return o.gaps === 'epoch' && k >= 0 && k % o.epochsPerRound === 0 && k / o.epochsPerRound < o.rounds;
  }

  private record(ctx: StepContext): void {
    if (this.seen?.epoch !== ctx.epoch) this.seen = { epoch: ctx.epoch, probs: {}, correct: {}, ids: new Set() };
    const seen = this.seen;
    const ids = ctx.batch.index.toArray();
    const y = ctx.labels.toArray();
    noGrad(() => {
      for (const [m, u] of Object.entries(ctx.outputs.unimodal)) {
        const p = u.detach().softmax(1).gather(1, ctx.labels.unsqueeze(1)).squeeze(1).toArray();
        const pred = u.argmax(1).toArray();
        const probs = (seen.probs[m] ??= []);
        const correct = (seen.correct[m] ??= []);
        ids.forEach((id, k) => {
          probs[id] = p[k]!;
          correct[id] = pred[k] === y[k];
        });
      }
    });
    for (const id of ids) seen.ids.add(id);
  }

  /** gaps() from recorded per-sample probabilities (sample-id order). */
  private gapsFrom(probs: Record<string, number[]>): Float64Array {
    const mods = Object.keys(probs);
    const n = probs[mods[0]!]!.length;
    const out = new Float64Array(n);
    for (let id = 0; id < n; id++) {
      if (this.pair.length === 2) out[id] = probs[this.pair[0]!]![id]! - probs[this.pair[1]!]![id]!;
      else {
        const vals = mods.map((m) => probs[m]![id]!);
        out[id] = Math.max(...vals) - Math.min(...vals);
      }
    }
    return out;
  }

  /** choosePair() from recorded per-sample correctness. */
  private choosePairFrom(correct: Record<string, boolean[]>): string[] {
    const mods = Object.keys(correct);
    if (this.options.pair.length === 2) {
      for (const m of this.options.pair)
        if (!mods.includes(m)) throw invalid('gmm.pair', `modalities of the model (${mods.join(', ')})`, this.options.pair);
      return [...this.options.pair];
    }
    if (mods.length < 2) throw new Error('the GMM-guided loss needs at least two modalities');
    if (mods.length > 2 && this.options.maxMin) return [];
    const acc = Object.fromEntries(mods.map((m) => [m, correct[m]!.filter(Boolean).length / correct[m]!.length]));
    const sorted = [...mods].sort((a, b) => acc[b]! - acc[a]!);
    return [sorted[0]!, sorted[sorted.length - 1]!];
  }

  override onEpochStart(ctx: EpochContext): void {
    const o = this.options;
    const adaptiveEpochs = o.rounds * o.epochsPerRound;
    const t = (ctx.epoch - o.warmupEpochs - 1) / adaptiveEpochs;
    this.lambdaNow = ctx.phase.name.startsWith('round-') ? o.lambda0 * annealing(o.anneal, t) : 0;
  }

  override loss(ctx: StepContext): Record<string, Tensor> {
    const o = this.options;
    if (this.recordsGaps(ctx.epoch)) this.record(ctx);
    if (!ctx.phase.name.startsWith('round-') || this.gamma === null) {
      const terms = defaultLoss(ctx);
      if (o.warmupUnimodal)
        for (const [m, u] of Object.entries(ctx.outputs.unimodal)) terms[`unimodal.${m}`] = F.crossEntropy(u, ctx.labels);
      return terms;
    }
    const ids = ctx.batch.index.toArray();
    const gamma = fromTypedArray(Float32Array.from(ids, (id) => this.gamma![id] ?? 0));
    const ce = F.crossEntropy(ctx.outputs.fused, ctx.labels, { reduction: 'none' });
    const terms: Record<string, Tensor> = { ...defaultLoss(ctx) };
    delete terms.fused;
    terms.weighted = ce.mul(gamma.mul(o.lambda3).add(1)).mean();
    if (this.lambdaNow > 0 && (o.lambda1 > 0 || o.lambda2 > 0)) {
      const index = ctx.labels.unsqueeze(1);
      const prob = (m: string): Tensor => ctx.outputs.unimodal[m]!.softmax(1).gather(1, index).squeeze(1);
      let g: Tensor;
      if (this.pair.length === 2) g = prob(this.pair[0]!).sub(prob(this.pair[1]!));
      else {
        const all = Object.keys(ctx.outputs.unimodal).map(prob);
        g = all.reduce((a, b) => a.maximum(b)).sub(all.reduce((a, b) => a.minimum(b)));
      }
      if (o.lambda1 > 0)
        terms.gap = g
          .pow(2)
          .mean()
          .mul(this.lambdaNow * o.lambda1);
      if (o.lambda2 > 0)
        terms.pull = g
          .sub(this.muBalanced)
          .pow(2)
          .mul(gamma)
          .mean()
          .mul(this.lambdaNow * o.lambda2);
    }
    return terms;
  }

  /** The epoch's lambda(t) and pair; the round's fit only in the epoch the round began (read once per epoch). */
  override diagnostics(): Record<string, unknown> {
    const out: Record<string, unknown> = { lambda: this.lambdaNow, pair: this.pair };
    if (this.round) out.round = this.round;
    this.round = null;
    return out;
  }

  override stateDict(): Record<string, unknown> {
    return {
      gamma: this.gamma ? Array.from(this.gamma) : null,
      muBalanced: this.muBalanced,
      pair: this.pair,
      rounds: this.rounds.map((r) => r.round),
    };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.gamma = Array.isArray(state.gamma) ? Float32Array.from(state.gamma as number[]) : null;
    this.muBalanced = typeof state.muBalanced === 'number' ? state.muBalanced : 0;
    this.pair = Array.isArray(state.pair) ? (state.pair as string[]) : [];
    this.rounds = [];
  }
}
