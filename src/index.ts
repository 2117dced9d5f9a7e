/** mmbalance: balanced multimodal learning on libtorch. */
export * from './engine/index.js';
export * as nn from './nn/index.js';
export * from './io/index.js';
