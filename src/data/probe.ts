/**
 * A linear probe of one modality: multinomial logistic regression on single utterance features
 * (standardised with the training split's statistics), trained on 'train' with Adam on shuffled
 * mini-batches, scored on 'test'. It measures how much a modality tells about the label on its own,
 * without any context, and is how the synthetic data's informativeness is calibrated.
 */
import { invalid } from '../engine/errors.js';
import { f1Score } from '../metrics/functional/precision_recall_f1.js';
import { F, fromTypedArray, noGrad, optim, scope, type Tensor, zeros } from '../engine/index.js';
import { mulberry32 } from './split.js';
import type { ConversationDataset, Dialogue, SplitName } from './types.js';

export interface ProbeOptions {
  /** Passes over the training utterances. Default 30. */
  epochs: number;
  /** Adam's learning rate. Default 0.002. */
  lr: number;
  /** Seed of the mini-batch order (weights start at zero, so nothing else is random). Default 0. */
  seed: number;
  /** Utterances per step. Default 256. */
  batchSize: number;
  /** Adam's L2 weight decay (keeps the fit stable in the number of epochs). Default 0.05. */
  weightDecay: number;
}

export interface ProbeResult {
  /** Test weighted F1: sum over classes of support_c * F1_c / N. */
  weightedF1: number;
  /** Test accuracy. */
  accuracy: number;
}

function stack(dialogues: readonly Dialogue[], modality: string, dim: number): { x: Float32Array; y: Int32Array } {
  const n = dialogues.reduce((a, d) => a + d.labels.length, 0);
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  let row = 0;
  for (const d of dialogues) {
    const f = d.features[modality];
    if (f === undefined || f.length !== d.labels.length * dim) {
      throw invalid(`features of dialogue ${d.id}`, `${d.labels.length} x ${dim} values of modality '${modality}'`, f?.length ?? 'none');
    }
    x.set(f, row * dim);
    y.set(d.labels, row);
    row += d.labels.length;
  }
  return { x, y };
}

function checkProbe(o: ProbeOptions): ProbeOptions {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw invalid('probe epochs', 'an integer >= 1', o.epochs);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw invalid('probe lr', 'a positive finite number', o.lr);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw invalid('probe seed', 'an integer >= 0', o.seed);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw invalid('probe batchSize', 'an integer >= 1', o.batchSize);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) throw invalid('probe weightDecay', 'a finite number >= 0', o.weightDecay);
  return o;
}

/**
 * Trains a logistic regression on `modality` alone (train split) and scores it on the test split.
 * Deterministic for a given seed and thread count.
 */
export function linearProbe(
  ds: ConversationDataset,
  modality: string,
  options: Partial<ProbeOptions> = {},
  splits: { train: SplitName; test: SplitName } = { train: 'train', test: 'test' },
): ProbeResult {
  const o = checkProbe({ epochs: 30, lr: 0.002, seed: 0, batchSize: 256, weightDecay: 0.05, ...options });
  if (!ds.modalities.includes(modality)) throw invalid('modality', `one of ${ds.modalities.map((m) => `'${m}'`).join(', ')}`, modality);
  const dim = ds.dims[modality];
  if (dim === undefined || !Number.isInteger(dim) || dim < 1) throw invalid(`dims.${modality}`, 'a positive integer', dim);
  const C = ds.classNames.length;
  const train = stack(ds.splits[splits.train], modality, dim);
  const test = stack(ds.splits[splits.test], modality, dim);
  const n = train.y.length;
  if (n === 0) throw invalid(`the ${splits.train} split`, 'at least one utterance', 0);
  if (test.y.length === 0) throw invalid(`the ${splits.test} split`, 'at least one utterance', 0);

  // Standardise with the training statistics.
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const v = train.x[i * dim + j]!;
      mean[j] = mean[j]! + v;
      sq[j] = sq[j]! + v * v;
    }
  }
  const inv = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    mean[j] = mean[j]! / n;
    const variance = Math.max(0, sq[j]! / n - mean[j]! * mean[j]!);
    inv[j] = 1 / Math.sqrt(variance + 1e-8);
  }
  const standardise = (x: Float32Array): void => {
    for (let i = 0; i < x.length; i += dim) for (let j = 0; j < dim; j++) x[i + j] = (x[i + j]! - mean[j]!) * inv[j]!;
  };
  standardise(train.x);
  standardise(test.x);

  return scope(() => {
    const X = fromTypedArray(train.x, [n, dim]);
    const Y = fromTypedArray(
      BigInt64Array.from(train.y, (v) => BigInt(v)),
      [n],
    );
    const W = zeros([C, dim], { requiresGrad: true });
    const b = zeros([C], { requiresGrad: true });
    const opt = new optim.Adam([W, b], { lr: o.lr, weightDecay: o.weightDecay });
    const rand = mulberry32(o.seed);
    const order = new BigInt64Array(n);
    for (let i = 0; i < n; i++) order[i] = BigInt(i);
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      for (let start = 0; start < n; start += o.batchSize) {
        scope(() => {
          const idx = fromTypedArray(order.slice(start, Math.min(n, start + o.batchSize)));
          const loss = F.crossEntropy(F.linear(X.indexSelect(0, idx), W, b), Y.indexSelect(0, idx));
          opt.zeroGrad();
          loss.backward();
          opt.step();
        });
      }
    }
    const pred = noGrad(() => {
      const logits: Tensor = F.linear(fromTypedArray(test.x, [test.y.length, dim]), W, b);
      return Array.from(logits.argmax(1).toTypedArray() as BigInt64Array, Number);
    });
    opt.resetState();
    let correct = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === test.y[i]) correct++;
    return { weightedF1: f1Score(pred, test.y, { numClasses: C, average: 'weighted' }), accuracy: correct / pred.length };
  });
}
