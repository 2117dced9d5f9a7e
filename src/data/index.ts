export * from './types.js';
export * from './dataset.js';
export { ConversationData } from './conversation/dataset.js';
export { type ConversationBatch, type ConversationLayout, makeBatch, dialogueBatches } from './conversation/batch.js';
export * from './split.js';
export * from './synth.js';
export {
  type NdArray,
  type NdArrayData,
  type UnpickleOptions,
  PickleError,
  PickleSecurityError,
  ALLOWED_GLOBALS,
  unpickle,
  readPickle,
  isNdArray,
} from './pickle.js';
export {
  type ErcFormat,
  type ErcReadOptions,
  IEMOCAP_CLASSES,
  MELD_CLASSES,
  MELD_SENTIMENT_CLASSES,
  IEMOCAP_4_CLASSES,
  MOSEI_2_CLASSES,
  MOSEI_7_CLASSES,
  readErcPickle,
  ercDatasetFromValue,
} from './erc_pickle.js';
export { type DatasetLocation, DatasetError, findDatasetProblems, validateDataset } from './validate.js';
export {
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  serializeDataset,
  parseDataset,
  saveDataset,
  loadDataset,
  inspectDataset,
} from './format.js';
export { linearProbe, type ProbeResult, type ProbeOptions } from './probe.js';
