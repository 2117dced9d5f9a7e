/** Neural-network functions with PyTorch's torch.nn.functional names and semantics. */
import { checkInt, checkNumber, checkOneOf, checkShape, invalid } from './errors.js';
import { native } from './native.js';
import type { NativeName } from './native_names.js';
import { where } from './ops.js';
import { type Reduction, Tensor, reductionCode } from './tensor.js';

export { pad } from './ops.js';

type IntOrPair = number | readonly number[];
function tuple(name: string, v: IntOrPair, n: number): number[] {
  const list = typeof v === 'number' ? Array<number>(n).fill(v) : [...v];
  if (list.length !== n || !list.every(Number.isInteger)) throw invalid(name, `an integer or ${n} integers`, v);
  return list;
}

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return new Tensor(native.linear(x.h, weight.h, bias?.h ?? null));
}
/**
 * a @ b for (..., m, k) and (..., k, n) with the same leading (batch) dimensions, at least one:
 * torch.matmul's result. Batches of small matrices run with the batch split across two threads
 * (native/bmm.cc), faster on CPU than libtorch's one-after-another products. Differentiable once
 * (its backward is not itself differentiable).
 */
export function batchMatmul(a: Tensor, b: Tensor): Tensor {
  const sa = a.shape;
  const sb = b.shape;
  if (sa.length < 3 || sb.length !== sa.length || sa.slice(0, -2).some((d, i) => d !== sb[i]) || sa.at(-1) !== sb.at(-2))
    throw invalid(
      'batchMatmul',
      'tensors (..., m, k) and (..., k, n) with the same batch dimensions',
      `shapes [${sa.join(', ')}] and [${sb.join(', ')}]`,
    );
  const lead = sa.slice(0, -2);
  const n = lead.reduce((x, y) => x * y, 1);
  const [m, k, cols] = [sa.at(-2)!, sa.at(-1)!, sb.at(-1)!];
  // The 3-D operands are often copies (a transposed attention layout); autograd keeps what it
  // needs of them, so their handles go now rather than at the end of the caller's scope, as
  // torch.matmul's internal copies do: held to the end of a training step they raise its peak.
  const a3 = a.reshape(n, m, k);
  const b3 = b.reshape(n, k, cols);
  let out: Tensor;
  try {
    out = new Tensor(native.bmmSplit(a3.h, b3.h));
  } finally {
    a3.dispose();
    b3.dispose();
  }
  if (lead.length === 1) return out;
  const shaped = out.reshape(...lead, m, cols);
  out.dispose();
  return shaped;
}
export function relu(x: Tensor): Tensor {
  return x.relu();
}
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return x.gelu(approximate);
}
export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(
    native.layerNorm(x.h, checkShape('normalizedShape', normalizedShape), weight?.h ?? null, bias?.h ?? null, checkNumber('eps', eps, 0)),
  );
}
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number } = {},
): Tensor {
  if (opts.training) {
    const s = x.shape;
    const perChannel = s.length < 2 ? 0 : s.reduce((a, b) => a * b, 1) / s[1]!;
    if (perChannel <= 1) throw invalid('input of batchNorm in training', 'more than 1 value per channel', `shape [${s.join(', ')}]`);
  }
  return new Tensor(
    native.batchNorm(
      x.h,
      opts.weight?.h ?? null,
      opts.bias?.h ?? null,
      runningMean?.h ?? null,
      runningVar?.h ?? null,
      opts.training ?? false,
      opts.momentum ?? 0.1,
      opts.eps ?? 1e-5,
    ),
  );
}
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(native.groupNorm(x.h, checkInt('numGroups', numGroups, 1), weight?.h ?? null, bias?.h ?? null, eps));
}
/** Zeroes elements with probability p and scales the rest by 1/(1-p) when training. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  checkNumber('p', p, 0, 1);
  if (!training || p === 0) return x;
  return new Tensor(native.dropout(x.h, p, true));
}
function conv(
  nd: 1 | 2,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  stride: IntOrPair,
  padding: IntOrPair,
  dilation: IntOrPair,
  groups: number,
): Tensor {
  const args = [tuple('stride', stride, nd), tuple('padding', padding, nd), tuple('dilation', dilation, nd), checkInt('groups', groups, 1)];
  return new Tensor((nd === 1 ? native.conv1d : native.conv2d)(x.h, weight.h, bias?.h ?? null, ...args));
}
export function conv1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  stride: IntOrPair = 1,
  padding: IntOrPair = 0,
  dilation: IntOrPair = 1,
  groups = 1,
): Tensor {
  return conv(1, x, weight, bias, stride, padding, dilation, groups);
}
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  stride: IntOrPair = 1,
  padding: IntOrPair = 0,
  dilation: IntOrPair = 1,
  groups = 1,
): Tensor {
  return conv(2, x, weight, bias, stride, padding, dilation, groups);
}
function pool(
  op: string,
  n: number,
  x: Tensor,
  kernel: IntOrPair,
  stride: IntOrPair | undefined,
  padding: IntOrPair,
  ceilMode: boolean,
): Tensor {
  const k = tuple('kernelSize', kernel, n);
  return new Tensor(
    native[op as NativeName](x.h, k, stride === undefined ? k : tuple('stride', stride, n), tuple('padding', padding, n), ceilMode),
  );
}
export function maxPool1d(x: Tensor, kernelSize: IntOrPair, stride?: IntOrPair, padding: IntOrPair = 0, ceilMode = false): Tensor {
  return pool('maxPool1d', 1, x, kernelSize, stride, padding, ceilMode);
}
export function maxPool2d(x: Tensor, kernelSize: IntOrPair, stride?: IntOrPair, padding: IntOrPair = 0, ceilMode = false): Tensor {
  return pool('maxPool2d', 2, x, kernelSize, stride, padding, ceilMode);
}
export function avgPool1d(x: Tensor, kernelSize: IntOrPair, stride?: IntOrPair, padding: IntOrPair = 0, ceilMode = false): Tensor {
  return pool('avgPool1d', 1, x, kernelSize, stride, padding, ceilMode);
}
export function avgPool2d(x: Tensor, kernelSize: IntOrPair, stride?: IntOrPair, padding: IntOrPair = 0, ceilMode = false): Tensor {
  return pool('avgPool2d', 2, x, kernelSize, stride, padding, ceilMode);
}
export function adaptiveAvgPool1d(x: Tensor, outputSize: IntOrPair): Tensor {
  return new Tensor(native.adaptiveAvgPool1d(x.h, tuple('outputSize', outputSize, 1)));
}
export function adaptiveAvgPool2d(x: Tensor, outputSize: IntOrPair): Tensor {
  return new Tensor(native.adaptiveAvgPool2d(x.h, tuple('outputSize', outputSize, 2)));
}
export function adaptiveMaxPool1d(x: Tensor, outputSize: IntOrPair): Tensor {
  return new Tensor(native.adaptiveMaxPool1d(x.h, tuple('outputSize', outputSize, 1)));
}
export function adaptiveMaxPool2d(x: Tensor, outputSize: IntOrPair): Tensor {
  return new Tensor(native.adaptiveMaxPool2d(x.h, tuple('outputSize', outputSize, 2)));
}
export function embedding(indices: Tensor, weight: Tensor, paddingIdx?: number): Tensor {
  let pad = -1; // libtorch's marker for "no padding row"
  if (paddingIdx !== undefined) {
    const n = weight.shape[0]!;
    checkInt('paddingIdx', paddingIdx, -n, n - 1);
    pad = paddingIdx < 0 ? paddingIdx + n : paddingIdx;
  }
  return new Tensor(native.embedding(weight.h, indices.h, pad));
}
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return new Tensor(native.oneHot(indices.h, checkInt('numClasses', numClasses, -1)));
}
export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor {
  return new Tensor(native.cosineSimilarity(a.h, b.h, checkInt('dim', dim), eps));
}
/** x / max(||x||_p, eps) along dim, as F.normalize. */
export function normalize(x: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  return x.div(x.norm(p, dim, true).clampMin(eps).expandAs(x));
}

