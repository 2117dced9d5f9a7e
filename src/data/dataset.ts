import type { Device } from '../engine/device.js';
import { Tensor } from '../engine/tensor.js';

export type SplitName = 'train' | 'dev' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'dev', 'test'];

/**
 * One step's worth of samples, whatever the data: inputs keyed by modality (BalanceMM's dicts),
 * labels, and each sample's stable id within its split, so a method can look up per-sample state
 * (a GMM posterior, say) and a finished run can say which prediction belongs to which sample.
 */
export interface Batch<L = unknown> {
  /** modality -> a tensor whose first dimension is the batch (its layout is the model family's business). */
  inputs: Record<string, Tensor>;
  /** (N) int64 class indices, one per scored sample. */
  labels: Tensor;
  /** (N) int64 sample ids within the split, aligned with `labels`. */
  index: Tensor;
  /** What a model family needs beyond the inputs: a conversation's padding mask and packing, say. */
  layout?: L;
  /**
   * Data-parallel training: how many workers hold this same batch (a global batch with fewer
   * units than workers is given whole to each). 1, or absent, otherwise.
   */
  replicas?: number;
}

export interface BatchOptions {
  /** Units per batch: samples for clips, dialogues for conversations. */
  batchSize: number;
  /** Shuffle with this seed (training); file order when undefined. */
  shuffleSeed?: number;
  /** Data-parallel training: yield only this worker's part of each global batch (see shardUnits). */
  shard?: Shard;
}

/** One worker of `count` in data-parallel training. */
export interface Shard {
  rank: number;
  count: number;
}

/**
 * A worker's part of one global batch's units (samples or dialogues): contiguous runs whose sizes
 * differ by at most one, so the workers' parts put together, in rank order, are the batch. A batch
 * with fewer units than workers is given whole to every worker (`replicas` = count), so no worker
 * ever has an empty step; the loop's gradient averaging then weighs each copy 1/count.
 */
export function shardUnits<T>(units: readonly T[], shard: Shard | undefined): { units: T[]; replicas: number } {
  if (shard === undefined || shard.count === 1) return { units: [...units], replicas: 1 };
  if (units.length < shard.count) return { units: [...units], replicas: shard.count };
  const base = Math.floor(units.length / shard.count);
  const extra = units.length % shard.count;
  const start = shard.rank * base + Math.min(shard.rank, extra);
  return { units: units.slice(start, start + base + (shard.rank < extra ? 1 : 0)), replicas: 1 };
}

/**
 * What the training loop, evaluation, prediction and every method see of a data set. A data set
 * is one implementation of this (conversations, clips); models know the kinds they accept.
 */
export interface MultimodalDataset {
  /** A short name for logs and reports. */
  readonly name: string;
  /** The family of layout its batches carry ('conversation', 'clip'): what a model recipe checks. */
  readonly kind: string;
  /** Modality names in a fixed order. */
  readonly modalities: readonly string[];
  readonly classNames: readonly string[];
  /** Per modality, one sample's shape: [d], [T, d] with T = -1 when it varies, or [C, H, W]. */
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  /** Where the dev split came from: the file itself, or held out of the training split. */
  readonly devSource: 'file' | 'train-split';
  /** Scored samples in a split (utterances for conversations). */
  size(split: SplitName): number;
  /** Every label of a split, by sample id. */
  labels(split: SplitName): Int32Array;
  /** How many batches `batches` yields. */
  numBatches(split: SplitName, o: BatchOptions): number;
  /** Batches built one at a time, so only the current one holds native memory. */
  batches(split: SplitName, o: BatchOptions): Iterable<Batch>;
  /** A human-readable name of one sample ('Ses05F_impro01 #3', a file name...). */
  sampleName(split: SplitName, id: number): string;
}

/** The same batch with every tensor (inputs, labels, index and the layout's own) on `device`. */
export function batchTo<B extends Batch>(batch: B, device: Device): B {
  if (batch.labels.device === device) return batch;
  const move = (t: Tensor): Tensor => t.to({ device });
  const layout =
    batch.layout && typeof batch.layout === 'object'
      ? Object.fromEntries(Object.entries(batch.layout).map(([k, v]) => [k, v instanceof Tensor ? move(v) : v]))
      : batch.layout;
  return {
    ...batch,
    inputs: Object.fromEntries(Object.entries(batch.inputs).map(([m, t]) => [m, move(t)])),
    labels: move(batch.labels),
    index: move(batch.index),
    layout,
  };
}
