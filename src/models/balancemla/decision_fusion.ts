import { checkInt } from '../../engine/errors.js';
import { stack } from '../../engine/ops.js';
import { full, type Tensor } from '../../engine/tensor.js';
import { Linear } from '../../nn/layers.js';

/**
 * How the branches' predictions are weighted:
 * - 'category': alpha (C x M) from the fused features, a softmax over modalities for each class
 *   (the paper's full model: adaptive decision fusion with category-level weighting);
 * - 'modality': alpha (M), one weight per modality shared by every class (without category-level weighting);
 * - 'equal': alpha = 1/M fixed, no parameters (without adaptive decision fusion).
 */
export type DecisionFusionKind = 'category' | 'modality' | 'equal';

export const DECISION_FUSION_KINDS: readonly DecisionFusionKind[] = ['category', 'modality', 'equal'];

/**
 * The layer W, b of alpha = softmax(W [M(f^{fuse-1}); ...; M(f^{fuse-M})] + b): input M*d, output
 * C*M for 'category' (row c*M + m gives alpha[c, m]) or M for 'modality'; none for 'equal'.
 */
export function decisionLayer(kind: DecisionFusionKind, numModalities: number, numClasses: number, featureDim: number): Linear | null {
  checkInt('numModalities', numModalities, 1);
  checkInt('numClasses', numClasses, 2);
  if (kind === 'equal') return null;
  return new Linear(
    numModalities * checkInt('featureDim', featureDim, 1),
    kind === 'category' ? numClasses * numModalities : numModalities,
  );
}

/**
 * log alpha: (N, C, M) for 'category', (N, 1, M) for 'modality' (broadcast over the classes), and
 * (1, 1, M) of log(1/M) for 'equal'. pooled: (N, M*d), the time means of the fused features,
 * concatenated in modality order.
 */
export function decisionLogWeights(
  layer: Linear | null,
  kind: DecisionFusionKind,
  pooled: Tensor,
  numClasses: number,
  numModalities: number,
): Tensor {
  if (layer === null || kind === 'equal')
    return full([1, 1, numModalities], -Math.log(numModalities), { dtype: pooled.dtype, device: pooled.device });
  const z = layer.forward(pooled);
  return kind === 'category' ? z.reshape(z.shape[0]!, numClasses, numModalities).logSoftmax(2) : z.logSoftmax(1).unsqueeze(1);
}

/**
 * log result_fuse with result_fuse[c] = sum_m alpha[c, m] p_m[c], p_m the softmax of branch m's
 * logits: (N, C), computed as a logsumexp so that it stays finite. The paper fuses "prediction
 * vectors" with weights that sum to one per class, so the mixture is of probabilities; its log
 * serves as logits for cross entropy (with category-level weights the mixture need not sum to one
 * over the classes, and cross entropy's log-softmax renormalises it).
 */
export function fuseDecisions(logWeights: Tensor, logits: readonly Tensor[]): Tensor {
  const logp = stack(
    logits.map((l) => l.logSoftmax(1)),
    2,
  );
  return logp.add(logWeights).logsumexp(2);
}