/**
 * softmax(q k^T / sqrt(d) + mask) v. A boolean mask marks positions to *keep* (true) as in
 * PyTorch's scaled_dot_product_attention; a float mask is added to the scores.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: { attnMask?: Tensor | null; dropoutP?: number; training?: boolean; isCausal?: boolean; scale?: number } = {},
): Tensor {
  const d = q.shape[q.ndim - 1]!;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  let scores = q.matmul(k.transpose(-2, -1)).mul(scale);
  if (opts.isCausal) {
    const L = q.shape[q.ndim - 2]!;
    const S = k.shape[k.ndim - 2]!;
    const causal = new Tensor(native.ones([L, S], 4, 'cpu')).tril();
    scores = scores.maskedFill(causal.logicalNot(), -Infinity);
  }
  if (opts.attnMask) {
    scores = opts.attnMask.dtype === 'bool' ? scores.maskedFill(opts.attnMask.logicalNot(), -Infinity) : scores.add(opts.attnMask);
  }
  let attn = scores.softmax(-1);
  if (opts.dropoutP && opts.training !== false) attn = dropout(attn, opts.dropoutP, true);
  return attn.matmul(v);
}

// ---- losses ----
export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** Cross entropy from logits (N x C, or N x C x d...) and class indices or class probabilities. */
export function crossEntropy(input: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return new Tensor(
    native.crossEntropy(
      input.h,
      target.h,
      o.weight?.h ?? null,
      reductionCode(o.reduction ?? 'mean'),
      checkInt('ignoreIndex', o.ignoreIndex ?? -100),
      checkNumber('labelSmoothing', o.labelSmoothing ?? 0, 0, 1),
    ),
  );
}
export function nllLoss(input: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return new Tensor(
    native.nllLoss(
      input.h,
      target.h,
      o.weight?.h ?? null,
      reductionCode(o.reduction ?? 'mean'),
      checkInt('ignoreIndex', o.ignoreIndex ?? -100),
    ),
  );
}
/** The broadcast shape of two shapes, or an error naming both. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw invalid('target', `a shape that broadcasts with the input's [${a.join(', ')}]`, `shape [${b.join(', ')}]`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

// libtorch 1.13's pointwise losses get the target's gradient wrong when it broadcasts;
// PyTorch's Python layer expands both first, and so do we.
function broadcastPair(input: Tensor, target: Tensor): [Tensor, Tensor] {
  if (input.shape.join() === target.shape.join()) return [input, target];
  const s = broadcastShapes(input.shape, target.shape);
  return [input.expand(s), target.expand(s)];
}
export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  const [i, t] = broadcastPair(input, target);
  return new Tensor(native.l1Loss(i.h, t.h, reductionCode(reduction)));
}
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  const [i, t] = broadcastPair(input, target);
  return new Tensor(native.mseLoss(i.h, t.h, reductionCode(reduction)));
}
export function smoothL1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean', beta = 1): Tensor {
  const [i, t] = broadcastPair(input, target);
  return new Tensor(native.smoothL1Loss(i.h, t.h, reductionCode(reduction), checkNumber('beta', beta, 0)));
}
/** KL divergence; input is log-probabilities, target probabilities (or log-probabilities with logTarget). */
export function klDiv(input: Tensor, target: Tensor, reduction: Reduction | 'batchmean' = 'mean', logTarget = false): Tensor {
  checkOneOf('reduction', reduction, ['none', 'mean', 'sum', 'batchmean']);
  if (reduction === 'batchmean') {
    return new Tensor(native.klDiv(input.h, target.h, reductionCode('sum'), logTarget)).div(input.shape[0] ?? 1);
  }
  return new Tensor(native.klDiv(input.h, target.h, reductionCode(reduction), logTarget));
}
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  o: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {},
): Tensor {
  return new Tensor(
    native.bceWithLogits(input.h, target.h, o.weight?.h ?? null, o.posWeight?.h ?? null, reductionCode(o.reduction ?? 'mean')),
  );
}

export { where };
