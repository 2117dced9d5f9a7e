import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeStrategy, strategyNames } from '../balance/index.js';
import { inspectDataset, readErcPickle, saveDataset, synthConversations } from '../data/index.js';
import { makeBatch, dialogueBatches } from '../data/batch.js';
import { manualSeed } from '../engine/runtime.js';
import { checkOneOf } from '../engine/errors.js';
import { noGrad } from '../engine/grad_mode.js';
import { scope } from '../engine/scope.js';
import { ConversationModel } from '../models/conversation_model.js';
import { loadBest } from '../train/checkpoint.js';
import { evaluate } from '../train/evaluate.js';
import { ConsoleLogger, JsonlLogger } from '../train/loggers.js';
import { type FitResult, Trainer } from '../train/trainer.js';
import type { ConversationDataset, SplitName } from '../data/types.js';
import { type OptionSpec, UsageError, formatHelp, parseOptions } from './args.js';
import { loadRunData } from './data_source.js';
import {
  type RunConfig,
  DEFAULT_PRESET,
  PRESETS,
  applyPreset,
  applySet,
  defaultRunConfig,
  loadConfigFile,
  parseModalities,
} from './run_config.js';

export const TRAIN_OPTIONS: OptionSpec[] = [
  { name: 'data', type: 'string', help: 'a feature pickle (IEMOCAP/MELD) or an mmbalance dataset; default: the built-in data' },
  { name: 'format', type: 'string', help: 'pickle schema: auto, ada2i, dialoguernn, meld', default: 'auto' },
  { name: 'modalities', type: 'string', help: 'tav, ta, tv, av, t, a, v, or names separated by commas; default: all' },
  { name: 'method', type: 'string', help: `balancing method (${strategyNames().join(', ')})` },
  { name: 'preset', type: 'string', help: `a named configuration (${Object.keys(PRESETS).join(', ')}); default ${DEFAULT_PRESET}` },
  { name: 'config', type: 'string', help: "a JSON file with config values (see a run directory's config.json)" },
  { name: 'set', type: 'list', help: 'key=value over the config, repeatable (train.lr=1e-4, model.hidden=200)' },
  { name: 'epochs', type: 'number', help: 'training epochs' },
  { name: 'seed', type: 'number', help: 'random seed: runs repeat exactly on one machine' },
  { name: 'out', type: 'string', help: 'run directory; default runs/<time>-<method>' },
  { name: 'resume', type: 'boolean', help: 'continue the run in --out from its last checkpoint' },
  { name: 'quiet', type: 'boolean', help: 'no per-epoch lines' },
];

export function buildConfig(o: Record<string, unknown>): RunConfig {
  const c = applyPreset(defaultRunConfig(), (o.preset as string | undefined) ?? DEFAULT_PRESET);
  if (o.config) loadConfigFile(c, o.config as string);
  if (o.data !== undefined) c.data.path = o.data as string;
  if (o.format !== undefined) c.data.format = o.format as string;
  if (o.method !== undefined) c.method = o.method as string;
  if (o.epochs !== undefined) c.train.epochs = o.epochs as number;
  if (o.seed !== undefined) c.train.seed = o.seed as number;
  for (const s of (o.set as string[] | undefined) ?? []) applySet(c, s);
  return c;
}

export function defaultRunDir(method: string): string {
  return join('runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${method}`);
}

/** Trains one configuration on loaded data into a run directory. */
export function runTraining(
  c: RunConfig,
  ds: ConversationDataset,
  out: string,
  o: { resume?: boolean; quiet?: boolean; log: (l: string) => void },
): FitResult {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'config.json'), JSON.stringify(c, null, 2) + '\n');
  const model = buildModel(c, ds);
  const strategy = makeStrategy(c.method, c.methodOptions);
  const trainer = new Trainer(model, ds, strategy, c.train);
  const loggers = [new JsonlLogger(join(out, 'metrics.jsonl'), !o.resume), ...(o.quiet ? [] : [new ConsoleLogger(o.log)])];
  o.log(
    `mmbalance: ${c.method} on ${ds.name} (${c.modalities.join('+')}), ${ds.splits.train.length}/${ds.splits.dev.length}/${ds.splits.test.length} train/dev/test dialogues, run directory ${out}`,
  );
  return trainer.fit({ outDir: out, resume: Boolean(o.resume), loggers });
}

function buildModel(c: RunConfig, ds: ConversationDataset): ConversationModel {
  // Weights start from the run's seed, so a run repeats exactly.
  manualSeed(c.train.seed);
  const loss = checkOneOf('ada2i.loss', c.ada2i.loss ?? 'code', ['code', 'paper']);
  if (loss === 'paper' && c.model.head !== 'amw') throw new UsageError('ada2i.loss=paper needs the AMW head (model.head=amw)');
  return new ConversationModel(c.modalities, ds.dims, ds.classNames.length, {
    ...c.model,
    parity: c.ada2i.parity,
    amwMlpHidden: loss === 'paper' ? c.model.headHidden : c.model.amwMlpHidden,
  });
}

