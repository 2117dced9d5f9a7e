import type { ClipDataset, ClipSplit } from '../src/data/clip/types.js';
import { mulberry32 } from '../src/data/split.js';

/**
 * A clip data set of uniform random inputs in [-1, 1) with the given per-sample shapes and 10
 * classes, `n` training samples and 16 each for dev and test: throughput benchmarks hold it in
 * memory so that reading data costs nothing.
 */
export function randomClips(shapes: Record<string, number[]>, n: number): ClipDataset {
  const rand = mulberry32(1);
  const split = (count: number): ClipSplit => ({
    ids: Array.from({ length: count }, (_, i) => String(i)),
    labels: Int32Array.from({ length: count }, () => Math.floor(rand() * 10)),
    features: Object.fromEntries(
      Object.entries(shapes).map(([m, s]) => [
        m,
        Float32Array.from({ length: count * s.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1),
      ]),
    ),
    lengths: {},
  });
  return {
    name: 'random',
    modalities: Object.keys(shapes),
    shapes,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    splits: { train: split(n), dev: split(16), test: split(16) },
    devSource: 'file',
  };
}
