/**
 * Robustness curves of a finished run: its best weights scored on a split with one modality
 * corrupted at increasing levels (src/data/corruption.ts), beside the clean score, kept in
 * robustness.json where a report can draw them.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CORRUPTIONS, CORRUPTION_NAMES, type CorruptionName, CorruptedData, checkLevel, frequencyBins } from '../data/corruption.js';
import type { MultimodalDataset, SplitName } from '../data/dataset.js';
import { writeAtomically } from '../io/atomic.js';
import { makeDirs } from '../io/dirs.js';
import type { MultimodalModel } from '../models/model.js';
import { loadBest } from './checkpoint.js';
import { predictSplit, scorePredictions } from './evaluate.js';
import { buildRunModel, fileChecksum, loadFullData, loadRunData, runDirState } from './experiment.js';
import { ProgressBar } from './progress.js';
import { type RunConfig, ConfigError, loadStoredConfig, nearest } from './run_config.js';

export const ROBUSTNESS_FORMAT = 'mmbalance.robustness.v1';
export const ROBUSTNESS_FILE = 'robustness.json';

export interface Score {
  accuracy: number;
  weightedF1: number;
}

export interface RobustnessPoint extends Score {
  level: number;
}

export interface RobustnessCurve {
  modality: string;
  corruption: CorruptionName;
  levelName: string;
  levels: RobustnessPoint[];
}

/** robustness.json (format mmbalance.robustness.v1). */
export interface RobustnessResult {
  format: typeof ROBUSTNESS_FORMAT;
  /** The run directory, resolved. */
  run: string;
  method: string;
  /** The run's modalities (the curves say which one each corrupts). */
  modalities: string[];
  split: SplitName;
  seed: number;
  clean: Score;
  curves: RobustnessCurve[];
}

export interface RobustnessOptions {
  /** Modalities to corrupt, one curve each per corruption (default: all of the run's). */
  modalities?: readonly string[];
  /** Default: all three. */
  corruptions?: readonly CorruptionName[];
  /** The levels of every curve (only with one corruption); default: the corruption's own. */
  levels?: readonly number[];
  /** Seeds the corruptions' draws (default 0). */
  seed?: number;
  split?: SplitName;
  /** Data to evaluate on instead of the run's data.path (the same data, moved). */
  data?: string;
  /** The run's data already loaded, all modalities (a sweep holds it): not read again. */
  dataset?: MultimodalDataset;
  /** No per-level lines and no progress bar. */
  quiet?: boolean;
  log?: (line: string) => void;
}

/** A finished run's configuration, data and best weights, with errors that say what to do. */
export interface LoadedRun {
  dir: string;
  config: RunConfig;
  data: MultimodalDataset;
  model: MultimodalModel;
}

/**
 * Loads a finished run as eval does: its config.json, its data (from `o.data` when it moved, or
 * `o.dataset` when loaded already) and best.safetensors.
 */
