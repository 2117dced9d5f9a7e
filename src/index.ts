/** mmbalance: balanced multimodal learning on libtorch. */
export * from './engine/index.js';
export * as nn from './nn/index.js';
export * from './io/index.js';
export * as data from './data/index.js';
export * as metrics from './metrics/index.js';
export {
  ConversationModel,
  DEFAULT_MODEL_CONFIG,
  type ConversationModelConfig,
  type ModelOutputs,
  type MultimodalModel,
} from './models/conversation_model.js';
export { ConversationEncoder, TransformerConversationEncoder, MLPEncoder, defaultHeads } from './models/encoders.js';
export { FusionHead, ConcatHead, SumHead, MLPHead, type HeadOutputs } from './models/fusion.js';
export * from './balance/index.js';
export { Trainer, TrainingError, type FitOptions, type FitResult } from './train/trainer.js';
export { DEFAULT_TRAIN_CONFIG, type TrainConfig } from './train/config.js';
export { Callback, type Logger, type EpochRecord } from './train/callbacks.js';
export { ConsoleLogger, JsonlLogger } from './train/loggers.js';
export { evaluate, predictLogits, type EvalResult } from './train/evaluate.js';
export { AFW, AFWLayer, type AFWOptions } from './models/afw.js';
export { AMWHead, type AMWMode } from './models/amw.js';
