import { checkInt, checkNumber, invalid } from '../../engine/errors.js';
import type { Tensor } from '../../engine/tensor.js';
import { MultiheadAttention } from '../../nn/attention.js';
import { Dropout, LayerNorm, Linear, ModuleList } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';

export interface CrossModalOptions {
  /** Cross-modal layers (the paper: 3). */
  layers: number;
  /** Heads of each layer's attention (the paper: 8); must divide the feature width. */
  nhead: number;
  dimFeedforward: number;
  dropout: number;
}

/**
 * One Transformer-style cross-modal layer: attention with queries from one stream and keys and
 * values from another, then the feed-forward block, each with residual, dropout and layer norm
 * (post-norm and ReLU, as torch.nn.TransformerEncoderLayer; only the attention's source differs).
 * Parameters: cross_attn.*, linear1.*, linear2.*, norm1.*, norm2.*.
 */
export class CrossModalLayer extends Module {
  readonly crossAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout: Dropout;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;

  constructor(dModel: number, nhead: number, dimFeedforward: number, dropout: number) {
    super();
    this.crossAttn = this.registerModule('cross_attn', new MultiheadAttention(dModel, nhead, dropout, true, true));
    this.linear1 = this.registerModule('linear1', new Linear(dModel, dimFeedforward));
    this.dropout = this.registerModule('dropout', new Dropout(dropout));
    this.linear2 = this.registerModule('linear2', new Linear(dimFeedforward, dModel));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel));
    this.dropout1 = this.registerModule('dropout1', new Dropout(dropout));
    this.dropout2 = this.registerModule('dropout2', new Dropout(dropout));
  }

  /** x: (B, L, d) queries; memory: (B, S, d) keys and values; memoryMask: (B, S) true at padding, or null. */
  forward(x: Tensor, memory: Tensor, memoryMask: Tensor | null): Tensor {
    const { output } = this.crossAttn.forward(x, memory, memory, { keyPaddingMask: memoryMask, needWeights: false });
    const y = this.norm1.forward(x.add(this.dropout1.forward(output)));
    const h = this.dropout.forward(this.linear1.forward(y).relu());
    return this.norm2.forward(y.add(this.dropout2.forward(this.linear2.forward(h))));
  }
}

/**
 * BalanceMLA's AttentionBRFF (bilateral residual feature fusion) for one basic modality b:
 *
 * 1. Residual features by bilinear attention (the paper's eqs. 1-2): for each step j of b,
 *    res_j = sum_i beta_ij f_i^x with beta_ij = softmax over i of (f_i^x)^T W f_j^b. W is
 *    `bilinear.weight` (no bias, no scaling: the paper has none). Padded steps of the auxiliary
 *    sequence are masked out of the softmax, so T_b and T_x may differ and vary per sample.
 * 2. A stack of cross-modal layers (`layers.N.*`) with queries from f^b and keys and values from
 *    res (which is aligned with b's steps, so b's padding mask masks it).
 * 3. The residual of the name: f^{fuse-b} = f^b + block(f^b, res), the shape of f^b.
 *
 * The auxiliary sequence is whatever the caller gives: the model passes the other modalities
 * concatenated along time, which is the paper's bilateral pair for two modalities.
 */
export class AttentionBRFF extends Module {
  readonly bilinear: Linear;
  readonly layers: ModuleList<CrossModalLayer>;

  constructor(
    readonly dModel: number,
    o: CrossModalOptions,
  ) {
    super();
    checkInt('dModel', dModel, 1);
    const nhead = checkInt('nhead', o.nhead, 1);
    if (dModel % nhead !== 0) throw invalid('nhead', `a divisor of the feature width ${dModel}`, nhead);
    const ff = checkInt('dimFeedforward', o.dimFeedforward, 1);
    const p = checkNumber('dropout', o.dropout, 0, 1);
    this.bilinear = this.registerModule('bilinear', new Linear(dModel, dModel, false));
    this.layers = this.registerModule(
      'layers',
      new ModuleList(Array.from({ length: checkInt('layers', o.layers, 1) }, () => new CrossModalLayer(dModel, nhead, ff, p))),
    );
  }

  /** beta: (B, T_b, T_x), each row a softmax over the auxiliary's real steps. */
  attention(basic: Tensor, aux: Tensor, auxMask: Tensor | null): Tensor {
    // (f_i^x)^T W f_j^b = f_i^x . (W f_j^b), and Linear computes W f_j^b.
    let scores = this.bilinear.forward(basic).matmul(aux.transpose(1, 2));
    if (auxMask !== null) scores = scores.maskedFill(auxMask.unsqueeze(1), -Infinity);
    return scores.softmax(-1);
  }

  /** res: (B, T_b, d), the auxiliary's features attended from each step of the basic modality. */
  residual(basic: Tensor, aux: Tensor, auxMask: Tensor | null): Tensor {
    return this.attention(basic, aux, auxMask).matmul(aux);
  }

  /** basic: (B, T_b, d) with its (B, T_b) padding mask or null; aux: (B, T_x, d) likewise. Returns f^{fuse-b}, (B, T_b, d). */
  forward(basic: Tensor, basicMask: Tensor | null, aux: Tensor, auxMask: Tensor | null): Tensor {
    if (basic.ndim !== 3 || basic.shape[2] !== this.dModel)
      throw invalid('basic features', `a tensor of shape [B, T, ${this.dModel}]`, `a tensor of shape [${basic.shape.join(', ')}]`);
    if (aux.ndim !== 3 || aux.shape[2] !== this.dModel || aux.shape[0] !== basic.shape[0])
      throw invalid(
        'auxiliary features',
        `a tensor of shape [${basic.shape[0]}, T, ${this.dModel}]`,
        `a tensor of shape [${aux.shape.join(', ')}]`,
      );
    const res = this.residual(basic, aux, auxMask);
    let x = basic;
    for (const layer of this.layers.items) x = layer.forward(x, res, basicMask);
    return basic.add(x);
  }
}
