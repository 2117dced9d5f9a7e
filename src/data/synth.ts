/**
 * The built-in default data: synthetic conversations shaped like IEMOCAP (6 classes, 151
 * dialogues of 8 to 110 utterances, 7,433 utterances, 120 train / 31 test dialogues, text 768 /
 * audio 512 / visual 1024), generated in TypeScript from a seeded PRNG, so the data never depends
 * on libtorch's generator state.
 *
 * Labels: each dialogue has a theme (a class drawn from the class prior) and each speaker follows
 * a Markov chain that keeps its previous emotion with probability `persistence`, otherwise
 * catches the other speaker's emotion (`contagion`) or draws from the dialogue's mix of the prior
 * and its theme (`themeWeight`). The marginal label distribution stays the class prior.
 *
 * Features of utterance i (class y, speaker s, dialogue d) in modality m, dimension D:
 *
 *     x = A_m * (separation_m * r_i * mu_m[y] + contextOffset * o_m[d, s] + n) + b_m
 *
 * - mu_m[c] = W_m p_m[c]: class prototypes p_m[c] in a latent space of k = `latentDim` dimensions
 *   (one class-specific coordinate each plus, for IEMOCAP's class names, their valence/arousal
 *   position, so that hap and exc or ang and fru are harder to tell apart), centred on the
 *   prior-weighted mean and scaled to a prior-weighted RMS norm of 1; W_m is a random D x k matrix
 *   with orthonormal columns (a random subspace per modality and seed).
 * - separation_m: THE informativeness knob of modality m, the RMS distance of the class means from
 *   their centre in units of the noise standard deviation. 0 makes the modality pure noise.
 * - r_i: the utterance's expressiveness, uniform in [1 - intensitySpread, 1 + intensitySpread] and
 *   shared by all modalities (a weakly expressed emotion is hard to see in every modality).
 * - o_m[d, s]: a per-dialogue, per-speaker offset, N(0, 1) in the same latent subspace: it
 *   confuses a classifier of single utterances, and a model that uses the conversation's context
 *   can learn to remove it.
 * - n: isotropic N(0, 1) noise in all D dimensions (drawn with a ziggurat sampler for speed).
 * - A_m, b_m: a fixed random per-dimension scale (log-normal) and shift, as real feature
 *   extractors give; standardisation removes them.
 *
 * Every modality draws from its own stream (seed and modality name), and labels, speakers and
 * lengths from another, so adding a modality or changing a dimension leaves the rest unchanged.
 */
import { invalid } from '../engine/errors.js';
import { holdOutDev, mulberry32 } from './split.js';
import type { ConversationDataset, Dialogue } from './types.js';

/** IEMOCAP's six classes, in the order (and with the indices) of the usual feature files. */
export const IEMOCAP_CLASS_NAMES: readonly string[] = ['hap', 'sad', 'neu', 'ang', 'exc', 'fru'];
/** IEMOCAP's utterance counts per class (hap, sad, neu, ang, exc, fru): 7,433 in all. */
export const IEMOCAP_CLASS_COUNTS: readonly number[] = [648, 1084, 1708, 1103, 1041, 1849];
/** Ada2I's IEMOCAP feature dimensions. */
export const IEMOCAP_DIMS: Readonly<Record<string, number>> = { text: 768, audio: 512, visual: 1024 };
/**
 * Default separations, by position of the modality (text, audio, visual), calibrated so that the
 * linear probe (src/data/probe.ts, default options) scores a test weighted F1 of about 0.60, 0.46
 * and 0.36 on the default data: one dominant modality and two weak ones.
 */
export const DEFAULT_SEPARATIONS: readonly number[] = [2.0, 1.3, 1.15];

/** Valence and arousal of IEMOCAP's classes (rough positions on the circumplex). */
const VALENCE_AROUSAL: Readonly<Record<string, readonly [number, number]>> = {
  hap: [0.8, 0.3],
  exc: [0.7, 0.7],
  sad: [-0.7, -0.6],
  neu: [0, -0.2],
  ang: [-0.7, 0.8],
  fru: [-0.6, 0.3],
};

