import { checkInt, checkNumber, invalid } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { TransformerEncoder, TransformerEncoderLayer } from '../nn/transformer.js';
import { defaultHeads } from './encoders.js';

export interface SequenceEncoderOptions {
  layers: number;
  /** Attention heads; default: the first divisor of d in 5..14, else 1 (Ada2I's rule). */
  nhead: number | null;
  dimFeedforward: number;
  dropout: number;
}

/**
 * A per-modality encoder for sequences [T, d] of one clip: a Transformer encoder (PyTorch layer
 * semantics: post-norm, ReLU) over the steps with padding masked, the mean over the real steps,
 * then Linear(d -> hidden). Parameters: transformer.layers.N.*, proj.*.
 */
export class SequenceEncoder extends Module {
  readonly transformer: TransformerEncoder;
  readonly proj: Linear;

  constructor(
    readonly dIn: number,
    readonly outDim: number,
    o: Partial<SequenceEncoderOptions> = {},
  ) {
    super();
    checkInt('dIn', dIn, 1);
    checkInt('hidden', outDim, 1);
    const nhead = checkInt('nhead', o.nhead ?? defaultHeads(dIn), 1);
    if (dIn % nhead !== 0) throw invalid('nhead', `a divisor of the sequence width ${dIn}`, nhead);
    const ff = checkInt('dimFeedforward', o.dimFeedforward ?? 2048, 1);
    const dropout = checkNumber('dropout', o.dropout ?? 0.1, 0, 1);
    this.transformer = this.registerModule(
      'transformer',
      new TransformerEncoder(
        () => new TransformerEncoderLayer(dIn, nhead, { dimFeedforward: ff, dropout, batchFirst: true }),
        checkInt('layers', o.layers ?? 2, 1),
      ),
    );
    this.proj = this.registerModule('proj', new Linear(dIn, outDim));
  }

  /** x: (B, T, d); paddingMask: (B, T) true at padding, or null when every step is real. */
  forward(x: Tensor, paddingMask: Tensor | null = null): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dIn)
      throw invalid('sequence input', `a tensor of shape [B, T, ${this.dIn}]`, `a tensor of shape [${x.shape.join(', ')}]`);
    const h = this.transformer.forward(x, { srcKeyPaddingMask: paddingMask });
    let pooled: Tensor;
    if (paddingMask === null) pooled = h.mean(1);
    else {
      const keep = paddingMask.logicalNot().unsqueeze(2).float();
      pooled = h.mul(keep).sum(1).div(keep.sum(1));
    }
    return this.proj.forward(pooled);
  }
}
