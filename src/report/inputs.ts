/** What the report reads: runs, sweeps, robustness tests and dataset diagnoses, as loaded from disk. */
import type { EpochRecord } from '../train/callbacks.js';

/** One line of metrics.jsonl: every field but the epoch may be missing (older runs, partial lines of a run in progress). */
export type EpochLine = Partial<EpochRecord> & { epoch: number };

/** One split of predictions.safetensors, row-major (n, c). */
export interface PredictionSplit {
  n: number;
  c: number;
  probs: Float32Array;
  unimodal: Record<string, Float32Array>;
  label: Int32Array;
}

export interface RunPredictions {
  classNames: string[];
  modalities: string[];
  splits: Partial<Record<'dev' | 'test', PredictionSplit>>;
}

/** The fields of summary.json the report uses. */
export interface RunSummary {
  method?: string;
  strategy?: string;
  modalities?: string[];
  bestEpoch?: number;
  seed?: number;
  wallSeconds?: number;
  classNames?: string[];
  test?: { accuracy?: number; weightedF1?: number; macroF1?: number; confusionMatrix?: number[][] };
  dev?: { accuracy?: number; weightedF1?: number };
  data?: { name?: string; kind?: string; sizes?: Record<string, number> };
}

export type ScoreName = 'accuracy' | 'weightedF1';

export interface RunInput {
  kind: 'run';
  dir: string;
  /** Set by the loader once every run is known: the parts that tell the runs apart. */
  label: string;
  /** The method as the user named it: a sweep's variant name (mmcosine) before the configured method (joint). */
  method: string;
  modalities: string[];
  seed: number | null;
  dataName: string;
  dataKind: string | null;
  /** The dev score the run selected its best epoch by. */
  monitor: ScoreName;
  classNames: string[];
  epochs: EpochLine[];
  /** Null for a run that has not finished. */
  summary: RunSummary | null;
  /** Null when the run left no predictions.safetensors. */
  predictions: RunPredictions | null;
  /** Every file read, so the output can never replace one. */
  files: string[];
}

export interface MeanStd {
  mean: number;
  std: number;
  runs: number[];
}

/** A row of a modality-subset sweep (sweep.json written with methods [null]). */
export interface SubsetRow {
  modalities: string[];
  weightedF1: MeanStd;
  accuracy: MeanStd;
  gapToAll: number | null;
}

/** A row of a method sweep. */
export interface MethodRow {
  method: string;
  modalities: string[];
  score: MeanStd;
  unimodalAccuracy: Record<string, number>;
  ece: number;
  agreement: { label: string; count: number }[] | null;
  epochSeconds: number;
}

export type SweepInput = {
  kind: 'sweep';
  dir: string;
  label: string;
  dataName: string;
  /** The score of the method table (the data's: weighted F1 for conversations, accuracy for clips). */
  score: ScoreName;
  seeds: number;
  /** The sweep's runs that could be read. */
  runs: RunInput[];
  /** The robustness tests its runs hold (sweep --robustness). */
  robustness: RobustnessInput[];
  files: string[];
} & ({ table: 'subsets'; rows: SubsetRow[] } | { table: 'methods'; rows: MethodRow[] });

export type Corruption = 'gaussian' | 'freqmask' | 'zero';

/** robustness.json (format mmbalance.robustness.v1). */
export interface RobustnessDoc {
  format: 'mmbalance.robustness.v1';
  run: string;
  method: string;
  modalities: string[];
  split: string;
  seed: number;
  clean: { accuracy: number; weightedF1: number };
  curves: {
    modality: string;
    corruption: Corruption;
    levelName: string;
    levels: { level: number; accuracy: number; weightedF1: number }[];
  }[];
}

export interface RobustnessInput {
  kind: 'robustness';
  file: string;
  label: string;
  doc: RobustnessDoc;
  files: string[];
}

/** diagnose.json (format mmbalance.diagnose.v1). */
export interface DiagnoseDoc {
  format: 'mmbalance.diagnose.v1';
  data: { name: string; kind: 'conversation' | 'clip'; path: string | null; sizes: { train: number; dev: number; test: number } };
  modalities: string[];
  score: ScoreName;
  probes: Record<string, { dev: number; test: number }>;
  joint: {
    epochs: number;
    runDir: string;
    perEpoch: {
      epoch: number;
      devScore: number;
      unimodalAccuracy: Record<string, number>;
      probeAccuracy: Record<string, number>;
      disparityRatio: Record<string, number>;
    }[];
    final: { devScore: number; unimodalAccuracy: Record<string, number>; disparityRatio: Record<string, number> };
  };
  gap: { pair: [string, string]; definition: string; mean: number; std: number; histogram: { edges: number[]; counts: number[] } };
  verdict: { imbalanced: boolean; dominant: string | null; weak: string[]; rule: string; reasons: string[] };
}

export interface DiagnoseInput {
  kind: 'diagnose';
  dir: string;
  label: string;
  doc: DiagnoseDoc;
  files: string[];
}

export type ReportInput = RunInput | SweepInput | RobustnessInput | DiagnoseInput;

/** Where warnings go (a cut-short metrics line, a sweep run that is gone); stderr unless told otherwise. */
export type Warn = (message: string) => void;

export const warnOnStderr: Warn = (m) => process.stderr.write(`mmbalance report: ${m}\n`);
