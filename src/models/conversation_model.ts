import { invalid } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import type { Batch } from '../data/dataset.js';
import type { ConversationLayout } from '../data/conversation/batch.js';
import { ModuleDict } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import type { ParamRef } from '../nn/param_ref.js';
import { type ConversationEncoder, type EncoderKind, encoders, makeEncoder } from './encoders.js';
import { AFW } from './afw.js';
import type { AMWMode } from './amw.js';
import { type FusionHead, type HeadKind, heads, makeHead } from './fusion.js';
import type { ModelOutputs, MultimodalModel } from './model.js';
import { encoderParameters, headLosses } from './head.js';

export type { ModelOutputs, MultimodalModel } from './model.js';

export interface ConversationModelConfig {
  encoder: EncoderKind;
  hidden: number;
  layers: number;
  nhead?: number | null;
  dimFeedforward: number;
  dropout: number;
  maskPadding: boolean;
  head: HeadKind;
  headHidden: number;
  /** AMW head: the authors' normalised form ('ada2i') or true cosine ('mmcosine') with amwScale. */
  amwMode: AMWMode;
  amwScale: number;
  /** AMW head: width of the paper's MLP classifier on its output (eq. 9); 0 for none (the authors' code). */
  amwMlpHidden: number;
  /** Ada2I's Adaptive Feature Weighting between the encoders and the head; its loss joins the training loss. */
  afw: boolean;
  afwLayers: number;
  afwRank: number;
  afwBeta: number;
  afwDropout: number;
  /**
   * AFW contraction order: these modalities first, in this order, then the rest in modality order.
   * Names the model does not use are skipped, so one order serves every modality subset. [] for
   * the modality order; the Ada2I presets give the authors' audio, text, visual.
   */
  afwOrder: string[];
  /** Reproduce the Ada2I authors' code exactly: no padding mask in the encoders, AFW in its code form. */
  parity: boolean;
  /** Run encoder projections on real utterances only (same results, less work); off to compare. */
  packed: boolean;
  /** Clip models: modality -> encoder name ('lenet', 'resnet18', 'mlp', 'transformer'); by sample shape when absent. */
  encoders: Record<string, string>;
}

export const DEFAULT_MODEL_CONFIG: ConversationModelConfig = {
  encoder: 'transformer',
  hidden: 300,
  layers: 2,
  nhead: null,
  dimFeedforward: 2048,
  dropout: 0.1,
  maskPadding: true,
  head: 'concat',
  headHidden: 256,
  amwMode: 'ada2i',
  amwScale: 10,
  amwMlpHidden: 0,
  afw: false,
  afwLayers: 2,
  afwRank: 11,
  afwBeta: 0.012,
  afwDropout: 0.5,
  afwOrder: [],
  parity: false,
  packed: true,
  encoders: {},
};

/**
 * Per-modality encoders (`encoders.<modality>.*`) and a fusion head (`head.*`) over batches of
 * conversations. Losses and metrics see only the real utterances.
 */
export class ConversationModel extends Module implements MultimodalModel {
  readonly kind = 'conversation';
  readonly encoders: ModuleDict<ConversationEncoder>;
  readonly head: FusionHead;
  readonly afw: AFW | null;
  readonly packed: boolean;

