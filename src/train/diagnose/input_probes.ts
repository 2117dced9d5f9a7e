/**
 * Each modality's standalone strength, measured on its inputs before any training: a ridge
 * (least-squares) classifier on one modality's standardized, flattened samples, fitted on the
 * training split and scored on dev and test. It is the yardstick the diagnosis holds each
 * modality's unimodal accuracy under joint training against.
 *
 * What a sample's vector is: a conversation's utterance feature vector; a clip's flattened sample
 * ([C, H, W] or a fixed [T, d]); for a variable-length sequence [-1, d], its mean over time (the
 * only fixed-width summary that needs no choice of length). To stay cheap on large inputs, at most
 * `maxTrainSamples` training samples (a seeded random subset) fit the probe, and a vector wider
 * than `maxDims` values is reduced to `maxDims` by a seeded Gaussian random projection after
 * standardization (Johnson-Lindenstrauss: distances, hence linear separability, are roughly kept,
 * at no eigendecomposition's cost). The solve is RidgeProbes' (float64 normal equations, lambda
 * 1e-3 of the mean diagonal).
 */
import { ClipData } from '../../data/clip/dataset.js';
import { isVariableSequence, rowSize } from '../../data/clip/types.js';
import { ConversationData } from '../../data/conversation/dataset.js';
import type { MultimodalDataset, SplitName } from '../../data/dataset.js';
import { mulberry32, shuffled } from '../../data/split.js';
import { noGrad } from '../../engine/grad_mode.js';
import { scope } from '../../engine/scope.js';
import { type Tensor, fromTypedArray } from '../../engine/tensor.js';
import { RidgeProbes } from '../probes.js';

export interface InputProbeOptions {
  /** Training samples the probe is fitted on (a seeded random subset beyond this). Default 8000. */
  maxTrainSamples: number;
  /** Width above which inputs are randomly projected to this many dimensions. Default 1024. */
  maxDims: number;
  /** Seed of the subset and the projection. */
  seed: number;
}

export const DEFAULT_INPUT_PROBE_OPTIONS: InputProbeOptions = { maxTrainSamples: 8000, maxDims: 1024, seed: 0 };

export interface InputProbeResult {
  /** Dev accuracy of the probe. */
  dev: number;
  /** Test accuracy of the probe. */
  test: number;
  /** Values per sample before any projection. */
  inputDims: number;
  /** Dimensions the probe saw (inputDims, or maxDims after a projection). */
  probeDims: number;
  /** Training samples the probe was fitted on. */
  trainSamples: number;
}

/** One modality's samples of a split as rows of a matrix, in sample-id order. */
export interface SampleMatrix {
  x: Float32Array;
  rows: number;
  cols: number;
}

/** A split's samples of one modality as vectors (see the module comment for what a vector is). */
export function sampleMatrix(data: MultimodalDataset, split: SplitName, m: string): SampleMatrix {
  if (data instanceof ConversationData) {
    const cols = data.raw.dims[m]!;
    const dialogues = data.raw.splits[split];
    const rows = dialogues.reduce((a, d) => a + d.labels.length, 0);
    const x = new Float32Array(rows * cols);
    let at = 0;
    for (const d of dialogues) {
      x.set(d.features[m]!, at);
      at += d.labels.length * cols;
    }
    return { x, rows, cols };
  }
  if (data instanceof ClipData) {
    const shape = data.raw.shapes[m]!;
    const sp = data.raw.splits[split];
    const rows = sp.labels.length;
    const src = sp.features[m]!;
    if (!isVariableSequence(shape)) return { x: src, rows, cols: rowSize(shape) };
    const cols = shape[1]!;
    const lengths = sp.lengths[m]!;
    const x = new Float32Array(rows * cols);
    let off = 0;
    for (let i = 0; i < rows; i++) {
      const t = lengths[i]!;
      for (let s = 0; s < t; s++) for (let j = 0; j < cols; j++) x[i * cols + j]! += src[off + s * cols + j]! / t;
      off += t * cols;
    }
    return { x, rows, cols };
  }
  throw new Error(`input probes read conversation or clip data, not ${data.kind} data`);
}

