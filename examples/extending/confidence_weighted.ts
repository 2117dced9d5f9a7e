/**
 * A method: after one warm-up epoch, each training sample's cross entropy is weighted by how
 * unsure the weakest modality is about it, looked up by sample id from a pass over the training
 * split at the start of each epoch. One file against the BalancingStrategy contract.
 */
import {
  BalancingStrategy,
  type EpochContext,
  F,
  type Phase,
  type StepContext,
  type Tensor,
  fromTypedArray,
  noGrad,
  registerStrategy,
} from '../../src/index.js';

export class ConfidenceWeighted extends BalancingStrategy {
  readonly name = 'confidence-weighted';
  private weights: Float32Array | null = null;

  override phases(config: { epochs: number }): Phase[] {
    return [
      { name: 'warmup', epochs: 1 },
      { name: 'weighted', epochs: Math.max(1, config.epochs - 1), resetOptimizer: true },
    ];
  }

  override onEpochStart(ctx: EpochContext): void {
    if (ctx.phase.name !== 'weighted') return;
    const p = ctx.predict('train');
    try {
      const w = noGrad(() => {
        // Probability of the true class under each modality's unimodal logits; the lowest one per sample.
        const probs = Object.values(p.unimodal).map((u) => u.softmax(1).gather(1, p.labels.unsqueeze(1)).squeeze(1));
        const lowest = probs.reduce((a, b) => a.minimum(b));
        return lowest.neg().add(2).toArray(); // weights in [1, 2]: harder samples count more
      });
      this.weights = new Float32Array(p.index.shape[0]!);
      p.index.toArray().forEach((id, k) => (this.weights![id] = w[k]!));
    } finally {
      p.dispose();
    }
  }

  override loss(ctx: StepContext): Record<string, Tensor> {
    if (ctx.phase.name !== 'weighted' || this.weights === null) return super.loss(ctx);
    const w = fromTypedArray(Float32Array.from(ctx.batch.index.toArray(), (id) => this.weights![id]!));
    return { weighted: F.crossEntropy(ctx.outputs.fused, ctx.labels, { reduction: 'none' }).mul(w).mean() };
  }
}

registerStrategy('confidence-weighted', () => new ConfidenceWeighted());
