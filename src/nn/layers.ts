import { checkInt, checkNumber } from '../engine/errors.js';
import * as F from '../engine/functional.js';
import { empty, ones, zeros, Tensor } from '../engine/tensor.js';
import { kaimingUniform_, normal_, uniform_ } from './init.js';
import { Module } from './module.js';
import { noGrad } from '../engine/grad_mode.js';

/** y = x W^T + b, initialised as torch.nn.Linear. Parameters: weight [out, in], bias [out]. */
export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    bias = true,
  ) {
    super();
    checkInt('inFeatures', inFeatures, 1);
    checkInt('outFeatures', outFeatures, 1);
    this.registerParameter('weight', kaimingUniform_(empty([outFeatures, inFeatures]), Math.sqrt(5)));
    const bound = 1 / Math.sqrt(inFeatures);
    this.registerParameter('bias', bias ? uniform_(empty([outFeatures]), -bound, bound) : null);
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  constructor(
    normalizedShape: number | number[],
    readonly eps = 1e-5,
    elementwiseAffine = true,
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    this.registerParameter('weight', elementwiseAffine ? ones(this.normalizedShape) : null);
    this.registerParameter('bias', elementwiseAffine ? zeros(this.normalizedShape) : null);
  }
  get weight(): Tensor | null {
    return this.optionalParam('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** Batch normalisation over the channel dimension (1) of (N, C) / (N, C, L) / (N, C, H, W) input. */
export class BatchNorm extends Module {
  numBatchesTracked = 0;
  constructor(
    readonly numFeatures: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
    affine = true,
  ) {
    super();
    this.registerParameter('weight', affine ? ones([numFeatures]) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures]) : null);
    this.registerBuffer('running_mean', zeros([numFeatures]));
    this.registerBuffer('running_var', ones([numFeatures]));
    this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
  }
  forward(x: Tensor): Tensor {
    if (this.training) noGrad(() => this.buffer('num_batches_tracked')!.add_(1));
    return F.batchNorm(x, this.buffer('running_mean'), this.buffer('running_var'), {
      weight: this.optionalParam('weight'),
      bias: this.optionalParam('bias'),
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkNumber('p', p, 0, 1);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export class Embedding extends Module {
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    readonly paddingIdx?: number,
  ) {
    super();
    const w = normal_(empty([numEmbeddings, embeddingDim]));
    if (paddingIdx !== undefined) noGrad(() => w.select(0, paddingIdx).zero_());
    this.registerParameter('weight', w);
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight, this.paddingIdx);
  }
}

class Conv extends Module {
  constructor(
    private readonly nd: 1 | 2,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number[],
    readonly stride: number[],
    readonly padding: number[],
    bias: boolean,
  ) {
    super();
    const w = kaimingUniform_(empty([outChannels, inChannels, ...kernelSize]), Math.sqrt(5));
    this.registerParameter('weight', w);
    const fanIn = inChannels * kernelSize.reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    this.registerParameter('bias', bias ? uniform_(empty([outChannels]), -bound, bound) : null);
  }
  forward(x: Tensor): Tensor {
    const f = this.nd === 1 ? F.conv1d : F.conv2d;
    return f(x, this.param('weight'), this.optionalParam('bias'), this.stride, this.padding);
  }
}
export class Conv1d extends Conv {
  constructor(inChannels: number, outChannels: number, kernelSize: number, o: { stride?: number; padding?: number; bias?: boolean } = {}) {
    super(1, inChannels, outChannels, [kernelSize], [o.stride ?? 1], [o.padding ?? 0], o.bias ?? true);
  }
}
export class Conv2d extends Conv {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | [number, number],
    o: { stride?: number; padding?: number; bias?: boolean } = {},
  ) {
    const k = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    super(2, inChannels, outChannels, k, [o.stride ?? 1, o.stride ?? 1], [o.padding ?? 0, o.padding ?? 0], o.bias ?? true);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Modules in order; children are named 0, 1, 2... as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = (m as unknown as { forward(t: Tensor): Tensor }).forward(y);
    return y;
  }
}

/** A list of sub-modules named 0, 1, 2... (torch.nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  constructor(items: M[] = []) {
    super();
    for (const m of items) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  forward(): never {
    throw new Error('ModuleList has no forward(); call its items');
  }
}

/** Sub-modules by name (torch.nn.ModuleDict): children named by their keys. */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly items = new Map<string, M>();
  constructor(items: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(items)) this.set(k, m);
  }
  set(name: string, m: M): this {
    this.registerModule(name, m);
    this.items.set(name, m);
    return this;
  }
  get(name: string): M {
    const m = this.items.get(name);
    if (m === undefined) throw new Error(`no module '${name}'; known: ${[...this.items.keys()].join(', ')}`);
    return m;
  }
  forward(): never {
    throw new Error('ModuleDict has no forward(); call its items');
  }
}
