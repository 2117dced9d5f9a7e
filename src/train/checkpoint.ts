import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Optimizer } from '../engine/optim/optimizer.js';
import { loadOptimizerState, saveOptimizerState } from '../io/optimizer_state.js';
import { readSafetensors, saveSafetensors } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';

/** Everything besides tensors that a resume needs, kept as JSON in the checkpoint's metadata. */
export interface LoopState {
  /** Epochs finished, over all phases. */
  epoch: number;
  /** The phase being run (index) and how many of its epochs are finished. */
  phase: number;
  phaseEpoch: number;
  bestEpoch: number;
  bestScore: number;
  badEpochs: number;
  history: Record<string, unknown>[];
  scheduler: Record<string, unknown>;
  strategy: Record<string, unknown>;
  callbacks: Record<string, unknown>[];
}

const MODEL = 'last.safetensors';
const OPTIM = 'last.optim.safetensors';

/**
 * Writes the last checkpoint: model weights with the loop state in the metadata, and the
 * optimizer state. Both go to temporary names first and are renamed only when both are written,
 * so a crash mid-save keeps the previous checkpoint whole.
 */
export function saveCheckpoint(dir: string, model: Module, opt: Optimizer<{ lr: number }>, state: LoopState): void {
  const tmpModel = join(dir, `${MODEL}.partial`);
  const tmpOptim = join(dir, `${OPTIM}.partial`);
  saveSafetensors(tmpModel, Object.fromEntries(model.stateDict()), { format: 'pt', mmbalanceLoop: JSON.stringify(state) });
  saveOptimizerState(tmpOptim, opt);
  renameSync(tmpOptim, join(dir, OPTIM));
  renameSync(tmpModel, join(dir, MODEL));
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, MODEL)) && existsSync(join(dir, OPTIM));
}

/** Restores model and optimizer in place and returns the loop state. */
export function loadCheckpoint(dir: string, model: Module, opt: Optimizer<{ lr: number }>): LoopState {
  if (!hasCheckpoint(dir)) throw new Error(`no checkpoint to resume in ${dir} (expected ${MODEL} and ${OPTIM}); start without --resume`);
  const { tensors, metadata } = readSafetensors(join(dir, MODEL));
  if (metadata.mmbalanceLoop === undefined)
    throw new Error(`${join(dir, MODEL)} has no training-loop state; it is not an mmbalance checkpoint`);
  model.loadStateDict(tensors);
  loadOptimizerState(join(dir, OPTIM), opt);
  const state = JSON.parse(metadata.mmbalanceLoop) as LoopState;
  // Checkpoints from before phases existed hold one phase.
  state.phase ??= 0;
  state.phaseEpoch ??= state.epoch;
  return state;
}

export function saveBest(dir: string, model: Module, epoch: number): void {
  saveSafetensors(join(dir, 'best.safetensors'), Object.fromEntries(model.stateDict()), { format: 'pt', epoch: String(epoch) });
}

export function loadBest(dir: string, model: Module): void {
  model.loadStateDict(readSafetensors(join(dir, 'best.safetensors')).tensors);
}

/** Removes what a killed run left half-written: checkpoint `.partial` files and atomic writes' `.tmp-<pid>` files. */
export function removePartial(dir: string): string[] {
  const removed: string[] = [];
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.partial') || /\.tmp-\d+$/.test(f)) {
      rmSync(join(dir, f), { force: true });
      removed.push(f);
    }
  }
  return removed;
}
