/**
 * Test-time corruptions of one modality, for robustness curves: additive white Gaussian noise at
 * an SNR, SpecAugment-style frequency masking, and zeroing a fraction of the samples.
 *
 * A corruption works on the samples a batch scores (a clip, or an utterance of a conversation)
 * and touches only their real values: sequence padding and padded utterances stay as they were.
 * It is deterministic: each sample draws from its own generator seeded by (seed, corruption,
 * modality, sample id), so the result does not depend on batch order, and every level of a curve
 * reuses the same draws (common random numbers: the noise at 5 dB is the noise at 10 dB, scaled),
 * which keeps a curve's steps from being noise of their own.
 */
import { fromTypedArray, type Tensor } from '../engine/tensor.js';
import type { ClipLayout } from './clip/dataset.js';
import type { ConversationLayout } from './conversation/batch.js';
import type { Batch, BatchOptions, MultimodalDataset, SplitName } from './dataset.js';
import { mulberry32 } from './split.js';

export type CorruptionName = 'gaussian' | 'freqmask' | 'zero';

export interface CorruptionInfo {
  /** What a level means, for tables and robustness.json. */
  levelName: string;
  /** Levels a curve uses when none are given, from mild to severe. */
  defaultLevels: readonly number[];
  /** The level that leaves the input as it is. */
  cleanLevel: number;
  help: string;
}

export const CORRUPTIONS: Readonly<Record<CorruptionName, CorruptionInfo>> = {
  gaussian: {
    levelName: 'SNR (dB)',
    defaultLevels: [20, 10, 5, 0, -5],
    cleanLevel: Infinity,
    help:
      'white Gaussian noise added to each sample at this SNR, measured on the features the model sees ' +
      "(log-mel, standardized features...): noise power = the sample's mean square / 10^(SNR/10)",
  },
  freqmask: {
    levelName: 'mask factor (bins)',
    defaultLevels: [0, 5, 10, 20, 30],
    cleanLevel: 0,
    help:
      'SpecAugment frequency masking: per sample one band of f ~ U[0, F) consecutive bins, set to the ' +
      "sample's mean; the bins are the second-to-last axis of [C, H, W] samples (the mel axis of " +
      'log-mel images), else the last axis (sequence features, vectors, image rows)',
  },
  zero: {
    levelName: 'fraction zeroed',
    defaultLevels: [0, 0.25, 0.5, 0.75, 1],
    cleanLevel: 0,
    help: "this fraction of each batch's samples (rounded) get all-zero input, as if the modality were missing",
  },
};

export const CORRUPTION_NAMES = Object.keys(CORRUPTIONS) as CorruptionName[];

export interface Corruption {
  kind: CorruptionName;
  /** SNR in dB (gaussian), mask factor F in bins (freqmask), or the fraction of samples zeroed (zero). */
  level: number;
  seed: number;
}

/**
 * Where one sample's real values lie in a modality's flattened batch input: at
 * start + o * bins * inner + f * inner + i for o < outer, f < bins, i < inner, where the `bins`
 * axis is the one frequency masking cuts across.
 */
export interface SampleSpan {
  /** The sample's id within its split (the batch's `index`). */
  id: number;
  start: number;
  outer: number;
  bins: number;
  inner: number;
}

