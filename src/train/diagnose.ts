/**
 * A short, cheap look at a dataset before training (`mmbalance diagnose`): how strong each
 * modality is on its own, what a few epochs of plain joint training make of each, how the
 * per-sample gap between two modalities is distributed, and a verdict with its rule in words.
 * Everything lands in `<out>/diagnose.json` (format mmbalance.diagnose.v1), which reports are
 * drawn from; the joint run is an ordinary run directory, `<out>/joint`.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeStrategy } from '../balance/index.js';
import { datasetFileKind } from '../data/clip/format.js';
import type { MultimodalDataset } from '../data/dataset.js';
import { scope } from '../engine/scope.js';
import { writeAtomically } from '../io/atomic.js';
import { classificationReport, disparityRatios } from '../metrics/index.js';
import type { MultimodalModel } from '../models/model.js';
import { type InputProbeOptions, type InputProbeResult, DEFAULT_INPUT_PROBE_OPTIONS, inputProbes } from './diagnose/input_probes.js';
import { buildRunModel, ensureWritableDir, runDirState, runTraining } from './experiment.js';
import { loadPredictions } from './predictions.js';
import { type RunConfig, ConfigError } from './run_config.js';
import { acquireRunLock } from './run_lock.js';

export const DIAGNOSE_FORMAT = 'mmbalance.diagnose.v1';
/** The summary's file name inside the output directory. */
export const DIAGNOSE_FILE = 'diagnose.json';
/** The joint run's directory inside the output directory. */
export const JOINT_RUN_DIR = 'joint';
/** Bins of the gap histogram on [-1, 1]. */
export const GAP_BINS = 40;
/** How far (as a fraction: 0.1 is 10 points) a modality's unimodal accuracy may fall below its probe's. */
export const SHORTFALL_LIMIT = 0.1;
/** How far above always answering dev's most frequent class a modality must be to count as learned (or as informative). */
export const CHANCE_MARGIN = 0.05;
/** The largest dev disparity ratio that still counts as balanced. */
export const DISPARITY_LIMIT = 1.5;

/** The verdict's rule, as diagnose.json and the printed summary state it. */
export const DIAGNOSE_RULE =
  'imbalanced if, under joint training (dev split, the best dev epoch), (a) some modality other than the dominant one has a ' +
  `unimodal accuracy more than ${100 * SHORTFALL_LIMIT} points below its standalone probe's (an accuracy under always answering ` +
  "dev's most frequent class counts as that answer's) while the dominant modality's is not and beats that answer by more than " +
  `${100 * CHANCE_MARGIN} points, or (b) the largest disparity ratio exceeds ${DISPARITY_LIMIT}. The dominant modality is the one ` +
  `with the largest unimodal score (disparity ratio); the weak ones are those of (a), and those whose unimodal score is less than ` +
  `the dominant's divided by ${DISPARITY_LIMIT}.`;

export type DiagnoseScore = 'accuracy' | 'weightedF1';
export type DiagnoseDataKind = 'conversation' | 'clip';

/** One epoch of the joint run, from its metrics.jsonl (dev split). */
export interface DiagnoseEpoch {
  epoch: number;
  /** The data kind's score of the fused output: weighted F1 (conversations) or accuracy (clips). */
  devScore: number;
  /** Accuracy of each modality's unimodal output (the head's slices, or its own classifier). */
  unimodalAccuracy: Record<string, number>;
  /** Ridge-probe accuracy on each modality's learned features (the encoders' outputs). */
  probeAccuracy: Record<string, number>;
  /** rho_m = s_m / min_j s_j, s_m the summed probability the unimodal output gives the true class. */
  disparityRatio: Record<string, number>;
}

export interface GapDistribution {
  /** [a, b]: the modality with the largest mean p_m(y) on dev first, the smallest second. */
  pair: [string, string];
  definition: string;
  mean: number;
  /** Population standard deviation (divided by N). */
  std: number;
  /** GAP_BINS bins of equal width on [-1, 1]: GAP_BINS + 1 edges; the last bin includes 1. */
  histogram: { edges: number[]; counts: number[] };
}

export interface DiagnoseVerdict {
  imbalanced: boolean;
  /** The modality the joint model leans on; null when balanced. */
  dominant: string | null;
  weak: string[];
  rule: string;
  /** The numbers behind the verdict, in words. */
  reasons: string[];
}

