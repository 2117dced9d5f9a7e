/** mmbalance: balanced multimodal learning on libtorch. */
export * from './engine/index.js';
export * as nn from './nn/index.js';
export * from './io/index.js';
export * as data from './data/index.js';
export { type Batch, type BatchOptions, type MultimodalDataset, type SplitName, batchTo } from './data/dataset.js';
export * as metrics from './metrics/index.js';
export { ConversationModel, DEFAULT_MODEL_CONFIG, type ConversationModelConfig } from './models/conversation_model.js';
export type { ModelOutputs, MultimodalModel, ParameterRole, DataInfo } from './models/model.js';
export { type ParamRef, refGrad } from './nn/param_ref.js';
export { Registry } from './models/registry.js';
export { encoders, type EncoderFactory } from './models/encoders.js';
export { heads, type HeadFactory } from './models/fusion.js';
export { recipes, buildModel, type ModelRecipe, type RecipeConfig } from './models/recipes.js';
export { ConversationEncoder, TransformerConversationEncoder, MLPEncoder, defaultHeads } from './models/encoders.js';
export { FusionHead, ConcatHead, SumHead, MLPHead, type HeadOutputs } from './models/fusion.js';
export * from './balance/index.js';
export { Trainer, TrainingError, type FitOptions, type FitResult, type StepResult } from './train/trainer.js';
export * from './train/run_config.js';
export { loadRunData, loadConversations, buildRunModel, runTraining, type RunOptions } from './train/experiment.js';
export { savePredictions, loadPredictions } from './train/predictions.js';
export { DEFAULT_TRAIN_CONFIG, type TrainConfig } from './train/config.js';
export { Callback, type Logger, type EpochRecord } from './train/callbacks.js';
export { ConsoleLogger, JsonlLogger } from './train/loggers.js';
export { evaluate, predictSplit, scorePredictions, type EvalResult } from './train/evaluate.js';
export { AFW, AFWLayer, type AFWOptions } from './models/afw.js';
export { AMWHead, type AMWMode } from './models/amw.js';
export {
  BalanceMLAModel,
  AttentionBRFF,
  CrossModalLayer,
  DEFAULT_BALANCEMLA_MODEL_CONFIG,
  type BalanceMLAModelConfig,
  type BalanceMLAConfig,
  type BalanceMLAOutputs,
  type DecisionFusionKind,
} from './models/balancemla.js';
