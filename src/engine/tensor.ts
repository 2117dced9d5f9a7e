import { type Device, checkDevice } from './device.js';
import { type DType, type TypedArray, dtypeCode, dtypeFromCode, dtypeOfTypedArray, typedArrayFor, isFloating } from './dtype.js';
import { checkInt, checkNumber, checkOneOf, checkShape, invalid, isInt } from './errors.js';
import { native } from './native.js';
import type { NativeName } from './native_names.js';
import { type Owned, track } from './scope.js';

/** A native tensor handle (an N-API external owning an at::Tensor). */
export type Handle = object;
export type Scalar = number | boolean;
export type Reduction = 'none' | 'mean' | 'sum';
export const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];
export function reductionCode(r: Reduction): number {
  return REDUCTIONS.indexOf(checkOneOf('reduction', r, REDUCTIONS));
}

/** Nested arrays of numbers or booleans, as accepted by `tensor()`. */
export type NestedArray = number | boolean | readonly NestedArray[];

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function dims(name: string, d: number | readonly number[] | undefined): number[] | null {
  if (d === undefined) return null;
  const list = typeof d === 'number' ? [d] : d;
  for (const x of list) checkInt(name, x);
  return [...list];
}

function scalarArg(name: string, v: unknown): Scalar {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'number') throw invalid(name, 'a number, boolean or Tensor', v);
  return v;
}

/**
 * A tensor backed by libtorch. Operations follow PyTorch's names, argument order and
 * broadcasting. Methods ending in `_` change the tensor in place and return it.
 */
export class Tensor implements Owned {
  /** @internal */
  h: Handle;
  kept = false;

  /** @internal Wraps a native handle; use the creation functions instead. */
  constructor(h: Handle) {
    this.h = h;
    track(this);
  }

  // ---- properties ----
  get shape(): number[] {
    return native.shape(this.h) as number[];
  }
  size(dim?: number): number | number[] {
    const s = this.shape;
    if (dim === undefined) return s;
    const d = checkInt('dim', dim, -s.length, s.length - 1);
    return s[d < 0 ? d + s.length : d]!;
  }
  get dtype(): DType {
    return dtypeFromCode(native.dtype(this.h) as number);
  }
  get device(): Device {
    return native.device(this.h) as Device;
  }
  get ndim(): number {
    return native.dim(this.h) as number;
  }
  dim(): number {
    return this.ndim;
  }
  numel(): number {
    return native.numel(this.h) as number;
  }
  isContiguous(): boolean {
    return native.isContiguous(this.h) as boolean;
  }
  get isDisposed(): boolean {
    return native.isDisposed(this.h) as boolean;
  }
  /** Frees the native storage now (other tensors sharing it keep it alive). Idempotent. */
  dispose(): void {
    native.dispose(this.h);
  }
  toString(): string {
    if (this.isDisposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- read-back ----
  /** The values as a new typed array, row-major (int64 as BigInt64Array, bool as Uint8Array). */
  toTypedArray(): TypedArray {
    return typedArrayFor(this.dtype, native.toBuffer(this.h) as ArrayBuffer);
  }
  /** Values as plain numbers (int64 converted with Number()), row-major. */
  toArray(): number[] {
    const a = this.toTypedArray();
    if (a instanceof BigInt64Array) return Array.from(a, Number);
    if (this.dtype === 'float16' || this.dtype === 'bfloat16') return this.to({ dtype: 'float32' }).toArray();
    return Array.from(a as ArrayLike<number>);
  }
  /** Nested arrays shaped like the tensor (booleans for bool tensors). */
  tolist(): NestedArray {
    const flat = this.toArray();
    const shape = this.shape;
    const isBool = this.dtype === 'bool';
    if (shape.length === 0) return isBool ? flat[0] !== 0 : flat[0]!;
    let pos = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[d]!; i++) {
        if (d === shape.length - 1) {
          const v = flat[pos++]!;
          out.push(isBool ? v !== 0 : v);
        } else out.push(build(d + 1));
      }
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) throw invalid('item()', 'a tensor with exactly one element', `a tensor of shape [${this.shape.join(', ')}]`);
    const v = native.item(this.h) as number | boolean;
    return typeof v === 'boolean' ? Number(v) : v;
  }

