import type { Batch } from '../data/dataset.js';
import type { ClipLayout } from '../data/clip/dataset.js';
import { ArgumentError, invalid } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import { ModuleDict } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import type { ParamRef } from '../nn/param_ref.js';
import { clipEncoders } from './clip_encoders.js';
import type { ConversationModelConfig } from './conversation_model.js';
import { type FusionHead, makeHead } from './fusion.js';
import type { ModelOutputs, MultimodalModel } from './model.js';
import { encoderParameters, headLosses } from './head.js';
import { SequenceEncoder } from './sequence_encoder.js';

/** One modality's encoder of a clip model: (B, ...shape) -> (B, outDim). */
interface BranchEncoder extends Module {
  readonly outDim: number;
}

/** The encoder a sample shape gets unless the configuration names one: CNN for [C, H, W], Transformer for [T, d], MLP for [d]. */
export function defaultClipEncoder(shape: readonly number[]): string {
  return shape.length === 3 ? 'lenet' : shape.length === 2 ? 'transformer' : 'mlp';
}

/**
 * Late fusion of per-modality clip encoders (`encoders.<modality>.*`) through a fusion head
 * (`head.*`): concat (sliced, so OGM-GE and the Ada2I modulation act unchanged), sum, MLP, or
 * AMW / MMCosine. Each modality's encoder is chosen from its sample shape unless
 * `model.encoders` names one ('lenet', 'resnet18', 'mlp', 'transformer').
 */
export class ClipModel extends Module implements MultimodalModel {
  readonly kind = 'clip';
  readonly encoders: ModuleDict<BranchEncoder>;
  readonly head: FusionHead;
  readonly encoderKinds: Record<string, string>;

  constructor(
    readonly modalities: string[],
    readonly shapes: Readonly<Record<string, readonly number[]>>,
    readonly numClasses: number,
    c: ConversationModelConfig,
  ) {
    super();
    if (modalities.length === 0) throw invalid('modalities', 'at least one modality', modalities);
    const enc: Record<string, BranchEncoder> = {};
    this.encoderKinds = {};
    for (const m of modalities) {
      const shape = shapes[m];
      if (shape === undefined) throw invalid(`shapes.${m}`, "the modality's sample shape", shape);
      const kind = c.encoders[m] ?? defaultClipEncoder(shape);
      this.encoderKinds[m] = kind;
      if (kind === 'transformer') {
        if (shape.length !== 2)
          throw new ArgumentError(
            `the transformer encoder takes sequences [T, d]; modality '${m}' has samples of shape [${shape.join(', ')}]`,
          );
        enc[m] = new SequenceEncoder(shape[1]!, c.hidden, {
          layers: c.layers,
          nhead: c.nhead ?? null,
          dimFeedforward: c.dimFeedforward,
          dropout: c.dropout,
        });
      } else enc[m] = clipEncoders.get(kind)(shape, { hidden: c.hidden, dropout: c.dropout });
    }
    this.encoders = this.registerModule('encoders', new ModuleDict(enc));
    const outDims = Object.fromEntries(modalities.map((m) => [m, enc[m]!.outDim]));
    this.head = this.registerModule(
      'head',
      makeHead(c.head, modalities, outDims, numClasses, {
        hidden: c.headHidden,
        dropout: c.dropout,
        amwMode: c.amwMode,
        amwScale: c.amwScale,
        amwMlpHidden: c.amwMlpHidden,
      }),
    );
  }

  forward(batch: Batch): ModelOutputs {
    const layout = batch.layout as ClipLayout | undefined;
    const features: Record<string, Tensor> = {};
    for (const m of this.modalities) {
      const x = batch.inputs[m];
      if (x === undefined) throw new Error(`the batch has no '${m}' inputs (it has ${Object.keys(batch.inputs).join(', ')})`);
      const e = this.encoders.get(m);
      features[m] =
        e instanceof SequenceEncoder
          ? e.forward(x, layout?.paddingMask[m] ?? null)
          : (e as unknown as { forward(x: Tensor): Tensor }).forward(x);
    }
    const out = this.head.forward(features);
    return { fused: out.fused, unimodal: out.unimodal, features, losses: headLosses(this.head, out, batch.labels) };
  }

  modalityParameters(role?: 'encoder'): Record<string, Tensor[]>;
  modalityParameters(role: 'branch'): Record<string, ParamRef[]>;
  modalityParameters(role: 'encoder' | 'branch' = 'encoder'): Record<string, Tensor[]> | Record<string, ParamRef[]> {
    return encoderParameters(this.modalities, (m) => this.encoders.get(m), this.head, role);
  }

  classWeightNorms(): Record<string, number[]> | null {
    return this.head.classWeightNorms();
  }
}
