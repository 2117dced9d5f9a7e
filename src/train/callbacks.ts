/** Epoch-level record the loop produces (one line of metrics.jsonl). */
export interface EpochRecord {
  epoch: number;
  /** The phase the epoch belongs to ('train' when the method has one). */
  phase: string;
  /** When the epoch started (ISO 8601). */
  timestamp: string;
  /** Training time of the epoch, in seconds (evaluation and checkpointing excluded). */
  seconds: number;
  /** The whole epoch's time: training, dev evaluation, probes and the checkpoint. */
  wallSeconds: number;
  trainLoss: number;
  /** Mean of each extra loss term over the epoch's batches. */
  trainLossTerms: Record<string, number>;
  lr: number;
  dev: { loss: number; accuracy: number; weightedF1: number; macroF1: number };
  /**
   * Dev accuracy of each modality's unimodal logits: the head's scored slices (what the
   * modulation scores), or the model's own per-modality classifiers.
   */
  unimodalAccuracy: Record<string, number>;
  /** Dev accuracy of a ridge probe on each modality's detached features: its strength on its own (null when off). */
  probeAccuracy: Record<string, number> | null;
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