  // ---- conversion ----
  to(opts: { dtype?: DType; device?: Device; copy?: boolean } | DType | Device): Tensor {
    const o =
      typeof opts === 'string' ? (opts === 'cpu' || opts.startsWith('cuda') ? { device: opts as Device } : { dtype: opts as DType }) : opts;
    const code = o.dtype === undefined ? null : dtypeCode(o.dtype);
    const dev = o.device === undefined ? null : checkDevice(o.device);
    return new Tensor(native.to(this.h, code, dev, o.copy ?? false));
  }
  float(): Tensor {
    return this.to({ dtype: 'float32' });
  }
  double(): Tensor {
    return this.to({ dtype: 'float64' });
  }
  long(): Tensor {
    return this.to({ dtype: 'int64' });
  }
  int(): Tensor {
    return this.to({ dtype: 'int32' });
  }
  bool(): Tensor {
    return this.to({ dtype: 'bool' });
  }
  cpu(): Tensor {
    return this.to({ device: 'cpu' });
  }
  clone(): Tensor {
    return new Tensor(native.clone(this.h));
  }
  contiguous(): Tensor {
    return new Tensor(native.contiguous(this.h));
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.requiresGrad(this.h) as boolean;
  }
  set requiresGrad(v: boolean) {
    this.requiresGrad_(v);
  }
  requiresGrad_(v = true): this {
    if (v && !isFloating(this.dtype)) throw invalid('requiresGrad', `a floating-point tensor (this one is ${this.dtype})`, true);
    native.setRequiresGrad(this.h, v);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.h) as boolean;
  }
  /** The accumulated gradient (shares storage: in-place edits change it), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.h) as Handle | null;
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) throw invalid('grad', 'a Tensor or null', g);
      if (g.shape.join() !== this.shape.join())
        throw invalid('grad', `a tensor of shape [${this.shape.join(', ')}] (the parameter's)`, `shape [${g.shape.join(', ')}]`);
      if (g.dtype !== this.dtype) throw invalid('grad', `a ${this.dtype} tensor (the parameter's dtype)`, `a ${g.dtype} tensor`);
      if (g.device !== this.device) throw invalid('grad', `a tensor on ${this.device}`, `a tensor on ${g.device}`);
    }
    native.setGrad(this.h, g === null ? null : g.h);
  }
  retainGrad(): this {
    native.retainGrad(this.h);
    return this;
  }
  detach(): Tensor {
    return new Tensor(native.detach(this.h));
  }
  /** Computes gradients of this tensor with respect to the graph leaves. */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (gradient === undefined && this.numel() !== 1) {
      throw invalid(
        'gradient',
        `a gradient tensor (backward() without one needs a one-element tensor; this one has shape [${this.shape.join(', ')}])`,
        gradient,
      );
    }
    native.backward(this.h, gradient === undefined ? null : gradient.h, opts.retainGraph ?? false, opts.createGraph ?? false);
  }

  // ---- element-wise arithmetic (tensor or scalar operand, broadcasting) ----
  add(other: Tensor | number, alpha = 1): Tensor {
    return new Tensor(other instanceof Tensor ? native.add(this.h, other.h, alpha) : native.addS(this.h, scalarArg('other', other), alpha));
  }
  sub(other: Tensor | number, alpha = 1): Tensor {
    return new Tensor(other instanceof Tensor ? native.sub(this.h, other.h, alpha) : native.subS(this.h, scalarArg('other', other), alpha));
  }
  /** other - this */
  rsub(other: number): Tensor {
    return new Tensor(native.rsubS(this.h, scalarArg('other', other)));
  }
  mul(other: Tensor | Scalar): Tensor {
    return this.binary('mul', other);
  }
  div(other: Tensor | number, roundingMode?: 'trunc' | 'floor'): Tensor {
    if (roundingMode !== undefined) {
      const mode = checkOneOf('roundingMode', roundingMode, ['trunc', 'floor']);
      if (other instanceof Tensor) return new Tensor(native.divMode(this.h, other.h, mode));
      return new Tensor(native.divModeS(this.h, scalarArg('other', other), mode));
    }
    return this.binary('div', other);
  }
  pow(exponent: Tensor | number): Tensor {
    return this.binary('pow', exponent);
  }
  remainder(other: Tensor | number): Tensor {
    return this.binary('remainder', other);
  }
  maximum(other: Tensor): Tensor {
    return new Tensor(native.maximum(this.h, other.h));
  }
  minimum(other: Tensor): Tensor {
    return new Tensor(native.minimum(this.h, other.h));
  }
  atan2(other: Tensor): Tensor {
    return new Tensor(native.atan2(this.h, other.h));
  }
  eq(other: Tensor | Scalar): Tensor {
    return this.binary('eq', other);
  }
  ne(other: Tensor | Scalar): Tensor {
    return this.binary('ne', other);
  }
  lt(other: Tensor | Scalar): Tensor {
    return this.binary('lt', other);
  }
  le(other: Tensor | Scalar): Tensor {
    return this.binary('le', other);
  }
  gt(other: Tensor | Scalar): Tensor {
    return this.binary('gt', other);
  }
  ge(other: Tensor | Scalar): Tensor {
    return this.binary('ge', other);
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(native.logicalAnd(this.h, other.h));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(native.logicalOr(this.h, other.h));
  }
  logicalXor(other: Tensor): Tensor {
    return new Tensor(native.logicalXor(this.h, other.h));
  }
  private binary(op: string, other: Tensor | Scalar): Tensor {
    if (other instanceof Tensor) return new Tensor(native[op as NativeName](this.h, other.h));
    return new Tensor(native[`${op}S` as NativeName](this.h, scalarArg('other', other)));
  }
  private unary(op: string): Tensor {
    return new Tensor(native[op as NativeName](this.h));
  }
  logicalNot(): Tensor {
    return this.unary('logicalNot');
  }
  neg(): Tensor {
    return this.unary('neg');
  }
  abs(): Tensor {
    return this.unary('abs');
  }
  sign(): Tensor {
    return this.unary('sign');
  }
  exp(): Tensor {
    return this.unary('exp');
  }
  expm1(): Tensor {
    return this.unary('expm1');
  }
  log(): Tensor {
    return this.unary('log');
  }
  log1p(): Tensor {
    return this.unary('log1p');
  }
  log2(): Tensor {
    return this.unary('log2');
  }
  sqrt(): Tensor {
    return this.unary('sqrt');
  }
  rsqrt(): Tensor {
    return this.unary('rsqrt');
  }
  square(): Tensor {
    return this.unary('square');
  }
  reciprocal(): Tensor {
    return this.unary('reciprocal');
  }
  sin(): Tensor {
    return this.unary('sin');
  }
  cos(): Tensor {
    return this.unary('cos');
  }
  tanh(): Tensor {
    return this.unary('tanh');
  }
  sigmoid(): Tensor {
    return this.unary('sigmoid');
  }
  relu(): Tensor {
    return this.unary('relu');
  }
  silu(): Tensor {
    return this.unary('silu');
  }
  erf(): Tensor {
    return this.unary('erf');
  }
  floor(): Tensor {
    return this.unary('floor');
  }
  ceil(): Tensor {
    return this.unary('ceil');
  }
  round(): Tensor {
    return this.unary('round');
  }
  trunc(): Tensor {
    return this.unary('trunc');
  }
  isnan(): Tensor {
    return this.unary('isnan');
  }
  isinf(): Tensor {
    return this.unary('isinf');
  }
  isfinite(): Tensor {
    return this.unary('isfinite');
  }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return new Tensor(native.gelu(this.h, checkOneOf('approximate', approximate, ['none', 'tanh'])));
  }
  leakyRelu(negativeSlope = 0.01): Tensor {
    return new Tensor(native.leakyRelu(this.h, checkNumber('negativeSlope', negativeSlope)));
  }
  elu(alpha = 1): Tensor {
    return new Tensor(native.elu(this.h, checkNumber('alpha', alpha)));
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return new Tensor(native.softplus(this.h, beta, threshold));
  }
  clamp(min?: number | Tensor | null, max?: number | Tensor | null): Tensor {
    if (min instanceof Tensor || max instanceof Tensor) {
      const lo = min instanceof Tensor ? min.h : min == null ? null : fullLike(this, min).h;
      const hi = max instanceof Tensor ? max.h : max == null ? null : fullLike(this, max).h;
      return new Tensor(native.clampT(this.h, lo, hi));
    }
    if (min == null && max == null) throw invalid('clamp', 'at least one of min and max', 'neither');
    return new Tensor(native.clamp(this.h, min ?? null, max ?? null));
  }
  clampMin(min: number): Tensor {
    return this.clamp(min, null);
  }
  clampMax(max: number): Tensor {
    return this.clamp(null, max);
  }
  lerp(end: Tensor, weight: number): Tensor {
    return new Tensor(native.lerp(this.h, end.h, weight));
  }

  // ---- in place ----
  add_(other: Tensor | number, alpha = 1): this {
    if (other instanceof Tensor) native.add_(this.h, other.h, alpha);
    else native.addS_(this.h, (scalarArg('other', other) as number) * alpha);
    return this;
  }
  sub_(other: Tensor | number, alpha = 1): this {
    if (other instanceof Tensor) native.sub_(this.h, other.h, alpha);
    else native.addS_(this.h, -(scalarArg('other', other) as number) * alpha);
    return this;
  }
  mul_(other: Tensor | number): this {
    if (other instanceof Tensor) native.mul_(this.h, other.h);
    else native.mulS_(this.h, scalarArg('other', other));
    return this;
  }
  div_(other: Tensor | number): this {
    if (other instanceof Tensor) native.div_(this.h, other.h);
    else native.divS_(this.h, scalarArg('other', other));
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.h, src.h);
    return this;
  }
  fill_(value: Scalar): this {
    native.fill_(this.h, scalarArg('value', value));
    return this;
  }
  zero_(): this {
    native.zero_(this.h);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    native.clamp_(this.h, min ?? null, max ?? null);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    native.normal_(this.h, checkNumber('mean', mean), checkNumber('std', std, 0));
    return this;
  }
  uniform_(from = 0, to = 1): this {
    native.uniform_(this.h, checkNumber('from', from), checkNumber('to', to));
    return this;
  }
  /**
   * this += sigma * N(0, 1), elementwise and in place (gradient noise). On CPU the draws come from
   * the addon's parallel counter-based generator (seeded from manualSeed's generator); sigma may be
   * a 0-d tensor so the std of a gradient need not be read back first.
   */
  addGaussianNoise_(sigma: Tensor | number): this {
    if (!isFloating(this.dtype)) throw invalid('addGaussianNoise_: tensor', 'a floating-point tensor', this.dtype);
    const s = typeof sigma === 'number' ? scalarTensor(checkNumber('sigma', sigma, 0), { dtype: 'float64' }) : sigma;
    try {
      native.addGaussianNoise_(this.h, s.h);
    } finally {
      if (s !== sigma) s.dispose();
    }
    return this;
  }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    native.addcmul_(this.h, t1.h, t2.h, value);
    return this;
  }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    native.addcdiv_(this.h, t1.h, t2.h, value);
    return this;
  }
  lerp_(end: Tensor, weight: number): this {
    native.lerp_(this.h, end.h, weight);
    return this;
  }
  sqrt_(): this {
    native.sqrt_(this.h);
    return this;
  }
  maskedFill_(mask: Tensor, value: Scalar): this {
    native.maskedFill_(this.h, mask.h, scalarArg('value', value));
    return this;
  }

  // ---- reductions ----
  sum(dim?: number | readonly number[], keepdim = false, dtype?: DType): Tensor {
    return new Tensor(native.sum(this.h, dims('dim', dim), keepdim, dtype === undefined ? null : dtypeCode(dtype)));
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return new Tensor(native.mean(this.h, dims('dim', dim), keepdim, null));
  }
  prod(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.prod(this.h, dim === undefined ? null : checkInt('dim', dim), keepdim));
  }
  /** Standard deviation; correction 1 is Bessel's (PyTorch's default), 0 the population std. */
  std(dim?: number | readonly number[], keepdim = false, correction = 1): Tensor {
    return new Tensor(native.std(this.h, dims('dim', dim), checkInt('correction', correction, 0), keepdim));
  }
  var(dim?: number | readonly number[], keepdim = false, correction = 1): Tensor {
    return new Tensor(native.var(this.h, dims('dim', dim), checkInt('correction', correction, 0), keepdim));
  }
  norm(p: number = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return new Tensor(native.norm(this.h, checkNumber('p', p), dims('dim', dim), keepdim));
  }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return new Tensor(native.logsumexp(this.h, dims('dim', dim), keepdim));
  }
  amax(dim: number | readonly number[], keepdim = false): Tensor {
    return new Tensor(native.amax(this.h, dims('dim', dim), keepdim));
  }
  amin(dim: number | readonly number[], keepdim = false): Tensor {
    return new Tensor(native.amin(this.h, dims('dim', dim), keepdim));
  }
  /** max() over everything, or max(dim) returning values and indices. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.unary('maxAll');
    const [v, i] = native.maxDim(this.h, checkInt('dim', dim), keepdim) as [Handle, Handle];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.unary('minAll');
    const [v, i] = native.minDim(this.h, checkInt('dim', dim), keepdim) as [Handle, Handle];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.h, dim === undefined ? null : checkInt('dim', dim), keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmin(this.h, dim === undefined ? null : checkInt('dim', dim), keepdim));
  }
  any(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.any(this.h, dim === undefined ? null : checkInt('dim', dim), keepdim));
  }
  all(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.all(this.h, dim === undefined ? null : checkInt('dim', dim), keepdim));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(native.cumsum(this.h, checkInt('dim', dim)));
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.h, checkInt('dim', dim), descending) as [Handle, Handle];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.h, checkInt('k', k, 0), checkInt('dim', dim), largest) as [Handle, Handle];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  bincount(weights?: Tensor, minlength = 0): Tensor {
    return new Tensor(native.bincount(this.h, weights?.h ?? null, checkInt('minlength', minlength, 0)));
  }
  softmax(dim: number): Tensor {
    return new Tensor(native.softmax(this.h, checkInt('dim', dim), null));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(native.logSoftmax(this.h, checkInt('dim', dim), null));
  }

  // ---- shape ----
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return new Tensor(native.reshape(this.h, shapeArgs(shape)));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return new Tensor(native.view(this.h, shapeArgs(shape)));
  }
  permute(...order: number[] | [readonly number[]]): Tensor {
    return new Tensor(native.permute(this.h, shapeArgs(order, true)));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(native.transpose(this.h, checkInt('dim0', dim0), checkInt('dim1', dim1)));
  }
  /** The transpose of a 2-D tensor. */
  get T(): Tensor {
    return this.transpose(0, 1);
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.h, dim === undefined ? null : checkInt('dim', dim)));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.h, checkInt('dim', dim)));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(native.flatten(this.h, checkInt('startDim', startDim), checkInt('endDim', endDim)));
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return new Tensor(native.expand(this.h, shapeArgs(shape, true)));
  }
  expandAs(other: Tensor): Tensor {
    return this.expand(other.shape);
  }
  repeat(...times: number[] | [readonly number[]]): Tensor {
    return new Tensor(native.repeat(this.h, shapeArgs(times)));
  }
  split(sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
    const hs = (
      typeof sizeOrSizes === 'number'
        ? native.split(this.h, checkInt('splitSize', sizeOrSizes, 1), checkInt('dim', dim))
        : native.splitSizes(this.h, checkShape('splitSizes', sizeOrSizes), checkInt('dim', dim))
    ) as Handle[];
    return hs.map((h) => new Tensor(h));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return (native.chunk(this.h, checkInt('chunks', chunks, 1), checkInt('dim', dim)) as Handle[]).map((h) => new Tensor(h));
  }
  unbind(dim = 0): Tensor[] {
    return (native.unbind(this.h, checkInt('dim', dim)) as Handle[]).map((h) => new Tensor(h));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.h, checkInt('dim', dim), checkInt('start', start), checkInt('length', length, 0)));
  }
  /** Python's t[..., start:end:step] along one dimension; negative indices count from the end. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return new Tensor(native.slice(this.h, checkInt('dim', dim), start ?? null, end ?? null, checkInt('step', step, 1)));
  }
  /** Python's t[..., index] along one dimension (the dimension is removed). */
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.h, checkInt('dim', dim), checkInt('index', index)));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.h, checkInt('dim', dim), index.h));
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.maskedSelect(this.h, mask.h));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.h, checkInt('dim', dim), index.h));
  }
  scatter(dim: number, index: Tensor, src: Tensor | Scalar): Tensor {
    return new Tensor(
      src instanceof Tensor
        ? native.scatter(this.h, checkInt('dim', dim), index.h, src.h)
        : native.scatterS(this.h, checkInt('dim', dim), index.h, scalarArg('src', src)),
    );
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatterAdd(this.h, checkInt('dim', dim), index.h, src.h));
  }
  maskedFill(mask: Tensor, value: Scalar): Tensor {
    return new Tensor(native.maskedFill(this.h, mask.h, scalarArg('value', value)));
  }
  tril(diagonal = 0): Tensor {
    return new Tensor(native.tril(this.h, checkInt('diagonal', diagonal)));
  }
  triu(diagonal = 0): Tensor {
    return new Tensor(native.triu(this.h, checkInt('diagonal', diagonal)));
  }
  flip(dims: readonly number[]): Tensor {
    return new Tensor(native.flip(this.h, shapeArgs([dims], true)));
  }
  roll(shifts: number | readonly number[], dims: number | readonly number[]): Tensor {
    return new Tensor(
      native.roll(this.h, typeof shifts === 'number' ? [shifts] : [...shifts], typeof dims === 'number' ? [dims] : [...dims]),
    );
  }
  nonzero(): Tensor {
    return new Tensor(native.nonzero(this.h));
  }

  // ---- linear algebra ----
  matmul(other: Tensor): Tensor {
    return new Tensor(native.matmul(this.h, other.h));
  }
  mm(other: Tensor): Tensor {
    return new Tensor(native.mm(this.h, other.h));
  }
  bmm(other: Tensor): Tensor {
    return new Tensor(native.bmm(this.h, other.h));
  }
  outer(other: Tensor): Tensor {
    return new Tensor(native.outer(this.h, other.h));
  }
}

