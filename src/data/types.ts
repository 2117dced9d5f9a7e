/**
 * Conversation (ERC) data as mmbalance holds it in memory: dialogues of utterances, each with
 * one feature vector per named modality, a label and a speaker. Features are stored per dialogue
 * and modality as one row-major Float32Array (N utterances x dim), ready to become a tensor.
 */
export interface Dialogue {
  id: string;
  /** modality name -> N x dims[modality] values, row-major. */
  features: Record<string, Float32Array>;
  /** N class indices into the dataset's classNames. */
  labels: Int32Array;
  /** N speaker names ('M'/'F', or a name or index as text). */
  speakers: string[];
  /** N utterance texts, when the source has them. */
  sentences?: string[];
}

import type { SplitName } from './dataset.js';

export { type SplitName, SPLITS } from './dataset.js';

export interface ConversationDataset {
  /** A short name for reports (a file name, 'synthetic-iemocap'...). */
  name: string;
  /** Modality names in a fixed order (default text, audio, visual). */
  modalities: string[];
  /** Feature dimension of each modality. */
  dims: Record<string, number>;
  classNames: string[];
  splits: Record<SplitName, Dialogue[]>;
  /** Where the dev split came from: the file itself, or held out of the training dialogues. */
  devSource: 'file' | 'train-split';
  /** Free-form provenance: the reader and its options, the generator and its seed... */
  meta?: Record<string, string>;
}

export function utteranceCount(d: Dialogue): number {
  return d.labels.length;
}

export function splitUtteranceCount(ds: ConversationDataset, split: SplitName): number {
  return ds.splits[split].reduce((a, d) => a + d.labels.length, 0);
}