/** diagnose.json (format mmbalance.diagnose.v1): the schema the report reads, and nothing more. */
export interface DiagnoseSummary {
  format: typeof DIAGNOSE_FORMAT;
  data: {
    name: string;
    kind: DiagnoseDataKind;
    /** Absolute path of the data; null for the built-in data. */
    path: string | null;
    sizes: { train: number; dev: number; test: number };
  };
  modalities: string[];
  /** The score of devScore: weightedF1 for conversations, accuracy for clips. */
  score: DiagnoseScore;
  /** Standalone ridge probes on each modality's inputs (see diagnose/input_probes.ts): dev and test accuracy. */
  probes: Record<string, { dev: number; test: number }>;
  joint: {
    epochs: number;
    /** Absolute path of the joint run's directory (`<out>/joint`). */
    runDir: string;
    perEpoch: DiagnoseEpoch[];
    /** Dev split under the weights the run keeps (its best dev epoch), as predictions.safetensors holds them. */
    final: { devScore: number; unimodalAccuracy: Record<string, number>; disparityRatio: Record<string, number> };
  };
  gap: GapDistribution;
  verdict: DiagnoseVerdict;
}

export interface DiagnoseOptions {
  log: (line: string) => void;
  /** No stage lines, no per-epoch lines, no progress bar. */
  quiet?: boolean;
  /** Redo a finished diagnosis in outDir (without it, one is refused). */
  force?: boolean;
  /** Progress bar on stderr during training (default: when it is a terminal, unless quiet). */
  progress?: boolean;
  /** Sample and dimension caps of the input probes (their seed is the run's). */
  probe?: Partial<Omit<InputProbeOptions, 'seed'>>;
}

/** Where an output directory stands: nothing yet, a finished diagnosis, or one that stopped before writing diagnose.json. */
export type DiagnoseState = 'absent' | 'finished' | 'interrupted';

export function diagnoseState(outDir: string): DiagnoseState {
  if (existsSync(join(outDir, DIAGNOSE_FILE))) return 'finished';
  return runDirState(join(outDir, JOINT_RUN_DIR)) === 'absent' ? 'absent' : 'interrupted';
}

/**
 * The preset a diagnosis uses unless one is named: plain joint training for the data's kind
 * ('joint' for conversations, 'clip-joint' for clips). The kind is read from the path as
 * loadFullData reads it: a folder or a clip file is clips; anything else (null: the built-in
 * data) conversations.
 */
export function defaultDiagnosePreset(dataPath: string | null): string {
  if (dataPath === null) return defaultPresetFor('conversation');
  if (!existsSync(dataPath)) throw new ConfigError(`the data ${dataPath} does not exist (--data)`);
  return defaultPresetFor(statSync(dataPath).isDirectory() || datasetFileKind(dataPath) === 'clips' ? 'clip' : 'conversation');
}

function defaultPresetFor(kind: string): string {
  return kind === 'clip' ? 'clip-joint' : 'joint';
}

