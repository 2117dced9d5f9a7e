import { readFileSync } from 'node:fs';
import { strategyNames } from '../balance/strategy.js';
import { DEFAULT_MODEL_CONFIG, type ConversationModelConfig } from '../models/conversation_model.js';
import { encoders } from '../models/encoders.js';
import { heads } from '../models/fusion.js';
import { type BalanceMLAModelConfig, DECISION_FUSION_KINDS, DEFAULT_BALANCEMLA_MODEL_CONFIG } from '../models/balancemla.js';
import { type Ada2IOptions, DEFAULT_ADA2I_OPTIONS, recipes } from '../models/recipes.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from './config.js';

/** A configuration the user gave that cannot be used; the message names the key and the way out. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Everything a run is made from; saved as the run directory's config.json. */
export interface RunConfig {
  /** The preset the run started from (provenance; `--preset`). */
  preset: string;
  method: string;
  methodOptions: Record<string, unknown>;
  /** The model recipe; 'auto' picks the data kind's default. */
  recipe: string;
  data: {
    /** A pickle or an mmbalance dataset file; null for the built-in synthetic data. */
    path: string | null;
    format: string;
    /** Options of the built-in generator (used when path is null). */
    synth: Record<string, unknown>;
    devFraction: number;
    /** Held-out dev dialogues: a seeded shuffle, or the first ones in file order (Ada2I's MELD protocol). */
    devMode: 'shuffle' | 'first';
    /** CMU-MOSEI pickles: which label task to read (label[task][vid]); null when the file has one. */
    task: string | null;
    /** IEMOCAP pickles: 6 classes, or the 4-class variant (hap, sad, neu, ang; other utterances removed). */
    classes: 6 | 4;
    /** IEMOCAP 4-class: count excited as happy (a common protocol) instead of removing it. */
    mergeExcitement: boolean;
  };
  ada2i: Ada2IOptions;
  /** Modality names to use, in order; empty for all of the data's. */
  modalities: string[];
  /**
   * The shared model settings, and BalanceMLA's (model.brff...: its recipe reads them, with its
   * defaults for any absent; every validated configuration has them).
   */
  model: ConversationModelConfig & Partial<BalanceMLAModelConfig>;
  train: TrainConfig;
}

export function defaultRunConfig(): RunConfig {
  return {
    preset: 'joint',
    method: 'joint',
    methodOptions: {},
    recipe: 'auto',
    data: { path: null, format: 'auto', synth: {}, devFraction: 0.1, devMode: 'shuffle', task: null, classes: 6, mergeExcitement: false },
    ada2i: { ...DEFAULT_ADA2I_OPTIONS },
    modalities: [],
    model: { ...structuredClone(DEFAULT_MODEL_CONFIG), ...DEFAULT_BALANCEMLA_MODEL_CONFIG },
    train: { ...DEFAULT_TRAIN_CONFIG },
  };
}

