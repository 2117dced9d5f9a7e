import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgumentError } from '../../src/engine/errors.js';
import { F, cat, manualSeed, noGrad, optim, randint, randn, type Tensor } from '../../src/engine/index.js';
import { ClipEncoder, LeNetEncoder, MLPVectorEncoder, ResNet18Encoder, clipEncoders } from '../../src/models/clip_encoders.js';
import { Linear } from '../../src/nn/layers.js';
import type { Module } from '../../src/nn/module.js';
import { type FixtureArray, assertClose, fixtureTensor, readJsonFixture } from '../helpers.js';

type J = FixtureArray;
interface Case {
  name: string;
  inChannels: number;
  state: Record<string, J>;
  x: J;
  g: J;
  trainOutput: J;
  inputGrad: J;
  paramNames: string[];
  paramGrads: Record<string, J>;
  paramGradSummary: Record<string, { sum: number; norm: number }>;
  buffersAfterTrain: Record<string, J>;
  evalOutput: J;
}
interface LeNetCase extends Case {
  hidden: number;
  inputSize: [number, number];
}
interface ResNetCase extends Case {
  width: number;
}

/**
 * float32 against PyTorch's float32 from the same weights: different kernels sum in different
 * orders, so values agree to 1e-5 of the tensor's own scale (max |value|, at least 1). conv1's
 * weight gradient sums over every pixel and reaches ~100, where float32 rounding alone is ~1e-5.
 */
const TOL = 1e-5;
function assertCloseScaled(actual: Tensor | number[], expected: J | number[], what: string): void {
  const values = Array.isArray(expected) ? expected : (expected.values as number[]);
  const scale = values.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  assertClose(actual, values, TOL * scale, 0, what);
}

function buffer(m: Module, name: string): Tensor {
  const b = m.namedBuffers().find(([n]) => n === name);
  assert.ok(b, `no buffer ${name}`);
  return b[1];
}

function sumAndNorm(t: Tensor): { sum: number; norm: number } {
  let sum = 0;
  let sq = 0;
  for (const v of t.toArray()) {
    sum += v;
    sq += v * v;
  }
  return { sum, norm: Math.sqrt(sq) };
}

/** Loads the case's weights, runs train-mode forward/backward then eval-mode forward, and compares each with PyTorch. */
function checkAgainstTorch(c: Case, enc: ClipEncoder): void {
  assert.deepEqual(
    enc.namedParameters().map(([n]) => n),
    c.paramNames,
    'parameter names and order',
  );
  assert.deepEqual([...enc.stateDict().keys()], Object.keys(c.state), 'state-dict keys and order');
  enc.loadStateDict(new Map(Object.entries(c.state).map(([k, v]) => [k, fixtureTensor(v)])));

  enc.train();
  const x = fixtureTensor(c.x).requiresGrad_();
  const out = enc.forward(x);
  assert.deepEqual(out.shape, c.trainOutput.shape);
  assert.equal(out.shape[1], enc.outDim);
  assertCloseScaled(out, c.trainOutput, `${c.name} train output`);
  out.mul(fixtureTensor(c.g)).sum().backward();
  assertCloseScaled(x.grad!, c.inputGrad, `${c.name} input grad`);
  for (const [n, p] of enc.namedParameters()) {
    const full = c.paramGrads[n];
    if (full) assertCloseScaled(p.grad!, full, `${c.name} grad of ${n}`);
    const e = c.paramGradSummary[n]!;
    const a = sumAndNorm(p.grad!);
    assertClose([a.norm], [e.norm], 0, TOL, `${c.name} L2 norm of grad of ${n}`);
    // A sum may cancel to near zero: its error is bounded by the gradient's size (the norm), not the sum's.
    assertClose([a.sum], [e.sum], TOL * Math.max(1, e.norm), 0, `${c.name} sum of grad of ${n}`);
  }
  for (const [n, b] of Object.entries(c.buffersAfterTrain)) {
    assertCloseScaled(buffer(enc, n).float(), b, `${c.name} ${n} after a train-mode forward`);
  }

  enc.eval();
  const evalOut = noGrad(() => enc.forward(fixtureTensor(c.x)));
  assertCloseScaled(evalOut, c.evalOutput, `${c.name} eval output`);
}

for (const file of ['lenet_28', 'lenet_40', 'lenet_40x36_2ch']) {
  const c = readJsonFixture<LeNetCase>('clip_encoders', `${file}.json`);
  test(`LeNetEncoder ${c.name}: outputs and gradients equal PyTorch's from the same weights`, () => {
    const enc = new LeNetEncoder(c.inChannels, { hidden: c.hidden, inputSize: c.inputSize });
    assert.equal(enc.outDim, c.hidden);
    assert.deepEqual(enc.stateDict().get('fc.weight')!.shape, c.state['fc.weight']!.shape, 'flattened size from inputSize');
    checkAgainstTorch(c, enc);
  });
}