/** The score diagnose.json reports for a kind of data: the field's usual one. */
export function scoreFor(kind: DiagnoseDataKind): DiagnoseScore {
  return kind === 'conversation' ? 'weightedF1' : 'accuracy';
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const points = (x: number): string => `${(100 * x).toFixed(1)} points`;

/**
 * The verdict from the standalone probes and the joint model's dev numbers (see DIAGNOSE_RULE).
 * Why this rule: the shortfall compares each modality with itself (what a linear read-out of its
 * inputs reaches against what joint training made of it, counted down to the majority answer
 * only, since a head slice can score below it), so a modality that simply carries little is not
 * called suppressed; requiring the dominant modality to be within the limit and above the
 * majority answer tells suppression from a model that is merely undertrained. The disparity ratio is the quantity
 * OGM-GE and Ada2I modulate on; above 1.5 the dominant modality gives the true classes half as
 * much probability again as the weakest does.
 */
export function judgeBalance(input: {
  modalities: readonly string[];
  /** Standalone probe dev accuracy per modality. */
  probeDev: Readonly<Record<string, number>>;
  unimodalAccuracy: Readonly<Record<string, number>>;
  disparityRatio: Readonly<Record<string, number>>;
  /** Dev accuracy of always answering dev's most frequent class. */
  chance: number;
}): DiagnoseVerdict {
  const { modalities: ms, probeDev: probe, unimodalAccuracy: uni, disparityRatio: rho } = input;
  const dominant = ms.reduce((best, m) => (rho[m]! > rho[best]! ? m : best), ms[0]!);
  // A head slice can score under the majority answer; what a modality leaves unused is measured down to that answer only.
  const shortfall = (m: string): number => probe[m]! - Math.max(uni[m]!, input.chance);
  const dominantWithin = shortfall(dominant) <= SHORTFALL_LIMIT;
  // A dominant output no better than the majority answer means the joint model has learned too little to judge suppression.
  const dominantLearned = uni[dominant]! > input.chance + CHANCE_MARGIN;
  const suppressed = dominantWithin && dominantLearned ? ms.filter((m) => m !== dominant && shortfall(m) > SHORTFALL_LIMIT) : [];
  const maxRho = rho[dominant]!;
  const disparate = ms.filter((m) => m !== dominant && maxRho / rho[m]! > DISPARITY_LIMIT);
  const imbalanced = suppressed.length > 0 || maxRho > DISPARITY_LIMIT;
  const reasons: string[] = [];
  for (const m of suppressed)
    reasons.push(
      `${m}: its standalone probe reaches ${pct(probe[m]!)}, its unimodal accuracy under joint training ${pct(uni[m]!)} ` +
        `(dev's most frequent class: ${pct(input.chance)}), ${points(shortfall(m))} short; ` +
        `${dominant}: ${pct(uni[dominant]!)} against its probe's ${pct(probe[dominant]!)}`,
    );
  if (maxRho > DISPARITY_LIMIT) {
    const weakest = ms.reduce((w, m) => (rho[m]! < rho[w]! ? m : w), ms[0]!);
    reasons.push(
      `${dominant}'s dev disparity ratio is ${maxRho.toFixed(2)} (above ${DISPARITY_LIMIT}): its unimodal output gives the true classes ` +
        `${maxRho.toFixed(2)} times the probability ${weakest}'s gives`,
    );
  }
  if (!imbalanced) {
    reasons.push(
      `the largest dev disparity ratio is ${maxRho.toFixed(2)} (${dominant}; at most ${DISPARITY_LIMIT}) and ` +
        (!dominantLearned
          ? `${dominant}'s unimodal accuracy (${pct(uni[dominant]!)}) is not ${points(CHANCE_MARGIN)} above always answering dev's most frequent class (${pct(input.chance)}): the joint model has learned too little to judge; give more --epochs`
          : dominantWithin
            ? `no modality's unimodal accuracy is more than ${points(SHORTFALL_LIMIT)} below its probe's`
            : `${dominant} itself is ${points(shortfall(dominant))} below its probe (${pct(uni[dominant]!)} against ${pct(probe[dominant]!)}), so shortfalls say undertrained, not suppressed`),
    );
  }
  if (!dominantWithin && imbalanced)
    reasons.push(
      `${dominant} is itself ${points(shortfall(dominant))} below its probe: the joint model may be undertrained (more --epochs would tell)`,
    );
  const weak = imbalanced ? ms.filter((m) => suppressed.includes(m) || disparate.includes(m)) : [];
  for (const m of weak)
    if (probe[m]! - input.chance <= CHANCE_MARGIN)
      reasons.push(
        `${m}'s standalone probe (${pct(probe[m]!)}) is not ${points(CHANCE_MARGIN)} above always answering dev's most frequent class (${pct(input.chance)}): ` +
          'it may carry little about the label, which no balancing method can add',
      );
  return { imbalanced, dominant: imbalanced ? dominant : null, weak, rule: DIAGNOSE_RULE, reasons };
}

/** The gap's histogram, mean and population std for values in [-1, 1]. */
export function gapHistogram(gaps: ArrayLike<number>): { mean: number; std: number; edges: number[]; counts: number[] } {
  const half = GAP_BINS / 2;
  const edges = Array.from({ length: GAP_BINS + 1 }, (_, k) => (k - half) / half);
  const counts = new Array<number>(GAP_BINS).fill(0);
  let sum = 0;
  for (let i = 0; i < gaps.length; i++) {
    const g = gaps[i]!;
    sum += g;
    counts[Math.min(GAP_BINS - 1, Math.max(0, Math.floor((g + 1) * half)))]!++;
  }
  const mean = gaps.length > 0 ? sum / gaps.length : 0;
  let sq = 0;
  for (let i = 0; i < gaps.length; i++) sq += (gaps[i]! - mean) ** 2;
  return { mean, std: gaps.length > 0 ? Math.sqrt(sq / gaps.length) : 0, edges, counts };
}

function dataKind(data: MultimodalDataset): DiagnoseDataKind {
  if (data.kind === 'conversation' || data.kind === 'clip') return data.kind;
  throw new ConfigError(`diagnose reads conversation or clip data, not ${data.kind} data`);
}

/** The joint run's metrics.jsonl as the per-epoch part of the summary. */
function readEpochs(path: string, score: DiagnoseScore): DiagnoseEpoch[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const r = JSON.parse(line) as {
        epoch: number;
        dev: Record<DiagnoseScore, number>;
        unimodalAccuracy: Record<string, number>;
        probeAccuracy: Record<string, number> | null;
        disparityRatio: Record<string, number>;
      };
      return {
        epoch: r.epoch,
        devScore: r.dev[score],
        unimodalAccuracy: r.unimodalAccuracy,
        probeAccuracy: r.probeAccuracy ?? {},
        disparityRatio: r.disparityRatio,
      };
    });
}

