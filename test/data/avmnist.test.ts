import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ArgumentError } from '../../src/engine/errors.js';
import { DatasetError } from '../../src/data/validate.js';
import { logMel, readWav, signalPower, WavError } from '../../src/data/clip/audio.js';
import {
  DEFAULT_AVMNIST_OPTIONS,
  FSDD_CREDIT,
  MNIST_CLASS_COUNTS,
  SPEAKER_SPLIT,
  blurImage,
  buildAvMnist,
  imageSplitBounds,
  loadMnist,
  noisyRecording,
  parseRecordingName,
  resolveAvMnistOptions,
  type AvMnistOptions,
} from '../../src/data/clip/avmnist.js';
import { fitPca, leadingComponentsFor, removeComponents, symmetricEigen } from '../../src/data/clip/pca.js';
import type { ClipDataset } from '../../src/data/clip/types.js';
import { mulberry32 } from '../../src/data/split.js';
import { packageRoot } from '../helpers.js';

const FSDD = join(packageRoot(), '..', 'shared', 'data', 'fsdd', 'recordings');
const SPLITS = ['train', 'dev', 'test'] as const;
const skip = existsSync(FSDD) ? false : `the Free Spoken Digit Dataset is not at ${FSDD}`;

// The digit of image k (global index in package order), from the published class counts alone.
const starts = MNIST_CLASS_COUNTS.map((_, d) => MNIST_CLASS_COUNTS.slice(0, d).reduce((a, b) => a + b, 0));
function imageDigit(k: number): number {
  let d = 9;
  while (starts[d]! > k) d--;
  return d;
}

function parseId(id: string): { image: number; stem: string; digit: number; speaker: string; index: number } {
  const m = /^img(\d{5})\+((\d)_([a-z]+)_(\d+))$/.exec(id);
  assert.ok(m, `id ${id}`);
  return { image: Number(m[1]), stem: m[2]!, digit: Number(m[3]), speaker: m[4]!, index: Number(m[5]) };
}

/** Total variance (sum of per-pixel variances) of rows 0..n-1 of 784 values. */
function totalVariance(x: Float32Array, n: number): number {
  let total = 0;
  for (let j = 0; j < 784; j++) {
    let s = 0;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i * 784 + j]!;
      s += v;
      ss += v * v;
    }
    total += (ss - (s * s) / n) / (n - 1);
  }
  return total;
}

// Built once and shared: the standard setting, and a few variants chosen so that every
// comparison below isolates one option.
const builds: Record<string, ClipDataset> = {};
const progress: [number, number][] = [];
const buildMs: Record<string, number> = {};
function build(name: string, o: Partial<AvMnistOptions>): ClipDataset {
  if (builds[name] === undefined) {
    const t0 = performance.now();
    builds[name] = buildAvMnist({ fsddDir: FSDD, ...o }, name === 'standard' ? (d, t) => progress.push([d, t]) : undefined);
    buildMs[name] = performance.now() - t0;
  }
  return builds[name]!;
}
const standard = (): ClipDataset => build('standard', {});
// Same seed and pairing as standard, clean images, sequence form.
const cleanSequence = (): ClipDataset => build('cleanSequence', { form: 'sequence', imagePcaRemoval: 0 });
// Another seed with every noise source on, built twice.
const NOISY: Partial<AvMnistOptions> = { seed: 7, imagePcaRemoval: 0, imageBlur: 1, imageNoise: 0.05, audioSnrDb: 5 };
const noisyA = (): ClipDataset => build('noisyA', NOISY);
const noisyB = (): ClipDataset => build('noisyB', NOISY);
const byIndex = (): ClipDataset => build('byIndex', { audioSplit: 'index', imagePcaRemoval: 0 });

