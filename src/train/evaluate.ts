import { makeBatch, dialogueBatches } from '../data/batch.js';
import type { Dialogue } from '../data/types.js';
import * as F from '../engine/functional.js';
import { noGrad } from '../engine/grad_mode.js';
import { cat } from '../engine/ops.js';
import { keep, scope } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import type { MultimodalModel } from '../models/conversation_model.js';
import { classificationReport, disparityRatios, unimodalScores } from '../metrics/index.js';

export interface EvalOptions {
  modalities: string[];
  dims: Record<string, number>;
  batchSize: number;
  numClasses: number;
}

export interface ClassStats {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvalResult {
  /** Mean cross entropy of the fused logits over the real utterances. */
  loss: number;
  accuracy: number;
  weightedF1: number;
  macroF1: number;
  perClass: ClassStats[];
  unimodalAccuracy: Record<string, number>;
  unimodalWeightedF1: Record<string, number>;
  /** s_m = sum_i softmax(u_m,i)[y_i] over the split (methods.md). */
  unimodalScore: Record<string, number>;
  /** rho_m = s_m / min_j s_j. */
  disparityRatio: Record<string, number>;
  predictions: Int32Array;
  labels: Int32Array;
}

/** The fused and unimodal logits of every real utterance of `dialogues`, in order, without gradient. */
export function predictLogits(
  model: MultimodalModel,
  dialogues: readonly Dialogue[],
  o: EvalOptions,
): { fused: Tensor; unimodal: Record<string, Tensor>; labels: Tensor } {
  const wasTraining = model.training;
  model.eval();
  try {
    return scope(() =>
      noGrad(() => {
        const fused: Tensor[] = [];
        const labels: Tensor[] = [];
        const uni: Record<string, Tensor[]> = Object.fromEntries(o.modalities.map((m) => [m, []]));
        for (const group of dialogueBatches(dialogues, { batchSize: o.batchSize })) {
          const batch = makeBatch(group, o.modalities, o.dims);
          const out = model.forward(batch);
          fused.push(out.fused);
          labels.push(batch.labels);
          for (const m of o.modalities) uni[m]!.push(out.unimodal[m]!);
        }
        return {
          fused: keep(cat(fused, 0)),
          labels: keep(cat(labels, 0)),
          unimodal: Object.fromEntries(o.modalities.map((m) => [m, keep(cat(uni[m]!, 0))])),
        };
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

export function evaluate(model: MultimodalModel, dialogues: readonly Dialogue[], o: EvalOptions): EvalResult {
  if (dialogues.length === 0) throw new Error('evaluate: the split has no dialogues');
  const { fused, unimodal, labels } = predictLogits(model, dialogues, o);
  try {
    const y = Int32Array.from(labels.toArray());
    const pred = Int32Array.from(fused.argmax(1).toArray());
    const C = o.numClasses;
    const loss = scope(() => F.crossEntropy(fused, labels).item());
    const report = classificationReport(pred, y, { numClasses: C });
    const uniAcc: Record<string, number> = {};
    const uniF1: Record<string, number> = {};
    for (const m of o.modalities) {
      const r = classificationReport(Int32Array.from(unimodal[m]!.argmax(1).toArray()), y, { numClasses: C });
      uniAcc[m] = r.accuracy;
      uniF1[m] = r.weighted.f1;
    }
    const scores = unimodalScores(unimodal, y);
    return {
      loss,
      accuracy: report.accuracy,
      weightedF1: report.weighted.f1,
      macroF1: report.macro.f1,
      perClass: report.classes.map(({ precision, recall, f1, support }) => ({ precision, recall, f1, support })),
      unimodalAccuracy: uniAcc,
      unimodalWeightedF1: uniF1,
      unimodalScore: scores,
      disparityRatio: disparityRatios(scores),
      predictions: pred,
      labels: y,
    };
  } finally {
    fused.dispose();
    labels.dispose();
    for (const u of Object.values(unimodal)) u.dispose();
  }
}
