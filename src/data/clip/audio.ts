/**
 * Speech clips as AV-MNIST uses them: 8 kHz mono 16-bit PCM WAV files decoded to samples in
 * [-1, 1), and a fixed 40 x 40 log-mel spectrogram per clip.
 */
import { readFileSync } from 'node:fs';
import FFT from 'fft.js';
import wavefile from 'wavefile';

/** A WAV file that cannot be used: unreadable, not RIFF/WAVE, or not the expected PCM format. */
export class WavError extends Error {
  override name = 'WavError';
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** The format every clip must have (FSDD's own: 8 kHz, mono, 16-bit PCM). */
export const WAV_FORMAT = { sampleRate: 8000, channels: 1, bitsPerSample: 16 } as const;

interface WavFmt {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  bitsPerSample: number;
}

/**
 * Decodes one WAV file held in memory to samples scaled by 1/32768 (int16 -> [-1, 1)), the
 * convention of librosa and torchaudio. `file` names the source in error messages.
 */
export function decodeWav(bytes: Uint8Array, file: string): Float64Array {
  const wav = new wavefile.WaveFile();
  try {
    wav.fromBuffer(bytes);
  } catch (e) {
    throw new WavError(`not a readable WAV file (${(e as Error).message}); FSDD recordings are RIFF/WAVE files`, file);
  }
  const fmt = wav.fmt as WavFmt;
  const want = WAV_FORMAT;
  if (
    fmt.audioFormat !== 1 ||
    fmt.numChannels !== want.channels ||
    fmt.sampleRate !== want.sampleRate ||
    fmt.bitsPerSample !== want.bitsPerSample
  ) {
    const kind = fmt.audioFormat === 1 ? 'PCM' : `format code ${fmt.audioFormat}, not PCM`;
    throw new WavError(
      `expected ${want.sampleRate} Hz mono ${want.bitsPerSample}-bit PCM but it is ${fmt.sampleRate} Hz, ${fmt.numChannels} channel(s), ` +
        `${fmt.bitsPerSample}-bit ${kind}; convert it first (e.g. sox in.wav -r 8000 -c 1 -b 16 -e signed-integer out.wav)`,
      file,
    );
  }
  const ints = wav.getSamples(false, Float64Array);
  if (ints.length === 0) throw new WavError('holds no samples; remove the file or record it again', file);
  const out = new Float64Array(ints.length);
  for (let i = 0; i < ints.length; i++) out[i] = ints[i]! / 32768;
  return out;
}

/** Reads and decodes one WAV file (see decodeWav). */
export function readWav(path: string): Float64Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new WavError(`cannot be read (${(e as Error).message})`, path);
  }
  return decodeWav(bytes, path);
}

/** The log-mel settings: fixed, so every clip gives the same 40 x 40 grid. */
export const LOGMEL = {
  sampleRate: 8000,
  nFft: 256,
  hop: 128,
  nMels: 40,
  /** (clipSamples - nFft) / hop + 1 */
  frames: 40,
  clipSamples: 5248,
  fMin: 0,
  fMax: 4000,
  /** Added before the natural log so silent (zero-padded) frames give ln(1e-6), not -inf. */
  eps: 1e-6,
} as const;

/**
 * The clip centred in `length` samples: zero-padded with floor((length - n) / 2) zeros before
 * it (the rest after), or cropped to its middle, starting at floor((n - length) / 2).
 */
export function centreFit(samples: Float64Array, length: number): Float64Array {
  const n = samples.length;
  if (n === length) return samples.slice();
  const out = new Float64Array(length);
  if (n < length) out.set(samples, Math.floor((length - n) / 2));
  else out.set(samples.subarray(Math.floor((n - length) / 2), Math.floor((n - length) / 2) + length));
  return out;
}

/** HTK's mel scale. */
export function hzToMel(f: number): number {
  return 2595 * Math.log10(1 + f / 700);
}

export function melToHz(m: number): number {
  return 700 * (10 ** (m / 2595) - 1);
}

/**
 * Triangular mel filters as a row-major [nMels, nFft/2 + 1] matrix. nMels + 2 edge frequencies
 * are spaced evenly on the HTK mel scale between fMin and fMax; filter m rises linearly from
 * edge m to a peak of 1 at edge m+1 and falls to 0 at edge m+2, evaluated at each rfft bin's
 * frequency k * sampleRate / nFft. No area normalisation (HTK's choice, librosa's norm=None):
 * after the log it would only shift each band by a constant.
 */
