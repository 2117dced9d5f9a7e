/**
 * Bad input gives a clear, catchable error and never takes the process down: libtorch's own
 * failures arrive as TorchError with libtorch's message, bad arguments caught in TypeScript as
 * ArgumentError saying "Expected ... but received ...".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  ArgumentError,
  F,
  Tensor,
  TorchError,
  cat,
  einsum,
  isGradEnabled,
  noGrad,
  randn,
  scope,
  tensor,
  zeros,
  type DType,
  type Device,
} from '../../src/index.js';
import { native } from '../../src/engine/native.js';
import { packageRoot } from '../helpers.js';

function throwsTorch(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TorchError, `expected a TorchError, got ${String(err)}`);
    assert.equal(err.name, 'TorchError');
    assert.match(err.message, message);
    // libtorch's message without the C++ backtrace
    assert.doesNotMatch(err.message, /Exception raised from|frame #\d/);
    return true;
  });
}

function throwsArgument(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ArgumentError, `expected an ArgumentError, got ${String(err)}`);
    assert.ok(err instanceof TypeError, 'ArgumentError is a TypeError');
    assert.equal(err.name, 'ArgumentError');
    assert.match(err.message, /^Expected .+ but received .+/s);
    assert.match(err.message, message);
    return true;
  });
}

test('shape mismatches are TorchErrors carrying libtorch messages', () => {
  throwsTorch(() => zeros([2, 3]).matmul(zeros([4, 5])), /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
  throwsTorch(
    () => zeros([2, 3]).add(zeros([2, 4])),
    /The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1/,
  );
  throwsTorch(() => zeros([2, 3]).mul(zeros([3, 2])), /must match the size of tensor b/);
  throwsTorch(
    () => zeros([2, 3, 4]).bmm(zeros([2, 5, 2])),
    /Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: \[2, 5\]/,
  );
  throwsTorch(() => zeros([2, 2]).bmm(zeros([2, 2])), /batch1 must be a 3D tensor/);
  throwsTorch(() => cat([zeros([2, 3]), zeros([2, 4])]), /Sizes of tensors must match except in dimension 0/);
  throwsTorch(() => zeros([2, 3]).view(4), /shape '\[4\]' is invalid for input of size 6/);
  throwsTorch(() => zeros([2, 3]).sum(5), /Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)/);
  throwsTorch(() => einsum('ij,jk->ik', zeros([2, 3])), /fewer operands were provided than specified in the equation/);
  throwsTorch(() => F.linear(zeros([2, 3]), zeros([4, 5])), /cannot be multiplied/);
  throwsTorch(
    () => F.conv2d(zeros([1, 3, 4, 4]), zeros([2, 2, 3, 3])),
    /expected input\[1, 3, 4, 4\] to have 2 channels, but got 3 channels instead/,
  );
  throwsTorch(() => F.layerNorm(zeros([2, 3]), [4]), /Given normalized_shape=\[4\], expected input with shape \[\*, 4\]/);
  throwsTorch(() => F.maxPool2d(zeros([1, 1, 2, 2]), 3), /Output size is too small/);
});

test('wrong dtypes are TorchErrors', () => {
  throwsTorch(() => zeros([3, 3]).indexSelect(0, tensor([0.5])), /index_select\(\): Expected dtype int32 or int64 for index/);
  throwsTorch(() => zeros([3, 3]).gather(0, tensor([[0.5]])), /gather\(\): Expected dtype int64 for index/);
  throwsTorch(() => zeros([3, 3]).gather(0, tensor([[0]], { dtype: 'int32' })), /gather\(\): Expected dtype int64 for index/);
  throwsTorch(
    () => F.embedding(tensor([0.5]), zeros([4, 2])),
    /Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int/,
  );
  // class-index targets must be integers; probability targets must have the input's shape
  throwsTorch(() => F.crossEntropy(zeros([2, 3]), tensor([0.5, 0.5])), /expected scalar type Long but found Float/);
  throwsTorch(
    () => F.crossEntropy(zeros([2, 3]), tensor([[0.5, 0.5]])),
    /Expected input batch_size \(2\) to match target batch_size \(1\)/,
  );
  throwsTorch(() => F.crossEntropy(zeros([2, 3]), zeros([2, 4])), /./);
  throwsTorch(() => zeros([2, 3]).matmul(zeros([3, 2], { dtype: 'float64' })), /expected scalar type Float but found Double/);
  throwsTorch(() => tensor([true]).sub(tensor([true])), /Subtraction, the `-` operator, with two bool tensors is not supported/);
});

test('out-of-range indices are TorchErrors', () => {
  throwsTorch(() => zeros([3, 3]).indexSelect(0, tensor([5])), /index out of range in self/);
  throwsTorch(() => zeros([3, 3]).select(0, 5), /select\(\): index 5 out of range for tensor of size \[3, 3\] at dimension 0/);
  throwsTorch(() => zeros([3, 3]).gather(1, tensor([[5]])), /index 5 is out of bounds for dimension 1 with size 3/);
  throwsTorch(() => F.embedding(tensor([7]), zeros([4, 2])), /index out of range in self/);
  throwsTorch(() => F.embedding(tensor([-1]), zeros([4, 2])), /index out of range in self/);
  throwsTorch(() => F.crossEntropy(zeros([2, 5]), tensor([7, 0])), /Target 7 is out of bounds/);
  throwsTorch(() => F.oneHot(tensor([-1, 2])), /Class values must be non-negative/);
  throwsTorch(() => zeros([3]).narrow(0, 2, 3), /./);
});

test('a disposed tensor is a TorchError that says so', () => {
  const x = zeros([2]);
  x.dispose();
  assert.equal(x.isDisposed, true);
  throwsTorch(() => x.add(1), /disposed/);
  throwsTorch(() => x.shape, /disposed/);
  throwsTorch(() => x.toArray(), /disposed/);
  throwsTorch(() => zeros([2]).add(x), /disposed/);
  throwsTorch(() => cat([x, zeros([2])]), /disposed/);
  assert.equal(String(x), 'Tensor(disposed)');
  x.dispose(); // idempotent
  const inner = scope(() => {
    const t = zeros([2]);
    t.add(1); // a temporary, freed with the scope
    return { t, temp: zeros([1]).add(0).mul(2) };
  });
  assert.deepEqual(inner.t.toArray(), [0, 0]);
  const leaked: Tensor[] = [];
  scope(() => {
    leaked.push(zeros([3]));
  });
  throwsTorch(() => leaked[0]!.sum(), /disposed.*scope/);
});

test('argument errors say what was expected and what was received', () => {
  throwsArgument(() => zeros([2, -1]), /Expected an array of non-negative integers for shape but received \[2, -1\]/);
  throwsArgument(() => zeros([2, 1.5]), /for shape/);
  throwsArgument(
    () => tensor([[1, 2], [3]]),
    /Expected an array of length 2 \(nested arrays must be rectangular\) for data\[1\] but received \[3\]/,
  );
  throwsArgument(() => tensor([1, [2]] as never), /for data\[1\]/);
  throwsArgument(() => tensor('abc' as never), /Expected a number or boolean/);
  throwsArgument(() => F.dropout(zeros([2]), 2), /Expected number between 0 and 1 for p but received 2/);
  throwsArgument(() => F.dropout(zeros([2]), -0.1), /for p but received -0.1/);
  throwsArgument(
    () => zeros([2], { dtype: 'float128' as DType }),
    /Expected one of 'float32', 'float64'.* for dtype but received 'float128'/,
  );
  throwsArgument(() => zeros([2]).to({ dtype: 'double64' as DType }), /for dtype but received 'double64'/);
  throwsArgument(() => zeros([2], { device: 'tpu' as Device }), /Expected 'cpu', 'cuda' or 'cuda:N' for device but received 'tpu'/);
  throwsArgument(
    () => tensor([1, 2]).requiresGrad_(),
    /Expected a floating-point tensor \(this one is int64\) for requiresGrad but received true/,
  );
  throwsArgument(() => zeros([2], { dtype: 'int32', requiresGrad: true }), /floating-point tensor \(this one is int32\)/);
  throwsArgument(() => zeros([3]).item(), /Expected a tensor with exactly one element for item\(\)/);
  throwsArgument(() => zeros([2, 3]).reshape(-2, 3), /for shape but received \[-2, 3\]/);
  throwsArgument(() => zeros([2]).add('a' as never), /Expected a number, boolean or Tensor for other but received 'a'/);
  throwsArgument(() => zeros([4]).split(0), /for splitSize but received 0/);
  throwsArgument(() => cat([]), /Expected a non-empty array of tensors for tensors but received \[\]/);
  throwsArgument(() => F.pad(zeros([2]), [1]), /Expected an even-length array of integers for padding but received \[1\]/);
  throwsArgument(
    () => F.crossEntropy(zeros([2, 3]), tensor([0, 1]), { reduction: 'avg' as never }),
    /Expected one of 'none', 'mean', 'sum' for reduction but received 'avg'/,
  );
  throwsArgument(() => F.crossEntropy(zeros([2, 3]), tensor([0, 1]), { labelSmoothing: 1.5 }), /for labelSmoothing but received 1.5/);
  throwsArgument(() => zeros([2]).gelu('fast' as never), /for approximate but received 'fast'/);
  throwsArgument(() => zeros([2, 3]).transpose(0.5, 1), /for dim0 but received 0.5/);
});

test('backward on a non-scalar without a gradient is an ArgumentError; autograd misuse is a TorchError', () => {
  const x = randn([2, 3], { requiresGrad: true });
  throwsArgument(
    () => x.mul(2).backward(),
    /Expected a gradient tensor \(backward\(\) without one needs a one-element tensor; this one has shape \[2, 3\]\) for gradient but received undefined/,
  );
  throwsTorch(() => x.mul(2).backward(zeros([3])), /invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2, 3\]/);
  throwsTorch(() => zeros([2]).sum().backward(), /element 0 of tensors does not require grad and does not have a grad_fn/);
  const y = x.mul(x).sum();
  y.backward();
  throwsTorch(() => y.backward(), /Trying to backward through the graph a second time/);
});

test('a std::exception thrown in native code arrives as a TorchError', () => {
  throwsTorch(() => native.throwStd(), /^test: std exception from native code$/);
  // and the engine keeps working after every kind of error
  assert.deepEqual(zeros([2]).add(1).toArray(), [1, 1]);
});

test('an error inside noGrad leaves the grad mode as it was', () => {
  assert.equal(isGradEnabled(), true);
  throwsTorch(() => noGrad(() => zeros([2, 3]).matmul(zeros([4, 5]))), /cannot be multiplied/);
  assert.equal(isGradEnabled(), true);
});

test('a child process running a batch of bad calls exits normally (no abort)', () => {
  const root = packageRoot();
  const index = pathToFileURL(join(root, 'dist', 'src', 'index.js')).href;
  const nat = pathToFileURL(join(root, 'dist', 'src', 'engine', 'native.js')).href;
  const script = `
    const m = await import(${JSON.stringify(index)});
    const { native } = await import(${JSON.stringify(nat)});
    const { zeros, tensor, randn, cat, F } = m;
    const calls = [
      () => zeros([2, 3]).matmul(zeros([4, 5])),
      () => zeros([2, 3]).add(zeros([2, 4])),
      () => zeros([3, 3]).indexSelect(0, tensor([0.5])),
      () => zeros([3, 3]).gather(0, tensor([[0.5]])),
      () => zeros([3, 3]).indexSelect(0, tensor([5])),
      () => zeros([3, 3]).select(0, 5),
      () => zeros([3, 3]).gather(1, tensor([[5]])),
      () => F.embedding(tensor([7]), zeros([4, 2])),
      () => F.crossEntropy(zeros([2, 3]), tensor([[0.5, 0.5]])),
      () => F.crossEntropy(zeros([2, 5]), tensor([7, 0])),
      () => { const x = zeros([2]); x.dispose(); return x.add(1); },
      () => cat([zeros([2, 3]), zeros([2, 4])]),
      () => zeros([1e7, 1e7]),
      () => { const x = randn([2], { requiresGrad: true }); const y = x.mul(x).sum(); y.backward(); y.backward(); },
      () => native.throwStd(),
      () => native.add(zeros([2])),
      () => native.shape(42),
      () => zeros([2, -1]),
      () => tensor([[1, 2], [3]]),
      () => F.dropout(zeros([2]), 2),
      () => zeros([2], { dtype: 'float128' }),
      () => zeros([2], { device: 'tpu' }),
      () => tensor([1, 2]).requiresGrad_(),
      () => zeros([2, 3], { requiresGrad: true }).mul(2).backward(),
    ];
    const names = calls.map((f) => { try { f(); return 'none'; } catch (e) { return e.name; } });
    console.log(JSON.stringify({ names, after: zeros([2]).add(1).toArray() }));
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.signal, null, `child killed by ${res.signal}; stderr:\n${res.stderr}`);
  assert.equal(res.status, 0, `child exited with ${res.status}; stderr:\n${res.stderr}`);
  const lines = res.stdout.trim().split('\n');
  const out = JSON.parse(lines[lines.length - 1]!) as { names: string[]; after: number[] };
  assert.deepEqual(out.names, [...Array<string>(17).fill('TorchError'), ...Array<string>(7).fill('ArgumentError')]);
  assert.deepEqual(out.after, [1, 1]);
});

test('assigning a gradient of the wrong shape or dtype is refused', () => {
  const p = zeros([2], { requiresGrad: true });
  assert.throws(() => {
    p.grad = zeros([3]);
  }, /Expected a tensor of shape \[2\] \(the parameter's\) for grad but received 'shape \[3\]'/);
  assert.throws(() => {
    p.grad = zeros([2], { dtype: 'float64' });
  }, /Expected a float32 tensor \(the parameter's dtype\) for grad but received 'a float64 tensor'/);
});

test('batchNorm in training with one value per channel is refused', () => {
  assert.throws(() => F.batchNorm(zeros([1, 3]), null, null, { training: true }), /more than 1 value per channel/);
});

test('layerNorm names a bad normalizedShape; embedding range-checks paddingIdx', () => {
  assert.throws(
    () => F.layerNorm(zeros([2, 3]), ['3' as unknown as number]),
    /Expected an array of non-negative integers for normalizedShape but received \['3'\]/,
  );
  assert.throws(() => F.embedding(tensor([0]), zeros([4, 2]), 4), /Expected integer between -4 and 3 for paddingIdx but received 4/);
});
