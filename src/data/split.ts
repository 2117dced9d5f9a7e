import type { ConversationDataset, Dialogue } from './types.js';

/** A small seeded PRNG (mulberry32): data splits must not depend on libtorch's generator state. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Holds out `fraction` of the training dialogues as the dev split (at least one): chosen by a
 * seeded shuffle, or the first ones in file order ('first', as the Ada2I code does for MELD).
 */
export function holdOutDev(
  ds: ConversationDataset,
  o: { fraction?: number; seed?: number; mode?: 'shuffle' | 'first' } = {},
): ConversationDataset {
  const fraction = o.fraction ?? 0.1;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`the dev fraction must be in (0, 1), got ${fraction}`);
  const train = ds.splits.train;
  if (train.length < 2) throw new Error(`cannot hold out a dev split from ${train.length} training dialogue(s); give the data a dev split`);
  const n = Math.max(1, Math.round(train.length * fraction));
  const order: Dialogue[] = (o.mode ?? 'shuffle') === 'first' ? [...train] : shuffled(train, o.seed ?? 0);
  const dev = new Set(order.slice(0, n));
  return {
    ...ds,
    splits: { train: train.filter((d) => !dev.has(d)), dev: train.filter((d) => dev.has(d)), test: ds.splits.test },
    devSource: 'train-split',
  };
}
