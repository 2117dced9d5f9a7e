/**
 * A data set: per-sample feature vectors per modality, held in memory. One file against the
 * MultimodalDataset contract; batches are built one at a time with stable sample ids.
 */
import { type Batch, type BatchOptions, type MultimodalDataset, type SplitName, data, fromTypedArray } from '../../src/index.js';

export interface VectorSplit {
  /** modality -> N x d values, row-major. */
  features: Record<string, Float32Array>;
  labels: Int32Array;
}

export class VectorDataset implements MultimodalDataset {
  readonly kind = 'vectors';
  readonly devSource = 'file' as const;
  readonly shapes: Record<string, number[]>;

  constructor(
    readonly name: string,
    readonly classNames: string[],
    readonly dims: Record<string, number>,
    private readonly splits: Record<SplitName, VectorSplit>,
  ) {
    this.shapes = Object.fromEntries(Object.entries(dims).map(([m, d]) => [m, [d]]));
  }

  get modalities(): string[] {
    return Object.keys(this.dims);
  }

  size(split: SplitName): number {
    return this.splits[split].labels.length;
  }

  labels(split: SplitName): Int32Array {
    return this.splits[split].labels;
  }

  numBatches(split: SplitName, o: BatchOptions): number {
    return Math.ceil(this.size(split) / o.batchSize);
  }

  *batches(split: SplitName, o: BatchOptions): Iterable<Batch> {
    const s = this.splits[split];
    const ids = Array.from({ length: this.size(split) }, (_, i) => i);
    const order = o.shuffleSeed === undefined ? ids : data.shuffled(ids, o.shuffleSeed);
    for (let start = 0; start < order.length; start += o.batchSize) {
      const chunk = order.slice(start, start + o.batchSize);
      const inputs: Record<string, ReturnType<typeof fromTypedArray>> = {};
      for (const [m, d] of Object.entries(this.dims)) {
        const buf = new Float32Array(chunk.length * d);
        chunk.forEach((id, k) => buf.set(s.features[m]!.subarray(id * d, (id + 1) * d), k * d));
        inputs[m] = fromTypedArray(buf, [chunk.length, d]);
      }
      yield {
        inputs,
        labels: fromTypedArray(BigInt64Array.from(chunk, (id) => BigInt(s.labels[id]!))),
        index: fromTypedArray(BigInt64Array.from(chunk, (id) => BigInt(id))),
      };
    }
  }

  sampleName(split: SplitName, id: number): string {
    return `${split}-${id}`;
  }
}
