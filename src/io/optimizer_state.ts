/**
 * Optimizer state on disk: the moment buffers as safetensors tensors named
 * `state.<param index>.<buffer>`, and the step counts and parameter groups (hyperparameters such
 * as the current lr) as JSON in the metadata. Enough to resume training exactly.
 */
import type { Optimizer, OptimizerStateDict } from '../engine/optim/optimizer.js';
import type { Tensor } from '../engine/tensor.js';
import { SafetensorsError, readSafetensors, saveSafetensors } from './safetensors.js';

const FORMAT = 'mmbalance.optimizer.v1';

export function saveOptimizerState(path: string, opt: Optimizer<{ lr: number }>): void {
  const sd = opt.stateDict();
  const tensors: Record<string, Tensor> = {};
  const steps: Record<string, number> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    steps[i] = s.step;
    for (const [name, t] of Object.entries(s.buffers)) tensors[`state.${i}.${name}`] = t;
  }
  saveSafetensors(path, tensors, {
    format: FORMAT,
    optimizer: opt.constructor.name,
    steps: JSON.stringify(steps),
    paramGroups: JSON.stringify(sd.paramGroups),
  });
}

export function loadOptimizerState(path: string, opt: Optimizer<{ lr: number }>): void {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== FORMAT) {
    throw new SafetensorsError(
      `${path} is not an mmbalance optimizer state file (format '${metadata.format ?? 'none'}'); it was not written by saveOptimizerState`,
    );
  }
  if (metadata.optimizer !== opt.constructor.name) {
    throw new SafetensorsError(`${path} holds ${metadata.optimizer} state; it cannot be loaded into ${opt.constructor.name}`);
  }
  const steps = JSON.parse(metadata.steps ?? '{}') as Record<string, number>;
  const state: OptimizerStateDict['state'] = {};
  for (const [i, step] of Object.entries(steps)) state[Number(i)] = { step, buffers: {} };
  for (const [key, t] of tensors) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    const entry = m ? state[Number(m[1])] : undefined;
    if (!m || !entry) throw new SafetensorsError(`${path}: unexpected tensor '${key}' in an optimizer state file`);
    entry.buffers[m[2]!] = t;
  }
  opt.loadStateDict({ state, paramGroups: JSON.parse(metadata.paramGroups ?? '[]') as Record<string, unknown>[] });
}
