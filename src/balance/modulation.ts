import { checkInt, checkOneOf, invalid } from '../engine/errors.js';
import { noGrad } from '../engine/grad_mode.js';
import { GradEdits } from '../engine/grad_edits.js';
import { stdFromMoments } from '../engine/grad_passes.js';
import { stack } from '../engine/ops.js';
import { scope } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { disparityRatios } from '../metrics/functional/unimodal_scores.js';
import { BalancingStrategy, type EpochContext, type StepContext, sumOverBatch } from './strategy.js';
import { StepLrScale, isRecord, numberRecord } from './step_lr.js';

/** Which encoder parameters are modulated: all of them, or only 4-D (convolution) kernels as official OGM-GE. */
export type ModulatedParams = 'all' | 'conv';
/** Where the coefficient acts: on the gradients (as the authors) or on the group's learning rate for the step. */
export type ModulationTarget = 'grad' | 'lr';
/** Whose standard deviation sizes the noise: the gradient before scaling (OGM-GE's code) or after (Ada2I's code). */
export type NoiseStdSource = 'original' | 'scaled';

export const MODULATED_PARAMS: readonly ModulatedParams[] = ['all', 'conv'];
export const MODULATION_TARGETS: readonly ModulationTarget[] = ['grad', 'lr'];
export const NOISE_STD_SOURCES: readonly NoiseStdSource[] = ['original', 'scaled'];

export interface DisparityModulationOptions {
  /** Strength of the modulation, >= 0 (OGM-GE 0.1 to 0.8; Ada2I IEMOCAP 0.037, MELD 0.42). */
  alpha: number;
  /** First epoch modulated (1-based, inclusive). */
  startEpoch: number;
  /** Last epoch modulated (inclusive); Infinity (or null, from JSON) for no end. */
  endEpoch: number;
  /** Add the generalisation-enhancement noise to the modulated gradients. */
  noise: boolean;
  noiseStd: NoiseStdSource;
  params: ModulatedParams;
  apply: ModulationTarget;
}

export const DISPARITY_MODULATION_OPTIONS: readonly (keyof DisparityModulationOptions)[] = [
  'alpha',
  'startEpoch',
  'endEpoch',
  'noise',
  'noiseStd',
  'params',
  'apply',
];

/** A named method built on the rule: its name and its defaults. */
export interface ModulationPreset {
  name: string;
  defaults: DisparityModulationOptions;
}

/** Ada2I's modulation (methods.md, "Ada2I" step 5): std of the scaled gradient, every encoder parameter. */
export const DISPARITY_PRESET: ModulationPreset = {
  name: 'disparity',
  defaults: { alpha: 0.1, startEpoch: 1, endEpoch: Infinity, noise: true, noiseStd: 'scaled', params: 'all', apply: 'grad' },
};

/** OGM-GE (methods.md, "OGM-GE"): std of the original gradient. Set params 'conv' for the official conv-only form. */
export const OGM_GE_PRESET: ModulationPreset = {
  name: 'ogm-ge',
  defaults: { ...DISPARITY_PRESET.defaults, noiseStd: 'original' },
};

/**
 * k = 1 - tanh(alpha * relu(rho)) when rho > 1, else 1. It is relu(rho), not relu(rho - 1), as in
 * the authors' code: k jumps from 1 to 1 - tanh(alpha) just above rho = 1.
 */
export function modulationCoefficient(rho: number, alpha: number): number {
  return rho > 1 ? 1 - Math.tanh(alpha * Math.max(0, rho)) : 1;
}

/** The coefficient of every modality from its disparity ratio. */
export function modulationCoefficients<M extends string>(ratios: Readonly<Record<M, number>>, alpha: number): Record<M, number> {
  const out = {} as Record<M, number>;
  for (const m of Object.keys(ratios) as M[]) out[m] = modulationCoefficient(ratios[m], alpha);
  return out;
}

/**
 * s_m = sum_i softmax(u_m,i)[y_i] for the given modalities, computed on the logits' device in
 * float64 without gradient; the M sums come back to the host in one read. Equal to
 * unimodalScores(), which reads every logit back instead.
 */
export function batchUnimodalScores(
  unimodal: Readonly<Record<string, Tensor>>,
  labels: Tensor,
  modalities: readonly string[],
): Record<string, number> {
  if (modalities.length === 0) throw invalid('modalities', 'at least one modality', modalities);
  const n = labels.shape[0];
  for (const m of modalities) {
    const u = unimodal[m];
    if (u === undefined) throw invalid(`unimodal.${m}`, `unimodal logits for modality '${m}'`, u);
    const shape = u.shape;
    if (shape.length !== 2 || shape[0] !== n)
      throw invalid(`unimodal.${m}`, `logits of shape [${n}, C] (one row per label)`, `a tensor of shape [${shape.join(', ')}]`);
  }
  const values = scope(() =>
    noGrad(() => {
      const index = labels.long().unsqueeze(1);
      return stack(modalities.map((m) => unimodal[m]!.double().softmax(1).gather(1, index).sum())).toArray();
    }),
  );
  return Object.fromEntries(modalities.map((m, i) => [m, values[i]!]));
}