function shapeArgs(args: readonly unknown[], allowNegative = false): number[] {
  const list = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as unknown[];
  for (const d of list) {
    if (!isInt(d) || (!allowNegative && (d as number) < -1)) throw invalid('shape', 'integers (-1 for one inferred dimension)', list);
  }
  return list as number[];
}

function opts(o: CreateOptions | undefined, fallback: DType = 'float32'): [number, string] {
  return [dtypeCode(o?.dtype ?? fallback), checkDevice(o?.device ?? 'cpu')];
}

function finish(t: Tensor, o: CreateOptions | undefined): Tensor {
  if (o?.requiresGrad) t.requiresGrad_(true);
  return t;
}

// ---- creation ----
export function zeros(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(new Tensor(native.zeros(checkShape('shape', shape), ...opts(o))), o);
}
export function ones(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(new Tensor(native.ones(checkShape('shape', shape), ...opts(o))), o);
}
export function empty(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(new Tensor(native.empty(checkShape('shape', shape), ...opts(o))), o);
}
export function full(shape: readonly number[], value: Scalar, o?: CreateOptions): Tensor {
  const fallback: DType = typeof value === 'boolean' ? 'bool' : 'float32';
  return finish(new Tensor(native.full(checkShape('shape', shape), ...opts(o, fallback), scalarArg('value', value))), o);
}
/** Standard normal samples (seeded by manualSeed). */
export function randn(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(new Tensor(native.randn(checkShape('shape', shape), ...opts(o))), o);
}
/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(new Tensor(native.rand(checkShape('shape', shape), ...opts(o))), o);
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], o?: CreateOptions): Tensor {
  checkInt('low', low);
  checkInt('high', high, low + 1);
  return new Tensor(native.randint(checkShape('shape', shape), ...opts(o, 'int64'), low, high));
}
export function randperm(n: number, o?: CreateOptions): Tensor {
  return new Tensor(native.randperm(checkInt('n', n, 0), ...opts(o, 'int64')));
}
/** Values from start (inclusive) to end (exclusive) by step; int64 when all three are integers. */
export function arange(start: number, end?: number, step = 1, o?: CreateOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  checkNumber('start', start);
  checkNumber('end', end);
  if (step === 0 || !Number.isFinite(step)) throw invalid('step', 'a non-zero finite number', step);
  const fallback: DType = isInt(start) && isInt(end) && isInt(step) ? 'int64' : 'float32';
  return finish(new Tensor(native.arange([], ...opts(o, fallback), start, end, step)), o);
}
export function linspace(start: number, end: number, steps: number, o?: CreateOptions): Tensor {
  return finish(
    new Tensor(native.linspace([], ...opts(o), checkNumber('start', start), checkNumber('end', end), checkInt('steps', steps, 0))),
    o,
  );
}
export function eye(n: number, m = n, o?: CreateOptions): Tensor {
  return finish(new Tensor(native.eye([], ...opts(o), checkInt('n', n, 0), checkInt('m', m, 0))), o);
}
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(native.zerosLike(t.h));
}
export function onesLike(t: Tensor): Tensor {
  return new Tensor(native.onesLike(t.h));
}
export function randnLike(t: Tensor): Tensor {
  return new Tensor(native.randnLike(t.h));
}
export function fullLike(t: Tensor, value: Scalar): Tensor {
  return new Tensor(native.fullLike(t.h, scalarArg('value', value)));
}