export function melFilterbank(nMels: number, nFft: number, sampleRate: number, fMin: number, fMax: number): Float64Array {
  const bins = nFft / 2 + 1;
  const lo = hzToMel(fMin);
  const hi = hzToMel(fMax);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (nMels + 1)));
  const fb = new Float64Array(nMels * bins);
  for (let m = 0; m < nMels; m++) {
    const [left, centre, right] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    for (let k = 0; k < bins; k++) {
      const f = (k * sampleRate) / nFft;
      const w = Math.min((f - left) / (centre - left), (right - f) / (right - centre));
      if (w > 0) fb[m * bins + k] = w;
    }
  }
  return fb;
}

/** The periodic Hann window (as torch.hann_window(n) and scipy's sym=False). */
export function hannPeriodic(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
}

interface LogMelTables {
  fft: FFT;
  window: Float64Array;
  filters: Float64Array;
  /** Per filter, the first and one-past-last bin with a non-zero weight (the filters are narrow). */
  span: Int32Array;
  frame: number[];
  spectrum: number[];
  power: Float64Array;
}

let tables: LogMelTables | null = null;

function logMelTables(): LogMelTables {
  if (tables === null) {
    const { nFft, nMels, sampleRate, fMin, fMax } = LOGMEL;
    const fft = new FFT(nFft);
    const bins = nFft / 2 + 1;
    const filters = melFilterbank(nMels, nFft, sampleRate, fMin, fMax);
    const span = new Int32Array(2 * nMels);
    for (let m = 0; m < nMels; m++) {
      let lo = 0;
      while (lo < bins && filters[m * bins + lo] === 0) lo++;
      let hi = bins;
      while (hi > lo && filters[m * bins + hi - 1] === 0) hi--;
      span[2 * m] = lo;
      span[2 * m + 1] = hi;
    }
    tables = {
      fft,
      window: hannPeriodic(nFft),
      filters,
      span,
      frame: new Array<number>(nFft).fill(0),
      spectrum: fft.createComplexArray() as number[],
      power: new Float64Array(nFft / 2 + 1),
    };
  }
  return tables;
}

/**
 * The 40-band log-mel spectrogram of one clip (samples at 8 kHz), row-major [mel band, frame]
 * = [40, 40]: the clip is centre-fitted to 5,248 samples, cut into 40 frames of 256 with hop
 * 128 (no further padding), each windowed by a periodic Hann window; |rfft|^2 of the 129 bins
 * goes through the mel filters and out as ln(mel + 1e-6).
 */
export function logMel(samples: Float64Array): Float32Array {
  const { nFft, hop, nMels, frames, clipSamples, eps } = LOGMEL;
  const t = logMelTables();
  const x = centreFit(samples, clipSamples);
  const bins = nFft / 2 + 1;
  const out = new Float32Array(nMels * frames);
  for (let f = 0; f < frames; f++) {
    const start = f * hop;
    for (let i = 0; i < nFft; i++) t.frame[i] = x[start + i]! * t.window[i]!;
    // realTransform fills bins 0..nFft/2 (interleaved re, im), all that a real input needs.
    t.fft.realTransform(t.spectrum, t.frame);
    for (let k = 0; k < bins; k++) {
      const re = t.spectrum[2 * k]!;
      const im = t.spectrum[2 * k + 1]!;
      t.power[k] = re * re + im * im;
    }
    for (let m = 0; m < nMels; m++) {
      let e = 0;
      const row = m * bins;
      for (let k = t.span[2 * m]!, end = t.span[2 * m + 1]!; k < end; k++) e += t.filters[row + k]! * t.power[k]!;
      out[m * frames + f] = Math.log(e + eps);
    }
  }
  return out;
}

/** Mean square of the samples (the clip's power). */
export function signalPower(samples: Float64Array): number {
  let s = 0;
  for (let i = 0; i < samples.length; i++) s += samples[i]! * samples[i]!;
  return s / samples.length;
}

/**
 * The clip plus white Gaussian noise at `snrDb` against the clip's own power:
 * noise std = sqrt(power / 10^(snrDb / 10)), one draw of `normal` (standard normal) per sample.
 * A silent clip stays silent (its SNR is undefined; there is no power to scale against).
 */
export function addNoiseAtSnr(samples: Float64Array, snrDb: number, normal: () => number): Float64Array {
  const std = Math.sqrt(signalPower(samples) / 10 ** (snrDb / 10));
  const out = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i]! + std * normal();
  return out;
}
