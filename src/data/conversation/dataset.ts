import { type Batch, type BatchOptions, type MultimodalDataset, type SplitName, shardUnits } from '../dataset.js';
import type { ConversationDataset, Dialogue } from '../types.js';
import { type ConversationBatch, dialogueBatches, makeBatch } from './batch.js';

/**
 * Conversations (ERC) behind the sample-generic contract. A sample is an utterance; its id is its
 * position in the split with dialogues in file order. A batch holds whole dialogues (batchSize
 * counts dialogues) padded to the longest, so the encoders see each utterance in its context.
 */
export class ConversationData implements MultimodalDataset {
  readonly kind = 'conversation';
  readonly name: string;
  readonly modalities: readonly string[];
  readonly classNames: readonly string[];
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  readonly devSource: 'file' | 'train-split';
  /** Per split, the id of each dialogue's first utterance. */
  private readonly firstIds: Record<SplitName, number[]>;

  constructor(
    readonly raw: ConversationDataset,
    modalities: readonly string[] = raw.modalities,
  ) {
    for (const m of modalities) {
      if (raw.dims[m] === undefined) throw new Error(`the data has no '${m}' modality (it has ${raw.modalities.join(', ')})`);
    }
    this.name = raw.name;
    this.modalities = [...modalities];
    this.classNames = raw.classNames;
    this.shapes = Object.fromEntries(this.modalities.map((m) => [m, [raw.dims[m]!]]));
    this.devSource = raw.devSource;
    const starts = (ds: readonly Dialogue[]): number[] => {
      let k = 0;
      return ds.map((d) => ((k += d.labels.length), k - d.labels.length));
    };
    this.firstIds = { train: starts(raw.splits.train), dev: starts(raw.splits.dev), test: starts(raw.splits.test) };
  }

  /** Feature width per modality. */
  get dims(): Record<string, number> {
    return Object.fromEntries(this.modalities.map((m) => [m, this.raw.dims[m]!]));
  }

  size(split: SplitName): number {
    return this.raw.splits[split].reduce((a, d) => a + d.labels.length, 0);
  }

  labels(split: SplitName): Int32Array {
    const out = new Int32Array(this.size(split));
    let k = 0;
    for (const d of this.raw.splits[split]) {
      out.set(d.labels, k);
      k += d.labels.length;
    }
    return out;
  }

  numBatches(split: SplitName, o: BatchOptions): number {
    return Math.ceil(this.raw.splits[split].length / o.batchSize);
  }

  *batches(split: SplitName, o: BatchOptions): Iterable<ConversationBatch & Batch> {
    const dialogues = this.raw.splits[split];
    const first = this.firstIds[split];
    const order = dialogueBatches(
      dialogues.map((_, i) => i),
      o,
    );
    for (const whole of order) {
      const { units: group, replicas } = shardUnits(whole, o.shard);
      const batch: ConversationBatch & Batch = makeBatch(
        group.map((i) => dialogues[i]!),
        this.modalities,
        this.raw.dims,
        group.map((i) => first[i]!),
      );
      if (replicas > 1) batch.replicas = replicas;
      yield batch;
    }
  }

  sampleName(split: SplitName, id: number): string {
    const dialogues = this.raw.splits[split];
    const first = this.firstIds[split];
    // Binary search for the dialogue holding utterance `id`.
    let lo = 0;
    let hi = dialogues.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (first[mid]! <= id) lo = mid;
      else hi = mid - 1;
    }
    const d = dialogues[lo];
    if (d === undefined || id < 0 || id - first[lo]! >= d.labels.length) throw new RangeError(`no sample ${id} in the ${split} split`);
    return `${d.id} #${id - first[lo]!}`;
  }
}
