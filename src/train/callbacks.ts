/** Epoch-level record the loop produces (one line of metrics.jsonl). */
export interface EpochRecord {
  epoch: number;
  /** Training time of the epoch, in seconds (evaluation excluded). */
  seconds: number;
  trainLoss: number;
  /** Mean of each extra loss term over the epoch's batches. */
  trainLossTerms: Record<string, number>;
  lr: number;
  dev: { loss: number; accuracy: number; weightedF1: number; macroF1: number };
  unimodalAccuracy: Record<string, number>;
  unimodalScore: Record<string, number>;
  disparityRatio: Record<string, number>;
  /** The balancing method's own per-epoch diagnostics. */
  strategy: Record<string, unknown>;
  /** Per modality, the norm of each class's weights in the fusion head (null where the head has none). */
  headWeightNorms: Record<string, number[]> | null;
}

/** Hooks into the loop; each defaults to nothing. A callback with state saves it in checkpoints. */
export abstract class Callback {
  onTrainStart(): void {}
  onEpochStart(_epoch: number): void {}
  onBatchEnd(_epoch: number, _batch: number, _loss: number): void {}
  onEpochEnd(_record: EpochRecord): void {}
  onTrainEnd(): void {}
  stateDict(): Record<string, unknown> {
    return {};
  }
  loadStateDict(_state: Record<string, unknown>): void {}
}

/** A logger: four members, as Lightning's. */
export interface Logger {
  readonly name: string;
  readonly version: string;
  logMetrics(metrics: Record<string, unknown>, step: number): void;
  logHyperparams(params: Record<string, unknown>): void;
  /** On resume: the epochs already done, so a file logger can drop lines written after the checkpoint. */
  restore?(history: readonly Record<string, unknown>[]): void;
}
