import { join } from 'node:path';
import { ensureWritableDir, loadFullData, loadRunData } from '../train/experiment.js';
import {
  type DiagnoseSummary,
  DIAGNOSE_FILE,
  DISPARITY_LIMIT,
  SHORTFALL_LIMIT,
  defaultDiagnosePreset,
  diagnose,
  diagnoseState,
} from '../train/diagnose.js';
import { DEFAULT_INPUT_PROBE_OPTIONS } from '../train/diagnose/input_probes.js';
import { PRESETS, parseModalities } from '../train/run_config.js';
import { type OptionSpec, UsageError, formatHelp, parseOptions, wantsHelp } from './args.js';
import { buildConfig, defaultRunDir } from './commands.js';

const DIAGNOSE_OPTIONS: OptionSpec[] = [
  {
    name: 'data',
    type: 'string',
    help: 'a feature pickle, an mmbalance dataset (conversations or clips) or a clip folder',
    shownDefault: 'the built-in data',
  },
  { name: 'format', type: 'string', help: 'pickle schema: auto, ada2i, dialoguernn, meld', shownDefault: 'auto' },
  {
    name: 'modalities',
    type: 'string',
    help: "at least two: tav, ta, tv, av, or names separated by commas or '+' (audio+image)",
    shownDefault: 'all',
  },
  {
    name: 'preset',
    type: 'string',
    help: `the joint run's configuration (${Object.keys(PRESETS).join(', ')})`,
    shownDefault: 'joint for conversations, clip-joint for clips',
  },
  { name: 'set', type: 'list', help: 'key=value over the config, repeatable; keys: mmbalance config' },
  { name: 'epochs', type: 'number', help: 'epochs of joint training', default: 3 },
  { name: 'seed', type: 'number', help: 'random seed of the joint run, the probes and the built-in data', shownDefault: '12' },
  { name: 'out', type: 'string', help: 'output directory (diagnose.json, the joint run in joint/)', shownDefault: 'runs/<time>-diagnose' },
  { name: 'force', type: 'boolean', help: 'redo a finished diagnosis in --out' },
  { name: 'quiet', type: 'boolean', help: 'no stage lines, no per-epoch lines and no progress bar' },
  { name: 'no-report', type: 'boolean', help: 'write diagnose.json only, without drawing report.html' },
];

const DIAGNOSE_USAGE = `Usage: mmbalance diagnose [--data D] [--modalities M] [--epochs 3] [--out DIR] [options]

A short, cheap look at a dataset before training, written to DIR/diagnose.json:
  1. each modality's standalone strength: a ridge classifier on its standardized inputs (dev and
     test accuracy; at most ${DEFAULT_INPUT_PROBE_OPTIONS.maxTrainSamples} training samples, inputs wider than ${DEFAULT_INPUT_PROBE_OPTIONS.maxDims} values randomly
     projected to ${DEFAULT_INPUT_PROBE_OPTIONS.maxDims}, variable-length sequences averaged over time);
  2. a few epochs of joint training of the chosen modalities (an ordinary run in DIR/joint), with
     per epoch the dev score, each modality's unimodal accuracy, feature-probe accuracy and
     disparity ratio;
  3. the per-sample gap p_a(y) - p_b(y) between two modalities' unimodal outputs on dev (with more
     than two modalities: those with the largest and the smallest mean p_m(y)): 40 bins on [-1, 1];
  4. a verdict, with its rule in full in the output; in short: imbalanced if a modality's unimodal
     accuracy under joint training falls more than ${100 * SHORTFALL_LIMIT} points short of its probe's while the
     dominant modality's does not, or the largest disparity ratio exceeds ${DISPARITY_LIMIT}.
Then DIR/report.html is drawn from it (mmbalance report DIR; --no-report skips it).
An existing DIR with a finished diagnosis is refused unless --force; an interrupted one is redone.`;

const DIAGNOSE_EXAMPLES = [
  'mmbalance diagnose                                             # the built-in conversations, 3 epochs',
  'mmbalance diagnose --data iemocap.safetensors --modalities ta --out runs/diag-ta',
  'mmbalance diagnose --data avmnist.safetensors --epochs 2 --set train.batchSize=128',
  'mmbalance diagnose --out runs/diag --force                     # redo a finished diagnosis',
];

const f4 = (x: number): string => x.toFixed(4);

