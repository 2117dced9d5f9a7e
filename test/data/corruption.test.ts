import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClipData } from '../../src/data/clip/dataset.js';
import type { ClipDataset, ClipSplit } from '../../src/data/clip/types.js';
import { ConversationData } from '../../src/data/conversation/dataset.js';
import {
  type Corruption,
  type CorruptionName,
  CorruptedData,
  checkLevel,
  corruptBatch,
  corruptValues,
  frequencyAxis,
  sampleSpans,
} from '../../src/data/corruption.js';
import type { Batch } from '../../src/data/dataset.js';
import { mulberry32 } from '../../src/data/split.js';
import { tinyClips } from '../tiny_clips.js';
import { tinyDataset } from '../tiny_data.js';

/** Clips with a spectrogram-like image [1, 8, 12] (8 frequency bins), a padded sequence [-1, 6] and a vector [20]. */
function clips(n = 64): ClipData {
  const base = tinyClips(2, { train: 4, dev: 2, test: n });
  const rand = mulberry32(9);
  const split = (s: ClipSplit): ClipSplit => {
    const lengths = Int32Array.from(s.labels, () => 1 + Math.floor(rand() * 9));
    const total = lengths.reduce((a, t) => a + t, 0);
    const count = s.labels.length;
    // Sample scales spread over two decades: the SNR must follow each sample's own power.
    const scale = Float32Array.from({ length: count }, () => 10 ** (2 * rand() - 1));
    const fill = (len: number, per: (i: number) => number): Float32Array =>
      Float32Array.from({ length: len }, (_, i) => per(i) * (rand() - 0.3));
    let at = 0;
    const owner = new Int32Array(total);
    lengths.forEach((t, k) => owner.fill(k, at, (at += t)));
    return {
      ...s,
      features: {
        image: fill(count * 96, (i) => scale[Math.floor(i / 96)]!),
        seq: fill(total * 6, (i) => scale[owner[Math.floor(i / 6)]!]!),
        vec: fill(count * 20, (i) => scale[Math.floor(i / 20)]!),
      },
      lengths: { seq: lengths },
    };
  };
  const ds: ClipDataset = {
    ...base,
    shapes: { image: [1, 8, 12], seq: [-1, 6], vec: [20] },
    splits: { train: split(base.splits.train), dev: split(base.splits.dev), test: split(base.splits.test) },
  };
  return new ClipData(ds);
}

const data = clips();
const all = (b: Batch, m: string): Float32Array => b.inputs[m]!.toTypedArray() as Float32Array;
const batchOf = (ids: number[]): Batch => data.makeBatch('test', ids);
const everything = batchOf(Array.from({ length: data.size('test') }, (_, i) => i));

/** The real values of each sample, as the spans say. */
function realValues(values: Float32Array, b: Batch, m: string): Float32Array[] {
  return sampleSpans(b, m).map((s) => values.subarray(s.start, s.start + s.outer * s.bins * s.inner));
}

function meanSquare(xs: ArrayLike<number>): number {
  let a = 0;
  for (let i = 0; i < xs.length; i++) a += xs[i]! * xs[i]!;
  return a / xs.length;
}

test('gaussian: the SNR measured on the corrupted samples is the target within 0.5 dB', () => {
  for (const m of ['image', 'seq', 'vec'])
    for (const snr of [30, 20, 10, 5, 0, -5, -10]) {
      const before = all(everything, m);
      const after = corruptValues(before, sampleSpans(everything, m), m, { kind: 'gaussian', level: snr, seed: 3 });
      const clean = realValues(before, everything, m);
      const noisy = realValues(after, everything, m);
      // Noise power relative to each sample's own signal power, pooled over samples.
      let relative = 0;
      clean.forEach((x, k) => {
        const y = noisy[k]!;
        const noise = Float64Array.from(x, (v, i) => y[i]! - v);
        relative += meanSquare(noise) / meanSquare(x);
      });
      const measured = 10 * Math.log10(clean.length / relative);
      assert.ok(Math.abs(measured - snr) < 0.5, `${m} at ${snr} dB: measured ${measured.toFixed(2)} dB`);
    }
});

