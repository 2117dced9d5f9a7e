/**
 * Encoders for one sample per clip: images, spectrograms, frames (B, C, H, W) and plain vectors
 * (B, d), each mapping a batch to (B, outDim) features for a fusion head.
 */
import { checkInt, checkNumber, invalid } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import type { Tensor } from '../engine/tensor.js';
import { fans, normal_ } from '../nn/init.js';
import { BatchNorm, Conv2d, Dropout, Linear, ReLU, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { Registry } from './registry.js';

/** A per-modality encoder over one clip per sample: (B, ...sample shape) -> (B, outDim). */
export abstract class ClipEncoder extends Module {
  abstract readonly outDim: number;
  abstract override forward(x: Tensor): Tensor;
}

function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws, before any native call, unless x is (B, ...sample) with B >= 1; null in sample means any size >= 1. */
function checkInput(who: string, x: Tensor, sample: readonly (number | null)[]): void {
  const s = x.shape;
  const ok = s.length === sample.length + 1 && s[0]! >= 1 && sample.every((d, i) => (d === null ? s[i + 1]! >= 1 : s[i + 1] === d));
  if (!ok) {
    const expected = ['B', ...sample.map((d, i) => d ?? (i === sample.length - 2 ? 'H' : 'W'))];
    throw invalid(`the input of ${who}`, `a tensor of shape ${shapeText(expected)}`, `shape ${shapeText(s)}`);
  }
}

export interface LeNetOptions {
  /** Height and width of the input; sets the flattened size that `fc` reads. */
  inputSize: [number, number];
  /** Width of the output features (fc); default 128. */
  hidden?: number;
  /** Dropout after the final ReLU (training only); default 0. */
  dropout?: number;
}

/** Side after a valid 5x5 conv then a 2x2 max pool (floor, as PyTorch). */
function convPool(side: number): number {
  return Math.floor((side - 4) / 2);
}

/**
 * LeNet-5's feature extractor as AV-MNIST baselines use it: conv 5x5 (6 channels) -> ReLU -> max
 * pool 2 -> conv 5x5 (16 channels) -> ReLU -> max pool 2 -> flatten -> Linear -> ReLU -> dropout.
 * The 6/16 channels are LeNet-5's; 28x28 images flatten to 16*4*4 = 256, 40x40 spectrograms to
 * 16*7*7 = 784. Parameters: conv1.{weight,bias}, conv2.{weight,bias}, fc.{weight,bias}, with
 * PyTorch's default initialisation.
 */
export class LeNetEncoder extends ClipEncoder {
  static readonly channels: readonly [number, number] = [6, 16];
  readonly outDim: number;
  readonly inputSize: [number, number];
  readonly dropout: number;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly fc: Linear;

  constructor(
    readonly inChannels: number,
    o: LeNetOptions,
  ) {
    super();
    checkInt('inChannels', inChannels, 1);
    if (!Array.isArray(o?.inputSize) || o.inputSize.length !== 2) throw invalid('inputSize', 'two integers [H, W]', o?.inputSize);
    // Both convs and pools must leave at least one pixel: side 16 is the smallest that does.
    const [h, w] = o.inputSize.map((d, i) => checkInt(`inputSize[${i}]`, d, 16)) as [number, number];
    this.inputSize = [h, w];
    this.outDim = checkInt('hidden', o.hidden ?? 128, 1);
    this.dropout = checkNumber('dropout', o.dropout ?? 0, 0, 1);
    const [c1, c2] = LeNetEncoder.channels;
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, c1, 5));
    this.conv2 = this.registerModule('conv2', new Conv2d(c1, c2, 5));
    const flat = c2 * convPool(convPool(h)) * convPool(convPool(w));
    this.fc = this.registerModule('fc', new Linear(flat, this.outDim));
  }

  forward(x: Tensor): Tensor {
    checkInput('LeNetEncoder', x, [this.inChannels, ...this.inputSize]);
    const a = F.maxPool2d(this.conv1.forward(x).relu(), 2);
    const b = F.maxPool2d(this.conv2.forward(a).relu(), 2);
    return F.dropout(this.fc.forward(b.flatten(1)).relu(), this.dropout, this.training);
  }
}

/** torchvision's conv init for ResNets: kaiming normal, fan_out mode, ReLU gain. */
function resnetConv(inC: number, outC: number, k: number, stride: number, padding: number): Conv2d {
  const conv = new Conv2d(inC, outC, k, { stride, padding, bias: false });
  const weight = conv.parameters()[0]!;
  normal_(weight, 0, Math.sqrt(2 / fans(weight).fanOut));
  return conv;
}

