import type { LabelsInput, PredsInput } from './inputs.js';

/**
 * A metric over a stream of batches: `update` folds a batch into the state, `compute` reads the
 * value off it, `reset` starts over. The state only sums, so updating batch by batch gives what
 * one update on the concatenated batches gives.
 */
export interface Metric<R = unknown> {
  readonly name: string;
  /** true/false for scores to rank by (early stopping asks); null for a non-scalar like a confusion matrix. */
  readonly higherIsBetter: boolean | null;
  update(preds: PredsInput, target: LabelsInput): void;
  compute(): R;
  reset(): void;
}

/**
 * A metric declares its initial state, `update` and `compute`; `reset` comes free (the state is
 * built again on first use after it).
 */
export abstract class StatefulMetric<S, R> implements Metric<R> {
  abstract readonly name: string;
  abstract readonly higherIsBetter: boolean | null;
  private current: S | undefined;

  protected abstract initialState(): S;
  abstract update(preds: PredsInput, target: LabelsInput): void;
  abstract compute(): R;

  protected get state(): S {
    return (this.current ??= this.initialState());
  }
  protected set state(s: S) {
    this.current = s;
  }
  reset(): void {
    this.current = undefined;
  }
}
