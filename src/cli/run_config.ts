import { readFileSync } from 'node:fs';
import { DEFAULT_MODEL_CONFIG, type ConversationModelConfig } from '../models/conversation_model.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/config.js';
import { UsageError, nearest } from './args.js';

/** Everything a run is made from; saved as the run directory's config.json. */
export interface RunConfig {
  method: string;
  methodOptions: Record<string, unknown>;
  data: {
    /** A pickle or an mmbalance dataset file; null for the built-in synthetic data. */
    path: string | null;
    format: string;
    /** Options of the built-in generator (used when path is null). */
    synth: Record<string, unknown>;
    devFraction: number;
    /** Held-out dev dialogues: a seeded shuffle, or the first ones in file order (Ada2I's MELD protocol). */
    devMode: 'shuffle' | 'first';
  };
  /**
   * Ada2I: `parity` reproduces the authors' code exactly (no padding masks, AFW's code form);
   * `loss` 'code' is their NLL of the AMW output + the AFW loss, 'paper' is eq. 14
   * (L_modal + L_feature + L_cls with an MLP classifier on the AMW output, eq. 9).
   */
  ada2i: { parity: boolean; loss: 'code' | 'paper' };
  /** Modality names to use, in order; empty for all of the data's. */
  modalities: string[];
  model: ConversationModelConfig;
  train: TrainConfig;
}

export function defaultRunConfig(): RunConfig {
  return {
    method: 'joint',
    methodOptions: {},
    data: { path: null, format: 'auto', synth: {}, devFraction: 0.1, devMode: 'shuffle' },
    ada2i: { parity: false, loss: 'code' },
    modalities: [],
    model: { ...DEFAULT_MODEL_CONFIG },
    train: { ...DEFAULT_TRAIN_CONFIG },
  };
}

/** Ada2I (Nguyen et al., ACM MM 2024) with the hyperparameters of the authors' run script. */
function ada2i(
  c: RunConfig,
  d: { hidden: number; lr: number; alpha: number; beta: number; rank: number; devMode: 'shuffle' | 'first' },
): RunConfig {
  c.method = 'disparity';
  c.methodOptions = { alpha: d.alpha, startEpoch: 4, noise: true };
  c.model = {
    ...c.model,
    encoder: 'transformer',
    hidden: d.hidden,
    layers: 2,
    dimFeedforward: 2048,
    // The run script's single drop rate; it applies to the encoders and to AFW.
    dropout: 0.5,
    head: 'amw',
    amwMode: 'ada2i',
    afw: true,
    afwLayers: 2,
    afwRank: d.rank,
    afwBeta: d.beta,
    afwDropout: 0.5,
    // The authors' modality string is "atv": their contraction multiplies in that order.
    afwOrder: ['audio', 'text', 'visual'],
  };
  c.train = {
    ...c.train,
    epochs: 50,
    batchSize: 10,
    optimizer: 'adam',
    lr: d.lr,
    weightDecay: 1e-8,
    scheduler: 'plateau',
    clipGradNorm: 2,
    monitor: 'dev.weightedF1',
    patience: 20,
    seed: 12,
  };
  c.data = { ...c.data, devFraction: 0.1, devMode: d.devMode };
  return c;
}

/** Named starting configurations; `--set` and flags apply on top. */
export const PRESETS: Record<string, (c: RunConfig) => RunConfig> = {
  'ada2i-iemocap': (c) => ada2i(c, { hidden: 300, lr: 1.7e-4, alpha: 0.037, beta: 0.012, rank: 11, devMode: 'shuffle' }),
  'ada2i-meld': (c) => ada2i(c, { hidden: 200, lr: 1.3e-4, alpha: 0.42, beta: 0.55, rank: 6, devMode: 'first' }),
  /** Joint training of Transformer encoders with a concat head: the plain baseline. */
  joint: (c) => c,
};

/** What `mmbalance train` uses when no preset is named. */
export const DEFAULT_PRESET = 'ada2i-iemocap';

export function applyPreset(c: RunConfig, name: string): RunConfig {
  const p = PRESETS[name];
  if (!p) {
    const near = nearest(name, Object.keys(PRESETS));
    throw new UsageError(`unknown preset '${name}'${near ? `; did you mean '${near}'?` : ''} (known: ${Object.keys(PRESETS).join(', ')})`);
  }
  return p(c);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges `patch` into `base`, refusing keys `base` does not have (free-form maps excepted). */
export function mergeConfig(base: Record<string, unknown>, patch: Record<string, unknown>, path = ''): void {
  for (const [k, v] of Object.entries(patch)) {
    const where = path ? `${path}.${k}` : k;
    const freeForm = where.startsWith('methodOptions') || where.startsWith('data.synth');
    if (!(k in base) && !freeForm) {
      const near = nearest(k, Object.keys(base));
      throw new UsageError(`unknown config key '${where}'${near ? `; did you mean '${path ? `${path}.` : ''}${near}'?` : ''}`);
    }
    if (isObject(v) && isObject(base[k])) mergeConfig(base[k] as Record<string, unknown>, v, where);
    else base[k] = v;
  }
}

/** `key.sub=value`: value as JSON when it parses (numbers, booleans, arrays), else as a string. */
export function applySet(c: RunConfig, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set expects key=value (e.g. train.lr=0.001) but received '${assignment}'`);
  const key = assignment.slice(0, eq);
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  const patch: Record<string, unknown> = {};
  let cur = patch;
  const parts = key.split('.');
  parts.forEach((p, i) => {
    if (i === parts.length - 1) cur[p] = value;
    else cur = cur[p] = {} as Record<string, unknown>;
  });
  mergeConfig(c as unknown as Record<string, unknown>, patch);
}

export function loadConfigFile(c: RunConfig, path: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read the config file ${path}: ${(e as Error).message}`);
  }
  if (!isObject(parsed)) throw new UsageError(`the config file ${path} must hold a JSON object`);
  mergeConfig(c as unknown as Record<string, unknown>, parsed);
}

const LETTERS: Record<string, string> = { t: 'text', a: 'audio', v: 'visual' };

/** 'tav' | 'ta' | ... (text, audio, visual), or a comma-separated list of modality names. */
export function parseModalities(spec: string, available: readonly string[]): string[] {
  const names = spec.includes(',') || !/^[tav]+$/.test(spec) ? spec.split(',').map((s) => s.trim()) : [...spec].map((ch) => LETTERS[ch]!);
  for (const n of names) {
    if (!available.includes(n)) {
      throw new UsageError(
        `modality '${n}' is not in the data (it has ${available.join(', ')}); use letters of tav or names separated by commas`,
      );
    }
  }
  if (new Set(names).size !== names.length) throw new UsageError(`modality listed twice in '${spec}'`);
  return names;
}