/** What one training step measured. */
export interface ModulationStep {
  scores: Record<string, number>;
  ratios: Record<string, number>;
  coefficients: Record<string, number>;
  /** Whether the step was inside the window (so the coefficients were applied). */
  modulated: boolean;
}

interface Accumulators {
  steps: number;
  modulatedSteps: number;
  rho: Record<string, number>;
  coefficient: Record<string, number>;
}

function emptyAccumulators(): Accumulators {
  return { steps: 0, modulatedSteps: 0, rho: {}, coefficient: {} };
}

/**
 * Checks a method's options record (from config's methodOptions) over the preset's defaults.
 * Every error names the option and what it accepts.
 */
export function checkModulationOptions(
  options: Record<string, unknown>,
  preset: ModulationPreset = DISPARITY_PRESET,
): DisparityModulationOptions {
  const where = (k: string): string => `${preset.name}.${k}`;
  if (!isRecord(options)) throw invalid(`${preset.name} options`, 'a record of options', options);
  for (const k of Object.keys(options)) {
    if (!(DISPARITY_MODULATION_OPTIONS as readonly string[]).includes(k))
      throw invalid(`${preset.name} options`, `a known option (${DISPARITY_MODULATION_OPTIONS.join(', ')})`, k);
  }
  const o = { ...preset.defaults, ...options } as Record<keyof DisparityModulationOptions, unknown>;
  if (typeof o.alpha !== 'number' || !Number.isFinite(o.alpha) || o.alpha < 0)
    throw invalid(where('alpha'), 'a finite number >= 0', o.alpha);
  const startEpoch = checkInt(where('startEpoch'), o.startEpoch, 1);
  const endEpoch = o.endEpoch === null || o.endEpoch === Infinity ? Infinity : checkInt(where('endEpoch'), o.endEpoch, 1);
  if (endEpoch < startEpoch) throw invalid(where('endEpoch'), `an epoch >= startEpoch (${startEpoch})`, endEpoch);
  if (typeof o.noise !== 'boolean') throw invalid(where('noise'), 'a boolean', o.noise);
  const noiseStd = checkOneOf(where('noiseStd'), o.noiseStd, NOISE_STD_SOURCES);
  const params = checkOneOf(where('params'), o.params, MODULATED_PARAMS);
  const apply = checkOneOf(where('apply'), o.apply, MODULATION_TARGETS);
  if (apply === 'lr' && params === 'conv')
    throw invalid(
      where('params'),
      "'all' with apply 'lr' (a learning rate acts on the whole parameter group, not on its 4-D kernels alone)",
      params,
    );
  return { alpha: o.alpha, startEpoch, endEpoch, noise: o.noise, noiseStd, params, apply };
}

/**
 * Disparity-ratio gradient modulation: OGM-GE generalised to M modalities as Ada2I does
 * (methods.md, "OGM-GE" and "Ada2I" step 5). At every training step the unimodal scores s_m of
 * the batch give rho_m = s_m / min_j s_j and k_m = 1 - tanh(alpha * relu(rho_m)) for rho_m > 1,
 * else 1. Inside the epoch window, after clipping and before the optimizer step, each gradient of
 * modality m's encoder is multiplied by k_m (or, with apply 'lr', that encoder's parameter-group
 * learning rate is, for this step only), then Gaussian noise with sigma = std(gradient) + 1e-8
 * is added to it, whatever k_m is.
 *
 * With apply 'lr' the gradients are never scaled, so the noise is sized by the gradient as it is
 * and noiseStd makes no difference. A one-element gradient has no sample std; its std is taken as
 * 0 (sigma = 1e-8) rather than NaN.
 *
 * In the training loop the scaling and the noise are handed to the optimizer as pending edits
 * (ctx.gradients) and applied in its pass over the gradients, with the same numbers; driven
 * outside the loop they are written into the gradients at once. Either way the standard
 * deviations are read back to the host (one read of all the gradients, a sync on CUDA).
 *
 * Diagnostics are per-epoch means over the training steps of rho_m and k_m (k_m as computed, also
 * outside the window, where it is not applied), with the counts of steps and modulated steps.
 */
export class DisparityModulation extends BalancingStrategy {
  readonly name: string;
  override readonly takesPendingGradients = true;
  readonly options: Readonly<DisparityModulationOptions>;
  /** The latest training step's measurement, or null before the first. */
  last: ModulationStep | null = null;
  private acc: Accumulators = emptyAccumulators();
  /** Learning rates scaled for the current step, put back in afterStep. */
  private readonly lrScale = new StepLrScale();

