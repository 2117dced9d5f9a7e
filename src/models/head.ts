import type { Tensor } from '../engine/tensor.js';
import { Module } from '../nn/module.js';

export interface HeadOutputs {
  /** (N, C) fused logits. */
  fused: Tensor;
  /** modality -> (N, C) unimodal logits. */
  unimodal: Record<string, Tensor>;
}

/** Fuses per-modality features of the real utterances, (N, h_m) each, into class logits. */
export abstract class FusionHead extends Module {
  /**
   * True when the unimodal logits come from probes on detached features: the loop then trains
   * them with their own cross entropy, which cannot reach the encoders.
   */
  readonly unimodalProbes: boolean = false;
  abstract override forward(h: Record<string, Tensor>): HeadOutputs;
}
