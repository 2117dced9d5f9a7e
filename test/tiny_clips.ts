import type { ClipDataset, ClipSplit } from '../src/data/clip/types.js';
import { mulberry32 } from '../src/data/split.js';

/** Clips with an image [1, 4, 4], a variable-length sequence [-1, 3] and a vector [5]. */
export function tinyClips(seed = 1, n = { train: 20, dev: 6, test: 8 }): ClipDataset {
  const rand = mulberry32(seed);
  const split = (name: string, count: number): ClipSplit => {
    const lengths = Int32Array.from({ length: count }, () => 1 + Math.floor(rand() * 5));
    const total = lengths.reduce((a, t) => a + t, 0);
    return {
      ids: Array.from({ length: count }, (_, i) => `${name}-${i}`),
      labels: Int32Array.from({ length: count }, () => Math.floor(rand() * 3)),
      features: {
        image: Float32Array.from({ length: count * 16 }, () => rand()),
        seq: Float32Array.from({ length: total * 3 }, () => rand() - 0.5),
        vec: Float32Array.from({ length: count * 5 }, () => rand()),
      },
      lengths: { seq: lengths },
    };
  };
  return {
    name: 'tiny-clips',
    modalities: ['image', 'seq', 'vec'],
    shapes: { image: [1, 4, 4], seq: [-1, 3], vec: [5] },
    classNames: ['a', 'b', 'c'],
    splits: { train: split('tr', n.train), dev: split('dv', n.dev), test: split('te', n.test) },
    devSource: 'file',
    meta: { builder: 'test' },
  };
}