/** The printed summary: short, with the verdict and its rule in words. */
export function formatDiagnosis(s: DiagnoseSummary, outDir: string): string[] {
  const w = Math.max(10, ...s.modalities.map((m) => m.length + 2));
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w) : c.padStart(12))).join('');
  const last = s.joint.perEpoch[s.joint.perEpoch.length - 1];
  const lines = [
    `${s.data.name} (${s.data.kind}): ${s.modalities.join('+')}, ${s.data.sizes.train}/${s.data.sizes.dev}/${s.data.sizes.test} train/dev/test samples`,
    '',
    `Standalone probes on the inputs, and ${s.joint.epochs} epoch(s) of joint training (dev; the run's best epoch):`,
    row(['modality', 'probe dev', 'probe test', 'unimodal', 'rho', ...(last ? ['feat probe'] : [])]),
    ...s.modalities.map((m) =>
      row([
        m,
        f4(s.probes[m]!.dev),
        f4(s.probes[m]!.test),
        f4(s.joint.final.unimodalAccuracy[m]!),
        s.joint.final.disparityRatio[m]!.toFixed(2),
        ...(last ? [last.probeAccuracy[m] !== undefined ? f4(last.probeAccuracy[m]) : '-'] : []),
      ]),
    ),
    `joint dev ${s.score === 'weightedF1' ? 'weighted F1' : 'accuracy'} ${f4(s.joint.final.devScore)} ` +
      `(per epoch: ${s.joint.perEpoch.map((e) => f4(e.devScore)).join(', ')}); feat probe: last epoch's ridge probe on the encoders' features`,
    `gap p_${s.gap.pair[0]}(y) - p_${s.gap.pair[1]}(y) on dev: mean ${f4(s.gap.mean)}, std ${f4(s.gap.std)}`,
    '',
    `verdict: ${s.verdict.imbalanced ? `imbalanced; dominant ${s.verdict.dominant}, weak ${s.verdict.weak.join(', ')}` : 'not imbalanced by the rule below'}`,
    ...s.verdict.reasons.map((r) => `  - ${r}`),
    `rule: ${s.verdict.rule}`,
    '',
    `wrote ${join(outDir, DIAGNOSE_FILE)} (the joint run: ${join(outDir, 'joint')})`,
  ];
  return lines;
}

/** Draws the report page; a failure there leaves the finished diagnosis intact and says so. */
async function drawReport(outDir: string, log: (l: string) => void): Promise<void> {
  // Loaded on use: the charting code is only needed here.
  const { writeReport } = await import('../report/index.js');
  const file = join(outDir, 'report.html');
  try {
    await writeReport([outDir], file);
    log(`wrote the report ${file}`);
  } catch (e) {
    console.error(`mmbalance: the report could not be drawn (${(e as Error).message}); ${join(outDir, DIAGNOSE_FILE)} is complete`);
  }
}

/**
 * `mmbalance diagnose`. Every check and the diagnosis itself run before the first await, so
 * their errors reach the caller as a synchronous throw (main's handler names them); only the
 * optional report is asynchronous, and it never fails the command.
 */
export function diagnoseCommand(argv: string[], log: (l: string) => void): Promise<number> {
  if (wantsHelp(argv)) {
    log(formatHelp(DIAGNOSE_USAGE, DIAGNOSE_OPTIONS, DIAGNOSE_EXAMPLES));
    return Promise.resolve(0);
  }
  const o = parseOptions(argv, DIAGNOSE_OPTIONS);
  const out = (o.out as string | undefined) ?? defaultRunDir('diagnose');
  // The cheapest refusal first: before any data is read.
  if (diagnoseState(out) === 'finished' && !o.force)
    throw new UsageError(`${out} holds a finished diagnosis (${DIAGNOSE_FILE}); pass --force to redo it, or choose another --out`);
  ensureWritableDir(out, false);
  const preset = (o.preset as string | undefined) ?? defaultDiagnosePreset(o.data === undefined ? null : (o.data as string));
  const c = buildConfig({ ...o, preset });
  const full = loadFullData(c);
  if (full.modalities.length < 2)
    throw new UsageError(`diagnose compares modalities; ${full.name} has only one (${full.modalities.join(', ')})`);
  c.modalities =
    o.modalities !== undefined
      ? parseModalities(o.modalities as string, full.modalities)
      : c.modalities.length
        ? c.modalities
        : [...full.modalities];
  if (c.modalities.length < 2)
    throw new UsageError(
      `diagnose compares modalities; choose at least two (the selection has only ${c.modalities.join(', ')}; the data has ${full.modalities.join(', ')})`,
    );
  const t0 = performance.now();
  const summary = diagnose(c, loadRunData(c, full), out, { log, quiet: Boolean(o.quiet), force: Boolean(o.force) });
  for (const line of formatDiagnosis(summary, out)) log(line);
  log(`diagnosed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return (o['no-report'] ? Promise.resolve() : drawReport(out, log)).then(() => {
    log(`report: mmbalance report ${out}`);
    return 0;
  });
}