describe('buildAvMnist on the real FSDD folder', { skip }, () => {
  test('the standard setting builds in under 30 s and reports progress', () => {
    const ds = standard();
    assert.ok(buildMs.standard! < 30000, `built in ${buildMs.standard!.toFixed(0)} ms`);
    assert.ok(progress.length > 100);
    const total = progress[0]![1];
    assert.deepEqual(progress[progress.length - 1], [total, total]);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0]);
    assert.equal(ds.name, 'avmnist');
  });

  test('shapes, classes, provenance', () => {
    const ds = standard();
    assert.deepEqual(ds.modalities, ['audio', 'image']);
    assert.deepEqual(ds.shapes, { audio: [1, 40, 40], image: [1, 28, 28] });
    assert.deepEqual(ds.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(ds.devSource, 'file');
    const meta = ds.meta!;
    assert.equal(meta.fsddFiles, '3000');
    assert.equal(meta.seed, '0');
    assert.equal(meta.form, 'image');
    assert.equal(meta.audioSplit, 'speaker');
    assert.equal(meta.imagePcaRemoval, '0.75');
    assert.equal(meta.audioSnrDb, 'null');
    assert.equal(meta.creditAudio, FSDD_CREDIT);
    assert.match(meta.creditAudio!, /Zohar Jackson/);
    assert.match(meta.creditImages!, /MNIST/);
    for (const s of SPLITS) {
      const sp = ds.splits[s];
      const n = sp.ids.length;
      assert.equal(sp.labels.length, n);
      assert.equal(sp.features.audio!.length, n * 1600);
      assert.equal(sp.features.image!.length, n * 784);
      assert.deepEqual(sp.lengths, {});
    }
  });

  test('split sizes follow 70/10/20 per digit, rounded', () => {
    const ds = standard();
    const want = { train: 0, dev: 0, test: 0 };
    for (const n of MNIST_CLASS_COUNTS) {
      const a = Math.round(0.7 * n);
      const b = Math.round(0.8 * n);
      want.train += a;
      want.dev += b - a;
      want.test += n - b;
      assert.deepEqual(imageSplitBounds(n), { train: a, dev: b - a, test: n - b });
    }
    assert.deepEqual(want, { train: 7001, dev: 999, test: 2000 });
    for (const s of SPLITS) assert.equal(ds.splits[s].ids.length, want[s], s);
  });

  test("every pair's recording and image show the same digit, which is the label", () => {
    for (const ds of [standard(), byIndex()])
      for (const s of SPLITS) {
        const sp = ds.splits[s];
        sp.ids.forEach((id, i) => {
          const p = parseId(id);
          assert.equal(p.digit, imageDigit(p.image), id);
          assert.equal(sp.labels[i], p.digit, id);
        });
      }
  });

  test('every one of the 10,000 images is used exactly once, each split taking a contiguous block per digit', () => {
    const ds = standard();
    const seen = new Int32Array(10000);
    for (const s of SPLITS)
      for (const id of ds.splits[s].ids) {
        const k = parseId(id).image;
        seen[k] = seen[k]! + 1;
      }
    assert.ok(seen.every((c) => c === 1));
    for (let d = 0; d < 10; d++) {
      const b = imageSplitBounds(MNIST_CLASS_COUNTS[d]!);
      const imgs = (s: (typeof SPLITS)[number]): number[] =>
        ds.splits[s].ids.map((id) => parseId(id).image).filter((k) => imageDigit(k) === d);
      assert.deepEqual(
        imgs('train'),
        Array.from({ length: b.train }, (_, j) => starts[d]! + j),
      );
      assert.equal(imgs('dev')[0], starts[d]! + b.train);
      assert.equal(imgs('test')[0], starts[d]! + b.train + b.dev);
    }
  });

  test('the speaker split keeps speakers apart and uses each recording of a split and digit evenly', () => {
    const ds = standard();
    for (const s of SPLITS) {
      const uses = new Map<string, number>();
      for (const id of ds.splits[s].ids) {
        const p = parseId(id);
        assert.ok(SPEAKER_SPLIT[s].includes(p.speaker), `${id} in ${s}`);
        uses.set(p.stem, (uses.get(p.stem) ?? 0) + 1);
      }
      // perm[k mod R]: all R = 50 x speakers recordings of each digit are used, evenly.
      assert.equal(uses.size, 10 * 50 * SPEAKER_SPLIT[s].length, s);
      for (let d = 0; d < 10; d++) {
        const counts = [...uses].filter(([stem]) => stem.startsWith(`${d}_`)).map(([, c]) => c);
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${s} digit ${d}: ${Math.min(...counts)}..${Math.max(...counts)}`);
      }
    }
  });

  test("audioSplit 'index' splits recordings by index: 0-4 test, 5-9 dev, 10-49 train", () => {
    const ds = byIndex();
    const range = { test: [0, 4], dev: [5, 9], train: [10, 49] } as const;
    const stems: Record<string, Set<string>> = {};
    for (const s of SPLITS) {
      stems[s] = new Set();
      for (const id of ds.splits[s].ids) {
        const p = parseId(id);
        assert.ok(p.index >= range[s][0] && p.index <= range[s][1], `${id} in ${s}`);
        stems[s]!.add(p.stem);
      }
    }
    assert.equal(stems.train!.size, 10 * 6 * 40);
    assert.equal(stems.dev!.size, 10 * 6 * 5);
    assert.equal(stems.test!.size, 10 * 6 * 5);
    assert.equal(ds.meta!.audioSplit, 'index');
  });

  test('audio features are the log-mel of the recording named in the id', () => {
    const ds = standard();
    for (const s of SPLITS) {
      const sp = ds.splits[s];
      for (const i of [0, 123, sp.ids.length - 1]) {
        const want = logMel(readWav(join(FSDD, `${parseId(sp.ids[i]!).stem}.wav`)));
        assert.deepEqual(sp.features.audio!.subarray(i * 1600, (i + 1) * 1600), want, sp.ids[i]);
      }
    }
  });

  test('clean images are the MNIST uint8 pixels / 255', () => {
    const ds = cleanSequence();
    const { pixels } = loadMnist();
    for (const s of SPLITS) {
      const sp = ds.splits[s];
      sp.ids.forEach((id, i) => {
        const k = parseId(id).image;
        for (let j = 0; j < 784; j += 97) assert.equal(sp.features.image![i * 784 + j], Math.fround(pixels[k * 784 + j]! / 255), id);
      });
    }
  });

  test('the sequence form: audio [40, 40] is the transpose of the image form, image [28, 28]', () => {
    const img = standard();
    const seq = cleanSequence();
    assert.deepEqual(seq.shapes, { audio: [40, 40], image: [28, 28] });
    assert.equal(seq.meta!.form, 'sequence');
    for (const s of SPLITS) {
      assert.deepEqual(seq.splits[s].ids, img.splits[s].ids);
      assert.deepEqual(seq.splits[s].labels, img.splits[s].labels);
      const a = img.splits[s].features.audio!;
      const b = seq.splits[s].features.audio!;
      assert.equal(a.length, b.length);
      const n = seq.splits[s].ids.length;
      for (let i = 0; i < n; i += 7)
        for (let t = 0; t < 40; t++) for (let m = 0; m < 40; m++) assert.equal(b[i * 1600 + t * 40 + m], a[i * 1600 + m * 40 + t]);
    }
  });

  test('same seed and options give identical arrays; another seed pairs differently', () => {
    const a = noisyA();
    const b = noisyB();
    for (const s of SPLITS) {
      assert.deepEqual(a.splits[s].ids, b.splits[s].ids);
      assert.deepEqual(a.splits[s].labels, b.splits[s].labels);
      assert.deepEqual(Buffer.from(a.splits[s].features.audio!.buffer), Buffer.from(b.splits[s].features.audio!.buffer));
      assert.deepEqual(Buffer.from(a.splits[s].features.image!.buffer), Buffer.from(b.splits[s].features.image!.buffer));
    }
    assert.deepEqual(a.meta, b.meta);
    // Seed 7 against seed 0: the same images in the same order, other recordings for most of them.
    const other = cleanSequence();
    const ia = a.splits.train.ids.map(parseId);
    const ib = other.splits.train.ids.map(parseId);
    assert.deepEqual(
      ia.map((p) => p.image),
      ib.map((p) => p.image),
    );
    const same = ia.filter((p, i) => p.stem === ib[i]!.stem).length;
    assert.ok(same < ia.length / 20, `${same} of ${ia.length} pairs unchanged`);
  });

  test('PCA removal takes out the stated share of the training images’ variance, and keeps their mean', () => {
    const clean = cleanSequence().splits;
    const removed = standard().splits;
    const meta = standard().meta!;
    const nTrain = clean.train.ids.length;
    const before = totalVariance(clean.train.features.image!, nTrain);
    const after_ = totalVariance(removed.train.features.image!, nTrain);
    const share = 1 - after_ / before;
    assert.ok(share >= 0.75 - 1e-5 && share < 0.76, `removed ${share}`);
    assert.ok(Math.abs(share - Number(meta.pcaVarianceRemoved)) < 1e-5, `${share} vs ${meta.pcaVarianceRemoved}`);
    assert.ok(Number(meta.pcaComponentsRemoved) > 10);
    for (let j = 0; j < 784; j += 13) {
      let a = 0;
      let b = 0;
      for (let i = 0; i < nTrain; i++) {
        a += clean.train.features.image![i * 784 + j]!;
        b += removed.train.features.image![i * 784 + j]!;
      }
      assert.ok(Math.abs(a - b) / nTrain < 1e-5, `pixel ${j}`);
    }
    // The same projection degrades dev and test (fitted on train, so not exactly 75% there).
    for (const s of ['dev', 'test'] as const) {
      const n = clean[s].ids.length;
      const r = 1 - totalVariance(removed[s].features.image!, n) / totalVariance(clean[s].features.image!, n);
      assert.ok(r > 0.65 && r < 0.85, `${s}: removed ${r}`);
    }
  });

  test('image noise and blur: the noisy images are the blurred clean ones plus noise of the given std', () => {
    const noisy = noisyA().splits.test;
    const clean = cleanSequence().splits.test;
    const byImage = new Map(clean.ids.map((id, i) => [parseId(id).image, i]));
    let s = 0;
    let ss = 0;
    let n = 0;
    noisy.ids.forEach((id, i) => {
      const j = byImage.get(parseId(id).image)!;
      const blurred = blurImage(Float64Array.from(clean.features.image!.subarray(j * 784, (j + 1) * 784)), 1);
      for (let p = 0; p < 784; p++) {
        const e = noisy.features.image![i * 784 + p]! - blurred[p]!;
        s += e;
        ss += e * e;
        n++;
      }
    });
    const mean = s / n;
    const std = Math.sqrt(ss / n - mean * mean);
    assert.ok(Math.abs(mean) < 1e-3, `noise mean ${mean}`);
    assert.ok(Math.abs(std - 0.05) < 0.001, `noise std ${std}`);
  });

  test('audio noise: the built features are the log-mel of the noisy recording, at the asked SNR', () => {
    const ds = noisyA();
    const sp = ds.splits.dev;
    for (const i of [0, 500]) {
      const { stem } = parseId(sp.ids[i]!);
      const x = readWav(join(FSDD, `${stem}.wav`));
      const y = noisyRecording(x, stem, 7, 5);
      const measured = 10 * Math.log10(signalPower(x) / signalPower(y.map((v, j) => v - x[j]!)));
      assert.ok(Math.abs(measured - 5) < 0.5, `${stem}: ${measured} dB`);
      assert.deepEqual(sp.features.audio!.subarray(i * 1600, (i + 1) * 1600), logMel(y));
      assert.notDeepEqual(logMel(y), logMel(x));
    }
  });
});

describe('buildAvMnist refuses bad options and folders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmbalance-avmnist-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const bad: [string, Partial<AvMnistOptions>, RegExp][] = [
    ['seed -1', { seed: -1 }, /seed/],
    ['seed 1.5', { seed: 1.5 }, /seed/],
    ['form', { form: 'video' as 'image' }, /'image', 'sequence' for form/],
    ['audioSplit', { audioSplit: 'random' as 'index' }, /audioSplit/],
    ['imagePcaRemoval 1', { imagePcaRemoval: 1 }, /\[0, 1\).*for imagePcaRemoval/],
    ['imagePcaRemoval -0.1', { imagePcaRemoval: -0.1 }, /imagePcaRemoval/],
    ['imagePcaRemoval NaN', { imagePcaRemoval: NaN }, /imagePcaRemoval/],
    ['imageNoise', { imageNoise: -1 }, /imageNoise/],
    ['imageBlur', { imageBlur: -0.5 }, /imageBlur/],
    ['audioSnrDb', { audioSnrDb: Infinity }, /or null .*for audioSnrDb/],
  ];
  for (const [what, o, why] of bad)
    test(`bad option: ${what}`, () => {
      assert.throws(
        () => buildAvMnist({ fsddDir: FSDD, ...o }),
        (e: unknown) => e instanceof ArgumentError && why.test(e.message),
      );
    });

  test('an unknown option names the known ones', () => {
    assert.throws(
      () => resolveAvMnistOptions({ fsddDir: dir, pcaRemoval: 0.5 } as unknown as AvMnistOptions),
      /pcaRemoval.*imagePcaRemoval|imagePcaRemoval.*pcaRemoval/,
    );
  });

  test('defaults are the standard setting and fill in what is left out', () => {
    assert.deepEqual(resolveAvMnistOptions({ fsddDir: dir }), { ...DEFAULT_AVMNIST_OPTIONS, fsddDir: dir });
    assert.equal(DEFAULT_AVMNIST_OPTIONS.imagePcaRemoval, 0.75);
    assert.equal(DEFAULT_AVMNIST_OPTIONS.audioSnrDb, null);
    assert.equal(resolveAvMnistOptions({ fsddDir: dir, seed: undefined }).seed, DEFAULT_AVMNIST_OPTIONS.seed);
  });

  test('a missing folder', () => {
    assert.throws(() => buildAvMnist({ fsddDir: join(dir, 'nope') }), /an existing folder.*for fsddDir/);
    assert.throws(
      () => buildAvMnist({ fsddDir: '' }),
      (e: unknown) => e instanceof ArgumentError && /for fsddDir/.test(e.message),
    );
    const file = join(dir, 'file.txt');
    writeFileSync(file, 'x');
    assert.throws(() => buildAvMnist({ fsddDir: file }), /a folder, not a file for fsddDir/);
  });

  test('a folder without WAVs, pointing at its recordings folder when it has one', () => {
    const root = join(dir, 'clone');
    mkdirSync(join(root, 'recordings'), { recursive: true });
    writeFileSync(join(root, 'README.md'), 'x');
    assert.throws(
      () => buildAvMnist({ fsddDir: root }),
      (e: unknown) => e instanceof DatasetError && e.message.includes(`pass ${join(root, 'recordings')}`),
    );
    assert.throws(
      () => buildAvMnist({ fsddDir: join(root, 'recordings') }),
      (e: unknown) => e instanceof DatasetError && /no \.wav files/.test(e.message),
    );
  });

  test('a WAV not named <digit>_<speaker>_<index>.wav', () => {
    const d = join(dir, 'oddname');
    mkdirSync(d);
    writeFileSync(join(d, '0_theo_1.wav'), '');
    writeFileSync(join(d, 'hello.wav'), '');
    assert.throws(
      () => buildAvMnist({ fsddDir: d }),
      (e: unknown) => e instanceof DatasetError && e.message.includes(join(d, 'hello.wav')),
    );
  });

  test('a speaker missing for the speaker split names it and suggests the index split', () => {
    const d = join(dir, 'notheo');
    mkdirSync(d);
    for (const speaker of ['george', 'jackson', 'lucas', 'yweweler', 'nicolas'])
      for (let digit = 0; digit < 10; digit++) writeFileSync(join(d, `${digit}_${speaker}_0.wav`), '');
    assert.throws(
      () => buildAvMnist({ fsddDir: d }),
      (e: unknown) =>
        e instanceof DatasetError && /no recordings of theo, which the speaker split needs/.test(e.message) && /'index'/.test(e.message),
    );
    // The index split needs every split and digit: index 0 alone leaves dev and train empty.
    assert.throws(() => buildAvMnist({ fsddDir: d, audioSplit: 'index' }), /no recording of digit 0 for the train split/);
  });

  test('a bad WAV among the recordings is refused by name', { skip }, () => {
    const d = join(dir, 'badwav');
    mkdirSync(d);
    for (const speaker of ['george', 'jackson', 'lucas', 'yweweler', 'nicolas', 'theo'])
      for (let digit = 0; digit < 10; digit++) copyFileSync(join(FSDD, `${digit}_${speaker}_0.wav`), join(d, `${digit}_${speaker}_0.wav`));
    writeFileSync(join(d, '5_lucas_0.wav'), 'RIFF but not really');
    assert.throws(
      () => buildAvMnist({ fsddDir: d, imagePcaRemoval: 0 }),
      (e: unknown) => e instanceof WavError && e.file === join(d, '5_lucas_0.wav'),
    );
  });

  test('parseRecordingName', () => {
    assert.deepEqual(parseRecordingName('7_theo_12.wav'), { stem: '7_theo_12', digit: 7, speaker: 'theo', index: 12 });
    assert.equal(parseRecordingName('7_theo.wav'), null);
    assert.equal(parseRecordingName('12_theo_1.wav'), null);
  });
});

describe('blurImage', () => {
  test('an impulse spreads as a normalised separable Gaussian, radius ceil(3 sigma)', () => {
    const img = new Float64Array(784);
    img[14 * 28 + 14] = 1;
    const sigma = 1.3;
    const out = blurImage(img, sigma);
    const r = Math.ceil(3 * sigma);
    let z = 0;
    for (let k = -r; k <= r; k++) z += Math.exp(-(k * k) / (2 * sigma * sigma));
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const dy = y - 14;
        const dx = x - 14;
        const want = Math.abs(dx) <= r && Math.abs(dy) <= r ? Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) / (z * z) : 0;
        assert.ok(Math.abs(out[y * 28 + x]! - want) < 1e-12, `(${y}, ${x})`);
      }
  });
  test('sigma 0 leaves the image alone', () => {
    const img = Float64Array.from({ length: 784 }, (_, i) => (i % 5) / 4);
    assert.deepEqual(blurImage(img, 0), img);
  });
});

describe('symmetricEigen', () => {
  function randomSymmetric(n: number, rank: number, seed: number): Float64Array {
    // B B^T (rank `rank`) with some all-zero rows and columns, like always-blank pixels.
    const rand = mulberry32(seed);
    const b = Float64Array.from({ length: n * rank }, (_, i) => (Math.floor(i / rank) % 4 === 3 ? 0 : rand() - 0.5));
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < rank; k++) s += b[i * rank + k]! * b[j * rank + k]!;
        a[i * n + j] = s;
      }
    return a;
  }

  for (const [n, rank] of [
    [1, 1],
    [2, 2],
    [7, 7],
    [60, 60],
    [60, 9],
  ] as const)
    test(`A v = lambda v, orthonormal, sorted, trace kept (n ${n}, rank ${rank})`, () => {
      const a = randomSymmetric(n, rank, n * 31 + rank);
      const { values, vectors } = symmetricEigen(a, n);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += a[i * n + i]!;
      assert.ok(Math.abs(values.reduce((x, y) => x + y, 0) - trace) < 1e-10 * Math.max(1, trace));
      for (let j = 1; j < n; j++) assert.ok(values[j - 1]! >= values[j]!);
      for (let j = 0; j < n; j++) {
        const v = vectors.subarray(j * n, (j + 1) * n);
        for (let i = 0; i < n; i++) {
          let av = 0;
          for (let k = 0; k < n; k++) av += a[i * n + k]! * v[k]!;
          assert.ok(Math.abs(av - values[j]! * v[i]!) < 1e-10, `pair ${j}, row ${i}`);
        }
        for (let k = 0; k <= j; k++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += v[i]! * vectors[k * n + i]!;
          assert.ok(Math.abs(dot - (k === j ? 1 : 0)) < 1e-10, `<v${j}, v${k}> = ${dot}`);
        }
      }
      if (rank < n) assert.ok(Math.abs(values[rank]!) < 1e-10);
    });

  test('PCA: variances sum to the total variance; removal leaves exactly the other components', () => {
    const rows = 200;
    const dim = 12;
    const rand = mulberry32(5);
    const x = Float64Array.from({ length: rows * dim }, (_, i) => (rand() - 0.5) * (1 + (i % dim)));
    const pca = fitPca(x, rows, dim);
    let total = 0;
    for (let j = 0; j < dim; j++) {
      let s = 0;
      let ss = 0;
      for (let i = 0; i < rows; i++) {
        s += x[i * dim + j]!;
        ss += x[i * dim + j]! ** 2;
      }
      total += (ss - (s * s) / rows) / (rows - 1);
    }
    assert.ok(Math.abs(pca.variances.reduce((a, b) => a + b, 0) - total) < 1e-9 * total);
    const { count, fraction } = leadingComponentsFor(pca, 0.5);
    const held = (k: number): number => pca.variances.subarray(0, k).reduce((a, b) => a + b, 0) / total;
    assert.ok(held(count) >= 0.5 && held(count - 1) < 0.5);
    assert.ok(Math.abs(fraction - held(count)) < 1e-12);
    const y = removeComponents(x, rows, pca, count);
    const left = fitPca(y, rows, dim).variances.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(left / total - (1 - fraction)) < 1e-9);
    assert.deepEqual(leadingComponentsFor(pca, 0), { count: 0, fraction: 0 });
  });
});
