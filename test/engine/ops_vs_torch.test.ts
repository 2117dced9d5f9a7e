/**
 * The engine against PyTorch: every case in test/fixtures/ops/ops.json (made by gen_ops.py with
 * PyTorch in float64) is run here on the same inputs, and the forward outputs and the gradients
 * of sum((out * g).sum()) must agree to 1e-10.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  F,
  Tensor,
  cat,
  clipGradNorm,
  clipGradValue,
  einsum,
  fromTypedArray,
  scalarTensor,
  scope,
  stack,
  where,
  type DType,
} from '../../src/index.js';
import { assertClose, readJsonFixture } from '../helpers.js';

interface FixtureTensor {
  shape: number[];
  dtype: DType;
  data: number[];
}
interface FixtureInput extends FixtureTensor {
  name: string;
  diff: boolean;
}
interface FixtureOutput extends FixtureTensor {
  g?: number[];
}
type Args = Record<string, unknown>;
interface Case {
  group: string;
  op: string;
  args: Args;
  inputs: FixtureInput[];
  outputs: FixtureOutput[];
  grads: Record<string, number[]>;
}

const TOL = 1e-10;
const fixture = readJsonFixture<{ torch: string; cases: Case[] }>('ops', 'ops.json');

function make(t: FixtureTensor): Tensor {
  switch (t.dtype) {
    case 'float64':
      return fromTypedArray(Float64Array.from(t.data), t.shape);
    case 'int64':
      return fromTypedArray(
        BigInt64Array.from(t.data, (v) => BigInt(v)),
        t.shape,
      );
    case 'bool':
      return fromTypedArray(Uint8Array.from(t.data), t.shape, { dtype: 'bool' });
    default:
      throw new Error(`fixture dtype ${t.dtype} not handled`);
  }
}

type Inputs = Record<string, Tensor>;
type Op = (x: Inputs, a: Args) => Tensor | Tensor[];

const n = (v: unknown): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number));
const ints = (v: unknown): number[] => v as number[];
const opt = (v: unknown): number | undefined => (v === undefined ? undefined : (v as number));
function listed(x: Inputs, prefix = 'x'): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; x[`${prefix}${i}`] !== undefined; i++) out.push(x[`${prefix}${i}`]!);
  return out;
}
function get(x: Inputs, name: string): Tensor {
  const t = x[name];
  if (t === undefined) throw new Error(`missing input ${name}`);
  return t;
}

const CMP: Record<string, (a: Tensor, b: Tensor | number) => Tensor> = {
  eq: (a, b) => a.eq(b),
  ne: (a, b) => a.ne(b),
  lt: (a, b) => a.lt(b),
  le: (a, b) => a.le(b),
  gt: (a, b) => a.gt(b),
  ge: (a, b) => a.ge(b),
};

const UNARY: Record<string, (a: Tensor) => Tensor> = {
  abs: (a) => a.abs(),
  neg: (a) => a.neg(),
  exp: (a) => a.exp(),
  tanh: (a) => a.tanh(),
  sigmoid: (a) => a.sigmoid(),
  relu: (a) => a.relu(),
  square: (a) => a.square(),
  sin: (a) => a.sin(),
  cos: (a) => a.cos(),
  erf: (a) => a.erf(),
  expm1: (a) => a.expm1(),
  silu: (a) => a.silu(),
  log: (a) => a.log(),
  sqrt: (a) => a.sqrt(),
  rsqrt: (a) => a.rsqrt(),
  reciprocal: (a) => a.reciprocal(),
  log1p: (a) => a.log1p(),
  log2: (a) => a.log2(),
};

function clipParams(x: Inputs): Tensor[] {
  return [0, 1].map((i) => {
    const p = get(x, `p${i}`).clone().requiresGrad_();
    p.grad = get(x, `g${i}`).clone();
    return p;
  });
}

function attention(x: Inputs, a: Args): Tensor {
  return F.scaledDotProductAttention(get(x, 'q'), get(x, 'k'), get(x, 'v'), {
    attnMask: x.mask ?? null,
    isCausal: a.causal === true,
    scale: opt(a.scale),
  });
}

const OPS: Record<string, Op> = {
  // element-wise
  add: (x, a) => get(x, 'a').add(get(x, 'b'), opt(a.alpha)),
  add_scalar: (x, a) => get(x, 'a').add(n(a.s), opt(a.alpha)),
  sub: (x, a) => get(x, 'a').sub(get(x, 'b'), opt(a.alpha)),
  sub_scalar: (x, a) => get(x, 'a').sub(n(a.s), opt(a.alpha)),
  rsub_scalar: (x, a) => get(x, 'a').rsub(n(a.s)),
  mul: (x) => get(x, 'a').mul(get(x, 'b')),
  mul_scalar: (x, a) => get(x, 'a').mul(n(a.s)),
  div: (x) => get(x, 'a').div(get(x, 'b')),
  div_scalar: (x, a) => get(x, 'a').div(n(a.s)),
  div_mode: (x, a) => get(x, 'a').div(x.b ?? n(a.s), a.mode as 'trunc' | 'floor'),
  pow: (x) => get(x, 'a').pow(get(x, 'b')),
  pow_scalar: (x, a) => get(x, 'a').pow(n(a.e)),
  maximum: (x) => get(x, 'a').maximum(get(x, 'b')),
  minimum: (x) => get(x, 'a').minimum(get(x, 'b')),
  cmp: (x, a) => CMP[a.fn as string]!(get(x, 'a'), a.s === undefined ? get(x, 'b') : n(a.s)),
  where: (x) => where(get(x, 'c'), get(x, 'a'), get(x, 'b')),
  where_ts: (x, a) => where(get(x, 'c'), get(x, 'a'), n(a.y)),
  where_st: (x, a) => where(get(x, 'c'), n(a.x), get(x, 'b')),
  clamp: (x, a) => get(x, 'a').clamp(opt(a.min) ?? null, opt(a.max) ?? null),
  clamp_tensor: (x) => get(x, 'a').clamp(get(x, 'lo'), get(x, 'hi')),
  unary: (x, a) => UNARY[a.fn as string]!(get(x, 'a')),
  gelu: (x, a) => F.gelu(get(x, 'a'), a.approximate as 'none' | 'tanh'),
  leaky_relu: (x, a) => get(x, 'a').leakyRelu(n(a.slope)),
  elu: (x, a) => get(x, 'a').elu(n(a.alpha)),
  softplus: (x, a) => get(x, 'a').softplus(n(a.beta), n(a.threshold)),
  softmax: (x, a) => F.softmax(get(x, 'a'), n(a.dim)),
  log_softmax: (x, a) => F.logSoftmax(get(x, 'a'), n(a.dim)),
  // linear algebra
  matmul: (x) => get(x, 'a').matmul(get(x, 'b')),
  mm: (x) => get(x, 'a').mm(get(x, 'b')),
  bmm: (x) => get(x, 'a').bmm(get(x, 'b')),
  outer: (x) => get(x, 'a').outer(get(x, 'b')),
  einsum: (x, a) => einsum(a.eq as string, ...listed(x)),
  linear: (x) => F.linear(get(x, 'x'), get(x, 'w'), x.b),
  // reductions
  sum: (x, a) => (a.dim === undefined ? get(x, 'a').sum() : get(x, 'a').sum(ints(a.dim), a.keepdim as boolean)),
  mean: (x, a) => (a.dim === undefined ? get(x, 'a').mean() : get(x, 'a').mean(ints(a.dim), a.keepdim as boolean)),
  max_dim: (x, a) => {
    const r = get(x, 'a').max(n(a.dim), a.keepdim as boolean);
    return [r.values, r.indices];
  },
  min_dim: (x, a) => {
    const r = get(x, 'a').min(n(a.dim), a.keepdim as boolean);
    return [r.values, r.indices];
  },
  max_all: (x) => get(x, 'a').max(),
  min_all: (x) => get(x, 'a').min(),
  argmax: (x, a) => get(x, 'a').argmax(opt(a.dim), (a.keepdim as boolean | undefined) ?? false),
  argmin: (x, a) => get(x, 'a').argmin(opt(a.dim), (a.keepdim as boolean | undefined) ?? false),
  amax: (x, a) => get(x, 'a').amax(ints(a.dim), a.keepdim as boolean),
  std: (x, a) => get(x, 'a').std(a.dim as number[] | undefined, a.keepdim as boolean, n(a.correction)),
  var: (x, a) => get(x, 'a').var(a.dim as number[] | undefined, a.keepdim as boolean, n(a.correction)),
  norm: (x, a) => get(x, 'a').norm(n(a.p), a.dim as number[] | undefined, a.keepdim as boolean),
  logsumexp: (x, a) => get(x, 'a').logsumexp(ints(a.dim), a.keepdim as boolean),
  prod: (x, a) => get(x, 'a').prod(n(a.dim), a.keepdim as boolean),
  cumsum: (x, a) => get(x, 'a').cumsum(n(a.dim)),
  // shapes and indexing
  reshape: (x, a) => get(x, 'a').reshape(ints(a.shape)),
  view: (x, a) => get(x, 'a').view(ints(a.shape)),
  permute: (x, a) => get(x, 'a').permute(ints(a.dims)),
  transpose: (x, a) => get(x, 'a').transpose(n(a.d0), n(a.d1)),
  squeeze: (x, a) => get(x, 'a').squeeze(opt(a.dim)),
  unsqueeze: (x, a) => get(x, 'a').unsqueeze(n(a.dim)),
  flatten: (x, a) => get(x, 'a').flatten(n(a.start), n(a.end)),
  expand: (x, a) => get(x, 'a').expand(ints(a.shape)),
  repeat: (x, a) => get(x, 'a').repeat(ints(a.times)),
  cat: (x, a) => cat(listed(x), n(a.dim)),
  stack: (x, a) => stack(listed(x), n(a.dim)),
  split: (x, a) => get(x, 'a').split(a.size as number | number[], n(a.dim)),
  chunk: (x, a) => get(x, 'a').chunk(n(a.chunks), n(a.dim)),
  unbind: (x, a) => get(x, 'a').unbind(n(a.dim)),
  narrow: (x, a) => get(x, 'a').narrow(n(a.dim), n(a.start), n(a.length)),
  slice: (x, a) => get(x, 'a').slice(n(a.dim), opt(a.start), opt(a.end), n(a.step)),
  select: (x, a) => get(x, 'a').select(n(a.dim), n(a.index)),
  index_select: (x, a) => get(x, 'a').indexSelect(n(a.dim), get(x, 'index')),
  gather: (x, a) => get(x, 'a').gather(n(a.dim), get(x, 'index')),
  scatter: (x, a) => get(x, 'a').scatter(n(a.dim), get(x, 'index'), get(x, 'src')),
  scatter_scalar: (x, a) => get(x, 'a').scatter(n(a.dim), get(x, 'index'), n(a.value)),
  scatter_add: (x, a) => get(x, 'a').scatterAdd(n(a.dim), get(x, 'index'), get(x, 'src')),
  masked_fill: (x, a) => get(x, 'a').maskedFill(get(x, 'mask'), n(a.value)),
  pad: (x, a) => F.pad(get(x, 'a'), ints(a.pad), a.mode as 'constant' | 'reflect' | 'replicate' | 'circular', opt(a.value)),
  tril: (x, a) => get(x, 'a').tril(n(a.diagonal)),
  triu: (x, a) => get(x, 'a').triu(n(a.diagonal)),
  flip: (x, a) => get(x, 'a').flip(ints(a.dims)),
  roll: (x, a) => get(x, 'a').roll(ints(a.shifts), ints(a.dims)),
  // neural-network functions
  layer_norm: (x, a) => F.layerNorm(get(x, 'x'), ints(a.shape), x.w, x.b, n(a.eps)),
  batch_norm: (x, a) => {
    const rm = x.rm ?? null;
    const rv = x.rv ?? null;
    const out = F.batchNorm(get(x, 'x'), rm, rv, {
      weight: x.w,
      bias: x.b,
      training: a.training as boolean,
      momentum: n(a.momentum),
      eps: n(a.eps),
    });
    return rm !== null && rv !== null ? [out, rm, rv] : [out];
  },
  group_norm: (x, a) => F.groupNorm(get(x, 'x'), n(a.groups), x.w, x.b, n(a.eps)),
  conv1d: (x, a) => F.conv1d(get(x, 'x'), get(x, 'w'), x.b, ints(a.stride), ints(a.padding), ints(a.dilation), n(a.groups)),
  conv2d: (x, a) => F.conv2d(get(x, 'x'), get(x, 'w'), x.b, ints(a.stride), ints(a.padding), ints(a.dilation), n(a.groups)),
  max_pool1d: (x, a) => F.maxPool1d(get(x, 'x'), ints(a.kernel), a.stride as number[] | undefined, ints(a.padding), a.ceil as boolean),
  max_pool2d: (x, a) => F.maxPool2d(get(x, 'x'), ints(a.kernel), a.stride as number[] | undefined, ints(a.padding), a.ceil as boolean),
  avg_pool1d: (x, a) => F.avgPool1d(get(x, 'x'), ints(a.kernel), a.stride as number[] | undefined, ints(a.padding), a.ceil as boolean),
  avg_pool2d: (x, a) => F.avgPool2d(get(x, 'x'), ints(a.kernel), a.stride as number[] | undefined, ints(a.padding), a.ceil as boolean),
  adaptive_avg_pool1d: (x, a) => F.adaptiveAvgPool1d(get(x, 'x'), ints(a.size)),
  adaptive_avg_pool2d: (x, a) => F.adaptiveAvgPool2d(get(x, 'x'), ints(a.size)),
  adaptive_max_pool1d: (x, a) => F.adaptiveMaxPool1d(get(x, 'x'), ints(a.size)),
  adaptive_max_pool2d: (x, a) => F.adaptiveMaxPool2d(get(x, 'x'), ints(a.size)),
  embedding: (x, a) => F.embedding(get(x, 'idx'), get(x, 'w'), opt(a.padding_idx)),
  attention,
  // losses
  cross_entropy: (x, a) =>
    F.crossEntropy(get(x, 'input'), get(x, 'target'), {
      weight: x.weight,
      reduction: a.reduction as 'none' | 'mean' | 'sum',
      ignoreIndex: opt(a.ignore_index),
      labelSmoothing: opt(a.label_smoothing),
    }),
  nll_loss: (x, a) =>
    F.nllLoss(get(x, 'input'), get(x, 'target'), {
      weight: x.weight,
      reduction: a.reduction as 'none' | 'mean' | 'sum',
      ignoreIndex: opt(a.ignore_index),
    }),
  l1_loss: (x, a) => F.l1Loss(get(x, 'input'), get(x, 'target'), a.reduction as 'none' | 'mean' | 'sum'),
  mse_loss: (x, a) => F.mseLoss(get(x, 'input'), get(x, 'target'), a.reduction as 'none' | 'mean' | 'sum'),
  smooth_l1_loss: (x, a) => F.smoothL1Loss(get(x, 'input'), get(x, 'target'), a.reduction as 'none' | 'mean' | 'sum', n(a.beta)),
  kl_div: (x, a) =>
    F.klDiv(get(x, 'input'), get(x, 'target'), a.reduction as 'none' | 'mean' | 'sum' | 'batchmean', a.log_target as boolean),
  bce_logits: (x, a) =>
    F.binaryCrossEntropyWithLogits(get(x, 'input'), get(x, 'target'), {
      weight: x.weight,
      posWeight: x.pos_weight,
      reduction: a.reduction as 'none' | 'mean' | 'sum',
    }),
  // misc
  one_hot: (x, a) => F.oneHot(get(x, 'idx'), n(a.classes)),
  cosine_similarity: (x, a) => F.cosineSimilarity(get(x, 'a'), get(x, 'b'), n(a.dim), n(a.eps)),
  normalize: (x, a) => F.normalize(get(x, 'a'), n(a.p), n(a.dim)),
  clip_grad_norm: (x, a) => {
    const ps = clipParams(x);
    const total = clipGradNorm(ps, n(a.max), n(a.p));
    return [scalarTensor(total, { dtype: 'float64' }), ps[0]!.grad!, ps[1]!.grad!];
  },
  clip_grad_value: (x, a) => {
    const ps = clipParams(x);
    clipGradValue(ps, n(a.value));
    return [ps[0]!.grad!, ps[1]!.grad!];
  },
};

function label(c: Case, i: number): string {
  return `${c.op}#${i} ${JSON.stringify(c.args)}`;
}

function runCase(c: Case, i: number): void {
  const what = label(c, i);
  const op = OPS[c.op];
  assert.ok(op, `${what}: no implementation for op ${c.op}`);
  scope(() => {
    const x: Inputs = {};
    for (const inp of c.inputs) {
      const t = make(inp);
      if (inp.diff) t.requiresGrad_();
      x[inp.name] = t;
    }
    const res = op(x, c.args);
    const outs = Array.isArray(res) ? res : [res];
    assert.equal(outs.length, c.outputs.length, `${what}: number of outputs`);
    let loss: Tensor | null = null;
    for (let k = 0; k < c.outputs.length; k++) {
      const e = c.outputs[k]!;
      const o = outs[k]!;
      assert.deepEqual(o.shape, e.shape, `${what}: output ${k} shape`);
      assert.equal(o.dtype, e.dtype, `${what}: output ${k} dtype`);
      assertClose(o, e.data, TOL, TOL, `${what}: output ${k}`);
      if (e.g !== undefined) {
        assert.ok(o.requiresGrad, `${what}: output ${k} should require grad`);
        const term = o.mul(fromTypedArray(Float64Array.from(e.g), e.shape)).sum();
        loss = loss === null ? term : loss.add(term);
      }
    }
    const expectedGrads = Object.entries(c.grads);
    if (expectedGrads.length === 0) return;
    assert.ok(loss !== null, `${what}: nothing to differentiate`);
    loss.backward();
    for (const [name, expected] of expectedGrads) {
      const g = get(x, name).grad;
      const got = g === null ? new Array<number>(expected.length).fill(0) : g.toArray();
      assertClose(got, expected, TOL, TOL, `${what}: d/d${name}`);
    }
  });
}

const groups = [...new Set(fixture.cases.map((c) => c.group))];

test('the fixture covers every op the engine is checked on', () => {
  assert.ok(fixture.cases.length > 200, `only ${fixture.cases.length} cases`);
  const used = new Set(fixture.cases.map((c) => c.op));
  for (const op of Object.keys(OPS)) assert.ok(used.has(op), `op ${op} has no fixture case`);
  assert.deepEqual(groups, ['elementwise', 'linalg', 'reductions', 'shape', 'nn', 'losses', 'misc']);
});

for (const group of groups) {
  test(`${group} ops agree with PyTorch (float64, forward and gradients)`, () => {
    const failures: string[] = [];
    fixture.cases.forEach((c, i) => {
      if (c.group !== group) return;
      try {
        runCase(c, i);
      } catch (err) {
        failures.push((err as Error).message);
      }
    });
    assert.deepEqual(failures, [], `${failures.length} case(s) differ from PyTorch ${fixture.torch}:\n${failures.join('\n')}`);
  });
}
