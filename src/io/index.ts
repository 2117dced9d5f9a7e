export {
  type SafeDType,
  type RawTensor,
  type SafetensorsContents,
  SafetensorsError,
  MAX_HEADER_BYTES,
  safeDTypeSize,
  parseSafetensors,
  serializeSafetensors,
  rawToTensor,
  tensorToRaw,
  readSafetensors,
  loadSafetensors,
  saveSafetensors,
} from './safetensors.js';
export { saveStateDict, loadStateDict } from './state_dict.js';
export { saveOptimizerState, loadOptimizerState } from './optimizer_state.js';
