export { Optimizer, type ParamGroup, type ParamState, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export {
  LRScheduler,
  StepLR,
  CosineAnnealingLR,
  LinearWarmup,
  LambdaLR,
  ReduceLROnPlateau,
  type ReduceLROnPlateauOptions,
} from './lr_scheduler.js';
