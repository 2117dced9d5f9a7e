import { checkInt, checkNumber, checkOneOf, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import type { Tensor } from '../engine/tensor.js';
import { Linear, ReLU, Sequential } from '../nn/layers.js';
import { type HeadOutputs, SlicedLinearHead } from './head.js';

/**
 * How the fused logits normalise the head's weight.
 * - 'ada2i': Ada2I's code form (the default; its reported numbers come from it).
 * - 'mmcosine': MMCosine's true-cosine form with a scale.
 */
export type AMWMode = 'ada2i' | 'mmcosine';
export const AMW_MODES: readonly AMWMode[] = ['ada2i', 'mmcosine'];

export interface AMWOptions {
  /** Default 'ada2i'. */
  mode?: AMWMode;
  /** Scale s of the 'mmcosine' form (default 10; MMCosine uses 10 to 15). Not accepted with 'ada2i', which has none. */
  scale?: number;
  /**
   * The paper's eq. 9: predict with an MLP (Linear C -> hidden, ReLU, Linear hidden -> C) on the
   * AMW output, which is then trained by its own cross entropy (L_modal) as an auxiliary logit.
   * Hidden width of that MLP; 0 (default) means no MLP, the authors' code.
   */
  mlpHidden?: number;
}

/**
 * Adaptive Modality Weighting (Ada2I, eq. 8) and MMCosine: a fusion head whose fused logits sum
 * per-modality terms built from L2-normalised features and a normalised weight, so that no
 * modality dominates through the norm of its features or of its weight block.
 *
 * The parameters are those of a concat head, a Linear(sum_m d_m -> C) registered as 'fc':
 * `fc.weight` W (C x sum_m d_m) and `fc.bias` b (C). W_m is the block of W's columns that
 * multiplies h_m (modalities in the order given). Writing n(x, dim) for x / max(||x||_2, 1e-12)
 * along dim, as F.normalize:
 *
 * - mode 'ada2i' (default), as Ada2I's code computes it (methods.md, "MMCosine and Ada2I's AMW",
 *   the [code] note):
 *     fused = sum_m n(h_m, 1) n(W_m^T, 1) + b
 *   where W_m^T is (d_m x C) and n(W_m^T, 1) normalises each of its d_m *feature rows* across the
 *   C classes; it is not a cosine between h_m and a class vector, and there is no scale. The code
 *   adds b / |M| to each modality's term, which sums to b. The paper writes
 *   Z = sum_m W_m Z_m / (||W_m|| ||Z_m||) + b; the code form is the default because the paper's
 *   numbers come from it.
 * - mode 'mmcosine' (option), as MMCosine's code computes it:
 *     fused_c = s * sum_m cos(h_m, W_m[c]) = s * sum_m n(h_m, 1) n(W_m, 1)^T
 *   with W_m[c] the class-c row of W_m (each class vector normalised) and s the scale. There is
 *   no bias: MMCosine's code (`out = out_a + out_v`, each `mm(normalize(a), normalize(W_a^T,
 *   dim=0)) * scaling`) uses none, so `fc.bias` reaches only the unimodal logits in this mode.
 *
 * `unimodal` holds, in both modes, the *linear* slices of the concat head,
 *   u_m = W_m h_m + b / |M|   (raw, unnormalised W_m),
 * which is what Ada2I's code scores the modalities with for the disparity-ratio modulation even
 * when AMW gives the fused output (methods.md, "Ada2I" step 5). They add up to the concat head's
 * logits W [h_1; ...; h_M] + b, not to the AMW fused logits. The per-modality normalised terms,
 * which do add up to the fused logits, come from {@link AMWHead.cosine}.
 */
export class AMWHead extends SlicedLinearHead {
  readonly mlp: Sequential | null;
  readonly mode: AMWMode;
  /** The 'mmcosine' scale s; 1 in 'ada2i' mode, which has none. */
  readonly scale: number;

  constructor(modalities: string[], dims: Record<string, number>, numClasses: number, o: AMWOptions = {}) {
    super(modalities, dims, numClasses);
    if (o === null || typeof o !== 'object') throw invalid('options', 'an object', o);
    this.mode = checkOneOf('mode', o.mode ?? 'ada2i', AMW_MODES);
    if (this.mode === 'ada2i') {
      if (o.scale !== undefined) throw invalid('scale', "no scale in mode 'ada2i' (only 'mmcosine' has one)", o.scale);
      this.scale = 1;
    } else {
      const s = checkNumber('scale', o.scale ?? 10, 0);
      if (!(s > 0) || !Number.isFinite(s)) throw invalid('scale', 'a finite number > 0', s);
      this.scale = s;
    }
    const hidden = checkInt('mlpHidden', o.mlpHidden ?? 0, 0);
    this.mlp =
      hidden > 0
        ? this.registerModule('mlp', new Sequential(new Linear(numClasses, hidden), new ReLU(), new Linear(hidden, numClasses)))
        : null;
  }

  private feature(h: Record<string, Tensor>, m: string): Tensor {
    const x = h[m];
    const d = this.widthOf(m);
    if (x === undefined || x.ndim !== 2 || x.shape[1] !== d) throw invalid(`h.${m}`, `a tensor of shape (N, ${d})`, x?.shape ?? x);
    return x;
  }

  /**
   * The normalised per-modality terms whose sum is the fused logits, (N, C) each:
   * 'ada2i': n(h_m, 1) n(W_m^T, 1) + b / |M|;  'mmcosine': s * cos(h_m, W_m[c]) (MMCosine's
   * unimodal logits).
   */
  cosine(h: Record<string, Tensor>): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const bias = this.mode === 'ada2i' ? this.fc.bias!.div(this.modalities.length) : null;
    for (const m of this.modalities) {
      const hn = F.normalize(this.feature(h, m), 2, 1);
      const w = this.weightSlice(m);
      if (this.mode === 'ada2i') {
        // n(W_m^T, dim 1) = n(W_m, dim 0)^T: each feature column of W_m normalised over the classes.
        out[m] = F.linear(hn, F.normalize(w, 2, 0), bias);
      } else {
        // Each class row of W_m normalised: cos(h_m, W_m[c]), then the scale.
        out[m] = F.linear(hn, F.normalize(w, 2, 1)).mul(this.scale);
      }
    }
    return out;
  }

  forward(h: Record<string, Tensor>): HeadOutputs {
    const terms = this.cosine(h);
    const fused = this.modalities.map((m) => terms[m]!).reduce((a, b) => a.add(b));
    const unimodal = this.slicedUnimodal(h);
    if (this.mlp) return { fused: this.mlp.forward(fused), unimodal, auxLogits: { modal: fused } };
    return { fused, unimodal };
  }
}
