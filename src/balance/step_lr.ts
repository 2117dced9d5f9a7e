import { invalid } from '../engine/errors.js';
import type { Optimizer, ParamGroup } from '../engine/optim/optimizer.js';

/**
 * Learning rates scaled for one optimizer step and put back after it: how a method applies a
 * per-modality coefficient as a learning-rate scale (which, unlike a gradient scale, acts under Adam).
 * The loop names one parameter group after each modality's encoder.
 */
export class StepLrScale {
  private pending: { group: ParamGroup<{ lr: number }>; lr: number }[] = [];

  /** Multiplies the lr of the group named after `modality` by k until restore(); returns that group. */
  scale(optimizer: Optimizer<{ lr: number }>, modality: string, k: number, option: string, value: unknown): ParamGroup<{ lr: number }> {
    const group = optimizer.paramGroups.find((g) => g.name === modality);
    if (group === undefined) {
      const names = optimizer.paramGroups.map((g) => g.name ?? '(unnamed)');
      throw invalid(
        option,
        `an optimizer with a parameter group named '${modality}' for apply 'lr' (groups: ${names.join(', ')}), or apply 'grad'`,
        value,
      );
    }
    this.pending.push({ group, lr: group.lr });
    group.lr = group.lr * k;
    return group;
  }

  /** Puts every scaled rate back, last changed first, so a group changed twice ends at its original rate. */
  restore(): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const { group, lr } = this.pending[i]!;
      group.lr = lr;
    }
    this.pending = [];
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The number-valued entries of a record (a checkpointed per-modality sum), {} for anything else. */
export function numberRecord(v: unknown): Record<string, number> {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
}
