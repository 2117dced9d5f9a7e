import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CORRUPTIONS, CORRUPTION_NAMES, type CorruptionName } from '../data/corruption.js';
import type { SplitName } from '../data/dataset.js';
import { probeWritable } from '../io/dirs.js';
import { ROBUSTNESS_FILE, evaluateRobustness, robustnessTable, saveRobustness } from '../train/robustness.js';
import { acquireRunLock } from '../train/run_lock.js';
import { type OptionSpec, UsageError, formatHelp, nearest, parseOptions, wantsHelp } from './args.js';

const ROBUSTNESS_OPTIONS: OptionSpec[] = [
  { name: 'run', type: 'string', help: 'a finished run directory made by mmbalance train or sweep' },
  {
    name: 'modality',
    type: 'string',
    help: "the modality to corrupt (or several, separated by commas or '+')",
    shownDefault: "each of the run's, one curve each",
  },
  { name: 'corruption', type: 'string', help: `${CORRUPTION_NAMES.join(', ')}, or several separated by commas`, shownDefault: 'all three' },
  { name: 'levels', type: 'string', help: 'levels separated by commas, with one --corruption', shownDefault: "the corruption's" },
  { name: 'seed', type: 'number', help: "seeds the corruptions' random draws", default: 0 },
  { name: 'split', type: 'string', help: 'train, dev or test', default: 'test' },
  { name: 'data', type: 'string', help: "the run's data, when it has moved since training", shownDefault: "the run's data.path" },
  { name: 'out', type: 'string', help: 'the JSON file to write (curves already there are kept)', shownDefault: `RUN/${ROBUSTNESS_FILE}` },
  { name: 'quiet', type: 'boolean', help: 'no per-level lines and no progress bar' },
];

const USAGE = `Usage: mmbalance robustness --run DIR [--modality M] [--corruption C] [--levels L1,L2,...] [--seed 0] [--out FILE]

Scores a run's best weights on a split (test by default) with one modality corrupted at rising
levels, beside the clean score, for any method. Writes ${ROBUSTNESS_FILE} in the run directory:
one curve per modality and corruption; a later call adds or replaces its own curves and keeps
the others (curves of another seed, split or set of weights are replaced). The same command
gives the same curves: each sample's draws come from --seed and the sample's id.

Corruptions (only a sample's real values are touched: sequence padding and padded utterances are not):
  gaussian   white Gaussian noise at an SNR, per sample: noise power = the sample's mean square
             / 10^(SNR/10). The SNR is measured on the features the model sees (log-mel,
             standardized features), not on a waveform.
             Levels: SNR in dB (default ${CORRUPTIONS.gaussian.defaultLevels.join(', ')}).
  freqmask   SpecAugment frequency masking: per sample one band of f ~ U[0, F) consecutive bins,
             starting at f0 ~ U[0, bins - f), set to the sample's mean (0 for standardized
             features; raw log-mel sits far below 0). The bins are the second-to-last axis of
             [C, H, W] samples (the mel axis of AV-MNIST's [1, 40, 40] log-mel; rows of an image),
             else the last axis: the features of [T, d] sequences (all frames lose the same band)
             and of [d] vectors. Images and conversation feature vectors, which are not spectra,
             are masked the same way.
             Levels: the mask factor F in bins, 0 to the bins (default
             ${CORRUPTIONS.freqmask.defaultLevels.join(', ')}, capped at the bins).
  zero       round(fraction x N) of each batch's N samples get all-zero input, as a missing
             modality would; a larger fraction zeroes a superset of a smaller one's samples.
             Levels: fractions from 0 to 1 (default ${CORRUPTIONS.zero.defaultLevels.join(', ')}).
A sample is what the run scores: a clip, or an utterance of a conversation.`;

const EXAMPLES = [
  'mmbalance robustness --run runs/av                              # every modality, every corruption',
  'mmbalance robustness --run runs/av --modality audio --corruption gaussian --levels 30,20,10,0,-10',
  'mmbalance robustness --run runs/av --corruption freqmask --out av-freqmask.json',
  'mmbalance robustness --run runs/ta --modality text --corruption zero --data moved/iemocap.safetensors',
];

function parseCorruptions(spec: string): CorruptionName[] {
  const names = spec.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(CORRUPTION_NAMES as string[]).includes(n)) {
      const near = nearest(n, CORRUPTION_NAMES);
      throw new UsageError(
        `unknown corruption '${n}'${near ? `; did you mean '${near}'?` : ''} (choose from ${CORRUPTION_NAMES.join(', ')})`,
      );
    }
  }
  return names as CorruptionName[];
}

function parseLevels(spec: string): number[] {
  return spec.split(',').map((s) => {
    const t = s.trim();
    const n = Number(t);
    if (t === '' || Number.isNaN(n))
      throw new UsageError(`--levels expects numbers separated by commas (20,10,0,-5) but received '${t}' in '${spec}'`);
    return n;
  });
}

function parseSplit(s: string): SplitName {
  if (s !== 'train' && s !== 'dev' && s !== 'test') throw new UsageError(`--split expects train, dev or test but received '${s}'`);
  return s;
}

export function robustnessCommand(argv: string[], log: (l: string) => void): number {
  if (wantsHelp(argv)) {
    log(formatHelp(USAGE, ROBUSTNESS_OPTIONS, EXAMPLES));
    return 0;
  }
  const o = parseOptions(argv, ROBUSTNESS_OPTIONS);
  const run = o.run as string | undefined;
  if (run === undefined) throw new UsageError('--run DIR is required (a finished run directory made by mmbalance train)');
  const corruptions = o.corruption === undefined ? undefined : parseCorruptions(o.corruption as string);
  const levels = o.levels === undefined ? undefined : parseLevels(o.levels as string);
  if (levels !== undefined && corruptions?.length !== 1)
    throw new UsageError('--levels needs one --corruption: levels are dB for gaussian, bins for freqmask and fractions for zero');
  const modalities = o.modality === undefined ? undefined : (o.modality as string).split(/[,+]/).map((s) => s.trim());
  const out = (o.out as string | undefined) ?? join(run, ROBUSTNESS_FILE);
  const inRun = dirname(resolve(out)) === resolve(run);
  const runExists = existsSync(run) && statSync(run).isDirectory();
  // A missing run is reported by evaluateRobustness; probing would make (and remove) its directory.
  if (runExists || !inRun) {
    try {
      probeWritable(dirname(resolve(out)));
    } catch (e) {
      throw new UsageError(`cannot write ${out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another --out`);
    }
  }
  // Writing into the run directory takes its lock, so a --resume cannot change the weights meanwhile.
  const release = inRun && runExists ? acquireRunLock(run) : (): void => {};
  try {
    const result = evaluateRobustness(run, {
      ...(modalities !== undefined ? { modalities } : {}),
      ...(corruptions !== undefined ? { corruptions } : {}),
      ...(levels !== undefined ? { levels } : {}),
      seed: o.seed as number,
      split: parseSplit(o.split as string),
      ...(o.data !== undefined ? { data: o.data as string } : {}),
      quiet: Boolean(o.quiet),
      log,
    });
    for (const curve of result.curves) log(robustnessTable(curve, result.clean));
    const written = saveRobustness(out, result, log);
    log(`wrote ${result.curves.length} curve(s) to ${out} (${written.curves.length} in all)`);
  } finally {
    release();
  }
  return 0;
}
