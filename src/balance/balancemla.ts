import { checkInt, checkNumber, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import type { Tensor } from '../engine/tensor.js';
import type { MultimodalModel } from '../models/model.js';
import { isRecord } from './step_lr.js';
import { BalancingStrategy, type EpochContext, type Phase, type StepContext, defaultLoss } from './strategy.js';

export interface BalanceMLAOptions {
  /**
   * Phase 1: epochs of unimodal pre-training at the configured learning rate (train.lr). The
   * paper's pipeline is 30 epochs, "the first 25 epochs focus on training", the last 5 on
   * fine-tuning, and its only stages are training each unimodal model, then fine-tuning the
   * composite: so 25. 0 skips pre-training.
   */
  pretrainEpochs: number;
  /** Phase 2: epochs of fine-tuning the composite with the fusion modules (the paper: 5). */
  finetuneEpochs: number;
  /** Phase 2's learning rate (the paper: 5e-5); null keeps the configured one. */
  finetuneLr: number | null;
}

export const BALANCEMLA_DEFAULTS: Readonly<BalanceMLAOptions> = Object.freeze({
  pretrainEpochs: 25,
  finetuneEpochs: 5,
  finetuneLr: 5e-5,
});

const OPTION_KEYS = Object.keys(BALANCEMLA_DEFAULTS) as (keyof BalanceMLAOptions)[];

/** Checks the schedule's options (config's methodOptions) over the defaults; every error names the option. */
export function checkBalanceMLAOptions(options: Record<string, unknown>): BalanceMLAOptions {
  if (!isRecord(options)) throw invalid('balancemla options', 'a record of options', options);
  for (const k of Object.keys(options))
    if (!(OPTION_KEYS as string[]).includes(k)) throw invalid('balancemla options', `a known option (${OPTION_KEYS.join(', ')})`, k);
  const o = { ...BALANCEMLA_DEFAULTS, ...options } as Record<keyof BalanceMLAOptions, unknown>;
  const lr = o.finetuneLr === null ? null : checkNumber('balancemla.finetuneLr', o.finetuneLr, 0);
  if (lr === 0) throw invalid('balancemla.finetuneLr', 'a learning rate > 0, or null for the configured one', lr);
  return {
    pretrainEpochs: checkInt('balancemla.pretrainEpochs', o.pretrainEpochs, 0),
    finetuneEpochs: checkInt('balancemla.finetuneEpochs', o.finetuneEpochs, 1),
    finetuneLr: lr,
  };
}

/** A model that can run its unimodal branches alone, skipping its fusion modules (the balancemla recipe's). */
export interface UnimodalStage {
  setUnimodalOnly(on: boolean): void;
}

function hasUnimodalStage(model: unknown): model is UnimodalStage {
  return typeof (model as Partial<UnimodalStage>).setUnimodalOnly === 'function';
}

/**
 * What unimodal pre-training trains: every whole parameter of each modality's branch (its encoder
 * and its own classifier). Slices of a shared fusion weight are fusion, so they stay frozen.
 */
export function unimodalParameters(model: MultimodalModel): Tensor[] {
  const out = new Set<Tensor>();
  for (const [m, refs] of Object.entries(model.modalityParameters('branch'))) {
    const whole = refs.filter((r) => r.slice === undefined);
    if (whole.length === 0) throw new Error(`the balancemla schedule pre-trains each modality's branch, but modality '${m}' has none`);
    for (const r of whole) out.add(r.param);
  }
  return [...out];
}

/**
 * BalanceMLA's training schedule (seed paper 003): the unimodal models are trained first, each by
 * its own cross entropy, then the composite is fine-tuned with its fusion modules.
 *
 * - 'pretrain': only the branches (encoders and their own classifiers) train, by the sum of the
 *   unimodal cross entropies (`unimodal.<m>`); AttentionBRFF and the decision layer get no
 *   gradient, so they stay exactly as initialised. Its epochs are not candidates for the best
 *   checkpoint (the fused output is untrained).
 * - 'finetune': everything trains, the optimizer's state is reset and the learning rate set to
 *   finetuneLr; the objective is the default one: cross entropy of the fused prediction plus the
 *   model's own terms (BalanceMLA's per-branch cross entropies, `branch.<m>`).
 *
 * A model that can run its branches alone (UnimodalStage: the balancemla recipe's) does so during
 * pre-training, which spares the frozen fusion modules' forward work; its fused output is then the
 * equal-weight mixture of the unimodal predictions, which is what those epochs' dev metrics show.
 * Built for the balancemla recipe; any model whose modalities have their own classifiers fits
 * (model.head=multi).
 */
export class BalanceMLASchedule extends BalancingStrategy {
  readonly name = 'balancemla';
  readonly options: Readonly<BalanceMLAOptions>;

  constructor(options: Record<string, unknown> = {}) {
    super();
    this.options = Object.freeze(checkBalanceMLAOptions(options));
  }

  override phases(): Phase[] {
    const o = this.options;
    const finetune: Phase = { name: 'finetune', epochs: o.finetuneEpochs, resetOptimizer: true };
    if (o.finetuneLr !== null) finetune.lr = o.finetuneLr;
    if (o.pretrainEpochs === 0) return [finetune];
    return [{ name: 'pretrain', epochs: o.pretrainEpochs, trainable: unimodalParameters, selectBest: false }, finetune];
  }

  // Set at every epoch, not only when a phase starts, so that a run resumed inside a phase has it too.
  override onEpochStart(ctx: EpochContext): void {
    if (hasUnimodalStage(ctx.model)) ctx.model.setUnimodalOnly(ctx.phase.name === 'pretrain');
  }

  override loss(ctx: StepContext): Record<string, Tensor> {
    if (ctx.phase.name !== 'pretrain') return defaultLoss(ctx);
    const terms: Record<string, Tensor> = {};
    for (const [m, u] of Object.entries(ctx.outputs.unimodal)) terms[`unimodal.${m}`] = F.crossEntropy(u, ctx.labels);
    return terms;
  }
}
