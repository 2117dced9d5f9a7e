import { mulberry32 } from '../src/data/split.js';
import type { ConversationDataset, Dialogue } from '../src/data/types.js';

/**
 * A small two-modality conversation dataset for tests: modality 'a' carries the label clearly,
 * 'b' faintly. Deterministic by seed, independent of the engine's generator.
 */
export function tinyDataset(
  seed = 1,
  o: { dialogues?: number; classes?: number; dims?: Record<string, number> } = {},
): ConversationDataset {
  const rand = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const C = o.classes ?? 3;
  const dims = o.dims ?? { a: 6, b: 5 };
  const strength: Record<string, number> = { a: 2.5, b: 0.6 };
  const means: Record<string, number[][]> = {};
  for (const m of Object.keys(dims)) means[m] = Array.from({ length: C }, () => Array.from({ length: dims[m]! }, gauss));
  const make = (n: number, prefix: string): Dialogue[] =>
    Array.from({ length: n }, (_, k) => {
      const len = 2 + Math.floor(rand() * 7);
      const labels = Int32Array.from({ length: len }, () => Math.floor(rand() * C));
      const features: Record<string, Float32Array> = {};
      for (const m of Object.keys(dims)) {
        const d = dims[m]!;
        const f = new Float32Array(len * d);
        for (let i = 0; i < len; i++) for (let j = 0; j < d; j++) f[i * d + j] = (strength[m] ?? 1) * means[m]![labels[i]!]![j]! + gauss();
        features[m] = f;
      }
      return { id: `${prefix}${k}`, features, labels, speakers: Array.from({ length: len }, (_, i) => (i % 2 ? 'F' : 'M')) };
    });
  const n = o.dialogues ?? 24;
  return {
    name: 'tiny',
    modalities: Object.keys(dims),
    dims,
    classNames: Array.from({ length: C }, (_, i) => `c${i}`),
    splits: { train: make(n, 'tr'), dev: make(Math.max(2, n >> 2), 'dv'), test: make(Math.max(2, n >> 2), 'te') },
    devSource: 'file',
  };
}