export interface SynthOptions {
  /** Seed of every random draw (an integer 0 to 2^32 - 1). Default 0. */
  seed: number;
  /** Number of dialogues. Default 151. */
  dialogues: number;
  /** Dialogues in the test split (the last ones, as IEMOCAP's Session 5). Default round(dialogues x 31 / 151): 31. */
  testDialogues: number;
  /** Total utterances; the drawn lengths are adjusted to sum to it exactly. Default round(dialogues x 7433 / 151): 7,433. */
  utterances: number;
  /** Shortest dialogue. Default 8. */
  minLength: number;
  /** Longest dialogue. Default 110. */
  maxLength: number;
  /**
   * Fraction of the training dialogues held out as the dev split (seeded by `seed`, devSource
   * 'train-split'), as the platform does for IEMOCAP, which has no dev split. 0 keeps every
   * training dialogue and leaves dev empty (devSource 'file'). Default 0.1.
   */
  devFraction: number;
  /** Class names. Default IEMOCAP's: hap, sad, neu, ang, exc, fru. */
  classNames: string[];
  /**
   * Relative class frequencies (normalised here). Default IEMOCAP's counts when classNames is not
   * given, uniform when it is.
   */
  classPrior: number[];
  /** Modality name -> feature dimension, in order. Default { text: 768, audio: 512, visual: 1024 }. */
  modalities: Record<string, number>;
  /**
   * Modality name -> informativeness (RMS class-mean distance from the centre, in noise standard
   * deviations; >= 0). A modality left out gets DEFAULT_SEPARATIONS by its position (1st: 2.0,
   * 2nd: 1.3, 3rd and later: 1.15).
   */
  separation: Record<string, number>;
  /** Dimension of the class subspace (capped at each modality's dimension). Default 16. */
  latentDim: number;
  /** Scale of the per-dialogue, per-speaker offset in the class subspace, in noise SDs. Default 0.5. */
  contextOffset: number;
  /** Expressiveness r is uniform in [1 - spread, 1 + spread] (spread in [0, 1]). Default 0.5. */
  intensitySpread: number;
  /** Probability that a speaker keeps their previous emotion. Default 0.8. */
  persistence: number;
  /** On a change, probability of taking the other speaker's current emotion. Default 0.3. */
  contagion: number;
  /** Weight of the dialogue's theme class in its label mix (the rest is the prior). Default 0.5. */
  themeWeight: number;
  /** Speaker names (at least 1). Default ['M', 'F']. */
  speakers: string[];
  /** Probability that the next utterance comes from another speaker. Default 0.85. */
  speakerSwitch: number;
  /** The dataset's name. Default 'synthetic-iemocap'. */
  name: string;
}

const OPTION_KEYS: readonly (keyof SynthOptions)[] = [
  'seed',
  'dialogues',
  'testDialogues',
  'utterances',
  'minLength',
  'maxLength',
  'devFraction',
  'classNames',
  'classPrior',
  'modalities',
  'separation',
  'latentDim',
  'contextOffset',
  'intensitySpread',
  'persistence',
  'contagion',
  'themeWeight',
  'speakers',
  'speakerSwitch',
  'name',
];