/** Ada2I (Nguyen et al., ACM MM 2024) with the hyperparameters of the authors' run script. */
function ada2i(
  c: RunConfig,
  d: { hidden: number; lr: number; alpha: number; beta: number; rank: number; devMode: 'shuffle' | 'first' },
): RunConfig {
  c.method = 'ada2i';
  c.recipe = 'ada2i';
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

/**
 * Clip baselines on BalanceBenchmark's protocol (methods.md, "Multi-Loss and MLB": AdamW lr 1e-3,
 * weight decay 0.01, StepLR(10, 0.1), 30 epochs, batch 32), with encoders by sample shape and a
 * concat head; the best dev accuracy picks the reported weights.
 */
function clip(c: RunConfig): RunConfig {
  c.method = 'joint';
  c.methodOptions = {};
  c.recipe = 'clip';
  c.model = { ...c.model, hidden: 128, dropout: 0, head: 'concat', encoders: {} };
  c.train = {
    ...c.train,
    epochs: 30,
    batchSize: 32,
    optimizer: 'adamw',
    lr: 1e-3,
    weightDecay: 0.01,
    scheduler: 'step',
    stepSize: 10,
    schedulerFactor: 0.1,
    clipGradNorm: 0,
    monitor: 'dev.accuracy',
    patience: 0,
  };
  return c;
}

/** Named starting configurations; `--set` and flags apply on top. */
export const PRESETS: Record<string, { help: string; apply: (c: RunConfig) => RunConfig }> = {
  'ada2i-iemocap': {
    help: "Ada2I with the authors' IEMOCAP settings (hidden 300, lr 1.7e-4, alpha 0.037, beta 0.012, rank 11); data.classes=4 for the 4-class variant",
    apply: (c) => ada2i(c, { hidden: 300, lr: 1.7e-4, alpha: 0.037, beta: 0.012, rank: 11, devMode: 'shuffle' }),
  },
  'ada2i-meld': {
    help: "Ada2I with the authors' MELD settings (hidden 200, lr 1.3e-4, alpha 0.42, beta 0.55, rank 6; dev = first 10%)",
    apply: (c) => ada2i(c, { hidden: 200, lr: 1.3e-4, alpha: 0.42, beta: 0.55, rank: 6, devMode: 'first' }),
  },
  'ada2i-mosei': {
    // The paper gives no MOSEI hyperparameters of its own and the run script has none: IEMOCAP's
    // (same feature dimensions: text 768, audio 512, visual 1024), with the file's own dev split.
    help: "Ada2I on CMU-MOSEI: IEMOCAP's settings (same feature dimensions; the paper states none for MOSEI); data.task picks the label task",
    apply: (c) => ada2i(c, { hidden: 300, lr: 1.7e-4, alpha: 0.037, beta: 0.012, rank: 11, devMode: 'shuffle' }),
  },
  joint: { help: 'joint training of Transformer encoders with a concat head: the plain baseline', apply: (c) => c },
  'clip-joint': {
    help: 'clips: joint training, encoders by sample shape (LeNet, Transformer, MLP), concat head; AdamW 1e-3, StepLR(10, 0.1), 30 epochs, batch 32',
    apply: clip,
  },
  'clip-ogm-ge': {
    // OGM-GE's official code: SGD (lr 1e-3, momentum 0.9, weight decay 1e-4), only 4-D kernels
    // modulated, noise from the original gradient, modulation from the first epoch through 50.
    // alpha 0.3 is BalanceBenchmark's (OGM-GE's own range is 0.1 to 0.8; AV-MNIST has no official value).
    help: 'clips: OGM-GE as its official code (SGD 1e-3, momentum 0.9, wd 1e-4; conv kernels modulated; alpha 0.3)',
    apply: (c) => {
      clip(c);
      c.method = 'ogm-ge';
      c.methodOptions = { alpha: 0.3, startEpoch: 1, endEpoch: 50, params: 'conv', noiseStd: 'original' };
      c.train = { ...c.train, optimizer: 'sgd', lr: 1e-3, momentum: 0.9, weightDecay: 1e-4 };
      return c;
    },
  },
  'clip-multi-loss': {
    help: 'clips: Multi-Loss (a classifier per modality trained by its own cross entropy beside the fused one), otherwise clip-joint',
    apply: (c) => {
      clip(c);
      c.method = 'multi-loss';
      c.model = { ...c.model, head: 'multi' };
      return c;
    },
  },
  'clip-mlb': {
    // MLB's released code: alpha 0.8, configs behaving as beta_max 2; its Adam lr 1e-4 / wd 1e-4 are
    // not used here so that every clip baseline shares one protocol (set train.* to follow the code).
    help: 'clips: MLB (Multi-Loss with per-step branch coefficients; alpha 0.8, betaMax 2 as the released code), otherwise clip-joint',
    apply: (c) => {
      clip(c);
      c.method = 'mlb';
      c.methodOptions = { alpha: 0.8, betaMax: 2, apply: 'grad' };
      c.model = { ...c.model, head: 'multi' };
      return c;
    },
  },
  'clip-gmm': {
    // A reconstruction (methods.md): 5 warm-up epochs, then the paper's four rounds of 5 epochs (30 in all).
    help: 'clips: the GMM-guided adaptive loss (reconstructed; 5 warm-up epochs, 4 rounds of 5), otherwise clip-joint',
    apply: (c) => {
      clip(c);
      c.method = 'gmm';
      c.methodOptions = { warmupEpochs: 5, rounds: 4, epochsPerRound: 5 };
      return c;
    },
  },
  'clip-mmcosine': {
    help: 'clips: MMCosine (true cosine head, scale 10 as in the MLB script for CREMA-D), otherwise clip-joint',
    apply: (c) => {
      clip(c);
      c.model = { ...c.model, head: 'amw', amwMode: 'mmcosine', amwScale: 10 };
      return c;
    },
  },
  balancemla: {
    // The paper (seed 003, sec. 4.1.2): 25 epochs of training at 3e-4, then 5 of fine-tuning at
    // 5e-5, batch 32, 8 heads, 3 cross-modal layers. It states no optimizer, weight decay,
    // schedule or widths: Adam without decay or schedule; hidden 64 (8 heads of 8), feed-forward
    // 256 and 2 encoder layers (small enough for CPU epochs); dropout 0.1 (its Transformer's).
    help: 'clips as sequences [T, d] (AV-MNIST: data avmnist --set form=sequence): BalanceMLA, unimodal pre-training 25 epochs at 3e-4, then the composite fine-tuned 5 epochs at 5e-5; batch 32, 8 cross-modal heads',
    apply: (c) => {
      c.method = 'balancemla';
      c.methodOptions = { pretrainEpochs: 25, finetuneEpochs: 5, finetuneLr: 5e-5 };
      c.recipe = 'balancemla';
      c.model = {
        ...c.model,
        ...DEFAULT_BALANCEMLA_MODEL_CONFIG,
        hidden: 64,
        layers: 2,
        nhead: null,
        dimFeedforward: 256,
        dropout: 0.1,
        encoders: {},
      };
      c.train = {
        ...c.train,
        epochs: 30,
        batchSize: 32,
        optimizer: 'adam',
        lr: 3e-4,
        weightDecay: 0,
        scheduler: 'none',
        clipGradNorm: 0,
        monitor: 'dev.accuracy',
        patience: 0,
      };
      return c;
    },
  },
};

/**
 * The methods `sweep --methods` compares, each as a change to the swept configuration: the method
 * and the head it needs, with the method's own default options (the sweep's methodOptions are not
 * carried from one method to another).
 */
export const METHOD_VARIANTS: Record<string, { help: string; apply: (c: RunConfig) => void }> = {
  joint: { help: 'joint training, the configuration as it is', apply: (c) => ((c.method = 'joint'), (c.methodOptions = {})) },
  'ogm-ge': { help: 'OGM-GE modulation (its default options)', apply: (c) => ((c.method = 'ogm-ge'), (c.methodOptions = {})) },
  mmcosine: {
    help: 'MMCosine: the true-cosine head with scale 10, joint training',
    apply: (c) => {
      c.method = 'joint';
      c.methodOptions = {};
      c.model = { ...c.model, head: 'amw', amwMode: 'mmcosine', amwScale: 10 };
    },
  },
  'multi-loss': {
    help: 'Multi-Loss with the multi head',
    apply: (c) => ((c.method = 'multi-loss'), (c.methodOptions = {}), (c.model = { ...c.model, head: 'multi' })),
  },
  mlb: {
    help: 'MLB with the multi head (alpha 0.8, betaMax 2)',
    apply: (c) => ((c.method = 'mlb'), (c.methodOptions = {}), (c.model = { ...c.model, head: 'multi' })),
  },
  gmm: { help: 'the GMM-guided adaptive loss (its default stages)', apply: (c) => ((c.method = 'gmm'), (c.methodOptions = {})) },
  balancemla: {
    help: 'BalanceMLA: its recipe (sequence clips [T, d] only) and schedule (25 pre-training, then 5 fine-tuning epochs at 5e-5)',
    apply: (c) => ((c.method = 'balancemla'), (c.methodOptions = {}), (c.recipe = 'balancemla')),
  },
  'ada2i-modulation': {
    help: "Ada2I's disparity-ratio modulation (its default options)",
    apply: (c) => ((c.method = 'ada2i'), (c.methodOptions = {})),
  },
};

/** What `mmbalance train` uses when no preset is named. */
export const DEFAULT_PRESET = 'ada2i-iemocap';

export function applyPreset(c: RunConfig, name: string): RunConfig {
  const p = PRESETS[name];
  if (!p) {
    const near = nearest(name, Object.keys(PRESETS));
    throw new ConfigError(`unknown preset '${name}'${near ? `; did you mean '${near}'?` : ''} (known: ${Object.keys(PRESETS).join(', ')})`);
  }
  const out = p.apply(c);
  out.preset = name;
  return out;
}

// ---- The schema: every key's type, allowed values and meaning, checked after every change. ----

type KeyType =
  | { t: 'boolean' }
  | { t: 'number'; min?: number; max?: number; exclusiveMin?: boolean }
  | { t: 'integer'; min?: number; max?: number; nullable?: boolean; values?: readonly number[] }
  | { t: 'string'; nullable?: boolean; choices?: () => readonly string[] }
  | { t: 'string[]' }
  | { t: 'object' };

interface KeySpec {
  type: KeyType;
  help: string;
}

const choices =
  (...xs: string[]) =>
  () =>
    xs;

/** Every configuration key (free-form maps: methodOptions and data.synth, checked by their owners). */
export const CONFIG_SCHEMA: Record<string, KeySpec> = {
  preset: { type: { t: 'string', choices: () => Object.keys(PRESETS) }, help: 'the preset the run started from (set with --preset)' },
  method: { type: { t: 'string', choices: strategyNames }, help: 'the balancing method (--method)' },
  methodOptions: { type: { t: 'object' }, help: "the method's options, e.g. methodOptions.alpha=0.1 (checked by the method)" },
  recipe: { type: { t: 'string', choices: () => ['auto', ...recipes.names()] }, help: "the model recipe; 'auto' follows the data kind" },
  'data.path': {
    type: { t: 'string', nullable: true },
    help: 'a feature pickle or an mmbalance dataset; null for the built-in data (--data)',
  },
  'data.format': {
    type: { t: 'string', choices: choices('auto', 'ada2i', 'dialoguernn', 'meld', 'mmbalance') },
    help: 'pickle schema (--format)',
  },
  'data.synth': { type: { t: 'object' }, help: 'options of the built-in generator (see mmbalance data synth --help)' },
  'data.devFraction': {
    type: { t: 'number', min: 0, max: 1, exclusiveMin: true },
    help: 'share of training dialogues held out as dev when the file has no dev split',
  },
  'data.devMode': {
    type: { t: 'string', choices: choices('shuffle', 'first') },
    help: "held-out dev: a seeded shuffle, or the first ones in file order (Ada2I's MELD protocol)",
  },
  'data.task': {
    type: { t: 'string', nullable: true },
    help: 'CMU-MOSEI: the label task to read (label[task][vid]); null when the file has one',
  },
  'data.classes': {
    type: { t: 'integer', values: [6, 4] },
    help: 'IEMOCAP: 6 classes, or 4 (hap, sad, neu, ang; other utterances removed)',
  },
  'data.mergeExcitement': { type: { t: 'boolean' }, help: 'IEMOCAP 4-class: count exc as hap before removing the other classes' },
  'ada2i.parity': { type: { t: 'boolean' }, help: "reproduce the Ada2I authors' code exactly (no padding masks, AFW's code form)" },
  'ada2i.loss': {
    type: { t: 'string', choices: choices('code', 'paper') },
    help: "'code': NLL of AMW + AFW loss; 'paper': eq. 14 with an MLP on AMW (L_modal)",
  },
  modalities: { type: { t: 'string[]' }, help: 'modality names to use, in order; [] for all (--modalities)' },
  'model.encoder': { type: { t: 'string', choices: () => encoders.names() }, help: 'per-modality encoder' },
  'model.hidden': { type: { t: 'integer', min: 1 }, help: 'encoder output width' },
  'model.layers': { type: { t: 'integer', min: 1 }, help: 'Transformer layers per encoder (MLP: 1 or 2)' },
  'model.nhead': {
    type: { t: 'integer', min: 1, nullable: true },
    help: "attention heads; null: Ada2I's rule (first divisor of the width in 5..14)",
  },
  'model.dimFeedforward': { type: { t: 'integer', min: 1 }, help: 'Transformer feed-forward width' },
  'model.dropout': { type: { t: 'number', min: 0, max: 1 }, help: 'dropout in the encoders (and the MLP head)' },
  'model.maskPadding': { type: { t: 'boolean' }, help: 'mask padded utterances out of attention' },
  'model.head': {
    type: { t: 'string', choices: () => heads.names() },
    help: 'fusion head: concat, sum, mlp, amw, multi (concat + a classifier per modality: Multi-Loss, MLB)',
  },
  'model.headHidden': { type: { t: 'integer', min: 1 }, help: "the MLP head's hidden width (and the paper's MLP on AMW)" },
  'model.amwMode': {
    type: { t: 'string', choices: choices('ada2i', 'mmcosine') },
    help: "AMW: the authors' normalised form, or true cosine (MMCosine)",
  },
  'model.amwScale': { type: { t: 'number', min: 0, exclusiveMin: true }, help: "MMCosine's scale s (10 to 15)" },
  'model.amwMlpHidden': { type: { t: 'integer', min: 0 }, help: 'width of an MLP classifier on the AMW output; 0 for none' },
  'model.afw': { type: { t: 'boolean' }, help: "Ada2I's Adaptive Feature Weighting between encoders and head" },
  'model.afwLayers': { type: { t: 'integer', min: 1 }, help: 'stacked AFW layers' },
  'model.afwRank': { type: { t: 'integer', min: 1 }, help: "AFW's rank R" },
  'model.afwBeta': { type: { t: 'number' }, help: "AFW's residual weight beta" },
  'model.afwDropout': { type: { t: 'number', min: 0, max: 1 }, help: 'dropout after AFW' },
  'model.afwOrder': { type: { t: 'string[]' }, help: 'AFW contraction order: these modalities first; [] for modality order' },
  'model.parity': { type: { t: 'boolean' }, help: "no padding masks and AFW's code form (set by ada2i.parity under the ada2i recipe)" },
  'model.encoders': {
    type: { t: 'object' },
    help: 'clip models: modality -> encoder (lenet, resnet18, mlp, transformer), e.g. model.encoders.audio=resnet18; by sample shape when absent',
  },
  'model.packed': { type: { t: 'boolean' }, help: 'run encoder projections on real utterances only (same results, less work)' },
  'model.brff': {
    type: { t: 'boolean' },
    help: "BalanceMLA: AttentionBRFF between the modalities' sequences; false for the ablation (each branch keeps its own features)",
  },
  'model.brffLayers': {
    type: { t: 'integer', min: 1 },
    help: 'BalanceMLA: cross-modal attention layers per AttentionBRFF block (the paper: 3)',
  },
  'model.brffHeads': {
    type: { t: 'integer', min: 1 },
    help: 'BalanceMLA: heads of the cross-modal attention (the paper: 8); a divisor of model.hidden',
  },
  'model.decisionFusion': {
    type: { t: 'string', choices: () => DECISION_FUSION_KINDS },
    help: "BalanceMLA: decision weights per class and modality ('category', the paper), per modality ('modality': no category-level weighting), or 1/M ('equal': no adaptive decision fusion)",
  },
  'train.epochs': { type: { t: 'integer', min: 1 }, help: 'training epochs (--epochs); methods with phases set their own lengths' },
  'train.batchSize': { type: { t: 'integer', min: 1 }, help: 'batch size: dialogues for conversations, samples for clips' },
  'train.optimizer': { type: { t: 'string', choices: choices('adam', 'adamw', 'sgd') }, help: 'optimizer' },
  'train.lr': { type: { t: 'number', min: 0 }, help: 'learning rate' },
  'train.weightDecay': { type: { t: 'number', min: 0 }, help: 'weight decay' },
  'train.momentum': { type: { t: 'number', min: 0 }, help: 'SGD momentum' },
  'train.scheduler': {
    type: { t: 'string', choices: choices('none', 'plateau', 'cosine', 'step') },
    help: "learning-rate schedule ('plateau' watches dev loss)",
  },
  'train.schedulerPatience': { type: { t: 'integer', min: 0 }, help: 'plateau: epochs without improvement before a cut' },
  'train.schedulerFactor': {
    type: { t: 'number', min: 0, max: 0.999, exclusiveMin: true },
    help: 'plateau and step: the factor of each cut',
  },
  'train.stepSize': { type: { t: 'integer', min: 1 }, help: 'step: epochs between cuts' },
  'train.clipGradNorm': { type: { t: 'number', min: 0 }, help: 'max gradient 2-norm over all parameters; 0 for no clipping' },
  'train.monitor': {
    type: { t: 'string', choices: choices('dev.weightedF1', 'dev.accuracy', 'dev.loss') },
    help: 'what early stopping and the best checkpoint watch',
  },
  'train.patience': { type: { t: 'integer', min: 0 }, help: 'early stopping: epochs without improvement; 0 for none' },
  'train.seed': { type: { t: 'integer', min: 0, max: 2 ** 32 - 1 }, help: 'random seed (--seed): a run repeats exactly on one machine' },
  'train.device': { type: { t: 'string' }, help: "'cpu', 'cuda' or 'cuda:N' (needs a CUDA libtorch)" },
  'train.probes': { type: { t: 'boolean' }, help: "record each modality's ridge-probe accuracy per epoch (probeAccuracy)" },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

function typeName(t: KeyType): string {
  switch (t.t) {
    case 'boolean':
      return 'true or false';
    case 'number':
    case 'integer': {
      if (t.t === 'integer' && t.values) return `one of ${t.values.join(', ')}`;
      const range =
        t.min !== undefined && t.max !== undefined
          ? ` between ${t.min} and ${t.max}`
          : t.min !== undefined
            ? ` ${'exclusiveMin' in t && t.exclusiveMin ? '>' : '>='} ${t.min}`
            : '';
      return `${t.t === 'integer' ? 'an integer' : 'a number'}${range}${t.t === 'integer' && t.nullable ? ' or null' : ''}`;
    }
    case 'string':
      return `${t.choices ? `one of ${t.choices().join(', ')}` : 'a string'}${t.nullable ? ' or null' : ''}`;
    case 'string[]':
      return 'a list of strings, e.g. ["audio","text"]';
    case 'object':
      return 'an object of options';
  }
}

function checkValue(key: string, spec: KeySpec, v: unknown): void {
  const t = spec.type;
  const bad = (): never => {
    throw new ConfigError(`${key} expects ${typeName(t)} but received ${show(v)}`);
  };
  switch (t.t) {
    case 'boolean':
      if (typeof v !== 'boolean') bad();
      return;
    case 'number':
    case 'integer': {
      if (v === null && t.t === 'integer' && t.nullable) return;
      if (typeof v !== 'number' || !Number.isFinite(v) || (t.t === 'integer' && !Number.isInteger(v))) bad();
      const n = v as number;
      if (t.min !== undefined && ('exclusiveMin' in t && t.exclusiveMin ? n <= t.min : n < t.min)) bad();
      if (t.max !== undefined && n > t.max) bad();
      if (t.t === 'integer' && t.values && !t.values.includes(n)) bad();
      return;
    }
    case 'string':
      if (v === null && t.nullable) return;
      if (typeof v !== 'string') bad();
      if (t.choices && !t.choices().includes(v as string)) {
        const near = nearest(v as string, t.choices());
        throw new ConfigError(`${key} expects ${typeName(t)} but received ${show(v)}${near ? `; did you mean '${near}'?` : ''}`);
      }
      return;
    case 'string[]':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad();
      return;
    case 'object':
      if (!isObject(v)) bad();
      return;
  }
}

/** Checks every key of a configuration against the schema; the first problem is an error naming the key. */
export function validateRunConfig(c: RunConfig): RunConfig {
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      const spec = CONFIG_SCHEMA[key];
      if (spec) checkValue(key, spec, v);
      else if (isObject(v)) walk(v, key);
      else throw new ConfigError(`unknown config key '${key}'`);
    }
  };
  walk(c as unknown as Record<string, unknown>, '');
  for (const key of Object.keys(CONFIG_SCHEMA)) {
    const v = key.split('.').reduce<unknown>((o, p) => (isObject(o) ? o[p] : undefined), c);
    if (v === undefined) throw new ConfigError(`the configuration lacks '${key}'`);
  }
  return c;
}

