import type { SplitPredictions } from '../balance/strategy.js';
import type { MultimodalDataset, SplitName } from '../data/dataset.js';
import { noGrad } from '../engine/grad_mode.js';
import { scope } from '../engine/scope.js';
import type { Tensor } from '../engine/tensor.js';
import { readSafetensors, saveSafetensors } from '../io/safetensors.js';

/**
 * predictions.safetensors: what every figure of a finished run is drawn from. Per split
 * (`dev`, `test`): `<split>.probs` (N, C) fused probabilities, `<split>.unimodal.<m>` (N, C) each
 * modality's probabilities, `<split>.label` (N) and `<split>.index` (N) the sample ids (int64).
 * Metadata: classNames and modalities as JSON, and `<split>.names`, each sample's name.
 */
export function savePredictions(path: string, preds: Partial<Record<SplitName, SplitPredictions>>, data: MultimodalDataset): void {
  scope(() =>
    noGrad(() => {
      const tensors: Record<string, Tensor> = {};
      const metadata: Record<string, string> = {
        format: 'mmbalance.predictions.v1',
        classNames: JSON.stringify(data.classNames),
        modalities: JSON.stringify(Object.keys(Object.values(preds)[0]?.unimodal ?? {})),
      };
      for (const [split, p] of Object.entries(preds) as [SplitName, SplitPredictions][]) {
        tensors[`${split}.probs`] = p.fused.float().softmax(1).cpu();
        for (const [m, u] of Object.entries(p.unimodal)) tensors[`${split}.unimodal.${m}`] = u.float().softmax(1).cpu();
        tensors[`${split}.label`] = p.labels.cpu();
        tensors[`${split}.index`] = p.index.cpu();
        const ids = p.index.toArray();
        metadata[`${split}.names`] = JSON.stringify(ids.map((i) => data.sampleName(split, i)));
      }
      saveSafetensors(path, tensors, metadata);
    }),
  );
}

export interface LoadedPredictions {
  classNames: string[];
  modalities: string[];
  splits: Partial<Record<SplitName, { probs: Tensor; unimodal: Record<string, Tensor>; label: Tensor; index: Tensor; names: string[] }>>;
}

/** Reads a predictions file back. */
export function loadPredictions(path: string): LoadedPredictions {
  const { tensors: map, metadata } = readSafetensors(path);
  const tensors = Object.fromEntries(map);
  if (metadata.format !== 'mmbalance.predictions.v1') throw new Error(`${path} is not an mmbalance predictions file`);
  const modalities = JSON.parse(metadata.modalities ?? '[]') as string[];
  const splits: LoadedPredictions['splits'] = {};
  for (const split of ['train', 'dev', 'test'] as SplitName[]) {
    const probs = tensors[`${split}.probs`];
    if (!probs) continue;
    splits[split] = {
      probs,
      unimodal: Object.fromEntries(modalities.map((m) => [m, tensors[`${split}.unimodal.${m}`]!])),
      label: tensors[`${split}.label`]!,
      index: tensors[`${split}.index`]!,
      names: JSON.parse(metadata[`${split}.names`] ?? '[]') as string[],
    };
  }
  return { classNames: JSON.parse(metadata.classNames ?? '[]') as string[], modalities, splits };
}
