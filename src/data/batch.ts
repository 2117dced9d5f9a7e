import { fromTypedArray, type Tensor } from '../engine/tensor.js';
import { shuffled } from './split.js';
import type { Dialogue } from './types.js';

/**
 * A batch of dialogues padded to the longest one. Losses and metrics use only the real
 * utterances: `realIndex` selects them from the flattened (B*T) positions, in dialogue order.
 */
export interface ConversationBatch {
  dialogueIds: string[];
  /** modality -> (B, T, dim) float32, zeros at padded positions. */
  features: Record<string, Tensor>;
  /** (B, T) bool, true at real utterances. */
  mask: Tensor;
  /** (B, T) bool, true at padding: PyTorch's key_padding_mask convention. */
  paddingMask: Tensor;
  /** (N) int64 positions of the real utterances in the flattened (B*T) batch. */
  realIndex: Tensor;
  /** (B*T) int64: for each padded position, its row among the N real utterances, or N at padding. */
  padMap: Tensor;
  /** (N) int64 labels of the real utterances. */
  labels: Tensor;
  /** Number of real utterances per dialogue. */
  lengths: number[];
  /** (B, T) int64 speaker index within the batch's speaker vocabulary (0 at padding). */
  speakers: Tensor;
  maxLength: number;
}

export function makeBatch(dialogues: readonly Dialogue[], modalities: readonly string[], dims: Record<string, number>): ConversationBatch {
  if (dialogues.length === 0) throw new Error('makeBatch needs at least one dialogue');
  const B = dialogues.length;
  const lengths = dialogues.map((d) => d.labels.length);
  const T = Math.max(...lengths);
  const features: Record<string, Tensor> = {};
  for (const m of modalities) {
    const d = dims[m]!;
    const buf = new Float32Array(B * T * d);
    dialogues.forEach((dlg, b) => {
      const src = dlg.features[m];
      if (src === undefined) throw new Error(`dialogue ${dlg.id} has no '${m}' features`);
      buf.set(src, b * T * d);
    });
    features[m] = fromTypedArray(buf, [B, T, d]);
  }
  const mask = new Uint8Array(B * T);
  const pad = new Uint8Array(B * T).fill(1);
  const N = lengths.reduce((a, b) => a + b, 0);
  const realIndex = new BigInt64Array(N);
  const labels = new BigInt64Array(N);
  const speakers = new BigInt64Array(B * T);
  const padMap = new BigInt64Array(B * T).fill(BigInt(N));
  const vocab = new Map<string, number>();
  let k = 0;
  dialogues.forEach((dlg, b) => {
    for (let t = 0; t < dlg.labels.length; t++) {
      mask[b * T + t] = 1;
      pad[b * T + t] = 0;
      realIndex[k] = BigInt(b * T + t);
      padMap[b * T + t] = BigInt(k);
      labels[k] = BigInt(dlg.labels[t]!);
      const s = dlg.speakers[t] ?? '';
      if (!vocab.has(s)) vocab.set(s, vocab.size);
      speakers[b * T + t] = BigInt(vocab.get(s)!);
      k++;
    }
  });
  return {
    dialogueIds: dialogues.map((d) => d.id),
    features,
    mask: fromTypedArray(mask, [B, T], { dtype: 'bool' }),
    paddingMask: fromTypedArray(pad, [B, T], { dtype: 'bool' }),
    realIndex: fromTypedArray(realIndex, [N]),
    padMap: fromTypedArray(padMap, [B * T]),
    labels: fromTypedArray(labels, [N]),
    lengths,
    speakers: fromTypedArray(speakers, [B, T]),
    maxLength: T,
  };
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle dialogue order with this seed (training); keep file order when undefined. */
  shuffleSeed?: number;
}

/** Groups of dialogues, in file order or a seeded shuffle. */
export function dialogueBatches(dialogues: readonly Dialogue[], o: BatchOptions): Dialogue[][] {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batchSize must be an integer >= 1, got ${o.batchSize}`);
  const order = o.shuffleSeed === undefined ? [...dialogues] : shuffled(dialogues, o.shuffleSeed);
  const out: Dialogue[][] = [];
  for (let i = 0; i < order.length; i += o.batchSize) out.push(order.slice(i, i + o.batchSize));
  return out;
}