/** Maps whose keys are the user's (a method's options, the generator's, encoders by modality). */
const FREE_FORM = ['methodOptions', 'data.synth', 'model.encoders'];

/** Deep-merges `patch` into `base`, refusing keys `base` does not have (free-form maps excepted) and objects replaced by scalars. */
export function mergeConfig(base: Record<string, unknown>, patch: Record<string, unknown>, path = ''): void {
  for (const [k, v] of Object.entries(patch)) {
    const where = path ? `${path}.${k}` : k;
    const freeForm = FREE_FORM.some((f) => path === f || path.startsWith(`${f}.`));
    if (!(k in base) && !freeForm) {
      const near = nearest(k, Object.keys(base));
      throw new ConfigError(`unknown config key '${where}'${near ? `; did you mean '${path ? `${path}.` : ''}${near}'?` : ''}`);
    }
    if (isObject(base[k]) && !isObject(v) && !freeForm)
      throw new ConfigError(
        `'${where}' is a group of settings, not a value; set one of its keys (e.g. ${where}.${Object.keys(base[k] as object)[0]}=...), see mmbalance config`,
      );
    if (isObject(v) && isObject(base[k])) mergeConfig(base[k] as Record<string, unknown>, v, where);
    else base[k] = v;
  }
}

/** `key.sub=value`: value as JSON when it parses (numbers, booleans, arrays, null), else as a string. */
export function parseAssignment(assignment: string): { key: string; value: unknown } {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set expects key=value (e.g. train.lr=0.001) but received '${assignment}'`);
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return { key: assignment.slice(0, eq), value };
}

export function applySet(c: RunConfig, assignment: string): void {
  const { key, value } = parseAssignment(assignment);
  const patch: Record<string, unknown> = {};
  let cur = patch;
  const parts = key.split('.');
  parts.forEach((p, i) => {
    if (i === parts.length - 1) cur[p] = value;
    else cur = cur[p] = {} as Record<string, unknown>;
  });
  mergeConfig(c as unknown as Record<string, unknown>, patch);
  validateRunConfig(c);
}

/** Reads a JSON object from a file; errors name the file. */
export function readJsonObject(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${what} ${path} is not valid JSON (${(e as Error).message}); fix or remove it`);
  }
  if (!isObject(parsed)) throw new ConfigError(`${what} ${path} must hold a JSON object`);
  return parsed;
}

