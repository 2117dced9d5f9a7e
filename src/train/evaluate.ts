import type { SplitPredictions } from '../balance/strategy.js';
import type { MultimodalDataset, SplitName } from '../data/dataset.js';
import { batchTo } from '../data/dataset.js';
import type { Device } from '../engine/device.js';
import * as F from '../engine/functional.js';
import { noGrad } from '../engine/grad_mode.js';
import { cat } from '../engine/ops.js';
import { keep, scope } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { classificationReport, confusionMatrix, disparityRatios, unimodalScores } from '../metrics/index.js';
import type { MultimodalModel } from '../models/model.js';

export interface EvalOptions {
  /** Batch size in the data's units (dialogues for conversations). */
  batchSize: number;
  device?: Device;
  /** Called after each batch (a progress bar's tick). */
  onBatch?: () => void;
}

export interface ClassStats {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvalResult {
  /** Mean cross entropy of the fused logits over the split's samples. */
  loss: number;
  accuracy: number;
  weightedF1: number;
  macroF1: number;
  perClass: ClassStats[];
  /** Rows: true class; columns: predicted class. */
  confusion: number[][];
  /** Accuracy of each modality's unimodal logits (the head's scored slices, or the model's own classifiers). */
  unimodalAccuracy: Record<string, number>;
  unimodalWeightedF1: Record<string, number>;
  /** s_m = sum_i softmax(u_m,i)[y_i] over the split (methods.md). */
  unimodalScore: Record<string, number>;
  /** rho_m = s_m / min_j s_j over the split. */
  disparityRatio: Record<string, number>;
  predictions: Int32Array;
  labels: Int32Array;
}

/**
 * No-grad logits (and features, when the model gives them) of every sample of a split, in
 * sample-id order, with the model in eval mode; its training mode is restored after.
 */
export function predictSplit(model: MultimodalModel, data: MultimodalDataset, split: SplitName, o: EvalOptions): SplitPredictions {
  if (data.size(split) === 0) throw new Error(`the ${split} split has no samples`);
  const wasTraining = model.training;
  model.eval();
  try {
    const out = scope(() =>
      noGrad(() => {
        const fused: Tensor[] = [];
        const labels: Tensor[] = [];
        const index: Tensor[] = [];
        const uni: Record<string, Tensor[]> = Object.fromEntries(model.modalities.map((m) => [m, []]));
        const feats: Record<string, Tensor[]> = {};
        for (const raw of data.batches(split, { batchSize: o.batchSize })) {
          const batch = o.device ? batchTo(raw, o.device) : raw;
          const r = model.forward(batch);
          fused.push(r.fused);
          labels.push(batch.labels);
          index.push(batch.index);
          for (const m of model.modalities) uni[m]!.push(r.unimodal[m]!);
          for (const [m, f] of Object.entries(r.features ?? {})) (feats[m] ??= []).push(f);
          o.onBatch?.();
        }
        const keepCat = (ts: Tensor[]): Tensor => keep(cat(ts, 0));
        return {
          fused: keepCat(fused),
          labels: keepCat(labels),
          index: keepCat(index),
          unimodal: Object.fromEntries(model.modalities.map((m) => [m, keepCat(uni[m]!)])),
          features: Object.fromEntries(Object.entries(feats).map(([m, ts]) => [m, keepCat(ts)])),
        };
      }),
    );
    return {
      ...out,
      dispose() {
        for (const t of [out.fused, out.labels, out.index, ...Object.values(out.unimodal), ...Object.values(out.features)]) t.dispose();
      },
    };
  } finally {
    model.train(wasTraining);
  }
}

/** Scores a split's predictions: fused metrics, the confusion matrix, unimodal accuracies, scores and ratios. */
export function scorePredictions(p: SplitPredictions, numClasses: number): EvalResult {
  const y = Int32Array.from(p.labels.toArray());
  const pred = Int32Array.from(p.fused.argmax(1).toArray());
  const loss = scope(() => F.crossEntropy(p.fused, p.labels).item());
  const report = classificationReport(pred, y, { numClasses });
  const uniAcc: Record<string, number> = {};
  const uniF1: Record<string, number> = {};
  for (const [m, u] of Object.entries(p.unimodal)) {
    const r = classificationReport(Int32Array.from(u.argmax(1).toArray()), y, { numClasses });
    uniAcc[m] = r.accuracy;
    uniF1[m] = r.weighted.f1;
  }
  const scores = unimodalScores(p.unimodal, y);
  return {
    loss,
    accuracy: report.accuracy,
    weightedF1: report.weighted.f1,
    macroF1: report.macro.f1,
    perClass: report.classes.map(({ precision, recall, f1, support }) => ({ precision, recall, f1, support })),
    confusion: confusionMatrix(pred, y, { numClasses }),
    unimodalAccuracy: uniAcc,
    unimodalWeightedF1: uniF1,
    unimodalScore: scores,
    disparityRatio: disparityRatios(scores),
    predictions: pred,
    labels: y,
  };
}

/** Evaluates the model on one split of the data. */
export function evaluate(model: MultimodalModel, data: MultimodalDataset, split: SplitName, o: EvalOptions): EvalResult {
  const p = predictSplit(model, data, split, o);
  try {
    return scorePredictions(p, data.classNames.length);
  } finally {
    p.dispose();
  }
}