test('ResNet18Encoder: outputs, gradients and BatchNorm statistics equal PyTorch resnet18 from the same weights', () => {
  const c = readJsonFixture<ResNetCase>('clip_encoders', 'resnet18.json');
  const enc = new ResNet18Encoder(c.inChannels, { width: c.width });
  assert.equal(enc.outDim, 8 * c.width);
  // The fixture holds running statistics and num_batches_tracked after one train-mode forward.
  assert.ok(Object.keys(c.buffersAfterTrain).some((k) => k.endsWith('num_batches_tracked')));
  checkAgainstTorch(c, enc);
});

test("ResNet18Encoder at full width has torchvision resnet18's state-dict keys and shapes (minus fc) and its init", () => {
  const fx = readJsonFixture<{ inChannels: number; keys: [string, number[]][] }>('clip_encoders', 'resnet18_keys.json');
  const enc = new ResNet18Encoder(fx.inChannels);
  assert.equal(enc.outDim, 512);
  const sd = enc.stateDict();
  assert.deepEqual(
    [...sd].map(([k, t]) => [k, t.shape]),
    fx.keys,
  );
  // torchvision: kaiming normal (fan_out, ReLU gain) convs; BatchNorm weight 1, bias 0.
  const w = sd.get('layer4.0.conv2.weight')!;
  const expectedStd = Math.sqrt(2 / (512 * 9));
  const std = w.std().item();
  assert.ok(Math.abs(std / expectedStd - 1) < 0.02, `conv std ${std}, expected about ${expectedStd}`);
  assert.ok(Math.abs(w.mean().item()) < 1e-4);
  const down = sd.get('layer2.0.downsample.0.weight')!;
  assert.ok(Math.abs(down.std().item() / Math.sqrt(2 / 128) - 1) < 0.05);
  assert.deepEqual(new Set(sd.get('layer3.1.bn2.weight')!.toArray()), new Set([1]));
  assert.deepEqual(new Set(sd.get('layer3.1.bn2.bias')!.toArray()), new Set([0]));
});

test('ResNet18Encoder BatchNorm: train mode uses batch statistics and updates running ones (momentum 0.1, unbiased var); eval does neither', () => {
  manualSeed(3);
  const enc = new ResNet18Encoder(2, { width: 4 });
  const x = randn([4, 2, 32, 32]).mul(2).add(0.5);
  const mean0 = buffer(enc, 'bn1.running_mean').clone();
  const var0 = buffer(enc, 'bn1.running_var').clone();

  enc.eval();
  const evalBatch = noGrad(() => enc.forward(x));
  const evalAlone = noGrad(() => enc.forward(x.narrow(0, 0, 1)));
  assertClose(evalAlone, evalBatch.narrow(0, 0, 1).toArray(), 1e-6, 1e-5, 'eval: a sample does not depend on its batch');
  assertClose(buffer(enc, 'bn1.running_mean'), mean0.toArray(), 0, 0, 'eval leaves running_mean');
  assertClose(buffer(enc, 'bn1.running_var'), var0.toArray(), 0, 0, 'eval leaves running_var');
  assert.equal(buffer(enc, 'bn1.num_batches_tracked').item(), 0);

  enc.train();
  const h = noGrad(() => enc.conv1.forward(x));
  const trainBatch = noGrad(() => enc.forward(x));
  const expectedMean = mean0.mul(0.9).add(h.mean([0, 2, 3]).mul(0.1));
  const expectedVar = var0.mul(0.9).add(h.var([0, 2, 3], false, 1).mul(0.1));
  assertClose(buffer(enc, 'bn1.running_mean'), expectedMean.toArray(), 1e-6, 1e-5, 'running_mean after train forward');
  assertClose(buffer(enc, 'bn1.running_var'), expectedVar.toArray(), 1e-6, 1e-5, 'running_var (unbiased) after train forward');
  assert.equal(buffer(enc, 'bn1.num_batches_tracked').item(), 1);
  assert.equal(buffer(enc, 'layer4.1.bn2.num_batches_tracked').item(), 1);
  // Batch statistics: sample 0's features change with the other samples in its batch.
  const otherBatch = noGrad(() => enc.forward(cat([x.narrow(0, 0, 1), randn([2, 2, 32, 32])])));
  const diff = otherBatch
    .narrow(0, 0, 1)
    .sub(trainBatch.narrow(0, 0, 1))
    .abs()
    .max() as Tensor;
  assert.ok(diff.item() > 1e-3, `train-mode output of a sample should depend on its batch (max diff ${diff.item()})`);
  const trainVsEval = trainBatch.sub(evalBatch).abs().max() as Tensor;
  assert.ok(trainVsEval.item() > 1e-3, 'train and eval outputs differ');
});