/**
 * torchvision's BasicBlock: conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus the input (or its 1x1
 * conv + BN projection when the stride or width changes), then ReLU.
 * Parameters: conv1, bn1, conv2, bn2, downsample.0 (conv), downsample.1 (BN).
 */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly downsample: Sequential | null;

  constructor(inC: number, outC: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', resnetConv(inC, outC, 3, stride, 1));
    this.bn1 = this.registerModule('bn1', new BatchNorm(outC));
    this.conv2 = this.registerModule('conv2', resnetConv(outC, outC, 3, 1, 1));
    this.bn2 = this.registerModule('bn2', new BatchNorm(outC));
    this.downsample =
      stride !== 1 || inC !== outC
        ? this.registerModule('downsample', new Sequential(resnetConv(inC, outC, 1, stride, 0), new BatchNorm(outC)))
        : null;
  }

  forward(x: Tensor): Tensor {
    const y = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return y.add(identity).relu();
  }
}

export interface ResNet18Options {
  /** Channels of conv1 and layer1; layers 2-4 use 2x, 4x, 8x. Default 64 (torchvision's). */
  width?: number;
}

/**
 * torchvision's resnet18 up to the pooled features (no fc): conv1 7x7/2 -> bn1 -> ReLU -> max pool
 * 3x3/2 -> layer1..layer4 (2 BasicBlocks each) -> adaptive average pool -> flatten; outDim 8 * width
 * (512). State-dict keys and shapes equal torchvision's minus fc.*, num_batches_tracked included,
 * so a torchvision state dict without fc loads with strict checking (a 3-channel one needs
 * inChannels 3). Init as torchvision: kaiming normal (fan_out) convs, BN weight 1 and bias 0.
 */
export class ResNet18Encoder extends ClipEncoder {
  readonly outDim: number;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly layers: readonly Sequential[];

  constructor(
    readonly inChannels: number,
    o: ResNet18Options = {},
  ) {
    super();
    checkInt('inChannels', inChannels, 1);
    const width = checkInt('width', o.width ?? 64, 1);
    this.conv1 = this.registerModule('conv1', resnetConv(inChannels, width, 7, 2, 3));
    this.bn1 = this.registerModule('bn1', new BatchNorm(width));
    const layers: Sequential[] = [];
    let inC = width;
    for (let i = 0; i < 4; i++) {
      const outC = width * 2 ** i;
      const stride = i === 0 ? 1 : 2;
      layers.push(this.registerModule(`layer${i + 1}`, new Sequential(new BasicBlock(inC, outC, stride), new BasicBlock(outC, outC, 1))));
      inC = outC;
    }
    this.layers = layers;
    this.outDim = inC;
  }

  forward(x: Tensor): Tensor {
    checkInput('ResNet18Encoder', x, [this.inChannels, null, null]);
    let h = F.maxPool2d(this.bn1.forward(this.conv1.forward(x)).relu(), 3, 2, 1);
    for (const layer of this.layers) h = layer.forward(h);
    return F.adaptiveAvgPool2d(h, 1).flatten(1);
  }
}

/** Linear(d -> hidden) -> ReLU -> Dropout over vectors (B, d). Parameters: net.0.{weight,bias}. */
export class MLPVectorEncoder extends ClipEncoder {
  readonly outDim: number;
  readonly net: Sequential;

  constructor(
    readonly inFeatures: number,
    o: { hidden?: number; dropout?: number } = {},
  ) {
    super();
    checkInt('inFeatures', inFeatures, 1);
    this.outDim = checkInt('hidden', o.hidden ?? 128, 1);
    const p = checkNumber('dropout', o.dropout ?? 0, 0, 1);
    this.net = this.registerModule('net', new Sequential(new Linear(inFeatures, this.outDim), new ReLU(), new Dropout(p)));
  }

  forward(x: Tensor): Tensor {
    checkInput('MLPVectorEncoder', x, [this.inFeatures]);
    return this.net.forward(x);
  }
}

/** Builds a clip encoder from one sample's shape ([C, H, W] or [d]) and the model's options. */
export type ClipEncoderFactory = (shape: readonly number[], o: { hidden: number; dropout: number }) => ClipEncoder;

function imageShape(name: string, shape: readonly number[]): [number, number, number] {
  if (!Array.isArray(shape) || shape.length !== 3) throw invalid(`the sample shape of clip encoder '${name}'`, '[C, H, W]', shape);
  return shape as [number, number, number];
}

/**
 * Clip encoders by name. 'lenet' and 'resnet18' take [C, H, W] samples, 'mlp' takes [d] vectors.
 * 'resnet18' keeps torchvision's 512 features and ignores hidden and dropout.
 */
export const clipEncoders = new Registry<ClipEncoderFactory>('clip encoder');
clipEncoders.register('lenet', (shape, o) => {
  const [c, h, w] = imageShape('lenet', shape);
  return new LeNetEncoder(c, { inputSize: [h, w], hidden: o.hidden, dropout: o.dropout });
});
clipEncoders.register('resnet18', (shape) => new ResNet18Encoder(imageShape('resnet18', shape)[0]));
clipEncoders.register('mlp', (shape, o) => {
  if (!Array.isArray(shape) || shape.length !== 1) throw invalid(`the sample shape of clip encoder 'mlp'`, '[d]', shape);
  return new MLPVectorEncoder(shape[0]!, { hidden: o.hidden, dropout: o.dropout });
});
