/**
 * Tensor basics: creation and dtype inference, read-back, conversion, autograd bookkeeping,
 * grad modes, scopes and seeding.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  F,
  Tensor,
  TorchError,
  arange,
  enableGrad,
  eye,
  fromTypedArray,
  full,
  fullLike,
  isGradEnabled,
  keep,
  linspace,
  manualSeed,
  noGrad,
  ones,
  optim,
  rand,
  randint,
  randn,
  randnLike,
  randperm,
  scalarTensor,
  scope,
  setGradEnabled,
  tensor,
  zeros,
} from '../../src/index.js';
import { scopeDepth } from '../../src/engine/scope.js';
import { assertClose } from '../helpers.js';

test('zeros, ones, full, eye: shapes, dtypes and values', () => {
  const z = zeros([2, 3]);
  assert.deepEqual(z.shape, [2, 3]);
  assert.equal(z.dtype, 'float32');
  assert.equal(z.device, 'cpu');
  assert.equal(z.ndim, 2);
  assert.equal(z.numel(), 6);
  assert.deepEqual(z.toArray(), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ones([2], { dtype: 'int32' }).toArray(), [1, 1]);
  assert.equal(ones([2], { dtype: 'int32' }).dtype, 'int32');
  assert.deepEqual(zeros([]).shape, []);
  assert.equal(zeros([]).numel(), 1);
  assert.deepEqual(zeros([0, 3]).shape, [0, 3]);
  assert.deepEqual(zeros([0, 3]).toArray(), []);
  const f = full([2, 2], 2.5, { dtype: 'float64' });
  assert.equal(f.dtype, 'float64');
  assert.deepEqual(f.toArray(), [2.5, 2.5, 2.5, 2.5]);
  assert.equal(full([2], 7).dtype, 'float32');
  assert.equal(full([2], true).dtype, 'bool');
  assert.deepEqual(full([2], true).tolist(), [true, true]);
  assert.deepEqual(eye(3).tolist(), [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  assert.deepEqual(eye(2, 3).tolist(), [
    [1, 0, 0],
    [0, 1, 0],
  ]);
  assert.deepEqual(fullLike(ones([2], { dtype: 'float64' }), -1).toArray(), [-1, -1]);
  assert.equal(fullLike(ones([2], { dtype: 'float64' }), -1).dtype, 'float64');
});

test('arange infers int64 from integer arguments and float32 otherwise; linspace', () => {
  const a = arange(5);
  assert.equal(a.dtype, 'int64');
  assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4]);
  assert.deepEqual(arange(2, 8, 3).toArray(), [2, 5]);
  assert.deepEqual(arange(3, 0, -1).toArray(), [3, 2, 1]);
  const b = arange(1, 2.5, 0.5);
  assert.equal(b.dtype, 'float32');
  assert.deepEqual(b.toArray(), [1, 1.5, 2]);
  assert.equal(arange(0.5).dtype, 'float32');
  assert.deepEqual(arange(0.5).toArray(), [0]);
  const c = arange(0, 1, 0.25, { dtype: 'float64' });
  assert.equal(c.dtype, 'float64');
  assert.deepEqual(c.toArray(), [0, 0.25, 0.5, 0.75]);
  assert.equal(arange(4, undefined, 1, { dtype: 'float64' }).dtype, 'float64');
  const l = linspace(0, 1, 5);
  assert.equal(l.dtype, 'float32');
  assert.deepEqual(l.toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(linspace(-1, 1, 3, { dtype: 'float64' }).toArray(), [-1, 0, 1]);
  assert.deepEqual(linspace(2, 3, 1).toArray(), [2]);
  assert.deepEqual(linspace(2, 3, 0).toArray(), []);
});

test('random creation: shapes, dtypes and ranges', () => {
  manualSeed(7);
  const n = randn([200, 50]);
  assert.deepEqual(n.shape, [200, 50]);
  assert.equal(n.dtype, 'float32');
  assert.ok(Math.abs(n.mean().item()) < 0.05, 'randn mean near 0');
  assert.ok(Math.abs(n.std().item() - 1) < 0.05, 'randn std near 1');
  assert.equal(randn([2], { dtype: 'float64' }).dtype, 'float64');
  const u = rand([1000], { dtype: 'float64' }).toArray();
  assert.ok(
    u.every((v) => v >= 0 && v < 1),
    'rand in [0, 1)',
  );
  assert.ok(Math.min(...u) < 0.01 && Math.max(...u) > 0.99);
  const r = randint(-3, 4, [500]);
  assert.equal(r.dtype, 'int64');
  const rv = r.toArray();
  assert.ok(
    rv.every((v) => Number.isInteger(v) && v >= -3 && v < 4),
    'randint in [low, high)',
  );
  assert.deepEqual(
    [...new Set(rv)].sort((p, q) => p - q),
    [-3, -2, -1, 0, 1, 2, 3],
  );
  assert.equal(randint(0, 5, [3], { dtype: 'int32' }).dtype, 'int32');
  const p = randperm(10);
  assert.equal(p.dtype, 'int64');
  assert.deepEqual(
    [...p.toArray()].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(randperm(0).shape, [0]);
  const like = randnLike(zeros([3, 2], { dtype: 'float64' }));
  assert.deepEqual(like.shape, [3, 2]);
  assert.equal(like.dtype, 'float64');
  const req = randn([2], { requiresGrad: true });
  assert.equal(req.requiresGrad, true);
  assert.equal(req.isLeaf, true);
});

test('typed arrays: each kind maps to its dtype, with shape and byte offset', () => {
  const cases: [ArrayBufferView, string][] = [
    [new Float32Array([1.5, -2]), 'float32'],
    [new Float64Array([1.5, -2]), 'float64'],
    [new Int32Array([1, -2]), 'int32'],
    [new BigInt64Array([1n, -2n]), 'int64'],
    [new Uint8Array([1, 200]), 'uint8'],
    [new Int8Array([1, -2]), 'int8'],
    [new Int16Array([1, -2]), 'int16'],
  ];
  for (const [data, dtype] of cases) {
    const t = fromTypedArray(data);
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.shape, [2]);
    assert.deepEqual(t.toArray(), Array.from(data as unknown as ArrayLike<number | bigint>, Number));
    assert.equal(t.toTypedArray().constructor, data.constructor, `${dtype} reads back as ${data.constructor.name}`);
  }
  const m = fromTypedArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual(m.tolist(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  // a view into a larger buffer starts at its own byte offset
  const buf = new Float64Array([9, 9, 1, 2, 3, 9]);
  assert.deepEqual(fromTypedArray(buf.subarray(2, 5)).toArray(), [1, 2, 3]);
  // the data is copied
  const src = new Float32Array([1, 2]);
  const t = fromTypedArray(src);
  src[0] = 100;
  assert.deepEqual(t.toArray(), [1, 2]);
  // bool from bytes, float16/bfloat16 from raw bits, a dtype conversion on the way in
  assert.deepEqual(fromTypedArray(new Uint8Array([1, 0, 1]), [3], { dtype: 'bool' }).tolist(), [true, false, true]);
  const h = fromTypedArray(new Uint16Array([0x3c00, 0xc000]), [2], { dtype: 'float16' });
  assert.equal(h.dtype, 'float16');
  assert.deepEqual(h.toArray(), [1, -2]);
  const bf = fromTypedArray(new Uint16Array([0x3f80, 0x4040]), [2], { dtype: 'bfloat16' });
  assert.deepEqual(bf.toArray(), [1, 3]);
  const conv = fromTypedArray(new Float32Array([1.5, 2.5]), [2], { dtype: 'float64' });
  assert.equal(conv.dtype, 'float64');
  assert.deepEqual(conv.toArray(), [1.5, 2.5]);
});

test('nested arrays: dtype inference like torch.tensor', () => {
  const i = tensor([
    [1, 2],
    [3, 4],
  ]);
  assert.equal(i.dtype, 'int64');
  assert.deepEqual(i.shape, [2, 2]);
  assert.deepEqual(i.toTypedArray(), new BigInt64Array([1n, 2n, 3n, 4n]));
  const f = tensor([1, 2.5]);
  assert.equal(f.dtype, 'float32');
  assert.deepEqual(f.toArray(), [1, 2.5]);
  const b = tensor([true, false]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.tolist(), [true, false]);
  const e = tensor([]);
  assert.equal(e.dtype, 'float32');
  assert.deepEqual(e.shape, [0]);
  assert.deepEqual(tensor([[], []]).shape, [2, 0]);
  const s = tensor(3);
  assert.deepEqual(s.shape, []);
  assert.equal(s.dtype, 'int64');
  assert.equal(s.item(), 3);
  assert.equal(scalarTensor(0.5).dtype, 'float32');
  assert.equal(scalarTensor(true).dtype, 'bool');
  const d = tensor([[0.1, 0.2]], { dtype: 'float64' });
  assert.equal(d.dtype, 'float64');
  assert.deepEqual(d.toArray(), [0.1, 0.2], 'float64 values are not squeezed through float32');
  assert.deepEqual(tensor([1.9, -1.9], { dtype: 'int64' }).toArray(), [1, -1]);
  assert.deepEqual(tensor([1, 0, 2], { dtype: 'bool' }).tolist(), [true, false, true]);
  assert.equal(tensor([1, 2], { dtype: 'int32' }).dtype, 'int32');
  assert.equal(tensor([1, 2], { dtype: 'uint8' }).dtype, 'uint8');
  assert.equal(tensor([0.5], { dtype: 'float16' }).dtype, 'float16');
  const deep = tensor([
    [[1], [2]],
    [[3], [4]],
    [[5], [6]],
  ]);
  assert.deepEqual(deep.shape, [3, 2, 1]);
  assert.deepEqual(tensor([1, 2], { requiresGrad: true, dtype: 'float64' }).requiresGrad, true);
});

test('read-back: toTypedArray per dtype, tolist nesting, item', () => {
  const kinds: [Tensor, (new (n: number) => ArrayBufferView) & { name: string }][] = [
    [zeros([2]), Float32Array],
    [zeros([2], { dtype: 'float64' }), Float64Array],
    [zeros([2], { dtype: 'int64' }), BigInt64Array],
    [zeros([2], { dtype: 'int32' }), Int32Array],
    [zeros([2], { dtype: 'bool' }), Uint8Array],
    [zeros([2], { dtype: 'uint8' }), Uint8Array],
    [zeros([2], { dtype: 'int8' }), Int8Array],
    [zeros([2], { dtype: 'int16' }), Int16Array],
    [zeros([2], { dtype: 'float16' }), Uint16Array],
    [zeros([2], { dtype: 'bfloat16' }), Uint16Array],
  ];
  for (const [t, ctor] of kinds) {
    const a = t.toTypedArray();
    assert.ok(a instanceof ctor, `${t.dtype} reads back as ${ctor.name}`);
    assert.equal(a.length, 2);
  }
  assert.deepEqual(ones([2], { dtype: 'float16' }).toTypedArray(), new Uint16Array([0x3c00, 0x3c00]));
  assert.deepEqual(ones([1], { dtype: 'bfloat16' }).toTypedArray(), new Uint16Array([0x3f80]));
  const x = arange(24).reshape(2, 3, 4);
  const l = x.tolist() as number[][][];
  assert.equal(l.length, 2);
  assert.equal(l[0]!.length, 3);
  assert.deepEqual(l[1]![2], [20, 21, 22, 23]);
  assert.equal(tensor(5.5).tolist(), 5.5);
  assert.equal(tensor(true).tolist(), true);
  assert.deepEqual(tensor([[true, false]]).tolist(), [[true, false]]);
  assert.deepEqual(zeros([2, 0]).tolist(), [[], []]);
  assert.equal(tensor([[2.5]]).item(), 2.5);
  assert.equal(tensor(7).item(), 7);
  assert.equal(tensor(true).item(), 1);
  assert.equal(tensor([0.1], { dtype: 'float64' }).item(), 0.1);
  assert.equal(x.size(1), 3);
  assert.equal(x.size(-1), 4);
  assert.deepEqual(x.size(), [2, 3, 4]);
  assert.equal(x.dim(), 3);
});

test('to(dtype) round trips, float16 and bfloat16 included', () => {
  const v = [0.5, -1.5, 2, 1024, -0.125];
  const f32 = tensor(v);
  assert.deepEqual(f32.to('float64').to('float32').toArray(), v);
  assert.deepEqual(f32.to({ dtype: 'float16' }).to('float32').toArray(), v, 'exactly representable in float16');
  assert.deepEqual(f32.to('bfloat16').to('float64').toArray(), v, 'exactly representable in bfloat16');
  assert.equal(f32.to('float16').dtype, 'float16');
  assert.equal(f32.double().dtype, 'float64');
  assert.equal(f32.float().dtype, 'float32');
  // rounding to the nearest representable value
  assert.deepEqual(tensor([0.1], { dtype: 'float64' }).to('float16').toArray(), [0.0999755859375]);
  assert.deepEqual(tensor([0.1], { dtype: 'float64' }).to('bfloat16').toArray(), [0.10009765625]);
  assert.deepEqual(tensor([70000]).to('float16').toArray(), [Infinity], 'float16 overflows to inf');
  assert.deepEqual(tensor([70000]).to('bfloat16').toArray(), [70144]);
  // float to integer truncates toward zero; to bool is "non-zero"
  assert.deepEqual(tensor([1.7, -1.7, 0.2]).to('int64').toArray(), [1, -1, 0]);
  assert.deepEqual(tensor([1.7, -1.7, 0.2]).long().dtype, 'int64');
  assert.deepEqual(tensor([1.7, -1.7, 0.2]).int().dtype, 'int32');
  assert.deepEqual(tensor([1.7, 0, -0.2]).bool().tolist(), [true, false, true]);
  assert.deepEqual(tensor([true, false]).to('float32').toArray(), [1, 0]);
  assert.deepEqual(tensor([3, -4]).to('float64').to('int64').toArray(), [3, -4]);
  // int64 beyond 2^31
  assert.deepEqual(tensor([2 ** 40 + 1]).toArray(), [2 ** 40 + 1]);
  // to() with the same dtype and no copy returns the same storage; copy: true does not
  const a = zeros([2]);
  a.to('float32').add_(1);
  assert.deepEqual(a.toArray(), [1, 1]);
  a.to({ dtype: 'float32', copy: true }).add_(1);
  assert.deepEqual(a.toArray(), [1, 1]);
  assert.equal(a.cpu().device, 'cpu');
});

test('clone is independent; views share storage; contiguous after transpose', () => {
  const a = tensor([1, 2, 3], { dtype: 'float64' });
  const b = a.clone();
  b.add_(10);
  assert.deepEqual(a.toArray(), [1, 2, 3]);
  assert.deepEqual(b.toArray(), [11, 12, 13]);
  const v = a.view(3, 1);
  v.mul_(2);
  assert.deepEqual(a.toArray(), [2, 4, 6], 'a view writes through');
  const x = arange(6).reshape(2, 3);
  const t = x.transpose(0, 1);
  assert.equal(x.isContiguous(), true);
  assert.equal(t.isContiguous(), false);
  assert.deepEqual(t.shape, [3, 2]);
  assert.deepEqual(t.toArray(), [0, 3, 1, 4, 2, 5], 'read-back is row-major of the logical layout');
  const c = t.contiguous();
  assert.equal(c.isContiguous(), true);
  assert.deepEqual(c.toArray(), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(c.view(6).toArray(), [0, 3, 1, 4, 2, 5]);
  assert.throws(() => t.view(6), TorchError, 'a non-contiguous transpose cannot be viewed flat');
  assert.deepEqual(t.reshape(6).toArray(), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(x.T.shape, [3, 2]);
  const cl = t.clone();
  cl.fill_(0);
  assert.deepEqual(x.toArray(), [0, 1, 2, 3, 4, 5]);
});

test('requiresGrad, detach, grad: set, read, accumulate and zero', () => {
  const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  assert.equal(x.requiresGrad, true);
  assert.equal(x.isLeaf, true);
  assert.equal(x.grad, null);
  const y = x.mul(x);
  assert.equal(y.requiresGrad, true);
  assert.equal(y.isLeaf, false);
  y.sum().backward();
  assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
  x.mul(3).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [5, 7, 9], 'gradients accumulate');
  x.grad!.zero_();
  assert.deepEqual(x.grad!.toArray(), [0, 0, 0], 'the grad getter shares storage with the gradient');
  x.grad = null;
  assert.equal(x.grad, null);
  x.grad = tensor([0.5, 0.5, 0.5], { dtype: 'float64' });
  assert.deepEqual(x.grad.toArray(), [0.5, 0.5, 0.5]);
  x.sum().backward();
  assert.deepEqual(x.grad.toArray(), [1.5, 1.5, 1.5], 'backward adds to an assigned gradient');
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.grad, null);
  d.add_(1);
  assert.deepEqual(x.toArray(), [2, 3, 4], 'detach shares storage');
  x.requiresGrad = false;
  assert.equal(x.requiresGrad, false);
  assert.equal(x.mul(2).requiresGrad, false);
  x.requiresGrad_();
  assert.equal(x.requiresGrad, true);
  // a non-leaf keeps its gradient only when asked
  const h = x.mul(2).retainGrad();
  h.sum().backward();
  assert.deepEqual(h.grad!.toArray(), [1, 1, 1]);
});

test('in-place edits of p.grad change what the optimizer sees', () => {
  manualSeed(3);
  const p = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const opt = new optim.SGD([p], { lr: 1 });
  p.mul(tensor([2, 4, 6], { dtype: 'float64' }))
    .sum()
    .backward();
  p.grad!.mul_(0.5);
  assert.deepEqual(p.grad!.toArray(), [1, 2, 3]);
  opt.step();
  assert.deepEqual(p.toArray(), [0, 0, 0], 'the step used the halved gradient');

  opt.zeroGrad();
  assert.equal(p.grad, null);
  p.sum().backward();
  manualSeed(11);
  const noise = randnLike(p.grad!);
  manualSeed(11);
  p.grad!.add_(randnLike(p.grad!));
  const expected = noise.add(1).toArray();
  assertClose(p.grad!, expected, 0, 0, 'noisy gradient');
  const before = p.detach().clone();
  opt.step();
  assertClose(p.detach(), before.sub(noise.add(1)).toArray(), 1e-15, 0, 'step with the noisy gradient');
});

test('backward with a gradient argument, retainGraph and a second backward', () => {
  const x = tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: 'float64', requiresGrad: true },
  );
  const y = x.mul(3);
  y.backward(
    tensor(
      [
        [1, 0.5],
        [-1, 2],
      ],
      { dtype: 'float64' },
    ),
  );
  assert.deepEqual(x.grad!.toArray(), [3, 1.5, -3, 6]);

  x.grad = null;
  const z = x.square().sum();
  z.backward(undefined, { retainGraph: true });
  z.backward();
  assert.deepEqual(x.grad!.toArray(), [4, 8, 12, 16], 'two passes through a retained graph accumulate');
  assert.throws(
    () => z.backward(),
    (err: unknown) => err instanceof TorchError && /backward through the graph a second time/.test(err.message),
  );

  // createGraph: a gradient that itself has a graph (second derivative of x^3 is 6x)
  const w = tensor([2], { dtype: 'float64', requiresGrad: true });
  w.pow(3).sum().backward(undefined, { createGraph: true });
  const g1 = w.grad!;
  assert.deepEqual(g1.toArray(), [12]);
  assert.equal(g1.requiresGrad, true);
  w.grad = null;
  g1.sum().backward();
  assert.deepEqual(w.grad!.toArray(), [12]);
});

test('noGrad and enableGrad restore the previous mode, even when fn throws', () => {
  assert.equal(isGradEnabled(), true);
  const x = randn([2], { requiresGrad: true });
  const r = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    const inner = enableGrad(() => {
      assert.equal(isGradEnabled(), true);
      return x.mul(2);
    });
    assert.equal(isGradEnabled(), false);
    assert.equal(inner.requiresGrad, true);
    return x.mul(2);
  });
  assert.equal(r.requiresGrad, false);
  assert.equal(isGradEnabled(), true);
  assert.throws(
    () =>
      noGrad(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(isGradEnabled(), true);
  noGrad(() => {
    assert.throws(
      () =>
        enableGrad(() => {
          throw new RangeError('inner');
        }),
      RangeError,
    );
    assert.equal(isGradEnabled(), false);
  });
  assert.equal(isGradEnabled(), true);
  setGradEnabled(false);
  try {
    assert.equal(x.mul(2).requiresGrad, false);
    assert.equal(enableGrad(() => x.mul(2)).requiresGrad, true);
    assert.equal(isGradEnabled(), false);
  } finally {
    setGradEnabled(true);
  }
  assert.equal(
    noGrad(() => 42),
    42,
  );
});

test('scope disposes inner tensors and keeps returned and kept ones', () => {
  const inner: Tensor[] = [];
  const depth = scopeDepth();
  const out = scope(() => {
    assert.equal(scopeDepth(), depth + 1);
    const a = ones([2]);
    const b = a.add(1);
    inner.push(a, b);
    return b.mul(3);
  });
  assert.equal(scopeDepth(), depth);
  assert.equal(inner[0]!.isDisposed, true);
  assert.equal(inner[1]!.isDisposed, true);
  assert.deepEqual(out.toArray(), [6, 6]);

  // returned anywhere in arrays, plain objects and maps; keep() survives every scope
  const kept: Tensor[] = [];
  const res = scope(() => {
    const t1 = zeros([1]);
    const t2 = ones([1]);
    const t3 = full([1], 3);
    const t4 = full([1], 4);
    const lost = full([1], 5);
    inner.push(lost);
    kept.push(keep(full([1], 6)));
    keep([full([1], 7), full([1], 8)]).forEach((t) => kept.push(t));
    return { list: [t1, [t2]], nested: { deep: { t3 } }, map: new Map([['k', t4]]), n: 1 };
  });
  assert.equal(inner[2]!.isDisposed, true);
  assert.deepEqual((res.list[0] as Tensor).toArray(), [0]);
  assert.deepEqual((res.list[1] as Tensor[])[0]!.toArray(), [1]);
  assert.deepEqual(res.nested.deep.t3.toArray(), [3]);
  assert.deepEqual(res.map.get('k')!.toArray(), [4]);
  assert.deepEqual(
    kept.map((t) => t.item()),
    [6, 7, 8],
  );

  // nested: what the inner scope returns belongs to the outer one, which frees it unless returned
  const probe: Tensor[] = [];
  const final = scope(() => {
    const fromInner = scope(() => {
      const tmp = ones([2]);
      probe.push(tmp);
      return tmp.add(1);
    });
    assert.equal(probe[0]!.isDisposed, true);
    assert.equal(fromInner.isDisposed, false);
    probe.push(fromInner);
    const keepMe = scope(() => fromInner.mul(10));
    return keepMe;
  });
  assert.equal(probe[1]!.isDisposed, true, 'the outer scope freed what the inner one handed up');
  assert.deepEqual(final.toArray(), [20, 20]);

  // tensors from outside the scope are left alone
  const outside = ones([1]);
  scope(() => outside.add(1));
  assert.equal(outside.isDisposed, false);
});

test('scope disposes everything when fn throws, and still pops itself', () => {
  const depth = scopeDepth();
  const made: Tensor[] = [];
  assert.throws(
    () =>
      scope(() => {
        made.push(ones([2]), zeros([3]));
        throw new Error('fail inside scope');
      }),
    /fail inside scope/,
  );
  assert.equal(scopeDepth(), depth);
  assert.ok(made.every((t) => t.isDisposed));
  assert.throws(
    () => made[0]!.toArray(),
    (err: unknown) => err instanceof TorchError && /disposed/.test(err.message),
  );
  // an error thrown by libtorch inside the scope behaves the same
  const made2: Tensor[] = [];
  assert.throws(
    () =>
      scope(() => {
        const a = ones([2, 3]);
        made2.push(a);
        return a.matmul(a);
      }),
    TorchError,
  );
  assert.ok(made2[0]!.isDisposed);
  // and an async fn is refused
  assert.throws(() => scope((async () => 1) as unknown as () => number), /synchronous/);
  assert.equal(scopeDepth(), depth);
});

test('manualSeed makes random streams repeat', () => {
  const draw = (): number[][] => [
    randn([5], { dtype: 'float64' }).toArray(),
    rand([3]).toArray(),
    randint(0, 100, [4]).toArray(),
    randperm(6).toArray(),
    F.dropout(ones([8]), 0.5).toArray(),
  ];
  manualSeed(1234);
  const a = draw();
  manualSeed(1234);
  const b = draw();
  assert.deepEqual(a, b);
  manualSeed(1235);
  const c = draw();
  assert.notDeepEqual(a[0], c[0]);
});

test('dropout: scaling when training, identity otherwise, gradient through the mask', () => {
  manualSeed(5);
  const x = ones([1000], { dtype: 'float64', requiresGrad: true });
  const y = F.dropout(x, 0.25);
  const v = y.toArray();
  assert.ok(
    v.every((e) => e === 0 || Math.abs(e - 1 / 0.75) < 1e-15),
    'kept values are scaled by 1/(1-p)',
  );
  const dropped = v.filter((e) => e === 0).length;
  assert.ok(dropped > 180 && dropped < 320, `about a quarter dropped (${dropped})`);
  y.sum().backward();
  assert.deepEqual(x.grad!.toArray(), v, 'd/dx equals the mask times the scale');
  const same = randn([4]);
  assert.equal(F.dropout(same, 0.5, false), same);
  assert.equal(F.dropout(same, 0), same);
  assert.deepEqual(F.dropout(ones([4]), 1).toArray(), [0, 0, 0, 0]);
});

test('a Uint16Array given dtype bool converts values, not bytes', () => {
  assert.deepEqual(fromTypedArray(new Uint16Array([256, 0, 7]), [3], { dtype: 'bool' }).tolist(), [true, false, true]);
});

test('a Uint8Array given dtype float16 converts values and stays inside its view', () => {
  const bytes = new Uint8Array([1, 2, 0, 0x3c]);
  assert.deepEqual(fromTypedArray(bytes.subarray(0, 2), [2], { dtype: 'float16' }).toArray(), [1, 2]);
});

test('mixed booleans and integers infer int64 as torch.tensor does', () => {
  assert.equal(tensor([true, 1]).dtype, 'int64');
  assert.deepEqual(tensor([true, 1]).tolist(), [1, 1]);
});

test('scope keeps tensors returned inside a Set, a Map key or a class instance', () => {
  const s = scope(() => new Set([ones([1])]));
  assert.equal([...s][0]!.isDisposed, false);
  const m = scope(() => new Map([[ones([1]), 1]]));
  assert.equal([...m.keys()][0]!.isDisposed, false);
  class Holder {
    constructor(readonly t = ones([2])) {}
  }
  const h = scope(() => new Holder());
  assert.equal(h.t.isDisposed, false);
  const dropped: { t?: ReturnType<typeof ones> } = {};
  scope(() => {
    dropped.t = ones([1]);
  });
  assert.equal(dropped.t!.isDisposed, true);
});

test('embedding with a negative paddingIdx counts from the end, as PyTorch does', () => {
  const w = randn([4, 3], { dtype: 'float64', requiresGrad: true });
  F.embedding(tensor([0, 3, 3, 1]), w, -1)
    .sum()
    .backward();
  assert.deepEqual(w.grad!.sum(1).toArray(), [3, 3, 0, 0]);
});
