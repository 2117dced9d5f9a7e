/**
 * State dicts (PyTorch parameter and buffer names such as
 * `encoder.layers.0.self_attn.in_proj_weight`) stored as safetensors, the layout
 * `model.save_pretrained` and `safetensors.torch.save_file(model.state_dict(), ...)` produce.
 */
import { Tensor } from '../engine/tensor.js';
import { SafetensorsError, loadSafetensors, saveSafetensors } from './safetensors.js';

/**
 * Saves a state dict. The metadata gets `format: "pt"` unless it sets `format` itself: Hugging
 * Face loaders refuse safetensors checkpoints without it.
 */
export function saveStateDict(path: string, sd: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): void {
  const entries = sd instanceof Map ? [...sd.entries()] : Object.entries(sd);
  for (const [name, t] of entries) {
    if (name === '') throw new SafetensorsError('state dict names must not be empty');
    if (!(t instanceof Tensor)) throw new SafetensorsError(`state dict entry ${JSON.stringify(name)} is not a Tensor`);
  }
  saveSafetensors(path, new Map(entries), { format: 'pt', ...metadata });
}

/** Loads a state dict saved by saveStateDict or by PyTorch, as new CPU tensors (pass it to `module.loadStateDict`). */
export function loadStateDict(path: string): Map<string, Tensor> {
  return loadSafetensors(path);
}