  constructor(options: Record<string, unknown> = {}, preset: ModulationPreset = DISPARITY_PRESET) {
    super();
    this.name = preset.name;
    this.options = Object.freeze(checkModulationOptions(options, preset));
  }

  /** Whether the given 1-based epoch lies in [startEpoch, endEpoch]. */
  inWindow(epoch: number): boolean {
    return epoch >= this.options.startEpoch && epoch <= this.options.endEpoch;
  }

  /** Scores, ratios and coefficients of one batch; no gradient, one small host read. */
  measure(ctx: Pick<StepContext, 'model' | 'outputs' | 'labels' | 'batchSum'>): Omit<ModulationStep, 'modulated'> {
    const modalities = Object.keys(ctx.model.modalityParameters());
    const local = batchUnimodalScores(ctx.outputs.unimodal, ctx.labels, modalities);
    const global = sumOverBatch(
      ctx,
      modalities.map((m) => local[m]!),
    );
    const scores = Object.fromEntries(modalities.map((m, i) => [m, global[i]!]));
    const ratios = disparityRatios(scores);
    return { scores, ratios, coefficients: modulationCoefficients(ratios, this.options.alpha) };
  }

  override afterBackward(ctx: StepContext): void {
    this.lrScale.restore();
    const modulated = this.inWindow(ctx.epoch);
    const step: ModulationStep = { ...this.measure(ctx), modulated };
    this.last = step;
    this.record(step);
    if (!modulated) return;
    const o = this.options;
    const perModality = ctx.model.modalityParameters();
    // Every modulated gradient as a pending edit: one read for all their standard deviations,
    // then the scaling and the noise in one pass. In the loop the optimizer applies them as it
    // reads each gradient (ctx.gradients); driven outside it, they are written here at once.
    const params: Tensor[] = [];
    const scales: number[] = [];
    for (const [m, all] of Object.entries(perModality)) {
      const k = step.coefficients[m]!;
      const chosen = o.params === 'conv' ? all.filter((p) => p.ndim === 4) : all;
      if (o.apply === 'lr') this.lrScale.scale(ctx.optimizer, m, k, `${this.name}.apply`, o.apply);
      const scaleGrad = o.apply === 'grad' && k !== 1;
      if (!scaleGrad && !o.noise) continue;
      for (const p of chosen) {
        params.push(p);
        scales.push(scaleGrad ? k : 1);
      }
    }
    if (params.length === 0) return;
    const edits = ctx.gradients ?? new GradEdits(params);
    const moments = o.noise ? edits.moments(params) : [];
    params.forEach((p, i) => {
      if (scales[i] !== 1) edits.scale(p, scales[i]!);
      const m = moments[i];
      if (!m) return; // no noise asked, or no gradient
      const std = stdFromMoments(m.numel, m.sum, m.sumSq);
      // std of the scaled gradient = |k| std of the original one.
      edits.addNoise(p, (o.noiseStd === 'original' ? std : Math.abs(scales[i]!) * std) + 1e-8);
    });
    if (!ctx.gradients) edits.apply(params);
  }

  override afterStep(_ctx: StepContext): void {
    this.lrScale.restore();
  }

  override onEpochStart(_ctx: EpochContext): void {
    this.lrScale.restore();
    this.acc = emptyAccumulators();
  }

  override diagnostics(): Record<string, unknown> {
    const { steps, modulatedSteps, rho, coefficient } = this.acc;
    const mean = (r: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(r).map(([m, v]) => [m, steps > 0 ? v / steps : NaN]));
    return { rho: mean(rho), coefficient: mean(coefficient), steps, modulatedSteps };
  }

  /** The options (endEpoch Infinity saved as null, as JSON has no Infinity) and the running epoch's sums. */
  override stateDict(): Record<string, unknown> {
    const o = this.options;
    return {
      options: { ...o, endEpoch: o.endEpoch === Infinity ? null : o.endEpoch },
      epoch: {
        steps: this.acc.steps,
        modulatedSteps: this.acc.modulatedSteps,
        rho: { ...this.acc.rho },
        coefficient: { ...this.acc.coefficient },
      },
    };
  }

  /** Restores the epoch's sums; the options stay the ones this instance was built with. */
  override loadStateDict(state: Record<string, unknown>): void {
    const e = state.epoch;
    if (!isRecord(e)) {
      this.acc = emptyAccumulators();
      return;
    }
    const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
    this.acc = {
      steps: count(e.steps),
      modulatedSteps: count(e.modulatedSteps),
      rho: numberRecord(e.rho),
      coefficient: numberRecord(e.coefficient),
    };
  }

  private record(step: ModulationStep): void {
    const a = this.acc;
    a.steps++;
    if (step.modulated) a.modulatedSteps++;
    for (const [m, v] of Object.entries(step.ratios)) a.rho[m] = (a.rho[m] ?? 0) + v;
    for (const [m, v] of Object.entries(step.coefficients)) a.coefficient[m] = (a.coefficient[m] ?? 0) + v;
  }
}