/** The final dev numbers and the gap, from the joint run's predictions.safetensors. */
function readDevPredictions(
  path: string,
  modalities: readonly string[],
  numClasses: number,
  score: DiagnoseScore,
): { final: DiagnoseSummary['joint']['final']; gap: GapDistribution } {
  return scope(() => {
    const dev = loadPredictions(path).splits.dev;
    if (dev === undefined) throw new Error(`${path} holds no dev predictions`);
    const y = Int32Array.from(dev.label.toArray());
    const N = y.length;
    const fused = classificationReport(Int32Array.from(dev.probs.argmax(1).toArray()), y, { numClasses });
    const pTrue: Record<string, Float64Array> = {};
    const scores: Record<string, number> = {};
    const accuracy: Record<string, number> = {};
    for (const m of modalities) {
      const u = dev.unimodal[m];
      if (u === undefined) throw new Error(`${path} holds no dev predictions of '${m}'`);
      const p = u.toArray();
      const pred = u.argmax(1).toArray();
      const C = u.shape[1]!;
      const row = new Float64Array(N);
      let correct = 0;
      for (let i = 0; i < N; i++) {
        row[i] = p[i * C + y[i]!]!;
        if (pred[i] === y[i]) correct++;
      }
      pTrue[m] = row;
      scores[m] = row.reduce((a, b) => a + b, 0);
      accuracy[m] = correct / N;
    }
    // Two modalities or more: the pair with the largest and the smallest mean p_m(y).
    const byScore = [...modalities].sort((a, b) => scores[b]! - scores[a]!);
    const [a, b] = [byScore[0]!, byScore[byScore.length - 1]!];
    const gaps = pTrue[a]!.map((v, i) => v - pTrue[b]![i]!);
    const h = gapHistogram(gaps);
    return {
      final: {
        devScore: score === 'accuracy' ? fused.accuracy : fused.weighted.f1,
        unimodalAccuracy: accuracy,
        disparityRatio: disparityRatios(scores),
      },
      gap: {
        pair: [a, b],
        definition:
          `gap_i = p_${a}(y_i) - p_${b}(y_i) over the ${N} dev samples: the probability each modality's unimodal output ` +
          "(the fusion head's slice, or the modality's own classifier) gives sample i's true class under the joint run's best-dev weights; " +
          `${a} and ${b} are the modalities with the largest and the smallest mean p_m(y). ` +
          `Histogram: ${GAP_BINS} equal bins on [-1, 1] (the last includes 1); std divides by N.`,
        mean: h.mean,
        std: h.std,
        histogram: { edges: h.edges, counts: h.counts },
      },
    };
  });
}

/**
 * The best a label-blind constant answer scores on dev: the share of dev's most frequent class.
 * Dev's own, not the training split's: with dialogues of persistent emotions a small dev split's
 * classes can be far from the training split's.
 */
function majorityChance(data: MultimodalDataset): number {
  const dev = data.labels('dev');
  const counts = new Map<number, number>();
  for (const y of dev) counts.set(y, (counts.get(y) ?? 0) + 1);
  return dev.length > 0 ? Math.max(...counts.values()) / dev.length : 0;
}

/**
 * Builds the joint run's model once and frees it: a recipe for another kind of data, or samples
 * too small for an encoder, fail here, before the probes run and the output directory is made.
 */
function checkModelBuilds(config: RunConfig, data: MultimodalDataset): void {
  let model: MultimodalModel;
  try {
    model = buildRunModel(config, data);
  } catch (e) {
    const err = e as Error;
    throw new ConfigError(
      `the joint run's model cannot be built for this data: ${err.message}` +
        (config.preset === defaultPresetFor(data.kind)
          ? ''
          : ` (preset ${config.preset}; without --preset, diagnose uses ${defaultPresetFor(data.kind)})`),
    );
  }
  for (const t of [...model.parameters(), ...model.namedBuffers().map(([, b]) => b)]) t.dispose();
}

