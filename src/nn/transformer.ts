import { checkOneOf } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import type { Tensor } from '../engine/tensor.js';
import { MultiheadAttention, type Packing } from './attention.js';
import { Dropout, LayerNorm, Linear, ModuleList } from './layers.js';
import { Module } from './module.js';

export interface TransformerEncoderLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu';
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
}

/**
 * torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with residual,
 * dropout and layer norm (post-norm by default). Same parameter names as PyTorch.
 */
export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout: Dropout;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly activation: 'relu' | 'gelu';
  readonly normFirst: boolean;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    o: TransformerEncoderLayerOptions = {},
  ) {
    super();
    const ff = o.dimFeedforward ?? 2048;
    const p = o.dropout ?? 0.1;
    const eps = o.layerNormEps ?? 1e-5;
    this.activation = checkOneOf('activation', o.activation ?? 'relu', ['relu', 'gelu']);
    this.normFirst = o.normFirst ?? false;
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, p, true, o.batchFirst ?? false));
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff));
    this.dropout = this.registerModule('dropout', new Dropout(p));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, eps));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, eps));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p));
  }

  private sa(x: Tensor, mask: Tensor | null, keyPaddingMask: Tensor | null): Tensor {
    const { output } = this.selfAttn.forward(x, x, x, { attnMask: mask, keyPaddingMask, needWeights: false });
    return this.dropout1.forward(output);
  }

  private ff(x: Tensor): Tensor {
    const h = this.linear1.forward(x);
    const a = this.activation === 'relu' ? h.relu() : F.gelu(h);
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(a)));
  }

  /** The layer over packed real tokens (N, dModel); equal to forward() at the real tokens with their padding mask. */
  forwardPacked(x: Tensor, p: Packing): Tensor {
    const sa = (t: Tensor): Tensor => this.dropout1.forward(this.selfAttn.forwardPacked(t, p));
    if (this.normFirst) {
      const y = x.add(sa(this.norm1.forward(x)));
      return y.add(this.ff(this.norm2.forward(y)));
    }
    const y = this.norm1.forward(x.add(sa(x)));
    return this.norm2.forward(y.add(this.ff(y)));
  }

  forward(src: Tensor, o: { srcMask?: Tensor | null; srcKeyPaddingMask?: Tensor | null } = {}): Tensor {
    const mask = o.srcMask ?? null;
    const kpm = o.srcKeyPaddingMask ?? null;
    if (this.normFirst) {
      const x = src.add(this.sa(this.norm1.forward(src), mask, kpm));
      return x.add(this.ff(this.norm2.forward(x)));
    }
    const x = this.norm1.forward(src.add(this.sa(src, mask, kpm)));
    return this.norm2.forward(x.add(this.ff(x)));
  }
}

/** A stack of encoder layers named layers.0, layers.1... with an optional final norm. */
export class TransformerEncoder extends Module {
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm | null;

  constructor(makeLayer: () => TransformerEncoderLayer, numLayers: number, norm: LayerNorm | null = null) {
    super();
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers }, makeLayer)));
    this.norm = norm ? this.registerModule('norm', norm) : null;
  }

  /** The stack over packed real tokens (N, d); see TransformerEncoderLayer.forwardPacked. */
  forwardPacked(x: Tensor, p: Packing): Tensor {
    let y = x;
    for (const layer of this.layers.items) y = layer.forwardPacked(y, p);
    return this.norm ? this.norm.forward(y) : y;
  }

  forward(src: Tensor, o: { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null } = {}): Tensor {
    let x = src;
    for (const layer of this.layers.items)
      x = layer.forward(x, { srcMask: o.mask ?? null, srcKeyPaddingMask: o.srcKeyPaddingMask ?? null });
    return this.norm ? this.norm.forward(x) : x;
  }
}