function product(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/**
 * The frequency axis of a sample of this shape: [outer, bins, inner]. [C, H, W] (and higher):
 * H, the second-to-last axis, as torchaudio lays out spectrograms (channel, freq, time); [T, d]
 * sequences and [d] vectors: d, the last axis.
 */
export function frequencyAxis(sampleShape: readonly number[]): [number, number, number] {
  const s = sampleShape.map((d) => (d === -1 ? 1 : d));
  if (s.length === 0) return [1, 1, 1];
  if (s.length <= 2) return [product(s.slice(0, -1)), s.at(-1)!, 1];
  return [product(s.slice(0, -2)), s.at(-2)!, s.at(-1)!];
}

/** The number of frequency bins freqmask can mask in a sample of this shape (the cap on its mask factor). */
export function frequencyBins(sampleShape: readonly number[]): number {
  return frequencyAxis(sampleShape)[1];
}

function layoutKind(batch: Batch): string | undefined {
  const l = batch.layout as { kind?: unknown } | undefined;
  return typeof l?.kind === 'string' ? l.kind : undefined;
}

/** Where each scored sample of a batch keeps its real values of modality m. */
export function sampleSpans(batch: Batch, modality: string): SampleSpan[] {
  const x = batch.inputs[modality];
  if (x === undefined) throw new Error(`the batch has no '${modality}' input (it has ${Object.keys(batch.inputs).join(', ')})`);
  const shape = x.shape;
  const ids = batch.index.toArray();
  const kind = layoutKind(batch);
  if (kind === 'conversation') {
    // Utterances are the samples: one [d] vector each, at the real positions of the (B, T) grid.
    const real = (batch.layout as ConversationLayout).realIndex.toArray();
    const d = shape[2]!;
    return ids.map((id, k) => ({ id, start: real[k]! * d, outer: 1, bins: d, inner: 1 }));
  }
  if (kind === 'clip' || kind === undefined) {
    const B = shape[0]!;
    const row = product(shape.slice(1));
    const lengths = kind === 'clip' ? (batch.layout as ClipLayout).lengths[modality] : undefined;
    if (lengths !== undefined) {
      // A padded sequence (B, T, d): only the first length[k] steps of sample k are real.
      const len = lengths.toArray();
      const d = shape[2]!;
      return ids.map((id, k) => ({ id, start: k * row, outer: len[k]!, bins: d, inner: 1 }));
    }
    if (ids.length !== B) throw new Error(`the batch scores ${ids.length} samples but its '${modality}' input holds ${B}`);
    const [outer, bins, inner] = frequencyAxis(shape.slice(1));
    return ids.map((id, k) => ({ id, start: k * row, outer, bins, inner }));
  }
  throw new Error(`corruptions know clip and conversation batches, not '${kind}' ones`);
}

/** FNV-1a of a string: a modality's name as a seed word. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Mixes words into one 32-bit seed (murmur3's finalizer after each word). */
function mix(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h = Math.imul(h ^ (w >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const STREAM: Record<CorruptionName, number> = { gaussian: 1, freqmask: 2, zero: 3 };

/** The generator of one sample: the same for every level of a curve. */
function sampleRandom(c: Corruption, modality: string, id: number): () => number {
  return mulberry32(mix(c.seed, STREAM[c.kind], hashString(modality), id));
}

/** Calls fn(offset) for every real value of a sample. */
function eachValue(s: SampleSpan, fn: (at: number) => void): void {
  const n = s.outer * s.bins * s.inner;
  for (let i = 0; i < n; i++) fn(s.start + i);
}

/** Checks a level for a corruption; `bins` caps freqmask's mask factor. Throws a RangeError naming the way out. */
export function checkLevel(kind: CorruptionName, level: number, bins = Infinity): void {
  if (typeof level !== 'number' || Number.isNaN(level)) throw new RangeError(`a ${kind} level must be a number, not ${String(level)}`);
  if (kind === 'gaussian' && level === -Infinity) throw new RangeError('an SNR of -inf dB is noise alone; give a finite SNR in dB');
  if (kind === 'freqmask' && !(Number.isInteger(level) && level >= 0 && level <= bins))
    throw new RangeError(
      `a freqmask mask factor must be a whole number of bins from 0 to ${bins} (the sample's frequency bins), not ${level}`,
    );
  if (kind === 'zero' && !(level >= 0 && level <= 1))
    throw new RangeError(`a zero level is a fraction of samples from 0 to 1, not ${level}`);
}

/**
 * The values of one modality's batch input with the corruption applied to the given samples'
 * real values; everything else (padding, other positions) is copied unchanged. Pure: `values` is
 * not modified.
 */
export function corruptValues(values: Float32Array, spans: readonly SampleSpan[], modality: string, c: Corruption): Float32Array {
  for (const s of spans) checkLevel(c.kind, c.level, s.bins);
  const out = Float32Array.from(values);
  if (c.level === CORRUPTIONS[c.kind].cleanLevel) return out;
  switch (c.kind) {
    case 'gaussian': {
      const ratio = 10 ** (c.level / 10);
      for (const s of spans) {
        let power = 0;
        eachValue(s, (at) => (power += values[at]! * values[at]!));
        const n = s.outer * s.bins * s.inner;
        const sigma = Math.sqrt(power / n / ratio);
        if (!(sigma > 0)) continue;
        const rand = sampleRandom(c, modality, s.id);
        // Box-Muller, both outputs used; 1 - u keeps the log's argument in (0, 1].
        let spare: number | null = null;
        const normal = (): number => {
          if (spare !== null) {
            const z = spare;
            spare = null;
            return z;
          }
          const r = Math.sqrt(-2 * Math.log(1 - rand()));
          const t = 2 * Math.PI * rand();
          spare = r * Math.sin(t);
          return r * Math.cos(t);
        };
        eachValue(s, (at) => (out[at] = values[at]! + sigma * normal()));
      }
      return out;
    }
    case 'freqmask': {
      for (const s of spans) {
        const rand = sampleRandom(c, modality, s.id);
        // torchaudio's mask_along_axis: width f = floor(F u1), start floor((bins - F u1) u2).
        const value = c.level * rand();
        const f = Math.floor(value);
        const f0 = Math.floor((s.bins - value) * rand());
        if (f === 0) continue;
        // The sample's mean, not 0: raw log-mel features are far below 0, so a zero band would be loud.
        let sum = 0;
        eachValue(s, (at) => (sum += values[at]!));
        const mean = sum / (s.outer * s.bins * s.inner);
        for (let o = 0; o < s.outer; o++)
          for (let b = f0; b < f0 + f; b++) {
            const at = s.start + (o * s.bins + b) * s.inner;
            out.fill(mean, at, at + s.inner);
          }
      }
      return out;
    }
    case 'zero': {
      // Exactly round(fraction * N) of the batch's N samples: those with the smallest keys, so a
      // larger fraction zeroes a superset of a smaller one's samples.
      const count = Math.round(c.level * spans.length);
      const keyed = spans.map((s) => ({ s, key: sampleRandom(c, modality, s.id)() }));
      keyed.sort((a, b) => a.key - b.key || a.s.id - b.s.id);
      for (const { s } of keyed.slice(0, count)) eachValue(s, (at) => (out[at] = 0));
      return out;
    }
  }
}

/** The batch with modality m's input replaced by a corrupted copy (a new tensor; the batch's own is left as it was). */
export function corruptBatch<B extends Batch>(batch: B, modality: string, c: Corruption): B {
  const x = batch.inputs[modality];
  if (x === undefined) throw new Error(`the batch has no '${modality}' input (it has ${Object.keys(batch.inputs).join(', ')})`);
  if (x.dtype !== 'float32') throw new Error(`corruptions take float32 inputs; '${modality}' is ${x.dtype}`);
  const values = corruptValues(x.toTypedArray() as Float32Array, sampleSpans(batch, modality), modality, c);
  const corrupted: Tensor = fromTypedArray(values, x.shape, { device: x.device });
  return { ...batch, inputs: { ...batch.inputs, [modality]: corrupted } };
}

/** A data set whose batches have one modality corrupted; everything else is the wrapped data's. */
export class CorruptedData implements MultimodalDataset {
  constructor(
    readonly inner: MultimodalDataset,
    readonly modality: string,
    readonly corruption: Corruption,
  ) {
    if (!inner.modalities.includes(modality))
      throw new Error(`the data has no '${modality}' modality (it has ${inner.modalities.join(', ')})`);
    checkLevel(corruption.kind, corruption.level, frequencyBins(inner.shapes[modality]!));
  }

  get name(): string {
    return this.inner.name;
  }
  get kind(): string {
    return this.inner.kind;
  }
  get modalities(): readonly string[] {
    return this.inner.modalities;
  }
  get classNames(): readonly string[] {
    return this.inner.classNames;
  }
  get shapes(): Readonly<Record<string, readonly number[]>> {
    return this.inner.shapes;
  }
  get devSource(): 'file' | 'train-split' {
    return this.inner.devSource;
  }
  size(split: SplitName): number {
    return this.inner.size(split);
  }
  labels(split: SplitName): Int32Array {
    return this.inner.labels(split);
  }
  numBatches(split: SplitName, o: BatchOptions): number {
    return this.inner.numBatches(split, o);
  }
  *batches(split: SplitName, o: BatchOptions): Iterable<Batch> {
    for (const b of this.inner.batches(split, o)) {
      const out = corruptBatch(b, this.modality, this.corruption);
      // The clean input is no longer needed; free it now rather than at the end of the caller's scope.
      b.inputs[this.modality]!.dispose();
      yield out;
    }
  }
  sampleName(split: SplitName, id: number): string {
    return this.inner.sampleName(split, id);
  }
}