test('corruptions leave padded positions as they were (sequence padding, padded utterances)', () => {
  const b = data.makeBatch('test', [0, 1, 2, 3, 4, 5, 6, 7]);
  const pad = b.layout!.paddingMask.seq!.toArray();
  assert.ok(
    pad.some((p) => p === 1),
    'the batch has padding',
  );
  const before = all(b, 'seq');
  const kinds: [CorruptionName, number][] = [
    ['gaussian', -10],
    ['freqmask', 6],
    ['zero', 1],
  ];
  for (const [kind, level] of kinds) {
    const after = corruptValues(before, sampleSpans(b, 'seq'), 'seq', { kind, level, seed: 1 });
    pad.forEach((p, pos) => {
      for (let j = 0; j < 6; j++)
        if (p === 1) assert.equal(after[pos * 6 + j], before[pos * 6 + j], `${kind}: padding at step ${pos} changed`);
    });
    assert.notDeepEqual(after, before, `${kind} changed the real steps`);
  }
  // Conversations: the padded utterances of shorter dialogues.
  const conv = new ConversationData(tinyDataset(5, { dims: { a: 6, b: 5 } }));
  const cb = [...conv.batches('test', { batchSize: 6 })][0]!;
  const cpad = cb.layout.paddingMask.toArray();
  assert.ok(
    cpad.some((p) => p === 1),
    'the dialogues differ in length',
  );
  const cbefore = all(cb, 'a');
  for (const [kind, level] of kinds) {
    const after = corruptValues(cbefore, sampleSpans(cb, 'a'), 'a', { kind, level, seed: 1 });
    cpad.forEach((p, pos) => {
      for (let j = 0; j < 6; j++) {
        const same = after[pos * 6 + j] === cbefore[pos * 6 + j];
        if (p === 1) assert.ok(same, `${kind}: padded utterance position ${pos} changed`);
      }
    });
    assert.notDeepEqual(after, cbefore, `${kind} changed the utterances`);
  }
});

test('freqmask: one consecutive band per sample, narrower than F, inside the bins, over every frame, set to the mean', () => {
  const cases: [string, Batch][] = [
    ['image', everything],
    ['seq', everything],
    ['vec', everything],
  ];
  for (const [m, b] of cases) {
    const spans = sampleSpans(b, m);
    const bins = spans[0]!.bins;
    assert.equal(bins, { image: 8, seq: 6, vec: 20 }[m]);
    for (const F of [1, 3, bins]) {
      const before = all(b, m);
      const after = corruptValues(before, spans, m, { kind: 'freqmask', level: F, seed: 7 });
      let widest = 0;
      for (const s of spans) {
        const n = s.outer * s.bins * s.inner;
        let mean = 0;
        for (let i = 0; i < n; i++) mean += before[s.start + i]!;
        mean /= n;
        const masked = new Set<number>();
        for (let o = 0; o < s.outer; o++)
          for (let f = 0; f < s.bins; f++)
            for (let i = 0; i < s.inner; i++) {
              const at = s.start + (o * s.bins + f) * s.inner + i;
              if (after[at] !== before[at]) {
                masked.add(f);
                assert.equal(after[at], Math.fround(mean), `${m}: a masked value is the sample's mean`);
              }
            }
        const band = [...masked].sort((x, y) => x - y);
        if (band.length === 0) continue;
        widest = Math.max(widest, band.length);
        assert.ok(band.length < F, `${m} F=${F}: width ${band.length}`);
        assert.equal(band.at(-1)! - band[0]!, band.length - 1, `${m}: the band ${band} is consecutive`);
        assert.ok(band[0]! >= 0 && band.at(-1)! < s.bins);
        // Every frame (and channel, and time step of an image row) loses the same bins.
        for (let o = 0; o < s.outer; o++)
          for (const f of band)
            for (let i = 0; i < s.inner; i++) {
              const at = s.start + (o * s.bins + f) * s.inner + i;
              assert.equal(after[at], Math.fround(mean), `${m}: bin ${f} masked in every frame`);
            }
      }
      if (F > 1) assert.ok(widest >= Math.min(F - 1, 2), `${m} F=${F}: some band is wide (widest ${widest})`);
      // Outside the samples' real values (padding) nothing changed: checked above; the rest is unchanged by construction of `masked`.
    }
  }
});