/** Rows `ids` of a matrix, standardized column-wise with the given statistics. */
function standardizedRows(s: SampleMatrix, ids: ArrayLike<number> | null, mean: Float64Array, inv: Float64Array): Float32Array {
  const n = ids === null ? s.rows : ids.length;
  const d = s.cols;
  const out = new Float32Array(n * d);
  for (let k = 0; k < n; k++) {
    const base = (ids === null ? k : ids[k]!) * d;
    for (let j = 0; j < d; j++) out[k * d + j] = (s.x[base + j]! - mean[j]!) * inv[j]!;
  }
  return out;
}

/** A d x k matrix of N(0, 1/k) entries from a seeded generator (independent of libtorch's). */
function gaussianProjection(d: number, k: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(d * k);
  const scale = 1 / Math.sqrt(k);
  for (let i = 0; i < out.length; i += 2) {
    // Box-Muller: two independent normals per pair of uniforms.
    const r = Math.sqrt(-2 * Math.log(rand() + 1e-12));
    const a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a) * scale;
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(a) * scale;
  }
  return out;
}

/** Fits and scores one ridge probe per modality of the data (see the module comment). */
export function inputProbes(data: MultimodalDataset, options: Partial<InputProbeOptions> = {}): Record<string, InputProbeResult> {
  const o = { ...DEFAULT_INPUT_PROBE_OPTIONS, ...options };
  const C = data.classNames.length;
  const trainLabels = data.labels('train');
  const nTrain = trainLabels.length;
  if (nTrain === 0) throw new Error('the training split has no samples: the probes have nothing to fit');
  const subset =
    nTrain > o.maxTrainSamples
      ? Int32Array.from(
          shuffled(
            Array.from({ length: nTrain }, (_, i) => i),
            o.seed,
          )
            .slice(0, o.maxTrainSamples)
            .sort((a, b) => a - b),
        )
      : null;
  const yTrain = subset === null ? trainLabels : Int32Array.from(subset, (i) => trainLabels[i]!);
  const labelTensor = (y: Int32Array): Tensor => fromTypedArray(BigInt64Array.from(y, (v) => BigInt(v)));
  const out: Record<string, InputProbeResult> = {};
  data.modalities.forEach((m, mi) => {
    const train = sampleMatrix(data, 'train', m);
    const d = train.cols;
    // Standardize with the fitting samples' statistics.
    const mean = new Float64Array(d);
    const sq = new Float64Array(d);
    const n = yTrain.length;
    for (let k = 0; k < n; k++) {
      const base = (subset === null ? k : subset[k]!) * d;
      for (let j = 0; j < d; j++) {
        const v = train.x[base + j]!;
        mean[j] = mean[j]! + v;
        sq[j] = sq[j]! + v * v;
      }
    }
    const inv = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      mean[j] = mean[j]! / n;
      inv[j] = 1 / Math.sqrt(Math.max(0, sq[j]! / n - mean[j]! * mean[j]!) + 1e-8);
    }
    const k = d > o.maxDims ? o.maxDims : d;
    const probes = new RidgeProbes(C, n);
    try {
      const scores = scope(() =>
        noGrad(() => {
          // Each modality gets its own projection, so adding one leaves the others' results unchanged.
          const projection = k < d ? fromTypedArray(gaussianProjection(d, k, o.seed * 31 + mi + 1), [d, k]) : null;
          const matrix = (split: SplitName): Tensor => {
            const s = split === 'train' ? train : sampleMatrix(data, split, m);
            const x = fromTypedArray(standardizedRows(s, split === 'train' ? subset : null, mean, inv), [
              split === 'train' ? n : s.rows,
              d,
            ]);
            return projection ? x.matmul(projection) : x;
          };
          probes.accumulate({ [m]: matrix('train') }, labelTensor(yTrain));
          const weights = probes.fit()!;
          const score = (split: SplitName): number =>
            data.size(split) === 0 ? NaN : RidgeProbes.score(weights, { [m]: matrix(split) }, labelTensor(data.labels(split)), C)[m]!;
          return { dev: score('dev'), test: score('test') };
        }),
      );
      out[m] = { ...scores, inputDims: d, probeDims: k, trainSamples: n };
    } finally {
      probes.reset();
    }
  });
  return out;
}
