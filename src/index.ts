/** mmbalance: balanced multimodal learning on libtorch. */
export * from './engine/index.js';
