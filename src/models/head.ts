import { checkInt, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { noGrad } from '../engine/grad_mode.js';
import type { Tensor } from '../engine/tensor.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { type ParamRef, wholeRefs } from '../nn/param_ref.js';

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
  /** True when each modality has its own classifier, trained by its own loss (Multi-Loss, MLB); false when the unimodal logits are slices or probes. */
  readonly ownUnimodalClassifiers: boolean = false;
  abstract override forward(h: Record<string, Tensor>): HeadOutputs;

  /**
   * Per modality, the L2 norm of each class's weights in the head (Ada2I's figure 5), or null for
   * heads without per-modality class weights.
   */
  classWeightNorms(): Record<string, number[]> | null {
    return null;
  }

  /** What of the head belongs to modality m alone: its own classifier, its slice of a shared weight. */
  branchParameters(_m: string): ParamRef[] {
    return [];
  }
}

/**
 * A head whose weight W (C x sum d_m, registered as `fc`) multiplies the concatenated features,
 * so each modality owns a block of columns W_m. Unimodal logits slice it: u_m = W_m h_m + b / |M|
 * (the bias shared out evenly, as OGM-GE's and Ada2I's code do).
 */
export abstract class SlicedLinearHead extends FusionHead {
  readonly fc: Linear;
  private readonly offsets: Record<string, [number, number]> = {};

  constructor(
    readonly modalities: string[],
    dims: Record<string, number>,
    numClasses: number,
  ) {
    super();
    if (!Array.isArray(modalities) || modalities.length === 0 || !modalities.every((m) => typeof m === 'string' && m.length > 0))
      throw invalid('modalities', 'a non-empty array of modality names', modalities);
    if (new Set(modalities).size !== modalities.length) throw invalid('modalities', 'distinct modality names', modalities);
    let off = 0;
    for (const m of modalities) {
      const d = checkInt(`dims.${m}`, dims[m], 1);
      this.offsets[m] = [off, d];
      off += d;
    }
    this.fc = this.registerModule('fc', new Linear(off, checkInt('numClasses', numClasses, 2)));
  }

  /** The feature width d_m of modality m. */
  protected widthOf(m: string): number {
    return this.offsets[m]![1];
  }

  /** The columns of the head's weight that multiply modality m: W_m, (C, d_m). */
  weightSlice(m: string): Tensor {
    const o = this.offsets[m];
    if (o === undefined) throw invalid('modality', `one of ${this.modalities.map((x) => `'${x}'`).join(', ')}`, m);
    return this.fc.weight.narrow(1, o[0], o[1]);
  }

  /** W_m as a reference into the shared weight (its gradient is a view of fc.weight's). */
  override branchParameters(m: string): ParamRef[] {
    const o = this.offsets[m];
    if (o === undefined) throw invalid('modality', `one of ${this.modalities.map((x) => `'${x}'`).join(', ')}`, m);
    return [{ param: this.fc.weight, slice: { dim: 1, start: o[0], length: o[1] } }];
  }

  /** u_m = W_m h_m + b / |M| for every modality. */
  protected slicedUnimodal(h: Record<string, Tensor>): Record<string, Tensor> {
    const bias = this.fc.bias!.div(this.modalities.length);
    const out: Record<string, Tensor> = {};
    for (const m of this.modalities) out[m] = F.linear(h[m]!, this.weightSlice(m), bias);
    return out;
  }

  /** Per modality, the L2 norm of each class row of W_m: the modality-wise weight norm per label. */
  override classWeightNorms(): Record<string, number[]> {
    return noGrad(() => Object.fromEntries(this.modalities.map((m) => [m, this.weightSlice(m).norm(2, 1).toArray()])));
  }
}

/**
 * The losses a head asks the loop for, by name, in this order: the cross entropy of its auxiliary
 * logits (Ada2I's L_modal), then that of probes on detached features (which cannot reach the encoders).
 */
export function headLosses(head: FusionHead, out: HeadOutputs, labels: Tensor): Record<string, Tensor> {
  const losses: Record<string, Tensor> = {};
  for (const [k, logits] of Object.entries(out.auxLogits ?? {})) losses[k] = F.crossEntropy(logits, labels);
  if (head.unimodalProbes)
    losses.probes = Object.values(out.unimodal)
      .map((u) => F.crossEntropy(u, labels))
      .reduce((a, t) => a.add(t));
  return losses;
}

/** modalityParameters() of a model with one encoder per modality and a fusion head. */
export function encoderParameters(
  modalities: readonly string[],
  encoder: (m: string) => { parameters(): Tensor[] },
  head: FusionHead,
  role: 'encoder' | 'branch',
): Record<string, Tensor[]> | Record<string, ParamRef[]> {
  if (role === 'branch')
    return Object.fromEntries(modalities.map((m) => [m, [...wholeRefs(encoder(m).parameters()), ...head.branchParameters(m)]]));
  if (role !== 'encoder') throw invalid('role', "'encoder' or 'branch'", role);
  return Object.fromEntries(modalities.map((m) => [m, encoder(m).parameters()]));
}
