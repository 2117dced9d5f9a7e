import { checkInt, checkNumber, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { cat } from '../engine/ops.js';
import { empty, zeros, Tensor } from '../engine/tensor.js';
import { xavierUniform_, zeros_ } from './init.js';
import { Linear } from './layers.js';
import { Module } from './module.js';

/**
 * How N real tokens sit in a (B, T) padded layout: `realIndex` (N) picks them out of the flattened
 * (B*T) positions, `padMap` (B*T) gives each position its real row or N (a zero row) at padding.
 * Layers given a Packing run their projections on the N real tokens only.
 */
export interface Packing {
  realIndex: Tensor;
  padMap: Tensor;
  B: number;
  T: number;
  /** (B, T) bool, true at padding. */
  keyPaddingMask: Tensor;
}

/** Lays (N, E) packed rows out as (B, T, E), zeros at padding. */
export function unpack(x: Tensor, p: Packing): Tensor {
  const E = x.shape[1]!;
  return cat([x, zeros([1, E], { dtype: x.dtype })], 0)
    .indexSelect(0, p.padMap)
    .reshape(p.B, p.T, E);
}

/** Picks the real rows of a (B, T, E) tensor: (N, E). */
export function pack(x: Tensor, p: Packing): Tensor {
  return x.reshape(p.B * p.T, x.shape[2]!).indexSelect(0, p.realIndex);
}

export interface AttentionOptions {
  /** (B, S) booleans, true where the key is padding and must be ignored (PyTorch's key_padding_mask). */
  keyPaddingMask?: Tensor | null;
  /** (L, S) or (B*H, L, S): boolean true = not allowed, or a float mask added to the scores. */
  attnMask?: Tensor | null;
  needWeights?: boolean;
  averageAttnWeights?: boolean;
}

/**
 * torch.nn.MultiheadAttention with the same parameter names (in_proj_weight, in_proj_bias,
 * out_proj.weight, out_proj.bias), initialisation and masking semantics. Inputs are (B, T, E)
 * with batchFirst, else (T, B, E).
 */
export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly outProj: Linear;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    readonly dropout = 0,
    bias = true,
    readonly batchFirst = false,
  ) {
    super();
    checkInt('embedDim', embedDim, 1);
    checkInt('numHeads', numHeads, 1);
    checkNumber('dropout', dropout, 0, 1);
    if (embedDim % numHeads !== 0) throw invalid('numHeads', `a divisor of embedDim ${embedDim}`, numHeads);
    this.headDim = embedDim / numHeads;
    this.registerParameter('in_proj_weight', xavierUniform_(empty([3 * embedDim, embedDim])));
    this.registerParameter('in_proj_bias', bias ? zeros([3 * embedDim]) : null);
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, bias));
    if (bias) zeros_(this.outProj.bias!);
  }

  get inProjWeight(): Tensor {
    return this.param('in_proj_weight');
  }
  get inProjBias(): Tensor | null {
    return this.optionalParam('in_proj_bias');
  }

  /**
   * Self-attention over packed tokens (N, E) -> (N, E): the projections see only real tokens,
   * attention runs in the padded layout with padding masked. Equal to forward(x, x, x, {keyPaddingMask})
   * at the real tokens.
   */
  forwardPacked(x: Tensor, p: Packing): Tensor {
    const E = this.embedDim;
    const H = this.numHeads;
    const Dh = this.headDim;
    const qkv = unpack(F.linear(x, this.inProjWeight, this.inProjBias), p); // (B, T, 3E)
    const [q, k, v] = qkv.chunk(3, -1).map((t) => t.reshape(p.B, p.T, H, Dh).transpose(1, 2)) as [Tensor, Tensor, Tensor];
    let scores = F.batchMatmul(q.mul(1 / Math.sqrt(Dh)), k.transpose(-2, -1));
    scores = scores.maskedFill(p.keyPaddingMask.reshape(p.B, 1, 1, p.T), -Infinity);
    const attn = F.dropout(scores.softmax(-1), this.dropout, this.training);
    const out = pack(F.batchMatmul(attn, v).transpose(1, 2).reshape(p.B, p.T, E), p);
    return this.outProj.forward(out);
  }

  forward(query: Tensor, key: Tensor, value: Tensor, o: AttentionOptions = {}): { output: Tensor; weights: Tensor | null } {
    const E = this.embedDim;
    const H = this.numHeads;
    const Dh = this.headDim;
    // Work in (B, T, E).
    const q0 = this.batchFirst ? query : query.transpose(0, 1);
    const k0 = this.batchFirst ? key : key.transpose(0, 1);
    const v0 = this.batchFirst ? value : value.transpose(0, 1);
    const [B, L] = q0.shape as [number, number];
    const S = k0.shape[1]!;
    if (q0.shape[2] !== E) throw invalid('query', `last dimension ${E}`, `shape [${query.shape.join(', ')}]`);
    const w = this.inProjWeight;
    const b = this.inProjBias;
    let q: Tensor, k: Tensor, v: Tensor;
    if (query === key && key === value) {
      [q, k, v] = F.linear(q0, w, b).chunk(3, -1) as [Tensor, Tensor, Tensor];
    } else {
      const [wq, wk, wv] = w.chunk(3, 0) as [Tensor, Tensor, Tensor];
      const [bq, bk, bv] = b ? (b.chunk(3, 0) as [Tensor, Tensor, Tensor]) : [null, null, null];
      q = F.linear(q0, wq, bq);
      k = F.linear(k0, wk, bk);
      v = F.linear(v0, wv, bv);
    }
    // (B, T, E) -> (B, H, T, Dh)
    q = q.reshape(B, L, H, Dh).transpose(1, 2);
    k = k.reshape(B, S, H, Dh).transpose(1, 2);
    v = v.reshape(B, S, H, Dh).transpose(1, 2);
    let scores = F.batchMatmul(q.mul(1 / Math.sqrt(Dh)), k.transpose(-2, -1)); // (B, H, L, S)
    if (o.attnMask) {
      const m = o.attnMask.ndim === 3 ? o.attnMask.reshape(B, H, L, S) : o.attnMask;
      scores = m.dtype === 'bool' ? scores.maskedFill(m, -Infinity) : scores.add(m);
    }
    if (o.keyPaddingMask) {
      if (o.keyPaddingMask.shape.join() !== `${B},${S}`)
        throw invalid('keyPaddingMask', `shape [${B}, ${S}]`, `[${o.keyPaddingMask.shape.join(', ')}]`);
      scores = scores.maskedFill(o.keyPaddingMask.reshape(B, 1, 1, S), -Infinity);
    }
    let attn = scores.softmax(-1);
    attn = F.dropout(attn, this.dropout, this.training);
    let out = F.batchMatmul(attn, v).transpose(1, 2).reshape(B, L, E);
    out = this.outProj.forward(out);
    if (!this.batchFirst) out = out.transpose(0, 1);
    let weights: Tensor | null = null;
    if (o.needWeights ?? true) weights = (o.averageAttnWeights ?? true) ? attn.mean(1) : attn;
    return { output: out, weights };
  }
}