export function trainCommand(argv: string[], log: (l: string) => void): number {
  if (argv.includes('--help')) {
    log(
      formatHelp(
        'Usage: mmbalance train [options]\n\nTrains a multimodal model and writes a run directory (config.json, metrics.jsonl, best.safetensors, last checkpoint, summary.json).',
        TRAIN_OPTIONS,
      ),
    );
    return 0;
  }
  const o = parseOptions(argv, TRAIN_OPTIONS);
  let c: RunConfig;
  let out = o.out as string | undefined;
  if (o.resume) {
    if (out === undefined || !existsSync(join(out, 'config.json')))
      throw new UsageError(`--resume needs --out pointing at an earlier run (no config.json in ${out ?? 'the current directory'})`);
    c = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as RunConfig;
    if (o.epochs !== undefined) c.train.epochs = o.epochs as number;
  } else {
    c = buildConfig(o);
    out ??= defaultRunDir(c.method);
    if (existsSync(join(out, 'config.json')))
      throw new UsageError(`${out} already holds a run; use --resume to continue it, or another --out`);
  }
  makeStrategy(c.method, c.methodOptions); // fail on an unknown method before loading data
  const ds = loadRunData(c);
  c.modalities =
    o.modalities !== undefined
      ? parseModalities(o.modalities as string, ds.modalities)
      : c.modalities.length
        ? c.modalities
        : [...ds.modalities];
  const r = runTraining(c, ds, out, { resume: Boolean(o.resume), quiet: Boolean(o.quiet), log });
  log(
    `best epoch ${r.bestEpoch}: test accuracy ${r.test.accuracy.toFixed(4)}, weighted F1 ${r.test.weightedF1.toFixed(4)}; summary in ${join(out, 'summary.json')}`,
  );
  return 0;
}

const RUN_OPTIONS: OptionSpec[] = [
  { name: 'run', type: 'string', help: 'a run directory made by mmbalance train' },
  { name: 'data', type: 'string', help: "data to evaluate on (default: the run's)" },
  { name: 'split', type: 'string', help: 'train, dev, test (predict also: all)', default: 'test' },
  { name: 'out', type: 'string', help: 'predict: the JSONL file to write' },
];

function openRun(o: Record<string, unknown>): { c: RunConfig; ds: ConversationDataset; model: ConversationModel; dir: string } {
  const dir = o.run as string | undefined;
  if (!dir) throw new UsageError('--run DIR is required (a directory made by mmbalance train)');
  if (!existsSync(join(dir, 'config.json')) || !existsSync(join(dir, 'best.safetensors'))) {
    throw new UsageError(`${dir} is not a finished run directory (it needs config.json and best.safetensors)`);
  }
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RunConfig;
  if (o.data !== undefined) c.data.path = o.data as string;
  const ds = loadRunData(c);
  for (const m of c.modalities) {
    if (ds.dims[m] === undefined) throw new UsageError(`the data has no '${m}' modality, which the run was trained on`);
  }
  const model = buildModel(c, ds);
  loadBest(dir, model);
  return { c, ds, model, dir };
}

function splitOf(ds: ConversationDataset, name: string, allowAll: boolean) {
  if (allowAll && name === 'all') return [...ds.splits.train, ...ds.splits.dev, ...ds.splits.test];
  if (name !== 'train' && name !== 'dev' && name !== 'test')
    throw new UsageError(`--split expects train, dev${allowAll ? ', test or all' : ' or test'} but received '${name}'`);
  return ds.splits[name as SplitName];
}

export function evalCommand(argv: string[], log: (l: string) => void): number {
  if (argv.includes('--help')) {
    log(
      formatHelp(
        'Usage: mmbalance eval --run DIR [--data PATH] [--split test]',
        RUN_OPTIONS.filter((s) => s.name !== 'out'),
      ),
    );
    return 0;
  }
  const o = parseOptions(
    argv,
    RUN_OPTIONS.filter((s) => s.name !== 'out'),
  );
  const { c, ds, model } = openRun(o);
  const r = evaluate(model, splitOf(ds, o.split as string, false), {
    modalities: c.modalities,
    dims: ds.dims,
    batchSize: c.train.batchSize,
    numClasses: ds.classNames.length,
  });
  const perClass = Object.fromEntries(r.perClass.map((s, i) => [ds.classNames[i] ?? String(i), s]));
  log(
    JSON.stringify(
      {
        split: o.split,
        accuracy: r.accuracy,
        weightedF1: r.weightedF1,
        macroF1: r.macroF1,
        perClass,
        unimodalAccuracy: r.unimodalAccuracy,
        disparityRatio: r.disparityRatio,
      },
      null,
      2,
    ),
  );
  return 0;
}

