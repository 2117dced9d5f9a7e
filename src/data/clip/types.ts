import type { SplitName } from '../dataset.js';

/**
 * Clip-level data as mmbalance holds it in memory: one sample = one clip, with per modality a
 * vector [d], an image or spectrogram [C, H, W], or a sequence [T, d] whose T varies per sample.
 */
export interface ClipSplit {
  /** Sample ids (file stems, CSV ids), unique within the split. */
  ids: string[];
  /** N class indices into classNames. */
  labels: Int32Array;
  /**
   * modality -> every sample's values, row-major, one after another: N * prod(shape) values for a
   * fixed shape; for a sequence modality sum_i(T_i) * d values, with T_i in `lengths`.
   */
  features: Record<string, Float32Array>;
  /** Sequence modalities only: modality -> N lengths T_i (each >= 1). */
  lengths: Record<string, Int32Array>;
}

export interface ClipDataset {
  name: string;
  /** Modality names in a fixed order. */
  modalities: string[];
  /** Per modality, one sample's shape; a sequence is [-1, d] (T varies) or [T, d] (fixed T). */
  shapes: Record<string, number[]>;
  classNames: string[];
  splits: Record<SplitName, ClipSplit>;
  /** Where the dev split came from: the file itself, or held out of the training split. */
  devSource: 'file' | 'train-split';
  /** Free-form provenance (builder and options, source files...). */
  meta?: Record<string, string>;
}

/** True when modality m's samples are sequences of varying length (shape [-1, d]). */
export function isVariableSequence(shape: readonly number[]): boolean {
  return shape.length === 2 && shape[0] === -1;
}

/** Values per sample for a fixed shape (product of dims); for [-1, d], the per-step width d. */
export function rowSize(shape: readonly number[]): number {
  return shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
}