test('shape errors name the expected shape before any native call', () => {
  const lenet = new LeNetEncoder(1, { inputSize: [28, 28] });
  for (const shape of [
    [1, 28, 28],
    [2, 3, 28, 28],
    [2, 1, 40, 40],
    [2, 1, 28, 27],
  ]) {
    assert.throws(
      () => lenet.forward(randn(shape)),
      (e: Error) => e instanceof ArgumentError && e.message.includes('[B, 1, 28, 28]') && e.message.includes(`[${shape.join(', ')}]`),
    );
  }
  const resnet = new ResNet18Encoder(3, { width: 2 });
  for (const shape of [
    [3, 32, 32],
    [2, 1, 32, 32],
    [2, 3, 32, 32, 1],
  ]) {
    assert.throws(
      () => resnet.forward(randn(shape)),
      (e: Error) => e instanceof ArgumentError && e.message.includes('[B, 3, H, W]'),
    );
  }
  const mlp = new MLPVectorEncoder(5, { hidden: 4 });
  assert.throws(
    () => mlp.forward(randn([2, 6])),
    (e: Error) => e instanceof ArgumentError && e.message.includes('[B, 5]'),
  );
  assert.throws(() => mlp.forward(randn([5])), ArgumentError);

  assert.throws(() => new LeNetEncoder(1, { inputSize: [12, 28] }), /integer >= 16 for inputSize\[0\]/);
  assert.throws(() => new LeNetEncoder(1, { inputSize: [28] as unknown as [number, number] }), /two integers \[H, W\] for inputSize/);
  assert.throws(() => new LeNetEncoder(0, { inputSize: [28, 28] }), /integer >= 1 for inChannels/);
  assert.throws(() => new ResNet18Encoder(1, { width: 0 }), /integer >= 1 for width/);
  assert.throws(() => new MLPVectorEncoder(4, { dropout: 1.5 }), /number between 0 and 1 for dropout/);
});

test('clipEncoders registry builds each encoder from one sample shape; an unknown name lists the known ones', () => {
  assert.deepEqual(clipEncoders.names(), ['lenet', 'resnet18', 'mlp']);
  const o = { hidden: 24, dropout: 0.1 };
  const lenet = clipEncoders.get('lenet')([1, 40, 40], o);
  assert.ok(lenet instanceof LeNetEncoder);
  assert.equal(lenet.outDim, 24);
  assert.deepEqual(lenet.eval().forward(randn([3, 1, 40, 40])).shape, [3, 24]);
  const resnet = clipEncoders.get('resnet18')([3, 32, 32], o);
  assert.ok(resnet instanceof ResNet18Encoder);
  assert.equal(resnet.outDim, 512);
  assert.equal(resnet.stateDict().get('conv1.weight')!.shape[1], 3);
  const mlp = clipEncoders.get('mlp')([7], o);
  assert.ok(mlp instanceof MLPVectorEncoder);
  assert.deepEqual(
    mlp.namedParameters().map(([n, p]) => [n, p.shape]),
    [
      ['net.0.weight', [24, 7]],
      ['net.0.bias', [24]],
    ],
  );
  assert.deepEqual(mlp.forward(randn([2, 7])).shape, [2, 24]);

  assert.throws(() => clipEncoders.get('vgg'), /unknown clip encoder 'vgg'; known: lenet, resnet18, mlp/);
  assert.throws(() => clipEncoders.get('mlp')([1, 28, 28], o), /Expected \[d\] for the sample shape of clip encoder 'mlp'/);
  assert.throws(() => clipEncoders.get('lenet')([28, 28], o), /Expected \[C, H, W\] for the sample shape of clip encoder 'lenet'/);
  assert.throws(() => clipEncoders.get('resnet18')([64], o), /Expected \[C, H, W\] for the sample shape of clip encoder 'resnet18'/);
});

test('MLPVectorEncoder is relu(linear) in eval mode and drops units in train mode', () => {
  manualSeed(5);
  const mlp = new MLPVectorEncoder(6, { hidden: 64, dropout: 0.5 });
  const x = randn([4, 6]);
  const sd = mlp.stateDict();
  const expected = F.linear(x, sd.get('net.0.weight')!, sd.get('net.0.bias')!).relu();
  assertClose(
    noGrad(() => mlp.eval().forward(x)),
    expected.toArray(),
    1e-6,
    1e-6,
    'eval output',
  );
  const train = noGrad(() => mlp.train().forward(x));
  const dropped = train.eq(0).logicalAnd(expected.gt(0)).sum().item();
  assert.ok(dropped > 0, 'dropout zeroes some active units in train mode');
});

/** A few Adam steps on 8 random images with random labels; returns the first and last training losses. */
function overfit(enc: ClipEncoder, sample: number[], steps: number, lr: number): [number, number] {
  const head = new Linear(enc.outDim, 4);
  const x = randn([8, ...sample]);
  const y = randint(0, 4, [8]);
  const opt = new optim.Adam([...enc.parameters(), ...head.parameters()], { lr });
  enc.train();
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    const loss = F.crossEntropy(head.forward(enc.forward(x)), y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return [losses[0]!, losses[losses.length - 1]!];
}

test('LeNetEncoder overfits 8 random images in a few Adam steps', () => {
  manualSeed(11);
  const [first, last] = overfit(new LeNetEncoder(1, { inputSize: [28, 28], hidden: 32 }), [1, 28, 28], 15, 5e-3);
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
});

test('ResNet18Encoder overfits 8 random images in a few Adam steps', () => {
  manualSeed(12);
  const [first, last] = overfit(new ResNet18Encoder(1, { width: 8 }), [1, 32, 32], 15, 5e-3);
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
});