export function predictCommand(argv: string[], log: (l: string) => void): number {
  if (argv.includes('--help')) {
    log(formatHelp('Usage: mmbalance predict --run DIR --data PATH --out FILE.jsonl [--split test|all]', RUN_OPTIONS));
    return 0;
  }
  const o = parseOptions(argv, RUN_OPTIONS);
  if (!o.out) throw new UsageError('--out FILE.jsonl is required');
  const { c, ds, model } = openRun(o);
  const dialogues = splitOf(ds, o.split as string, true);
  const lines: string[] = [];
  model.eval();
  for (const group of dialogueBatches(dialogues, { batchSize: c.train.batchSize })) {
    scope(() =>
      noGrad(() => {
        const batch = makeBatch(group, c.modalities, ds.dims);
        const out = model.forward(batch);
        const probs = out.fused.softmax(1);
        const C = ds.classNames.length;
        const p = probs.toArray();
        const uni = Object.fromEntries(c.modalities.map((m) => [m, out.unimodal[m]!.argmax(1).toArray()]));
        let k = 0;
        group.forEach((d) => {
          for (let i = 0; i < d.labels.length; i++, k++) {
            const row = p.slice(k * C, (k + 1) * C);
            const pred = row.indexOf(Math.max(...row));
            lines.push(
              JSON.stringify({
                dialogue: d.id,
                utterance: i,
                speaker: d.speakers[i],
                label: ds.classNames[d.labels[i]!],
                prediction: ds.classNames[pred],
                probabilities: Object.fromEntries(ds.classNames.map((n, j) => [n, row[j]])),
                unimodalPrediction: Object.fromEntries(c.modalities.map((m) => [m, ds.classNames[uni[m]![k]!]])),
              }),
            );
          }
        });
      }),
    );
  }
  writeFileSync(o.out as string, lines.join('\n') + '\n');
  log(`wrote ${lines.length} predictions to ${o.out}`);
  return 0;
}

const DATA_OPTIONS: OptionSpec[] = [
  { name: 'format', type: 'string', help: 'pickle schema: auto, ada2i, dialoguernn, meld', default: 'auto' },
  { name: 'seed', type: 'number', help: 'synth: random seed', default: 12 },
  { name: 'set', type: 'list', help: 'synth: generator option key=value, repeatable (dialogues=40)' },
];

const DATA_USAGE = `Usage:
  mmbalance data convert IN.pkl OUT.safetensors [--format auto]   a feature pickle to the mmbalance format
  mmbalance data synth OUT.safetensors [--seed 12] [--set key=value]  write the built-in synthetic data
  mmbalance data inspect PATH [--format auto]                      counts, dimensions and classes`;

export function dataCommand(argv: string[], log: (l: string) => void): number {
  if (argv.length === 0 || argv.includes('--help')) {
    log(formatHelp(DATA_USAGE, DATA_OPTIONS));
    return argv.length === 0 ? 2 : 0;
  }
  const pos: string[] = [];
  const o = parseOptions(argv, DATA_OPTIONS, pos);
  const [sub, a, b] = pos;
  const read = (path: string): ConversationDataset =>
    path.endsWith('.safetensors')
      ? loadRunData({ ...defaultRunConfig(), data: { path, format: 'mmbalance', synth: {}, devFraction: 0.1, devMode: 'shuffle' } })
      : readErcPickle(path, { format: o.format as never });
  switch (sub) {
    case 'convert': {
      if (!a || !b) throw new UsageError('data convert needs IN and OUT paths');
      const ds = readErcPickle(a, { format: o.format as never });
      saveDataset(ds, b);
      log(inspectDataset(ds));
      log(`wrote ${b}`);
      return 0;
    }
    case 'synth': {
      if (!a) throw new UsageError('data synth needs an OUT path');
      const opts: Record<string, unknown> = { seed: o.seed };
      for (const s of (o.set as string[] | undefined) ?? []) {
        const eq = s.indexOf('=');
        if (eq <= 0) throw new UsageError(`--set expects key=value but received '${s}'`);
        const raw = s.slice(eq + 1);
        opts[s.slice(0, eq)] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
      }
      const ds = synthConversations(opts);
      saveDataset(ds, a);
      log(inspectDataset(ds));
      log(`wrote ${a}`);
      return 0;
    }
    case 'inspect': {
      if (!a) throw new UsageError('data inspect needs a PATH');
      log(inspectDataset(read(a)));
      return 0;
    }
    default:
      throw new UsageError(`unknown data command '${sub ?? ''}'; use convert, synth or inspect (see mmbalance data --help)`);
  }
}
