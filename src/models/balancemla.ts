import type { ClipLayout } from '../data/clip/dataset.js';
import type { Batch } from '../data/dataset.js';
import { ArgumentError, checkInt, checkNumber, checkOneOf, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { noGrad } from '../engine/grad_mode.js';
import { cat } from '../engine/ops.js';
import { type Tensor, zeros } from '../engine/tensor.js';
import { Linear, ModuleDict } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { type ParamRef, wholeRefs } from '../nn/param_ref.js';
import { AttentionBRFF } from './balancemla/brff.js';
import {
  DECISION_FUSION_KINDS,
  type DecisionFusionKind,
  decisionLayer,
  decisionLogWeights,
  fuseDecisions,
} from './balancemla/decision_fusion.js';
import type { ModelOutputs, MultimodalModel } from './model.js';
import { SequenceEncoder } from './sequence_encoder.js';

export { AttentionBRFF, CrossModalLayer, type CrossModalOptions } from './balancemla/brff.js';
export { DECISION_FUSION_KINDS, type DecisionFusionKind, decisionLogWeights, fuseDecisions } from './balancemla/decision_fusion.js';

/** BalanceMLA's own model settings (config keys model.brff, model.brffLayers, model.brffHeads, model.decisionFusion). */
export interface BalanceMLAModelConfig {
  /** AttentionBRFF on; false (the ablation) gives each branch its own features: f^{fuse-m} = f^m. */
  brff: boolean;
  /** Cross-modal layers of each AttentionBRFF block (the paper: 3). */
  brffLayers: number;
  /** Heads of the cross-modal attention (the paper: 8); must divide model.hidden. */
  brffHeads: number;
  /** 'category' (the paper), 'modality' (without category-level weighting), 'equal' (without adaptive decision fusion). */
  decisionFusion: DecisionFusionKind;
}

export const DEFAULT_BALANCEMLA_MODEL_CONFIG: Readonly<BalanceMLAModelConfig> = Object.freeze({
  brff: true,
  brffLayers: 3,
  brffHeads: 8,
  decisionFusion: 'category',
});

/** What the model reads: the shared encoder settings (model.hidden, layers, nhead, dimFeedforward, dropout) and its own. */
export interface BalanceMLAConfig extends BalanceMLAModelConfig {
  /** The width d of every modality's per-step features f^m. */
  hidden: number;
  /** Transformer layers of each modality's encoder. */
  layers: number;
  /** Heads of the encoders' self-attention; null: the first divisor of the input width in 5..14, else 1. */
  nhead?: number | null;
  /** Feed-forward width of the encoder layers and of the cross-modal layers. */
  dimFeedforward: number;
  dropout: number;
}

export const DEFAULT_BALANCEMLA_CONFIG: Readonly<BalanceMLAConfig> = Object.freeze({
  ...DEFAULT_BALANCEMLA_MODEL_CONFIG,
  hidden: 64,
  layers: 2,
  nhead: null,
  dimFeedforward: 256,
  dropout: 0.1,
});

/** Everything one forward pass computes (the parity tests and the ablations read the parts). */
export interface BalanceMLAOutputs {
  /** (N, C) log of the fused prediction sum_m alpha[c, m] p_m[c]: cross entropy takes it as logits. */
  fused: Tensor;
  /** modality -> (N, C) its classifier on its own features: classifier_m(mean_t f^m). */
  unimodal: Record<string, Tensor>;
  /** modality -> (N, C) its classifier on its fused features: classifier_m(mean_t f^{fuse-m}), what decision fusion weights. */
  branch: Record<string, Tensor>;
  /** modality -> (N, d) mean over real steps of f^m. */
  features: Record<string, Tensor>;
  /** modality -> (N, d) mean over real steps of f^{fuse-m} (features when AttentionBRFF is off). */
  fusedFeatures: Record<string, Tensor>;
  /** log alpha: (N, C, M) category-level, (N, 1, M) per modality, (1, 1, M) equal. */
  logWeights: Tensor;
}

/** The mean over real steps of (B, T, d) features; mask (B, T) true at padding, or null. */
function meanOverSteps(f: Tensor, mask: Tensor | null): Tensor {
  if (mask === null) return f.mean(1);
  const keep = mask.logicalNot().unsqueeze(2).to(f.dtype);
  return f.mul(keep).sum(1).div(keep.sum(1));
}

/**
 * BalanceMLA (methods.md, "BalanceMLA (seed 003)"), for clips whose modalities are sequences [T, d]
 * (lengths may differ between modalities and between samples):
 *
 * - encoders.<m>: a padding-masked Transformer encoder (the project's SequenceEncoder: layers at
 *   the input width, then proj to model.hidden). Its projection is applied at every step, so the
 *   per-step features f^m are (B, T_m, hidden); their mean over real steps is exactly what the
 *   sequence encoder would pool.
 * - classifiers.<m>: each modality's own Linear(hidden, C) on its pooled features; the unimodal
 *   logits classifier_m(mean f^m) are what unimodal pre-training trains and the loop's diagnostics read.
 * - brff.<b>: AttentionBRFF with basic modality b and, as the auxiliary, every other modality's
 *   f^x concatenated along time (each with its padding masked): for two modalities this is the
 *   paper's pair (fuse-a from res(f_v), fuse-v from res(f_a)); for more, each step of b attends
 *   over all the others' steps at once, one block per modality (not one per pair).
 * - Each branch's classifier then sees its fused features (the paper: the fused representation
 *   keeps its shape, "directly input into the original single-modality model"): branch_m =
 *   classifier_m(mean f^{fuse-m}).
 * - decision: adaptive decision fusion of the branches' predictions (balancemla/decision_fusion.ts),
 *   weights from the concatenated means of the fused features.
 *
 * The model adds one loss term per modality, `branch.<m>`: cross entropy of branch_m (each
 * modality keeps its own objective in the composite); the fused term comes from the loop.
 */
export class BalanceMLAModel extends Module implements MultimodalModel {
  readonly kind = 'balancemla';
  readonly encoders: ModuleDict<SequenceEncoder>;
  readonly classifiers: ModuleDict<Linear>;
  /** null when AttentionBRFF is off, or with one modality (nothing to fuse). */
  readonly brff: ModuleDict<AttentionBRFF> | null;
  /** null for equal weights, or with one modality. */
  readonly decision: Linear | null;
  readonly decisionFusion: DecisionFusionKind;
  readonly hidden: number;
  /**
   * Run the branches alone: no AttentionBRFF, no decision layer, and the fused output is the
   * equal-weight mixture of the unimodal predictions (the pre-trained models side by side).
   * BalanceMLA's schedule sets it during unimodal pre-training, when the fusion modules are frozen
   * and outside the loss, so their forward work would be wasted (most of an epoch's time).
   */
  unimodalOnly = false;

  constructor(
    readonly modalities: string[],
    readonly shapes: Readonly<Record<string, readonly number[]>>,
    readonly numClasses: number,
    config: Partial<BalanceMLAConfig> = {},
  ) {
    super();
    const c = { ...DEFAULT_BALANCEMLA_CONFIG, ...config };
    if (!Array.isArray(modalities) || modalities.length === 0) throw invalid('modalities', 'at least one modality', modalities);
    if (new Set(modalities).size !== modalities.length) throw invalid('modalities', 'distinct modality names', modalities);
    checkInt('numClasses', numClasses, 2);
    this.hidden = checkInt('model.hidden', c.hidden, 1);
    if (typeof c.brff !== 'boolean') throw invalid('model.brff', 'true or false', c.brff);
    this.decisionFusion = checkOneOf('model.decisionFusion', c.decisionFusion, DECISION_FUSION_KINDS);
    const fuse = c.brff && modalities.length > 1;
    const brffHeads = checkInt('model.brffHeads', c.brffHeads, 1);
    if (fuse && this.hidden % brffHeads !== 0)
      throw invalid('model.brffHeads', `a divisor of model.hidden (${this.hidden}) for the cross-modal attention`, brffHeads);
    const dropout = checkNumber('model.dropout', c.dropout, 0, 1);

    const enc: Record<string, SequenceEncoder> = {};
    for (const m of modalities) {
      const shape = shapes[m];
      if (shape === undefined) throw invalid(`shapes.${m}`, "the modality's sample shape", shape);
      if (shape.length !== 2)
        throw new ArgumentError(
          `BalanceMLA takes sequences [T, d] for every modality; modality '${m}' has samples of shape [${shape.join(', ')}] ` +
            '(build AV-MNIST with --set form=sequence)',
        );
      enc[m] = new SequenceEncoder(shape[1]!, this.hidden, {
        layers: c.layers,
        nhead: c.nhead ?? null,
        dimFeedforward: c.dimFeedforward,
        dropout,
      });
    }
    this.encoders = this.registerModule('encoders', new ModuleDict(enc));
    this.classifiers = this.registerModule(
      'classifiers',
      new ModuleDict(Object.fromEntries(modalities.map((m) => [m, new Linear(this.hidden, numClasses)]))),
    );
    this.brff = fuse
      ? this.registerModule(
          'brff',
          new ModuleDict(
            Object.fromEntries(
              modalities.map((m) => [
                m,
                new AttentionBRFF(this.hidden, {
                  layers: checkInt('model.brffLayers', c.brffLayers, 1),
                  nhead: brffHeads,
                  dimFeedforward: c.dimFeedforward,
                  dropout,
                }),
              ]),
            ),
          ),
        )
      : null;
    const layer = modalities.length > 1 ? decisionLayer(this.decisionFusion, modalities.length, numClasses, this.hidden) : null;
    this.decision = layer === null ? null : this.registerModule('decision', layer);
  }

  /** One forward pass with every intermediate the method defines. */
  forwardDetailed(batch: Batch): BalanceMLAOutputs {
    const layout = batch.layout as ClipLayout | undefined;
    const seq: Record<string, Tensor> = {};
    const masks: Record<string, Tensor | null> = {};
    const features: Record<string, Tensor> = {};
    const unimodal: Record<string, Tensor> = {};
    for (const m of this.modalities) {
      const x = batch.inputs[m];
      if (x === undefined) throw new Error(`the batch has no '${m}' inputs (it has ${Object.keys(batch.inputs).join(', ')})`);
      const mask = layout?.paddingMask?.[m] ?? null;
      const e = this.encoders.get(m);
      if (x.ndim !== 3 || x.shape[2] !== e.dIn)
        throw invalid(`the '${m}' inputs`, `a tensor of shape [B, T, ${e.dIn}]`, `a tensor of shape [${x.shape.join(', ')}]`);
      const f = e.proj.forward(e.transformer.forward(x, { srcKeyPaddingMask: mask }));
      seq[m] = f;
      masks[m] = mask;
      features[m] = meanOverSteps(f, mask);
      unimodal[m] = this.classifiers.get(m).forward(features[m]!);
    }
    let fusedFeatures = features;
    let branch = unimodal;
    const alone = this.unimodalOnly;
    if (this.brff !== null && !alone) {
      fusedFeatures = {};
      branch = {};
      for (const b of this.modalities) {
        const others = this.modalities.filter((x) => x !== b);
        const aux = cat(
          others.map((x) => seq[x]!),
          1,
        );
        // One mask over the concatenated steps; modalities without padding contribute all-false parts.
        const auxMask = others.some((x) => masks[x] !== null)
          ? cat(
              others.map((x) => masks[x] ?? zeros([seq[x]!.shape[0]!, seq[x]!.shape[1]!], { dtype: 'bool', device: seq[x]!.device })),
              1,
            )
          : null;
        const fused = this.brff.get(b).forward(seq[b]!, masks[b] ?? null, aux, auxMask);
        fusedFeatures[b] = meanOverSteps(fused, masks[b] ?? null);
        branch[b] = this.classifiers.get(b).forward(fusedFeatures[b]!);
      }
    }
    const pooled = cat(
      this.modalities.map((m) => fusedFeatures[m]!),
      1,
    );
    const logWeights = decisionLogWeights(
      alone ? null : this.decision,
      alone ? 'equal' : this.decisionFusion,
      pooled,
      this.numClasses,
      this.modalities.length,
    );
    const fused = fuseDecisions(
      logWeights,
      this.modalities.map((m) => branch[m]!),
    );
    return { fused, unimodal, branch, features, fusedFeatures, logWeights };
  }

  setUnimodalOnly(on: boolean): void {
    this.unimodalOnly = on;
  }

  forward(batch: Batch): ModelOutputs {
    const o = this.forwardDetailed(batch);
    const losses: Record<string, Tensor> = {};
    for (const m of this.modalities) losses[`branch.${m}`] = F.crossEntropy(o.branch[m]!, batch.labels);
    return { fused: o.fused, unimodal: o.unimodal, features: o.features, losses };
  }

  /**
   * 'encoder': each modality's encoder. 'branch': its encoder and its own classifier (what
   * unimodal pre-training trains). AttentionBRFF and the decision layer mix modalities, so they
   * belong to no branch (the loop's 'fusion' group).
   */
  modalityParameters(role?: 'encoder'): Record<string, Tensor[]>;
  modalityParameters(role: 'branch'): Record<string, ParamRef[]>;
  modalityParameters(role: 'encoder' | 'branch' = 'encoder'): Record<string, Tensor[]> | Record<string, ParamRef[]> {
    if (role === 'branch')
      return Object.fromEntries(
        this.modalities.map((m) => [m, wholeRefs([...this.encoders.get(m).parameters(), ...this.classifiers.get(m).parameters()])]),
      );
    if (role !== 'encoder') throw invalid('role', "'encoder' or 'branch'", role);
    return Object.fromEntries(this.modalities.map((m) => [m, this.encoders.get(m).parameters()]));
  }

  /** Per modality, the L2 norm of each class row of its own classifier. */
  classWeightNorms(): Record<string, number[]> {
    return noGrad(() => Object.fromEntries(this.modalities.map((m) => [m, this.classifiers.get(m).weight.norm(2, 1).toArray()])));
  }
}
