import { checkInt, checkOneOf, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { noGrad } from '../engine/grad_mode.js';
import { scope } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import type { MultimodalModel } from '../models/model.js';
import { refGrad } from '../nn/param_ref.js';
import { MODULATION_TARGETS, type ModulationTarget, batchUnimodalScores } from './modulation.js';
import { BalancingStrategy, type EpochContext, type StepContext, sumOverBatch } from './strategy.js';
import { StepLrScale, isRecord, numberRecord } from './step_lr.js';

export interface MLBOptions {
  /** Steepness of the coefficient's tanh, >= 0 (the released code 0.8; 1.0 on UCF101). */
  alpha: number;
  /**
   * The coefficient's bound for a modality that is behind (r > 1): k tends to betaMax. The released
   * configs behave as 2; the paper shows up to 10, the official run script also uses 1 and 0.5.
   */
  betaMax: number;
  /** Where k acts: the branch's gradients (default), or the encoder group's learning rate for the step. */
  apply: ModulationTarget;
  /** First epoch balanced (1-based, inclusive). */
  startEpoch: number;
  /** Last epoch balanced (inclusive); Infinity (or null, from JSON) for no end. */
  endEpoch: number;
}

export const MLB_DEFAULTS: Readonly<MLBOptions> = Object.freeze({
  alpha: 0.8,
  betaMax: 2,
  apply: 'grad',
  startEpoch: 1,
  endEpoch: Infinity,
});

export const MLB_OPTIONS: readonly (keyof MLBOptions)[] = ['alpha', 'betaMax', 'apply', 'startEpoch', 'endEpoch'];

/** Checks MLB's options record (config's methodOptions) over the defaults; every error names the option. */
export function checkMLBOptions(options: Record<string, unknown>): MLBOptions {
  const where = (k: string): string => `mlb.${k}`;
  if (!isRecord(options)) throw invalid('mlb options', 'a record of options', options);
  for (const k of Object.keys(options)) {
    if (!(MLB_OPTIONS as readonly string[]).includes(k)) throw invalid('mlb options', `a known option (${MLB_OPTIONS.join(', ')})`, k);
  }
  const o = { ...MLB_DEFAULTS, ...options } as Record<keyof MLBOptions, unknown>;
  if (typeof o.alpha !== 'number' || !Number.isFinite(o.alpha) || o.alpha < 0)
    throw invalid(where('alpha'), 'a finite number >= 0', o.alpha);
  // betaMax > 0 keeps k > 0 (k >= betaMax when betaMax < 1), so no step reverses a gradient.
  if (typeof o.betaMax !== 'number' || !Number.isFinite(o.betaMax) || o.betaMax <= 0)
    throw invalid(where('betaMax'), 'a finite number > 0 (2 in the released configs, up to 10 in the paper)', o.betaMax);
  const apply = checkOneOf(where('apply'), o.apply, MODULATION_TARGETS);
  const startEpoch = checkInt(where('startEpoch'), o.startEpoch, 1);
  const endEpoch = o.endEpoch === null || o.endEpoch === Infinity ? Infinity : checkInt(where('endEpoch'), o.endEpoch, 1);
  if (endEpoch < startEpoch) throw invalid(where('endEpoch'), `an epoch >= startEpoch (${startEpoch})`, endEpoch);
  return { alpha: o.alpha, betaMax: o.betaMax, apply, startEpoch, endEpoch };
}

/**
 * r_m = (mean over j != m of s_j) / s_m: above 1 when modality m is behind the others. Needs two
 * modalities or more. A score of 0 gives Infinity (k then reaches its bound), and 0 / 0 gives 1.
 */
export function mlbRatios<M extends string>(scores: Readonly<Record<M, number>>): Record<M, number> {
  const ms = Object.keys(scores) as M[];
  if (ms.length < 2) throw invalid('scores', 'scores of two modalities or more (r_m compares modality m with the others)', ms);
  const out = {} as Record<M, number>;
  for (const m of ms) {
    // Summed afresh (not total - s_m) so equal scores give r = 1 exactly, hence k = 1.
    const others = ms.reduce((a, j) => (j === m ? a : a + scores[j]), 0) / (ms.length - 1);
    out[m] = others === 0 && scores[m] === 0 ? 1 : others / scores[m];
  }
  return out;
}

/** k = 1 + (beta - 1) * tanh(alpha * (r - 1)), beta = betaMax when r > 1 (behind: speed up), else 2 (ahead: slow down). */
export function mlbCoefficient(r: number, alpha: number, betaMax: number): number {
  const beta = r > 1 ? betaMax : 2;
  return 1 + (beta - 1) * Math.tanh(alpha * (r - 1));
}

/** The coefficient of every modality from its ratio. */
export function mlbCoefficients<M extends string>(ratios: Readonly<Record<M, number>>, alpha: number, betaMax: number): Record<M, number> {
  const out = {} as Record<M, number>;
  for (const m of Object.keys(ratios) as M[]) out[m] = mlbCoefficient(ratios[m], alpha, betaMax);
  return out;
}

/**
 * Whether the model's unimodal logits come from classifiers of their own (the 'multi' head says
 * so with `ownUnimodalClassifiers`). Logits sliced out of the fused head would make the unimodal
 * losses train that head's columns a second time rather than give each modality a classifier.
 */
export function hasOwnUnimodalClassifiers(model: MultimodalModel): boolean {
  const head = (model as { head?: unknown }).head;
  return isRecord(head) && head.ownUnimodalClassifiers === true;
}

/**
 * Multi-Loss (Kontras et al.; methods.md, "Multi-Loss and MLB"): the fused cross entropy, the
 * model's own terms, and one cross entropy per modality on its own classifier's logits:
 * L = CE(fused) + sum_m CE(u_m), terms `fused` and `unimodal.<m>`. The model's head must have its
 * own classifier per modality (`--set model.head=multi`); any other head is refused at the first
 * step.
 */
export class MultiLoss extends BalancingStrategy {
  readonly name: string = 'multi-loss';
  /** Models already checked, so the check costs one property read per step. */
  private readonly checked = new WeakSet<object>();

  constructor(options: Record<string, unknown> = {}) {
    super();
    if (!isRecord(options)) throw invalid('multi-loss options', 'a record of options', options);
    const [k] = Object.keys(options);
    if (k !== undefined) throw invalid('multi-loss options', "no options (Multi-Loss has none; 'mlb' takes alpha, betaMax, apply...)", k);
  }

  override extraLosses(ctx: StepContext): Record<string, Tensor> {
    this.checkModel(ctx.model);
    const out: Record<string, Tensor> = {};
    for (const m of ctx.model.modalities) {
      const u = ctx.outputs.unimodal[m];
      if (u === undefined) throw invalid(`unimodal.${m}`, `unimodal logits for modality '${m}' from the model`, u);
      out[`unimodal.${m}`] = F.crossEntropy(u, ctx.labels);
    }
    return out;
  }

  /** Refuses, naming the fix, a model this method cannot balance. */
  protected checkModel(model: MultimodalModel): void {
    if (this.checked.has(model)) return;
    if (!hasOwnUnimodalClassifiers(model)) {
      const head = (model as { head?: unknown }).head;
      throw invalid(
        `${this.name}'s model`,
        "a fusion head with its own classifier per modality (--set model.head=multi), as the method's unimodal losses need",
        head ?? model,
      );
    }
    this.checked.add(model);
  }
}

/** What one MLB step measured. */
export interface MLBStep {
  /** s_m: the batch's mean probability of the true class under modality m's classifier. */
  scores: Record<string, number>;
  ratios: Record<string, number>;
  coefficients: Record<string, number>;
  /** Whether the step was inside the epoch window (so the coefficients were applied). */
  modulated: boolean;
}

interface Sums {
  steps: number;
  modulatedSteps: number;
  k: Record<string, number>;
  r: Record<string, number>;
  s: Record<string, number>;
}

function emptySums(): Sums {
  return { steps: 0, modulatedSteps: 0, k: {}, r: {}, s: {} };
}

/**
 * MLB, multi-loss balanced modulation (Kontras et al.; methods.md, "Multi-Loss and MLB"):
 * Multi-Loss, and at every step s_m = mean_i softmax(u_m,i)[y_i] of the batch (no gradient),
 * r_m = (mean over j != m of s_j) / s_m, beta_m = betaMax if r_m > 1 else 2 and
 * k_m = 1 + (beta_m - 1) * tanh(alpha * (r_m - 1)). Inside the epoch window, modality m's branch
 * (model.modalityParameters('branch'): its encoder, its own classifier, its columns of the fusion
 * weight) is sped up or slowed by k_m, after clipping and before the optimizer step. No noise.
 *
 * apply 'grad' multiplies every branch gradient by k_m. apply 'lr' multiplies the learning rate of
 * the encoder's parameter group (named after the modality) by k_m for this step only; the other
 * branch parts share the 'fusion' group with everything else and cannot take a per-modality rate,
 * so their gradients are multiplied by k_m instead. For plain SGD (no momentum, no weight decay)
 * both forms take the same step; under Adam the learning-rate form is the one that changes it.
 *
 * Needs two modalities or more (r_m compares m with the others). Diagnostics are per-epoch means
 * over the training steps of k_m, r_m and s_m (computed also outside the window, where k_m is not
 * applied), with the counts of steps and modulated steps.
 */
export class MLB extends MultiLoss {
  override readonly name: string = 'mlb';
  readonly options: Readonly<MLBOptions>;
  /** The latest training step's measurement, or null before the first. */
  last: MLBStep | null = null;
  private sums: Sums = emptySums();
  /** Learning rates scaled for the current step, put back in afterStep. */
  private readonly lrScale = new StepLrScale();

  constructor(options: Record<string, unknown> = {}) {
    super();
    this.options = Object.freeze(checkMLBOptions(options));
  }

  /** Whether the given 1-based epoch lies in [startEpoch, endEpoch]. */
  inWindow(epoch: number): boolean {
    return epoch >= this.options.startEpoch && epoch <= this.options.endEpoch;
  }

  /** Scores, ratios and coefficients of one batch; no gradient, one small host read. */
  measure(ctx: Pick<StepContext, 'model' | 'outputs' | 'labels' | 'batchSum'>): Omit<MLBStep, 'modulated'> {
    this.checkModel(ctx.model);
    const modalities = ctx.model.modalities;
    const local = ctx.labels.shape[0]!;
    if (local === 0) throw invalid('labels', 'a batch with at least one scored sample', 'an empty batch');
    const sums = batchUnimodalScores(ctx.outputs.unimodal, ctx.labels, modalities);
    // The global batch's count and score sums (one collective in data-parallel training).
    const [n, ...global] = sumOverBatch(ctx, [local, ...modalities.map((m) => sums[m]!)]);
    const scores = Object.fromEntries(modalities.map((m, i) => [m, global[i]! / n!]));
    const ratios = mlbRatios(scores);
    return { scores, ratios, coefficients: mlbCoefficients(ratios, this.options.alpha, this.options.betaMax) };
  }

  override afterBackward(ctx: StepContext): void {
    this.lrScale.restore();
    const step: MLBStep = { ...this.measure(ctx), modulated: this.inWindow(ctx.epoch) };
    this.last = step;
    this.record(step);
    if (!step.modulated) return;
    const branches = ctx.model.modalityParameters('branch');
    for (const m of ctx.model.modalities) {
      const k = step.coefficients[m]!;
      // With apply 'lr', the encoder group's rate carries k for its whole parameters.
      const viaLr =
        this.options.apply === 'lr'
          ? new Set(this.lrScale.scale(ctx.optimizer, m, k, 'mlb.apply', this.options.apply).params)
          : new Set<Tensor>();
      if (k === 1) continue;
      scope(() =>
        noGrad(() => {
          for (const ref of branches[m] ?? []) {
            if (ref.slice === undefined && viaLr.has(ref.param)) continue;
            refGrad(ref)?.mul_(k);
          }
        }),
      );
    }
  }

  override afterStep(_ctx: StepContext): void {
    this.lrScale.restore();
  }

  override onEpochStart(_ctx: EpochContext): void {
    this.lrScale.restore();
    this.sums = emptySums();
  }

  override diagnostics(): Record<string, unknown> {
    const { steps, modulatedSteps, k, r, s } = this.sums;
    const mean = (v: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(v).map(([m, x]) => [m, steps > 0 ? x / steps : NaN]));
    return { k: mean(k), r: mean(r), s: mean(s), steps, modulatedSteps };
  }

  /** The options (endEpoch Infinity saved as null, as JSON has no Infinity) and the running epoch's sums. */
  override stateDict(): Record<string, unknown> {
    const o = this.options;
    const a = this.sums;
    return {
      options: { ...o, endEpoch: o.endEpoch === Infinity ? null : o.endEpoch },
      epoch: { steps: a.steps, modulatedSteps: a.modulatedSteps, k: { ...a.k }, r: { ...a.r }, s: { ...a.s } },
    };
  }

  /** Restores the epoch's sums; the options stay the ones this instance was built with. */
  override loadStateDict(state: Record<string, unknown>): void {
    const e = state.epoch;
    if (!isRecord(e)) {
      this.sums = emptySums();
      return;
    }
    const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
    this.sums = {
      steps: count(e.steps),
      modulatedSteps: count(e.modulatedSteps),
      k: numberRecord(e.k),
      r: numberRecord(e.r),
      s: numberRecord(e.s),
    };
  }

  protected override checkModel(model: MultimodalModel): void {
    if (model.modalities.length < 2)
      throw invalid("mlb's model", 'two modalities or more (r_m compares a modality with the others; use multi-loss for one)', [
        ...model.modalities,
      ]);
    super.checkModel(model);
  }

  private record(step: MLBStep): void {
    const a = this.sums;
    a.steps++;
    if (step.modulated) a.modulatedSteps++;
    const add = (into: Record<string, number>, from: Record<string, number>): void => {
      for (const [m, v] of Object.entries(from)) into[m] = (into[m] ?? 0) + v;
    };
    add(a.k, step.coefficients);
    add(a.r, step.ratios);
    add(a.s, step.scores);
  }
}
