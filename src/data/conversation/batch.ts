import { fromTypedArray, type Tensor } from '../../engine/tensor.js';
import type { Batch, BatchOptions } from '../dataset.js';
import { shuffled } from '../split.js';
import type { Dialogue } from '../types.js';

/**
 * What a conversation model needs beyond the padded features: which positions are real
 * utterances and how to pack them. Losses and metrics use only the real utterances: `realIndex`
 * selects them from the flattened (B*T) positions, in dialogue order.
 */
export interface ConversationLayout {
  kind: 'conversation';
  dialogueIds: string[];
  /** (B, T) bool, true at real utterances. */
  mask: Tensor;
  /** (B, T) bool, true at padding: PyTorch's key_padding_mask convention. */
  paddingMask: Tensor;
  /** (N) int64 positions of the real utterances in the flattened (B*T) batch. */
  realIndex: Tensor;
  /** (B*T) int64: for each padded position, its row among the N real utterances, or N at padding. */
  padMap: Tensor;
  /** Number of real utterances per dialogue. */
  lengths: number[];
  /** (B, T) int64 speaker index within the batch's speaker vocabulary (0 at padding). */
  speakers: Tensor;
  maxLength: number;
}

/** A batch of dialogues: inputs are modality -> (B, T, dim) float32, zeros at padded positions. */
export type ConversationBatch = Batch<ConversationLayout> & { layout: ConversationLayout };

/**
 * Pads dialogues to the longest one. `firstIds` gives each dialogue's first utterance id within
 * its split (the batch's `index`); without it the real utterances are numbered from 0.
 */
export function makeBatch(
  dialogues: readonly Dialogue[],
  modalities: readonly string[],
  dims: Readonly<Record<string, number>>,
  firstIds?: readonly number[],
): ConversationBatch {
  if (dialogues.length === 0) throw new Error('makeBatch needs at least one dialogue');
  const B = dialogues.length;
  const lengths = dialogues.map((d) => d.labels.length);
  const T = Math.max(...lengths);
  const inputs: Record<string, Tensor> = {};
  for (const m of modalities) {
    const d = dims[m]!;
    const buf = new Float32Array(B * T * d);
    dialogues.forEach((dlg, b) => {
      const src = dlg.features[m];
      if (src === undefined) throw new Error(`dialogue ${dlg.id} has no '${m}' features`);
      buf.set(src, b * T * d);
    });
    inputs[m] = fromTypedArray(buf, [B, T, d]);
  }
  const mask = new Uint8Array(B * T);
  const pad = new Uint8Array(B * T).fill(1);
  const N = lengths.reduce((a, b) => a + b, 0);
  const realIndex = new BigInt64Array(N);
  const labels = new BigInt64Array(N);
  const index = new BigInt64Array(N);
  const speakers = new BigInt64Array(B * T);
  const padMap = new BigInt64Array(B * T).fill(BigInt(N));
  const vocab = new Map<string, number>();
  let k = 0;
  dialogues.forEach((dlg, b) => {
    const first = firstIds?.[b] ?? k;
    for (let t = 0; t < dlg.labels.length; t++) {
      mask[b * T + t] = 1;
      pad[b * T + t] = 0;
      realIndex[k] = BigInt(b * T + t);
      padMap[b * T + t] = BigInt(k);
      labels[k] = BigInt(dlg.labels[t]!);
      index[k] = BigInt(first + t);
      const s = dlg.speakers[t] ?? '';
      if (!vocab.has(s)) vocab.set(s, vocab.size);
      speakers[b * T + t] = BigInt(vocab.get(s)!);
      k++;
    }
  });
  return {
    inputs,
    labels: fromTypedArray(labels, [N]),
    index: fromTypedArray(index, [N]),
    layout: {
      kind: 'conversation',
      dialogueIds: dialogues.map((d) => d.id),
      mask: fromTypedArray(mask, [B, T], { dtype: 'bool' }),
      paddingMask: fromTypedArray(pad, [B, T], { dtype: 'bool' }),
      realIndex: fromTypedArray(realIndex, [N]),
      padMap: fromTypedArray(padMap, [B * T]),
      lengths,
      speakers: fromTypedArray(speakers, [B, T]),
      maxLength: T,
    },
  };
}

/** Groups of dialogues, in file order or a seeded shuffle. */
export function dialogueBatches<D>(dialogues: readonly D[], o: BatchOptions): D[][] {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batchSize must be an integer >= 1, got ${o.batchSize}`);
  const order = o.shuffleSeed === undefined ? [...dialogues] : shuffled(dialogues, o.shuffleSeed);
  const out: D[][] = [];
  for (let i = 0; i < order.length; i += o.batchSize) out.push(order.slice(i, i + o.batchSize));
  return out;
}