test('zero: exactly round(fraction * N) samples of a batch are zeroed, a larger fraction a superset', () => {
  const b = batchOf(Array.from({ length: 10 }, (_, i) => i));
  let previous = new Set<number>();
  for (const fraction of [0, 0.25, 0.3, 0.5, 0.75, 1]) {
    const before = all(b, 'vec');
    const after = corruptValues(before, sampleSpans(b, 'vec'), 'vec', { kind: 'zero', level: fraction, seed: 2 });
    const zeroed = new Set<number>();
    realValues(after, b, 'vec').forEach((x, k) => {
      const untouched = realValues(before, b, 'vec')[k]!;
      if (x.every((v) => v === 0)) zeroed.add(k);
      else assert.deepEqual(x, untouched, 'the other samples are untouched');
    });
    assert.equal(zeroed.size, Math.round(fraction * 10), `fraction ${fraction}`);
    for (const k of previous) assert.ok(zeroed.has(k), `fraction ${fraction} zeroes what a smaller one did`);
    previous = zeroed;
  }
});

test('deterministic by seed, whatever the batch: a sample gets the same corruption in any batch', () => {
  for (const kind of ['gaussian', 'freqmask'] as const) {
    for (const m of ['image', 'seq', 'vec']) {
      const c: Corruption = { kind, level: kind === 'gaussian' ? 0 : 5, seed: 11 };
      const one = corruptBatch(batchOf([3, 5, 9]), m, c);
      const again = corruptBatch(batchOf([3, 5, 9]), m, c);
      assert.deepEqual(all(one, m), all(again, m), `${kind} ${m}: same seed, same values`);
      const other = corruptBatch(batchOf([3, 5, 9]), m, { ...c, seed: 12 });
      assert.notDeepEqual(all(one, m), all(other, m), `${kind} ${m}: another seed, other values`);
      // Sample 5 alone and sample 5 beside others: the same real values.
      const alone = corruptBatch(batchOf([5]), m, c);
      const beside = corruptBatch(batchOf([9, 5]), m, c);
      assert.deepEqual(realValues(all(alone, m), alone, m)[0], realValues(all(beside, m), beside, m)[1], `${kind} ${m}: batch-independent`);
    }
  }
});

test('level 0 (infinite SNR for gaussian) is the identity; corruptBatch leaves the batch it was given as it was', () => {
  const identity: Corruption[] = [
    { kind: 'gaussian', level: Infinity, seed: 1 },
    { kind: 'freqmask', level: 0, seed: 1 },
    { kind: 'zero', level: 0, seed: 1 },
  ];
  for (const c of identity)
    for (const m of ['image', 'seq', 'vec']) assert.deepEqual(all(corruptBatch(everything, m, c), m), all(everything, m), `${c.kind} ${m}`);
  const b = batchOf([0, 1, 2]);
  const before = all(b, 'image');
  const out = corruptBatch(b, 'image', { kind: 'gaussian', level: 0, seed: 1 });
  assert.deepEqual(all(b, 'image'), before, 'the original input is untouched');
  assert.notDeepEqual(all(out, 'image'), before);
  assert.equal(out.inputs.vec, b.inputs.vec, 'other modalities are shared');
});

test('frequency axes and level checks', () => {
  assert.deepEqual(frequencyAxis([1, 40, 40]), [1, 40, 40], 'log-mel images: the mel axis (H)');
  assert.deepEqual(frequencyAxis([40, 40]), [40, 40, 1], 'sequences: the feature axis');
  assert.deepEqual(frequencyAxis([-1, 6]), [1, 6, 1]);
  assert.deepEqual(frequencyAxis([100]), [1, 100, 1]);
  assert.throws(() => checkLevel('freqmask', -1, 8), /whole number of bins from 0 to 8/);
  assert.throws(() => checkLevel('freqmask', 9, 8), /from 0 to 8/);
  assert.throws(() => checkLevel('freqmask', 2.5, 8), /whole number/);
  assert.throws(() => checkLevel('zero', 1.5), /fraction of samples from 0 to 1/);
  assert.throws(() => checkLevel('gaussian', NaN), /must be a number/);
  checkLevel('gaussian', -20);
  assert.throws(() => new CorruptedData(data, 'image', { kind: 'freqmask', level: 9, seed: 0 }), /from 0 to 8/);
  assert.throws(() => new CorruptedData(data, 'audio', { kind: 'zero', level: 1, seed: 0 }), /no 'audio' modality/);
  // The wrapper yields the same batches, corrupted.
  const wrapped = new CorruptedData(data, 'vec', { kind: 'zero', level: 1, seed: 0 });
  let n = 0;
  for (const b of wrapped.batches('test', { batchSize: 16 })) {
    assert.ok(all(b, 'vec').every((v) => v === 0));
    n += b.labels.shape[0]!;
  }
  assert.equal(n, data.size('test'));
});
