import type { Tensor } from '../engine/tensor.js';
import { Module } from '../nn/module.js';

export interface HeadOutputs {
  /** (N, C) fused logits. */
  fused: Tensor;
  /** modality -> (N, C) unimodal logits. */
  unimodal: Record<string, Tensor>;
  /** Further (N, C) logits the loop trains with their own cross entropy, by name (Ada2I's L_modal). */
  auxLogits?: Record<string, Tensor>;
}

/** Fuses per-modality features of the real utterances, (N, h_m) each, into class logits. */
export abstract class FusionHead extends Module {
  /**
   * True when the unimodal logits come from probes on detached features: the loop then trains
   * them with their own cross entropy, which cannot reach the encoders.
   */
  readonly unimodalProbes: boolean = false;
  abstract override forward(h: Record<string, Tensor>): HeadOutputs;

  /**
   * Per modality, the L2 norm of each class's weights in the head (Ada2I's figure 5), or null for
   * heads without per-modality class weights.
   */
  classWeightNorms(): Record<string, number[]> | null {
    return null;
  }
}
