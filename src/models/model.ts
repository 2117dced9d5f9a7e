import type { Batch } from '../data/dataset.js';
import type { Tensor } from '../engine/tensor.js';
import type { Module } from '../nn/module.js';
import type { ParamRef } from '../nn/param_ref.js';

export interface ModelOutputs {
  /** (N, C) fused logits, one row per scored sample (aligned with the batch's labels and index). */
  fused: Tensor;
  /** modality -> (N, C) unimodal logits (what unimodal scores, ratios and accuracies are computed from). */
  unimodal: Record<string, Tensor>;
  /** modality -> (N, h_m) per-sample features from that modality's branch, when the model has them. */
  features?: Record<string, Tensor>;
  /** Loss terms the model itself contributes (an auxiliary objective), added to the fused one by name. */
  losses?: Record<string, Tensor>;
}

/**
 * Which parameters belong to a modality:
 * - 'encoder': that modality's encoder (what OGM-GE and Ada2I modulate);
 * - 'branch': the encoder, the modality's own classifier, and its slice of a linear fusion weight
 *   (what MLB scales).
 */
export type ParameterRole = 'encoder' | 'branch';

/** What every multimodal model tells the training loop and the balancing methods. */
export interface MultimodalModel extends Module {
  readonly modalities: readonly string[];
  readonly numClasses: number;
  forward(batch: Batch): ModelOutputs;
  modalityParameters(role?: 'encoder'): Record<string, Tensor[]>;
  modalityParameters(role: 'branch'): Record<string, ParamRef[]>;
  /** Per modality, the L2 norm of each class's weights in the head (Ada2I's figure 5), or null. */
  classWeightNorms(): Record<string, number[]> | null;
}

/** What a model recipe may know of the data before training: no samples, only their form. */
export interface DataInfo {
  kind: string;
  modalities: readonly string[];
  shapes: Readonly<Record<string, readonly number[]>>;
  classNames: readonly string[];
}
