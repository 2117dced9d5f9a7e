import { checkInt, checkOneOf, invalid } from './errors.js';
import { native } from './native.js';
import { type Handle, type Scalar, Tensor } from './tensor.js';

function handles(name: string, ts: readonly Tensor[]): Handle[] {
  if (!Array.isArray(ts) || ts.length === 0 || !ts.every((t) => t instanceof Tensor))
    throw invalid(name, 'a non-empty array of tensors', ts);
  return ts.map((t) => t.h);
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(handles('tensors', tensors), checkInt('dim', dim)));
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(handles('tensors', tensors), checkInt('dim', dim)));
}
/** Elements of x where condition holds, else of y (tensors or scalars, broadcasting). */
export function where(condition: Tensor, x: Tensor | Scalar, y: Tensor | Scalar): Tensor {
  if (x instanceof Tensor && y instanceof Tensor) return new Tensor(native.where(condition.h, x.h, y.h));
  if (x instanceof Tensor) return new Tensor(native.whereTS(condition.h, x.h, y));
  if (y instanceof Tensor) return new Tensor(native.whereST(condition.h, x, y.h));
  return new Tensor(native.whereSS(condition.h, x, y));
}
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  if (typeof equation !== 'string') throw invalid('equation', 'an einsum string such as "bij,bjk->bik"', equation);
  return new Tensor(native.einsum(equation, handles('operands', operands)));
}
export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b);
}
export function bmm(a: Tensor, b: Tensor): Tensor {
  return a.bmm(b);
}
export function outer(a: Tensor, b: Tensor): Tensor {
  return a.outer(b);
}
/** input * beta + alpha * (batch1 @ batch2) */
export function baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, beta = 1, alpha = 1): Tensor {
  return new Tensor(native.baddbmm(input.h, batch1.h, batch2.h, beta, alpha));
}
export function add(a: Tensor, b: Tensor | number): Tensor {
  return a.add(b);
}
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return a.sub(b);
}
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return a.mul(b);
}
export function div(a: Tensor, b: Tensor | number): Tensor {
  return a.div(b);
}
export function maximum(a: Tensor, b: Tensor): Tensor {
  return a.maximum(b);
}
export function minimum(a: Tensor, b: Tensor): Tensor {
  return a.minimum(b);
}
export function exp(a: Tensor): Tensor {
  return a.exp();
}
export function log(a: Tensor): Tensor {
  return a.log();
}
export function sqrt(a: Tensor): Tensor {
  return a.sqrt();
}
export function abs(a: Tensor): Tensor {
  return a.abs();
}
export function tanh(a: Tensor): Tensor {
  return a.tanh();
}
export function sigmoid(a: Tensor): Tensor {
  return a.sigmoid();
}
export function relu(a: Tensor): Tensor {
  return a.relu();
}
export function clamp(a: Tensor, min?: number | null, max?: number | null): Tensor {
  return a.clamp(min, max);
}
export function pow(a: Tensor, e: Tensor | number): Tensor {
  return a.pow(e);
}
export function tril(a: Tensor, diagonal = 0): Tensor {
  return a.tril(diagonal);
}
export function triu(a: Tensor, diagonal = 0): Tensor {
  return a.triu(diagonal);
}
export function split(a: Tensor, sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
  return a.split(sizeOrSizes, dim);
}
export function chunk(a: Tensor, chunks: number, dim = 0): Tensor[] {
  return a.chunk(chunks, dim);
}
export function reshape(a: Tensor, shape: readonly number[]): Tensor {
  return a.reshape(shape);
}
export function flatten(a: Tensor, startDim = 0, endDim = -1): Tensor {
  return a.flatten(startDim, endDim);
}
export function sum(a: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  return a.sum(dim, keepdim);
}
export function mean(a: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  return a.mean(dim, keepdim);
}
export function argmax(a: Tensor, dim?: number, keepdim = false): Tensor {
  return a.argmax(dim, keepdim);
}
export function logsumexp(a: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  return a.logsumexp(dim, keepdim);
}
export function gather(a: Tensor, dim: number, index: Tensor): Tensor {
  return a.gather(dim, index);
}
export function indexSelect(a: Tensor, dim: number, index: Tensor): Tensor {
  return a.indexSelect(dim, index);
}
export function maskedFill(a: Tensor, mask: Tensor, value: Scalar): Tensor {
  return a.maskedFill(mask, value);
}
export function narrow(a: Tensor, dim: number, start: number, length: number): Tensor {
  return a.narrow(dim, start, length);
}
/** Pads the last dimensions: pad = [left, right, (top, bottom, ...)] as in F.pad. */
export function pad(
  a: Tensor,
  padding: readonly number[],
  mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant',
  value = 0,
): Tensor {
  if (!Array.isArray(padding) || padding.length % 2 !== 0 || !padding.every(Number.isInteger))
    throw invalid('padding', 'an even-length array of integers', padding);
  checkOneOf('mode', mode, ['constant', 'reflect', 'replicate', 'circular']);
  return new Tensor(native.pad(a.h, [...padding], mode, mode === 'constant' ? value : null));
}