/**
 * Diagnoses `data` (already limited to the modalities to compare) under `config` (a preset of
 * plain joint training, usually; its epochs are the joint run's) into `outDir`. Everything that
 * can be checked is checked before outDir is touched; outDir is locked while in use. A finished
 * diagnosis there is refused unless `force`; an interrupted one is started again.
 */
export function diagnose(config: RunConfig, data: MultimodalDataset, outDir: string, options: DiagnoseOptions): DiagnoseSummary {
  const kind = dataKind(data);
  const modalities = [...data.modalities];
  if (modalities.length < 2)
    throw new ConfigError(`diagnose compares modalities; choose at least two (the selection has only ${modalities.join(', ') || 'none'})`);
  for (const split of ['train', 'dev', 'test'] as const)
    if (data.size(split) === 0)
      throw new ConfigError(`the ${split} split of ${data.name} is empty; diagnose needs samples in train, dev and test`);
  makeStrategy(config.method, config.methodOptions);
  checkModelBuilds(config, data);
  const refuse = (): void => {
    if (diagnoseState(outDir) === 'finished' && !options.force)
      throw new ConfigError(`${outDir} holds a finished diagnosis (${DIAGNOSE_FILE}); pass --force to redo it, or choose another --out`);
  };
  refuse();
  ensureWritableDir(outDir);
  const release = acquireRunLock(outDir);
  try {
    // Another process may have finished a diagnosis here while this one was loading.
    refuse();
    const say = (line: string): void => {
      if (!options.quiet) options.log(line);
    };
    const jointDir = join(outDir, JOINT_RUN_DIR);
    const state = diagnoseState(outDir);
    if (state === 'interrupted') say(`mmbalance: ${outDir} holds a diagnosis that did not finish; starting it again`);
    // A diagnosis is started again from nothing: its joint run is a few epochs, cheaper to redo than to reconcile.
    rmSync(join(outDir, DIAGNOSE_FILE), { force: true });
    const jointState = runDirState(jointDir);
    if (jointState !== 'absent' && jointState !== 'empty') rmSync(jointDir, { recursive: true, force: true });

    const score = scoreFor(kind);
    const probeOptions = { ...DEFAULT_INPUT_PROBE_OPTIONS, ...options.probe, seed: config.train.seed };
    const widths = modalities.map((m) => `${m} ${data.shapes[m]!.map((d) => (d === -1 ? 'T' : d)).join('x')}`).join(', ');
    say(
      `diagnose 1/3: a ridge probe per modality on its standardized inputs (${widths}; at most ${probeOptions.maxTrainSamples} ` +
        `training samples, inputs wider than ${probeOptions.maxDims} randomly projected to ${probeOptions.maxDims})`,
    );
    const probeResults: Record<string, InputProbeResult> = inputProbes(data, probeOptions);
    const probes = Object.fromEntries(modalities.map((m) => [m, { dev: probeResults[m]!.dev, test: probeResults[m]!.test }]));

    const c: RunConfig = structuredClone(config);
    c.modalities = modalities;
    // The per-epoch feature probes are part of the diagnosis.
    c.train.probes = true;
    say(`diagnose 2/3: ${c.train.epochs} epoch(s) of ${c.method} training (preset ${c.preset}) into ${jointDir}`);
    runTraining(c, data, jointDir, {
      quiet: Boolean(options.quiet),
      log: say,
      ...(options.progress !== undefined ? { progress: options.progress } : {}),
    });
    const perEpoch = readEpochs(join(jointDir, 'metrics.jsonl'), score);

    say('diagnose 3/3: the per-sample gap on dev and the verdict');
    const { final, gap } = readDevPredictions(join(jointDir, 'predictions.safetensors'), modalities, data.classNames.length, score);
    const verdict = judgeBalance({
      modalities,
      probeDev: Object.fromEntries(modalities.map((m) => [m, probes[m]!.dev])),
      unimodalAccuracy: final.unimodalAccuracy,
      disparityRatio: final.disparityRatio,
      chance: majorityChance(data),
    });
    const summary: DiagnoseSummary = {
      format: DIAGNOSE_FORMAT,
      data: {
        name: data.name,
        kind,
        path: config.data.path === null ? null : resolve(config.data.path),
        sizes: { train: data.size('train'), dev: data.size('dev'), test: data.size('test') },
      },
      modalities,
      score,
      probes,
      joint: { epochs: perEpoch.length, runDir: resolve(jointDir), perEpoch, final },
      gap,
      verdict,
    };
    writeAtomically(join(outDir, DIAGNOSE_FILE), new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'));
    return summary;
  } finally {
    release();
  }
}
