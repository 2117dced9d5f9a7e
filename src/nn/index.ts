export { Module, type StateDict } from './module.js';
export {
  Linear,
  LayerNorm,
  BatchNorm,
  Dropout,
  Embedding,
  Conv1d,
  Conv2d,
  ReLU,
  GELU,
  Tanh,
  Identity,
  Sequential,
  ModuleList,
  ModuleDict,
} from './layers.js';
export { MultiheadAttention, type AttentionOptions, type Packing, pack, unpack } from './attention.js';
export { TransformerEncoderLayer, TransformerEncoder, type TransformerEncoderLayerOptions } from './transformer.js';
export * as init from './init.js';