  constructor(
    readonly modalities: string[],
    dims: Record<string, number>,
    readonly numClasses: number,
    config: Partial<ConversationModelConfig> = {},
  ) {
    super();
    const c = { ...DEFAULT_MODEL_CONFIG, ...config };
    encoders.get(c.encoder);
    heads.get(c.head);
    if (modalities.length === 0) throw invalid('modalities', 'at least one modality', modalities);
    const enc: Record<string, ConversationEncoder> = {};
    for (const m of modalities) {
      if (!(dims[m]! > 0)) throw invalid(`dims.${m}`, 'a positive feature dimension', dims[m]);
      enc[m] = makeEncoder(c.encoder, dims[m]!, c.hidden, {
        layers: c.layers,
        nhead: c.nhead,
        dimFeedforward: c.dimFeedforward,
        dropout: c.dropout,
        maskPadding: c.maskPadding && !c.parity,
      });
    }
    this.encoders = this.registerModule('encoders', new ModuleDict(enc));
    this.packed = c.packed;
    const outDims = Object.fromEntries(modalities.map((m) => [m, enc[m]!.outDim]));
    this.afw = c.afw
      ? this.registerModule(
          'afw',
          new AFW(modalities, outDims, {
            layers: c.afwLayers,
            rank: c.afwRank,
            beta: c.afwBeta,
            dropout: c.afwDropout,
            parity: c.parity,
            order: afwOrder(c.afwOrder, modalities),
          }),
        )
      : null;
    this.head = this.registerModule(
      'head',
      makeHead(c.head, modalities, outDims, numClasses, {
        hidden: c.headHidden,
        dropout: c.dropout,
        amwMode: c.amwMode,
        amwMlpHidden: c.amwMlpHidden,
        amwScale: c.amwScale,
      }),
    );
  }

  /** 'encoder': each modality's encoder. 'branch': that, plus the modality's slice of a linear head. */
  modalityParameters(role?: 'encoder'): Record<string, Tensor[]>;
  modalityParameters(role: 'branch'): Record<string, ParamRef[]>;
  modalityParameters(role: 'encoder' | 'branch' = 'encoder'): Record<string, Tensor[]> | Record<string, ParamRef[]> {
    return encoderParameters(this.modalities, (m) => this.encoders.get(m), this.head, role);
  }

  classWeightNorms(): Record<string, number[]> | null {
    return this.head.classWeightNorms();
  }

  /**
   * Logits of the batch's real utterances. The model's own objectives come back in `losses`, in
   * this order: AFW's attention-mapping loss, the cross entropy of auxiliary logits (the paper's
   * L_modal), and that of the MLP head's probes on detached features (which cannot reach the
   * encoders).
   */
  forward(batch: Batch): ModelOutputs {
    const layout = batch.layout as ConversationLayout | undefined;
    if (layout?.kind !== 'conversation')
      throw new Error('a conversation model needs conversation batches (dialogues padded with their masks); this batch has another layout');
    let padded: Record<string, Tensor> = {};
    const [B, T] = layout.mask.shape as [number, number];
    const packing = { realIndex: layout.realIndex, padMap: layout.padMap, B, T, keyPaddingMask: layout.paddingMask };
    for (const m of this.modalities) {
      const x = batch.inputs[m];
      if (x === undefined) throw new Error(`the batch has no '${m}' features (it has ${Object.keys(batch.inputs).join(', ')})`);
      padded[m] = this.encoders.get(m).forward(x, layout.paddingMask, this.packed ? packing : undefined);
    }
    const losses: Record<string, Tensor> = {};
    if (this.afw) {
      const out = this.afw.forward(padded, layout.mask);
      padded = out.features;
      losses.afw = out.loss;
    }
    const features: Record<string, Tensor> = {};
    for (const m of this.modalities) features[m] = padded[m]!.reshape(-1, padded[m]!.shape[2]!).indexSelect(0, layout.realIndex);
    const out = this.head.forward(features);
    return { fused: out.fused, unimodal: out.unimodal, features, losses: { ...losses, ...headLosses(this.head, out, batch.labels) } };
  }
}

function afwOrder(order: unknown, modalities: string[]): string[] {
  if (!Array.isArray(order) || !order.every((m) => typeof m === 'string') || new Set(order).size !== order.length)
    throw invalid('afwOrder', 'a list of distinct modality names (e.g. ["audio", "text", "visual"])', order);
  const first = (order as string[]).filter((m) => modalities.includes(m));
  return [...first, ...modalities.filter((m) => !first.includes(m))];
}