function intOpt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(
      `synth option ${name}`,
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`,
      v,
    );
  }
  return v;
}

function numOpt(name: string, v: unknown, min: number, max: number, maxOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (maxOpen && v === max)) {
    const range = max === Infinity ? `a finite number >= ${min}` : `a number in [${min}, ${max}${maxOpen ? ')' : ']'}`;
    throw invalid(`synth option ${name}`, range, v);
  }
  return v;
}

function namesOpt(name: string, v: unknown, min: number): string[] {
  if (!Array.isArray(v) || v.length < min || !v.every((s) => typeof s === 'string' && s.length > 0)) {
    throw invalid(`synth option ${name}`, `an array of at least ${min} non-empty strings`, v);
  }
  if (new Set(v).size !== v.length) throw invalid(`synth option ${name}`, 'distinct names', v);
  return [...(v as string[])];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** The options with every default filled in and every value checked (ArgumentError on a bad one). */
export function resolveSynthOptions(options: Partial<SynthOptions> = {}): SynthOptions {
  if (!isRecord(options)) throw invalid('synth options', 'an object', options);
  for (const k of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(k)) throw invalid('synth options', `only the keys ${OPTION_KEYS.join(', ')}`, k);
  }
  const o = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<SynthOptions>;
  const seed = intOpt('seed', o.seed ?? 0, 0, 0xffffffff);
  const dialogues = intOpt('dialogues', o.dialogues ?? 151, 2);
  const testDialogues = intOpt('testDialogues', o.testDialogues ?? Math.max(1, Math.round((dialogues * 31) / 151)), 1, dialogues - 1);
  const minLength = intOpt('minLength', o.minLength ?? 8, 1);
  const maxLength = intOpt('maxLength', o.maxLength ?? 110, minLength);
  const lo = dialogues * minLength;
  const hi = dialogues * maxLength;
  const defaultTotal = Math.min(hi, Math.max(lo, Math.round((dialogues * 7433) / 151)));
  const utterances = intOpt('utterances', o.utterances ?? defaultTotal, lo, hi);
  const devFraction = numOpt('devFraction', o.devFraction ?? 0.1, 0, 1, true);
  if (devFraction > 0 && dialogues - testDialogues < 2) {
    throw invalid(
      'synth option devFraction',
      `0 when there are fewer than 2 training dialogues (${dialogues - testDialogues})`,
      devFraction,
    );
  }
  const classNames = namesOpt('classNames', o.classNames ?? IEMOCAP_CLASS_NAMES, 2);
  const priorRaw = o.classPrior ?? (o.classNames === undefined ? IEMOCAP_CLASS_COUNTS : classNames.map(() => 1));
  if (
    !Array.isArray(priorRaw) ||
    priorRaw.length !== classNames.length ||
    !priorRaw.every((p) => typeof p === 'number' && Number.isFinite(p) && p > 0)
  ) {
    throw invalid('synth option classPrior', `${classNames.length} positive finite numbers (one per class)`, priorRaw);
  }
  const modalities = o.modalities ?? { ...IEMOCAP_DIMS };
  if (!isRecord(modalities) || Object.keys(modalities).length === 0) {
    throw invalid('synth option modalities', 'an object of modality name -> feature dimension, with at least one modality', modalities);
  }
  for (const [m, d] of Object.entries(modalities)) {
    if (m.length === 0) throw invalid('synth option modalities', 'non-empty modality names', m);
    intOpt(`modalities.${m}`, d, 1);
  }
  const name = o.name ?? 'synthetic-iemocap';
  if (typeof name !== 'string' || name.length === 0) throw invalid('synth option name', 'a non-empty string', name);
  const names = Object.keys(modalities);
  const sepIn = o.separation ?? {};
  if (!isRecord(sepIn)) throw invalid('synth option separation', 'an object of modality name -> number', sepIn);
  for (const k of Object.keys(sepIn)) {
    if (!names.includes(k)) throw invalid('synth option separation', `only modality names (${names.join(', ')})`, k);
  }
  const separation: Record<string, number> = {};
  names.forEach((m, i) => {
    const fallback = DEFAULT_SEPARATIONS[Math.min(i, DEFAULT_SEPARATIONS.length - 1)]!;
    separation[m] = numOpt(`separation.${m}`, sepIn[m] ?? fallback, 0, Infinity);
  });
  return {
    seed,
    dialogues,
    testDialogues,
    utterances,
    minLength,
    maxLength,
    devFraction,
    classNames,
    classPrior: [...(priorRaw as number[])],
    modalities: { ...(modalities as Record<string, number>) },
    separation,
    latentDim: intOpt('latentDim', o.latentDim ?? 16, 1),
    contextOffset: numOpt('contextOffset', o.contextOffset ?? 0.5, 0, Infinity),
    intensitySpread: numOpt('intensitySpread', o.intensitySpread ?? 0.5, 0, 1),
    persistence: numOpt('persistence', o.persistence ?? 0.8, 0, 1),
    contagion: numOpt('contagion', o.contagion ?? 0.3, 0, 1),
    themeWeight: numOpt('themeWeight', o.themeWeight ?? 0.5, 0, 1),
    speakers: namesOpt('speakers', o.speakers ?? ['M', 'F'], 1),
    speakerSwitch: numOpt('speakerSwitch', o.speakerSwitch ?? 0.85, 0, 1),
    name,
  };
}

/** A standard normal sampler (Box-Muller, both values of each pair used) over a uniform source. */
export function normalSampler(rand: () => number): () => number {
  let spare = 0;
  let hasSpare = false;
  return () => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    let u = rand();
    while (u === 0) u = rand();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * rand();
    spare = radius * Math.sin(angle);
    hasSpare = true;
    return radius * Math.cos(angle);
  };
}

// Ziggurat tables (Marsaglia and Tsang, 2000; 128 layers) for the bulk normal sampler.
const ZIG_K = new Int32Array(128);
const ZIG_W = new Float64Array(128);
const ZIG_F = new Float64Array(128);
const ZIG_R = 3.442619855899;
{
  const m1 = 2147483648;
  const vn = 9.91256303526217e-3;
  let dn = ZIG_R;
  let tn = dn;
  const q = vn / Math.exp(-0.5 * dn * dn);
  ZIG_K[0] = Math.floor((dn / q) * m1);
  ZIG_K[1] = 0;
  ZIG_W[0] = q / m1;
  ZIG_W[127] = dn / m1;
  ZIG_F[0] = 1;
  ZIG_F[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    ZIG_K[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    ZIG_F[i] = Math.exp(-0.5 * dn * dn);
    ZIG_W[i] = dn / m1;
  }
}

/**
 * Fills buf with standard normal draws (ziggurat method, about twice as fast as Box-Muller) from a
 * uniform source on [0, 1) with 32-bit resolution, such as mulberry32.
 */
export function fillNormal(buf: Float64Array, rand: () => number): Float64Array {
  for (let i = 0; i < buf.length; i++) {
    let hz = (rand() * 4294967296) | 0;
    let iz = hz & 127;
    if (Math.abs(hz) < ZIG_K[iz]!) {
      buf[i] = hz * ZIG_W[iz]!;
      continue;
    }
    for (;;) {
      if (iz === 0) {
        // The tail beyond R.
        let x: number;
        let y: number;
        do {
          x = -Math.log(1 - rand()) / ZIG_R;
          y = -Math.log(1 - rand());
        } while (y + y < x * x);
        buf[i] = hz > 0 ? ZIG_R + x : -ZIG_R - x;
        break;
      }
      const x = hz * ZIG_W[iz]!;
      if (ZIG_F[iz]! + rand() * (ZIG_F[iz - 1]! - ZIG_F[iz]!) < Math.exp(-0.5 * x * x)) {
        buf[i] = x;
        break;
      }
      hz = (rand() * 4294967296) | 0;
      iz = hz & 127;
      if (Math.abs(hz) < ZIG_K[iz]!) {
        buf[i] = hz * ZIG_W[iz]!;
        break;
      }
    }
  }
  return buf;
}

/** FNV-1a of a string mixed with a seed: an independent stream per modality. */
function streamSeed(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

function categorical(cdf: Float64Array, u: number): number {
  for (let i = 0; i < cdf.length - 1; i++) if (u < cdf[i]!) return i;
  return cdf.length - 1;
}

function cumulative(p: ArrayLike<number>): Float64Array {
  const out = new Float64Array(p.length);
  let s = 0;
  for (let i = 0; i < p.length; i++) out[i] = s += p[i]!;
  for (let i = 0; i < p.length; i++) out[i]! /= s;
  return out;
}

/** Dialogue lengths in [min, max] summing exactly to total: log-normal draws, rescaled, then nudged. */
function drawLengths(o: SynthOptions, rand: () => number, normal: () => number): number[] {
  const mean = o.utterances / o.dialogues;
  const sigma = 0.5;
  const raw = Array.from({ length: o.dialogues }, () => mean * Math.exp(sigma * normal() - (sigma * sigma) / 2));
  const rawSum = raw.reduce((a, b) => a + b, 0);
  const clip = (v: number): number => Math.min(o.maxLength, Math.max(o.minLength, v));
  const lengths = raw.map((v) => clip(Math.round((v * o.utterances) / rawSum)));
  let diff = o.utterances - lengths.reduce((a, b) => a + b, 0);
  while (diff !== 0) {
    const step = diff > 0 ? 1 : -1;
    const movable: number[] = [];
    lengths.forEach((l, i) => {
      if (step > 0 ? l < o.maxLength : l > o.minLength) movable.push(i);
    });
    // Feasibility was checked with the options, so some dialogue can always move.
    const rounds = Math.min(Math.abs(diff), movable.length);
    for (let r = 0; r < rounds; r++) {
      const j = r + Math.floor(rand() * (movable.length - r));
      [movable[r], movable[j]] = [movable[j]!, movable[r]!];
      lengths[movable[r]!]! += step;
    }
    diff -= step * rounds;
  }
  return lengths;
}

interface Structure {
  labels: Int32Array;
  speakers: Int32Array;
}

/** Speakers and labels of one dialogue: per-speaker Markov chains around the dialogue's theme. */
function drawDialogue(o: SynthOptions, n: number, prior: Float64Array, priorCdf: Float64Array, rand: () => number): Structure {
  const theme = categorical(priorCdf, rand());
  const mix = prior.map((p, c) => (1 - o.themeWeight) * p + (c === theme ? o.themeWeight : 0));
  const mixCdf = cumulative(mix);
  const nSpk = o.speakers.length;
  const labels = new Int32Array(n);
  const speakers = new Int32Array(n);
  const state = new Int32Array(nSpk).fill(-1);
  let spk = Math.floor(rand() * nSpk);
  let prev = -1;
  for (let i = 0; i < n; i++) {
    if (i > 0 && nSpk > 1 && rand() < o.speakerSwitch) {
      spk = (spk + 1 + Math.floor(rand() * (nSpk - 1))) % nSpk;
    }
    const own = state[spk]!;
    let y: number;
    if (own >= 0 && rand() < o.persistence) y = own;
    else if (prev >= 0 && speakers[i - 1] !== spk && rand() < o.contagion) y = prev;
    else y = categorical(mixCdf, rand());
    labels[i] = y;
    speakers[i] = spk;
    state[spk] = y;
    prev = y;
  }
  return { labels, speakers };
}

/** Per-modality generator state: class means and the per-dimension affine map, in feature space. */
interface ModalityModel {
  dim: number;
  k: number;
  /** k x dim orthonormal rows (the class subspace). */
  basis: Float64Array;
  /** classes x dim: separation * W p[c]. */
  means: Float64Array;
  scale: Float64Array;
  shift: Float64Array;
}

function modalityModel(o: SynthOptions, m: string, prior: Float64Array, normal: () => number): ModalityModel {
  const dim = o.modalities[m]!;
  const k = Math.min(o.latentDim, dim);
  // Orthonormal basis of a random k-dim subspace (Gram-Schmidt on Gaussian rows).
  const basis = new Float64Array(k * dim);
  for (let r = 0; r < k; r++) {
    const row = basis.subarray(r * dim, (r + 1) * dim);
    for (;;) {
      for (let j = 0; j < dim; j++) row[j] = normal();
      for (let q = 0; q < r; q++) {
        const other = basis.subarray(q * dim, (q + 1) * dim);
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += row[j]! * other[j]!;
        for (let j = 0; j < dim; j++) row[j]! -= dot * other[j]!;
      }
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += row[j]! * row[j]!;
      norm = Math.sqrt(norm);
      if (norm > 1e-6) {
        for (let j = 0; j < dim; j++) row[j]! /= norm;
        break;
      }
    }
  }
  // Class prototypes in the latent space: valence/arousal (first two coordinates) where the name is
  // known, plus a class-specific coordinate of weight 0.6 each (a fixed simplex, so the geometry
  // and with it the difficulty do not depend on the seed); a random part when k is too small.
  const C = o.classNames.length;
  const protos = new Float64Array(C * k);
  const withVa = k >= 2 && o.classNames.some((c) => VALENCE_AROUSAL[c] !== undefined);
  const first = withVa ? 2 : 0;
  const simplex = k - first >= C;
  for (let c = 0; c < C; c++) {
    const va = VALENCE_AROUSAL[o.classNames[c]!];
    if (simplex) protos[c * k + first + c] = 0.6;
    else for (let j = first; j < k; j++) protos[c * k + j] = (0.6 * normal()) / Math.sqrt(k - first);
    if (withVa && va !== undefined) {
      protos[c * k] = va[0];
      protos[c * k + 1] = va[1];
    }
  }
  const centre = new Float64Array(k);
  for (let c = 0; c < C; c++) for (let j = 0; j < k; j++) centre[j] = centre[j]! + prior[c]! * protos[c * k + j]!;
  let ms = 0;
  for (let c = 0; c < C; c++) {
    let sq = 0;
    for (let j = 0; j < k; j++) {
      const v = (protos[c * k + j] = protos[c * k + j]! - centre[j]!);
      sq += v * v;
    }
    ms += prior[c]! * sq;
  }
  const norm = ms > 0 ? o.separation[m]! / Math.sqrt(ms) : 0;
  const means = new Float64Array(C * dim);
  for (let c = 0; c < C; c++) {
    const out = means.subarray(c * dim, (c + 1) * dim);
    for (let j = 0; j < k; j++) {
      const w = protos[c * k + j]! * norm;
      const row = basis.subarray(j * dim, (j + 1) * dim);
      for (let t = 0; t < dim; t++) out[t]! += w * row[t]!;
    }
  }
  const scale = new Float64Array(dim);
  const shift = new Float64Array(dim);
  for (let t = 0; t < dim; t++) {
    scale[t] = Math.exp(0.5 * normal());
    shift[t] = 0.5 * normal();
  }
  return { dim, k, basis, means, scale, shift };
}

/** Fills one dialogue's features for one modality (N x dim, row-major). */
function dialogueFeatures(
  o: SynthOptions,
  mm: ModalityModel,
  s: Structure,
  intensity: Float64Array,
  rand: () => number,
  normal: () => number,
  noise: Float64Array,
): Float32Array {
  const { dim, k, basis, means, scale, shift } = mm;
  const n = s.labels.length;
  // One offset per speaker of this dialogue, in the class subspace.
  const offsets = o.speakers.map(() => {
    const off = new Float64Array(dim);
    if (o.contextOffset === 0) return off;
    for (let j = 0; j < k; j++) {
      const w = o.contextOffset * normal();
      const row = basis.subarray(j * dim, (j + 1) * dim);
      for (let t = 0; t < dim; t++) off[t]! += w * row[t]!;
    }
    return off;
  });
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const mean = means.subarray(s.labels[i]! * dim, (s.labels[i]! + 1) * dim);
    const off = offsets[s.speakers[i]!]!;
    const r = intensity[i]!;
    const base = i * dim;
    fillNormal(noise, rand);
    for (let t = 0; t < dim; t++) {
      out[base + t] = scale[t]! * (r * mean[t]! + off[t]! + noise[t]!) + shift[t]!;
    }
  }
  return out;
}

/**
 * Synthetic conversations shaped like IEMOCAP (see the module comment for the model). Deterministic
 * by `seed`; the default takes well under a second for 7,433 utterances x 2,304 features.
 */
export function synthConversations(options: Partial<SynthOptions> = {}): ConversationDataset {
  const o = resolveSynthOptions(options);
  const rand = mulberry32(o.seed);
  const normal = normalSampler(rand);
  const priorSum = o.classPrior.reduce((a, b) => a + b, 0);
  const prior = Float64Array.from(o.classPrior, (p) => p / priorSum);
  const priorCdf = cumulative(prior);
  const lengths = drawLengths(o, rand, normal);
  const structures = lengths.map((n) => drawDialogue(o, n, prior, priorCdf, rand));
  const intensities = structures.map((s) => Float64Array.from(s.labels, () => 1 + o.intensitySpread * (2 * rand() - 1)));

  const names = Object.keys(o.modalities);
  const features: Record<string, Float32Array>[] = structures.map(() => ({}));
  for (const m of names) {
    const mRand = mulberry32(streamSeed(o.seed, m));
    const mNormal = normalSampler(mRand);
    const model = modalityModel(o, m, prior, mNormal);
    const noise = new Float64Array(model.dim);
    structures.forEach((s, d) => {
      features[d]![m] = dialogueFeatures(o, model, s, intensities[d]!, mRand, mNormal, noise);
    });
  }

  const width = String(o.dialogues - 1).length;
  const dialogues: Dialogue[] = structures.map((s, d) => ({
    id: `synth${String(d).padStart(width, '0')}`,
    features: features[d]!,
    labels: s.labels,
    speakers: Array.from(s.speakers, (i) => o.speakers[i]!),
  }));
  const nTrain = o.dialogues - o.testDialogues;
  const ds: ConversationDataset = {
    name: o.name,
    modalities: names,
    dims: { ...o.modalities },
    classNames: [...o.classNames],
    splits: { train: dialogues.slice(0, nTrain), dev: [], test: dialogues.slice(nTrain) },
    devSource: 'file',
    meta: {
      generator: 'mmbalance synthConversations',
      seed: String(o.seed),
      options: JSON.stringify(o),
    },
  };
  return o.devFraction > 0 ? holdOutDev(ds, { fraction: o.devFraction, seed: o.seed }) : ds;
}