/** A tensor from a typed array (copied), reshaped to `shape` (default: 1-D). */
export function fromTypedArray(data: ArrayBufferView, shape?: readonly number[], o?: CreateOptions): Tensor {
  if (!ArrayBuffer.isView(data) || data instanceof DataView) throw invalid('data', 'a typed array', data);
  // Raw bits only where the array holds them: bool from Uint8Array, float16/bfloat16 from
  // Uint16Array. Anything else is read as values and converted.
  const rawBits =
    (o?.dtype === 'bool' && data instanceof Uint8Array) ||
    ((o?.dtype === 'float16' || o?.dtype === 'bfloat16') && data instanceof Uint16Array);
  if (!rawBits && data instanceof Uint16Array) {
    return fromTypedArray(Int32Array.from(data), shape, o);
  }
  const dt = rawBits ? o!.dtype! : dtypeOfTypedArray(data);
  const n = data.byteLength / (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const s = shape === undefined ? [n] : checkShape('shape', shape);
  const count = s.reduce((a, b) => a * b, 1);
  if (count !== n) throw invalid('shape', `a shape with ${n} elements (the data's length)`, s);
  let t = new Tensor(native.fromBuffer(data.buffer, data.byteOffset, s, dtypeCode(dt), 'cpu'));
  if (o?.dtype !== undefined && o.dtype !== dt) t = t.to({ dtype: o.dtype });
  if (o?.device !== undefined && o.device !== 'cpu') t = t.to({ device: checkDevice(o.device) });
  return finish(t, o);
}

/**
 * A tensor from nested arrays, a typed array, a number or a boolean. The dtype is inferred as
 * PyTorch does: booleans -> bool, all integers -> int64, otherwise float32.
 */
export function tensor(data: NestedArray | ArrayBufferView, o?: CreateOptions): Tensor {
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, undefined, o);
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0] as NestedArray;
  }
  const flat: (number | boolean)[] = [];
  const walk = (v: NestedArray, d: number, path: string): void => {
    if (d === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean')
        throw invalid(`data${path}`, 'a number or boolean (arrays must be rectangular)', v);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw invalid(`data${path}`, `an array of length ${shape[d]} (nested arrays must be rectangular)`, v);
    }
    for (let i = 0; i < v.length; i++) walk(v[i] as NestedArray, d + 1, `${path}[${i}]`);
  };
  walk(data, 0, '');
  // As PyTorch: all booleans -> bool; booleans and integers -> int64; any other number -> float32.
  const allBool = flat.length > 0 && flat.every((v) => typeof v === 'boolean');
  const allInt = flat.length > 0 && flat.every((v) => typeof v === 'boolean' || Number.isInteger(v));
  const inferred: DType = allBool ? 'bool' : allInt ? 'int64' : 'float32';
  const dt = o?.dtype ?? inferred;
  let arr: ArrayBufferView;
  if (dt === 'int64') arr = BigInt64Array.from(flat, (v) => BigInt(Math.trunc(Number(v))));
  else if (dt === 'bool') arr = Uint8Array.from(flat, (v) => (v ? 1 : 0));
  else if (dt === 'int32') arr = Int32Array.from(flat, Number);
  else if (dt === 'float64') arr = Float64Array.from(flat, Number);
  else arr = Float32Array.from(flat, Number);
  const base: CreateOptions = { ...o, dtype: dt === 'int64' || dt === 'bool' || dt === 'int32' || dt === 'float64' ? dt : dt };
  if (arr instanceof Float32Array && dt !== 'float32') {
    return fromTypedArray(arr, shape, { ...base, dtype: dt });
  }
  return fromTypedArray(arr, shape, base);
}

/** A 0-d tensor. */
export function scalarTensor(v: Scalar, o?: CreateOptions): Tensor {
  return tensor(v, o);
}

export { isFloating };