export function loadFinishedRun(
  dir: string,
  o: { data?: string; dataset?: MultimodalDataset; log?: (line: string) => void } = {},
): LoadedRun {
  const state = runDirState(dir);
  if (state === 'absent') throw new ConfigError(`the run directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new ConfigError(`${dir} is a file, not a run directory made by mmbalance train`);
  if (state === 'empty') throw new ConfigError(`${dir} holds no run (no config.json); train one with mmbalance train --out ${dir}`);
  if (state === 'unstarted' || !existsSync(join(dir, 'best.safetensors')))
    throw new ConfigError(`${dir} has no best weights (no finished epoch); train it first or --resume it`);
  if (state === 'resumable')
    throw new ConfigError(
      `${dir} stopped before it finished (no summary.json), so its best weights may still change; ` +
        `finish it with mmbalance train --out ${dir} --resume, then measure its robustness`,
    );
  const config = loadStoredConfig(join(dir, 'config.json'));
  const summary = readSummary(dir);
  const trainedOn = config.data.path;
  const dataPath = o.data;
  if (dataPath !== undefined) {
    config.data.path = resolve(dataPath);
    if (!existsSync(config.data.path)) throw new ConfigError(`the data ${dataPath} given with --data does not exist`);
    const sum = summary.data?.sha256;
    if (typeof sum === 'string' && !statSync(config.data.path).isDirectory() && fileChecksum(config.data.path) !== sum)
      o.log?.(`mmbalance: note: ${dataPath} is not the file the run was trained on (its SHA-256 differs from summary.json's)`);
  } else if (o.dataset === undefined && trainedOn !== null && !existsSync(trainedOn)) {
    throw new ConfigError(
      `the run's data ${trainedOn} (data.path in ${join(dir, 'config.json')}) is not there any more; ` +
        'point at where it is now with --data PATH',
    );
  }
  const full = o.dataset ?? loadFullData(config);
  const classNames = Array.isArray(summary.classNames) ? (summary.classNames as string[]) : null;
  if (classNames !== null && JSON.stringify(full.classNames) !== JSON.stringify(classNames))
    throw new ConfigError(
      `the data's classes (${full.classNames.join(', ')}) differ from the run's (${classNames.join(', ')}); ` +
        'give --data the file the run was trained on',
    );
  for (const m of config.modalities)
    if (!full.modalities.includes(m)) throw new ConfigError(`the data has no '${m}' modality, which the run was trained on`);
  const data = loadRunData(config, full);
  const model = buildRunModel(config, data);
  loadBest(dir, model);
  return { dir, config, data, model };
}

interface StoredSummary {
  classNames?: unknown;
  data?: { sha256?: unknown };
}

function readSummary(dir: string): StoredSummary {
  try {
    return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as StoredSummary;
  } catch (e) {
    throw new ConfigError(`cannot read ${join(dir, 'summary.json')} (${(e as Error).message}); the run did not finish cleanly`);
  }
}

/** The levels of one curve: the given ones, checked, or the corruption's defaults (mask factors capped at the bins). */
export function curveLevels(kind: CorruptionName, modality: string, shape: readonly number[], given?: readonly number[]): number[] {
  const bins = frequencyBins(shape);
  if (given === undefined) {
    const levels = CORRUPTIONS[kind].defaultLevels.map((l) => (kind === 'freqmask' ? Math.min(l, bins) : l));
    return [...new Set(levels)];
  }
  if (given.length === 0) throw new ConfigError('give at least one level');
  for (const l of given) {
    if (kind === 'gaussian' && !Number.isFinite(l))
      throw new ConfigError(`SNR levels must be finite dB values (received ${l}); the clean score is always measured`);
    try {
      checkLevel(kind, l, bins);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      const more = kind === 'freqmask' && l > bins ? ` ('${modality}' samples have ${bins} bins; choose one modality with --modality)` : '';
      throw new ConfigError(`--levels: ${e.message}${more}`);
    }
  }
  return [...given];
}

/** The modalities to corrupt: the given ones, checked against the run's, or all of them. */
function chooseModalities(given: readonly string[] | undefined, available: readonly string[]): string[] {
  if (given === undefined || given.length === 0) return [...available];
  for (const m of given) {
    if (!available.includes(m)) {
      const near = nearest(m, available);
      throw new ConfigError(`the run has no modality '${m}' (it has ${available.join(', ')})${near ? `; did you mean '${near}'?` : ''}`);
    }
  }
  return [...new Set(given)];
}

/** Scores the model on one split of the data, with a progress bar unless quiet. */
function score(model: MultimodalModel, data: MultimodalDataset, split: SplitName, c: RunConfig, label: string, quiet: boolean): Score {
  const bar = new ProgressBar(data.numBatches(split, { batchSize: c.train.batchSize }), label, quiet ? false : undefined);
  const p = predictSplit(model, data, split, { batchSize: c.train.batchSize, device: c.train.device, onBatch: () => bar.tick() });
  bar.close();
  try {
    const r = scorePredictions(p, data.classNames.length);
    return { accuracy: r.accuracy, weightedF1: r.weightedF1 };
  } finally {
    p.dispose();
  }
}

/**
 * Scores a finished run's best weights on a split, clean once and then with each modality
 * corrupted at each level of each corruption: one curve per (modality, corruption). Writes
 * nothing (see saveRobustness).
 */
export function evaluateRobustness(runDir: string, o: RobustnessOptions = {}): RobustnessResult {
  const log = o.log ?? ((): void => {});
  const quiet = Boolean(o.quiet);
  const split = o.split ?? 'test';
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new ConfigError(`the seed must be an integer from 0 to 4294967295, not ${seed}`);
  const corruptions = o.corruptions === undefined || o.corruptions.length === 0 ? CORRUPTION_NAMES : [...new Set(o.corruptions)];
  for (const k of corruptions)
    if (!CORRUPTION_NAMES.includes(k)) {
      const near = nearest(k, CORRUPTION_NAMES);
      throw new ConfigError(`unknown corruption '${k}'; use ${CORRUPTION_NAMES.join(', ')}${near ? ` (did you mean '${near}'?)` : ''}`);
    }
  if (o.levels !== undefined && corruptions.length !== 1)
    throw new ConfigError('levels mean dB, bins or fractions depending on the corruption: give them with one corruption');
  const run = loadFinishedRun(runDir, {
    ...(o.data !== undefined ? { data: o.data } : {}),
    ...(o.dataset ? { dataset: o.dataset } : {}),
    log,
  });
  const { config: c, data, model } = run;
  const modalities = chooseModalities(o.modalities, data.modalities);
  // Every curve's levels are checked before the first evaluation.
  const plan = corruptions.flatMap((kind) =>
    modalities.map((m) => ({ kind, modality: m, levels: curveLevels(kind, m, data.shapes[m]!, o.levels) })),
  );
  const t0 = performance.now();
  const clean = score(model, data, split, c, 'clean', quiet);
  if (!quiet) log(`clean: accuracy ${clean.accuracy.toFixed(4)}, weighted F1 ${clean.weightedF1.toFixed(4)}`);
  const curves: RobustnessCurve[] = plan.map(({ kind, modality, levels }) => {
    const { levelName } = CORRUPTIONS[kind];
    const points = levels.map((level) => {
      const corrupted = new CorruptedData(data, modality, { kind, level, seed });
      const s = score(model, corrupted, split, c, `${modality} ${kind} ${level}`, quiet);
      if (!quiet)
        log(`${modality} ${kind} ${levelName} ${level}: accuracy ${s.accuracy.toFixed(4)}, weighted F1 ${s.weightedF1.toFixed(4)}`);
      return { level, ...s };
    });
    return { modality, corruption: kind, levelName, levels: points };
  });
  if (!quiet)
    log(`evaluated ${1 + plan.reduce((a, p) => a + p.levels.length, 0)} passes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    format: ROBUSTNESS_FORMAT,
    run: resolve(runDir),
    method: c.method,
    modalities: [...data.modalities],
    split,
    seed,
    clean,
    curves,
  };
}

/**
 * The file's earlier curves with this result's added or replaced (keyed by modality and
 * corruption). Earlier curves are kept only when they describe the same run, split, seed and
 * clean score (the same weights); `dropped` says why they were not.
 */
export function mergeRobustness(previous: unknown, next: RobustnessResult): { result: RobustnessResult; dropped: string | null } {
  if (previous === null || previous === undefined) return { result: next, dropped: null };
  const p = previous as Partial<RobustnessResult>;
  const differs: string[] = [];
  if (p.format !== ROBUSTNESS_FORMAT) differs.push(`format ${JSON.stringify(p.format)}`);
  else {
    if (p.run !== next.run) differs.push(`run ${p.run}`);
    if (p.split !== next.split) differs.push(`split ${p.split}`);
    if (p.seed !== next.seed) differs.push(`seed ${p.seed}`);
    if (p.clean?.accuracy !== next.clean.accuracy || p.clean?.weightedF1 !== next.clean.weightedF1)
      differs.push('another clean score (the weights changed)');
  }
  if (differs.length > 0 || !Array.isArray(p.curves)) return { result: next, dropped: differs.join(', ') || 'no curves' };
  const key = (cv: RobustnessCurve): string => `${cv.modality}\u0000${cv.corruption}`;
  const replaced = new Set(next.curves.map(key));
  const kept = p.curves.filter((cv) => !replaced.has(key(cv)));
  const curves = [...kept, ...next.curves].sort(
    (a, b) =>
      CORRUPTION_NAMES.indexOf(a.corruption) - CORRUPTION_NAMES.indexOf(b.corruption) ||
      next.modalities.indexOf(a.modality) - next.modalities.indexOf(b.modality),
  );
  return { result: { ...next, curves }, dropped: null };
}

/**
 * Writes the result to `path` (atomically), merged with the curves already there
 * (mergeRobustness). Returns what was written.
 */
export function saveRobustness(path: string, result: RobustnessResult, log?: (line: string) => void): RobustnessResult {
  let previous: unknown = null;
  if (existsSync(path)) {
    try {
      previous = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      log?.(`mmbalance: ${path} was not valid JSON (${(e as Error).message}); writing it afresh`);
    }
  }
  const { result: merged, dropped } = mergeRobustness(previous, result);
  if (dropped !== null) log?.(`mmbalance: ${path} held curves of ${dropped}; they were replaced`);
  makeDirs(dirname(resolve(path)));
  writeAtomically(path, new TextEncoder().encode(JSON.stringify(merged, null, 2) + '\n'));
  return merged;
}

/** One curve as a small table: level, accuracy, weighted F1 and the change in accuracy from clean. */
export function robustnessTable(curve: RobustnessCurve, clean: Score): string {
  const head = curve.levelName;
  const w = Math.max(head.length, 8);
  const row = (level: string, s: Score, delta: string): string =>
    `  ${level.padEnd(w)}  ${s.accuracy.toFixed(4).padStart(8)}  ${s.weightedF1.toFixed(4).padStart(11)}  ${delta.padStart(8)}`;
  const lines = [
    `${curve.modality}, ${curve.corruption}:`,
    `  ${head.padEnd(w)}  ${'accuracy'.padStart(8)}  ${'weighted F1'.padStart(11)}  ${'vs clean'.padStart(8)}`,
    row('clean', clean, ''),
    ...curve.levels.map((p) => {
      const d = p.accuracy - clean.accuracy;
      return row(String(p.level), p, `${d >= 0 ? '+' : ''}${d.toFixed(4)}`);
    }),
  ];
  return lines.join('\n');
}