export function loadConfigFile(c: RunConfig, path: string): void {
  mergeConfig(c as unknown as Record<string, unknown>, readJsonObject(path, 'the config file'));
  validateRunConfig(c);
}

/** A run directory's stored config.json over today's defaults (keys added since are filled in). */
export function loadStoredConfig(path: string): RunConfig {
  const c = defaultRunConfig();
  const stored = readJsonObject(path, 'the run configuration');
  mergeConfig(c as unknown as Record<string, unknown>, stored);
  try {
    return validateRunConfig(c);
  } catch (e) {
    throw new ConfigError(`${path}: ${(e as Error).message}`);
  }
}

/** Leaf keys whose values differ between two configurations, as 'key: a -> b'. */
export function configDifferences(a: RunConfig, b: RunConfig): { key: string; from: unknown; to: unknown }[] {
  const out: { key: string; from: unknown; to: unknown }[] = [];
  const walk = (x: unknown, y: unknown, key: string): void => {
    if (isObject(x) && isObject(y) && !(key in CONFIG_SCHEMA && CONFIG_SCHEMA[key]!.type.t !== 'object')) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], key ? `${key}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ key, from: x, to: y });
  };
  walk(a, b, '');
  return out;
}

/** Every key with its type, default (under the given preset) and meaning: `mmbalance config`. */
export function describeConfig(c: RunConfig): string {
  const rows = Object.entries(CONFIG_SCHEMA).map(([key, spec]) => {
    const v = key.split('.').reduce<unknown>((o, p) => (isObject(o) ? o[p] : undefined), c);
    return `  ${key.padEnd(24)} ${JSON.stringify(v)}\n      ${typeName(spec.type)}: ${spec.help}`;
  });
  return rows.join('\n');
}

const LETTERS: Record<string, string> = { t: 'text', a: 'audio', v: 'visual' };

/** 'tav' | 'ta' | ... (text, audio, visual), or modality names separated by commas or '+' (audio+image). */
export function parseModalities(spec: string, available: readonly string[]): string[] {
  const names = /[,+]/.test(spec) || !/^[tav]+$/.test(spec) ? spec.split(/[,+]/).map((s) => s.trim()) : [...spec].map((ch) => LETTERS[ch]!);
  for (const n of names) {
    if (!available.includes(n)) {
      throw new ConfigError(
        `modality '${n}' is not in the data (it has ${available.join(', ')}); use letters of tav or names separated by commas`,
      );
    }
  }
  if (new Set(names).size !== names.length) throw new ConfigError(`modality listed twice in '${spec}'`);
  return names;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate nearest to a mistyped word (an abbreviation, edit distance, or a shared stem: modality -> modalities), or null. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  // A word that begins exactly one candidate is an abbreviation of it (ogm -> ogm-ge, not gmm).
  const extending = candidates.filter((c) => c.startsWith(word) && c !== word);
  if (word.length >= 3 && extending.length === 1) return extending[0]!;
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(word, c);
    if (dd < bestD) [best, bestD] = [c, dd];
  }
  if (bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  const stem = word.slice(0, Math.max(4, word.length - 2));
  const byStem = candidates.filter((c) => c.startsWith(stem));
  return byStem.length === 1 ? byStem[0]! : null;
}
