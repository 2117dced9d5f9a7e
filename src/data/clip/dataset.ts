import { fromTypedArray, type Tensor } from '../../engine/tensor.js';
import { type Batch, type BatchOptions, type MultimodalDataset, type SplitName, shardUnits } from '../dataset.js';
import { shuffled } from '../split.js';
import { type ClipDataset, type ClipSplit, isVariableSequence, rowSize } from './types.js';

/** What a clip model needs beyond the inputs: for variable-length sequences, their lengths and padding. */
export interface ClipLayout {
  kind: 'clip';
  /** Variable-length modalities: (N) int64 lengths. */
  lengths: Record<string, Tensor>;
  /** Variable-length modalities: (N, T_max) bool, true at padding (PyTorch's key_padding_mask). */
  paddingMask: Record<string, Tensor>;
}

/**
 * Clips behind the sample-generic contract: a sample is a clip, its id its position in the
 * split. Inputs per modality are (N, ...shape); variable-length sequences are padded with zeros
 * to the batch's longest, with lengths and masks in the layout.
 */
export class ClipData implements MultimodalDataset {
  readonly kind = 'clip';
  readonly name: string;
  readonly modalities: readonly string[];
  readonly classNames: readonly string[];
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  readonly devSource: 'file' | 'train-split';
  /** Per split and variable-length modality, each sample's first value's offset. */
  private readonly offsets: Record<SplitName, Record<string, Float64Array>>;

  constructor(
    readonly raw: ClipDataset,
    modalities: readonly string[] = raw.modalities,
  ) {
    for (const m of modalities)
      if (!raw.modalities.includes(m)) throw new Error(`the data has no '${m}' modality (it has ${raw.modalities.join(', ')})`);
    this.name = raw.name;
    this.modalities = [...modalities];
    this.classNames = raw.classNames;
    this.shapes = Object.fromEntries(this.modalities.map((m) => [m, raw.shapes[m]!]));
    this.devSource = raw.devSource;
    const offsets = (sp: ClipSplit): Record<string, Float64Array> => {
      const out: Record<string, Float64Array> = {};
      for (const m of this.modalities) {
        if (!isVariableSequence(raw.shapes[m]!)) continue;
        const d = raw.shapes[m]![1]!;
        const lengths = sp.lengths[m]!;
        const o = new Float64Array(lengths.length + 1);
        for (let i = 0; i < lengths.length; i++) o[i + 1] = o[i]! + lengths[i]! * d;
        out[m] = o;
      }
      return out;
    };
    this.offsets = { train: offsets(raw.splits.train), dev: offsets(raw.splits.dev), test: offsets(raw.splits.test) };
  }

  size(split: SplitName): number {
    return this.raw.splits[split].labels.length;
  }

  labels(split: SplitName): Int32Array {
    return this.raw.splits[split].labels;
  }

  numBatches(split: SplitName, o: BatchOptions): number {
    return Math.ceil(this.size(split) / o.batchSize);
  }

