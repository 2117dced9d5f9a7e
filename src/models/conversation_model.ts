import { checkOneOf, invalid } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import type { ConversationBatch } from '../data/batch.js';
import { ModuleDict } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { type ConversationEncoder, type EncoderKind, ENCODER_KINDS, makeEncoder } from './encoders.js';
import { AFW } from './afw.js';
import type { AMWMode } from './amw.js';
import { type FusionHead, type HeadKind, HEAD_KINDS, makeHead } from './fusion.js';

export interface ModelOutputs {
  /** (N, C) fused logits of the real utterances. */
  fused: Tensor;
  /** modality -> (N, C) unimodal logits. */
  unimodal: Record<string, Tensor>;
  /** modality -> (N, h_m) encoder features of the real utterances. */
  features: Record<string, Tensor>;
  /** Loss terms the model itself contributes (an auxiliary objective), added by the loop by name. */
  losses?: Record<string, Tensor>;
  /** (N, C) auxiliary logits the loop trains with cross entropy against the labels, by name. */
  auxLogits?: Record<string, Tensor>;
}

/** What every multimodal model tells the training loop and the balancing methods. */
export interface MultimodalModel extends Module {
  readonly modalities: string[];
  readonly numClasses: number;
  /** The parameters of each modality's encoder: what modality-wise gradient methods act on. */
  modalityParameters(): Record<string, Tensor[]>;
  readonly head: FusionHead;
  forward(batch: ConversationBatch): ModelOutputs;
}

export interface ConversationModelConfig {
  encoder: EncoderKind;
  hidden: number;
  layers: number;
  nhead?: number;
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
}

export const DEFAULT_MODEL_CONFIG: ConversationModelConfig = {
  encoder: 'transformer',
  hidden: 300,
  layers: 2,
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
};

/**
 * Per-modality encoders (`encoders.<modality>.*`) and a fusion head (`head.*`) over batches of
 * conversations. Losses and metrics see only the real utterances.
 */
export class ConversationModel extends Module implements MultimodalModel {
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
    checkOneOf('encoder', c.encoder, ENCODER_KINDS);
    checkOneOf('head', c.head, HEAD_KINDS);
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

  modalityParameters(): Record<string, Tensor[]> {
    return Object.fromEntries(this.modalities.map((m) => [m, this.encoders.get(m).parameters()]));
  }

  forward(batch: ConversationBatch): ModelOutputs {
    let padded: Record<string, Tensor> = {};
    const [B, T] = batch.mask.shape as [number, number];
    const packing = { realIndex: batch.realIndex, padMap: batch.padMap, B, T, keyPaddingMask: batch.paddingMask };
    for (const m of this.modalities) {
      const x = batch.features[m];
      if (x === undefined) throw new Error(`the batch has no '${m}' features (it has ${Object.keys(batch.features).join(', ')})`);
      padded[m] = this.encoders.get(m).forward(x, batch.paddingMask, this.packed ? packing : undefined);
    }
    const losses: Record<string, Tensor> = {};
    if (this.afw) {
      const out = this.afw.forward(padded, batch.mask);
      padded = out.features;
      losses.afw = out.loss;
    }
    const features: Record<string, Tensor> = {};
    for (const m of this.modalities) features[m] = padded[m]!.reshape(-1, padded[m]!.shape[2]!).indexSelect(0, batch.realIndex);
    const { fused, unimodal, auxLogits } = this.head.forward(features);
    return { fused, unimodal, features, losses, auxLogits };
  }
}

function afwOrder(order: unknown, modalities: string[]): string[] {
  if (!Array.isArray(order) || !order.every((m) => typeof m === 'string') || new Set(order).size !== order.length)
    throw invalid('afwOrder', 'a list of distinct modality names (e.g. ["audio", "text", "visual"])', order);
  const first = (order as string[]).filter((m) => modalities.includes(m));
  return [...first, ...modalities.filter((m) => !first.includes(m))];
}
