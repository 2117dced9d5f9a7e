import { checkInt, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { cat } from '../engine/ops.js';
import type { Tensor } from '../engine/tensor.js';
import { Dropout, Linear, ModuleDict, ReLU, Sequential } from '../nn/layers.js';
import { type ParamRef, wholeRefs } from '../nn/param_ref.js';
import { AMWHead, type AMWMode } from './amw.js';
import { FusionHead, type HeadOutputs, SlicedLinearHead } from './head.js';
import { Registry } from './registry.js';

export { FusionHead, type HeadOutputs, SlicedLinearHead };

/** Late fusion: logits = W [h_1; ...; h_M] + b; unimodal logits slice the same head. */
export class ConcatHead extends SlicedLinearHead {
  forward(h: Record<string, Tensor>): HeadOutputs {
    const fused = this.fc.forward(
      cat(
        this.modalities.map((m) => h[m]!),
        1,
      ),
    );
    return { fused, unimodal: this.slicedUnimodal(h) };
  }
}

/**
 * The concat head (`fc`) plus a linear classifier per modality (`classifiers.<m>`: d_m -> C), as
 * Multi-Loss and MLB need (methods.md, "Multi-Loss and MLB"). The classifiers' logits are the
 * unimodal outputs and are not detached: their cross entropy is meant to train the encoders,
 * unlike the MLP head's probes. The head adds no loss of its own; a method asks for the unimodal
 * terms ('multi-loss', 'mlb'), so under plain joint training the classifiers stay untrained.
 */
export class MultiHead extends SlicedLinearHead {
  /** The unimodal logits come from classifiers of their own, not from slices of `fc`. */
  override readonly ownUnimodalClassifiers = true;
  readonly classifiers: ModuleDict<Linear>;

  constructor(modalities: string[], dims: Record<string, number>, numClasses: number) {
    super(modalities, dims, numClasses);
    this.classifiers = this.registerModule(
      'classifiers',
      new ModuleDict(Object.fromEntries(modalities.map((m) => [m, new Linear(this.widthOf(m), numClasses)]))),
    );
  }

  forward(h: Record<string, Tensor>): HeadOutputs {
    const fused = this.fc.forward(
      cat(
        this.modalities.map((m) => h[m]!),
        1,
      ),
    );
    const unimodal: Record<string, Tensor> = {};
    for (const m of this.modalities) unimodal[m] = this.classifiers.get(m).forward(h[m]!);
    return { fused, unimodal };
  }

  /** Modality m's own classifier (weight and bias, whole), then its block of columns of `fc.weight`. */
  override branchParameters(m: string): ParamRef[] {
    // The slice first: it rejects an unknown modality with the head's own message.
    const slice = super.branchParameters(m);
    return [...wholeRefs(this.classifiers.get(m).parameters()), ...slice];
  }
}

/** Sum fusion: logits = W (sum_m h_m) + b, every h_m of one width; u_m = W h_m + b / |M|. */
export class SumHead extends FusionHead {
  readonly fc: Linear;
  constructor(
    readonly modalities: string[],
    dims: Record<string, number>,
    numClasses: number,
  ) {
    super();
    const widths = new Set(modalities.map((m) => dims[m]));
    if (widths.size !== 1) throw invalid('dims', 'one width for every modality (sum fusion adds them)', dims);
    this.fc = this.registerModule('fc', new Linear(dims[modalities[0]!]!, checkInt('numClasses', numClasses, 2)));
  }
  forward(h: Record<string, Tensor>): HeadOutputs {
    const summed = this.modalities.map((m) => h[m]!).reduce((a, b) => a.add(b));
    const fused = this.fc.forward(summed);
    const bias = this.fc.bias!.div(this.modalities.length);
    const unimodal: Record<string, Tensor> = {};
    for (const m of this.modalities) unimodal[m] = F.linear(h[m]!, this.fc.weight, bias);
    return { fused, unimodal };
  }
}

/**
 * A 2-layer MLP on the concatenated features. An MLP cannot be sliced per modality, so unimodal
 * logits come from per-modality linear probes on detached features (`unimodal.<m>`).
 */
export class MLPHead extends FusionHead {
  override readonly unimodalProbes = true;
  readonly mlp: Sequential;
  readonly probes: ModuleDict<Linear>;
  constructor(
    readonly modalities: string[],
    dims: Record<string, number>,
    numClasses: number,
    hidden = 256,
    dropout = 0.1,
  ) {
    super();
    const total = modalities.reduce((a, m) => a + checkInt(`dims.${m}`, dims[m], 1), 0);
    this.mlp = this.registerModule(
      'mlp',
      new Sequential(new Linear(total, hidden), new ReLU(), new Dropout(dropout), new Linear(hidden, numClasses)),
    );
    this.probes = this.registerModule(
      'unimodal',
      new ModuleDict(Object.fromEntries(modalities.map((m) => [m, new Linear(dims[m]!, numClasses)]))),
    );
  }
  forward(h: Record<string, Tensor>): HeadOutputs {
    const fused = this.mlp.forward(
      cat(
        this.modalities.map((m) => h[m]!),
        1,
      ),
    );
    const unimodal: Record<string, Tensor> = {};
    for (const m of this.modalities) unimodal[m] = this.probes.get(m).forward(h[m]!.detach());
    return { fused, unimodal };
  }
}

/** Options every head factory receives (each uses what it needs). */
export interface HeadOptions {
  hidden?: number;
  dropout?: number;
  amwMode?: AMWMode;
  amwScale?: number;
  amwMlpHidden?: number;
}

export type HeadFactory = (modalities: string[], dims: Record<string, number>, numClasses: number, o: HeadOptions) => FusionHead;

/** Fusion heads by name (config's `model.head`); register more with `heads.register`. */
export const heads = new Registry<HeadFactory>('fusion head');
heads.register('concat', (m, d, c) => new ConcatHead(m, d, c));
heads.register('sum', (m, d, c) => new SumHead(m, d, c));
heads.register('mlp', (m, d, c, o) => new MLPHead(m, d, c, o.hidden, o.dropout));
heads.register('multi', (m, d, c) => new MultiHead(m, d, c));
heads.register(
  'amw',
  (m, d, c, o) =>
    new AMWHead(
      m,
      d,
      c,
      o.amwMode === 'mmcosine'
        ? { mode: 'mmcosine', scale: o.amwScale, mlpHidden: o.amwMlpHidden }
        : { mode: o.amwMode, mlpHidden: o.amwMlpHidden },
    ),
);

export type HeadKind = string;

export function makeHead(
  kind: HeadKind,
  modalities: string[],
  dims: Record<string, number>,
  numClasses: number,
  o: HeadOptions = {},
): FusionHead {
  return heads.get(kind)(modalities, dims, numClasses, o);
}