  *batches(split: SplitName, o: BatchOptions): Iterable<Batch<ClipLayout>> {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batchSize must be an integer >= 1, got ${o.batchSize}`);
    const n = this.size(split);
    const ids = Array.from({ length: n }, (_, i) => i);
    const order = o.shuffleSeed === undefined ? ids : shuffled(ids, o.shuffleSeed);
    for (let start = 0; start < n; start += o.batchSize) {
      const { units, replicas } = shardUnits(order.slice(start, start + o.batchSize), o.shard);
      const batch = this.makeBatch(split, units);
      if (replicas > 1) batch.replicas = replicas;
      yield batch;
    }
  }

  /** The batch of the given sample ids, in that order. */
  makeBatch(split: SplitName, ids: readonly number[]): Batch<ClipLayout> {
    const sp = this.raw.splits[split];
    const B = ids.length;
    const inputs: Record<string, Tensor> = {};
    const layout: ClipLayout = { kind: 'clip', lengths: {}, paddingMask: {} };
    for (const m of this.modalities) {
      const shape = this.shapes[m]!;
      const src = sp.features[m]!;
      if (isVariableSequence(shape)) {
        const d = shape[1]!;
        const lengths = sp.lengths[m]!;
        const off = this.offsets[split][m]!;
        const T = Math.max(...ids.map((i) => lengths[i]!));
        const buf = new Float32Array(B * T * d);
        const pad = new Uint8Array(B * T).fill(1);
        ids.forEach((id, k) => {
          const t = lengths[id]!;
          buf.set(src.subarray(off[id]!, off[id]! + t * d), k * T * d);
          pad.fill(0, k * T, k * T + t);
        });
        inputs[m] = fromTypedArray(buf, [B, T, d]);
        layout.lengths[m] = fromTypedArray(BigInt64Array.from(ids, (id) => BigInt(lengths[id]!)));
        layout.paddingMask[m] = fromTypedArray(pad, [B, T], { dtype: 'bool' });
      } else {
        const row = rowSize(shape);
        const buf = new Float32Array(B * row);
        ids.forEach((id, k) => buf.set(src.subarray(id * row, (id + 1) * row), k * row));
        inputs[m] = fromTypedArray(buf, [B, ...shape]);
      }
    }
    return {
      inputs,
      labels: fromTypedArray(BigInt64Array.from(ids, (id) => BigInt(sp.labels[id]!))),
      index: fromTypedArray(BigInt64Array.from(ids, (id) => BigInt(id))),
      layout,
    };
  }

  sampleName(split: SplitName, id: number): string {
    const name = this.raw.splits[split].ids[id];
    if (name === undefined) throw new RangeError(`no sample ${id} in the ${split} split`);
    return name;
  }
}

/** Holds out `fraction` of the training clips (seeded) as dev when the data has none. */
export function holdOutClipDev(ds: ClipDataset, o: { fraction: number; seed: number }): ClipDataset {
  const train = ds.splits.train;
  const n = train.labels.length;
  if (!(o.fraction > 0 && o.fraction < 1)) throw new Error(`the dev fraction must be in (0, 1), got ${o.fraction}`);
  if (n < 2) throw new Error(`cannot hold out a dev split from ${n} training clip(s); give the data a dev split`);
  const k = Math.max(1, Math.round(n * o.fraction));
  const dev = new Set(
    shuffled(
      Array.from({ length: n }, (_, i) => i),
      o.seed,
    ).slice(0, k),
  );
  const pick = (keep: (i: number) => boolean): ClipSplit => {
    const idx = Array.from({ length: n }, (_, i) => i).filter(keep);
    const features: Record<string, Float32Array> = {};
    const lengths: Record<string, Int32Array> = {};
    for (const m of ds.modalities) {
      const shape = ds.shapes[m]!;
      const src = train.features[m]!;
      if (isVariableSequence(shape)) {
        const d = shape[1]!;
        const ls = train.lengths[m]!;
        const off = new Float64Array(n + 1);
        for (let i = 0; i < n; i++) off[i + 1] = off[i]! + ls[i]! * d;
        const out = new Float32Array(idx.reduce((a, i) => a + ls[i]! * d, 0));
        let at = 0;
        for (const i of idx) {
          out.set(src.subarray(off[i]!, off[i + 1]!), at);
          at += ls[i]! * d;
        }
        features[m] = out;
        lengths[m] = Int32Array.from(idx, (i) => ls[i]!);
      } else {
        const row = rowSize(shape);
        const out = new Float32Array(idx.length * row);
        idx.forEach((i, k2) => out.set(src.subarray(i * row, (i + 1) * row), k2 * row));
        features[m] = out;
      }
    }
    return { ids: idx.map((i) => train.ids[i]!), labels: Int32Array.from(idx, (i) => train.labels[i]!), features, lengths };
  };
  return {
    ...ds,
    splits: { train: pick((i) => !dev.has(i)), dev: pick((i) => dev.has(i)), test: ds.splits.test },
    devSource: 'train-split',
  };
}
