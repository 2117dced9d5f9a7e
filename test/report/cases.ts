/** Short real runs, sweeps, robustness tests and a diagnosis, for the report tests. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveClips } from '../../src/data/clip/format.js';
import { saveDataset, synthConversations } from '../../src/data/index.js';
import { packageRoot } from '../helpers.js';
import { tinyClips } from '../tiny_clips.js';

export interface ReportCases {
  root: string;
  /** Conversations, Ada2I's modulation, three modalities; trained with --report. */
  ada2i: string;
  /** Clips, MLB with the multi head; holds its robustness.json (mmbalance robustness). */
  mlb: string;
  /** Clips, the GMM-guided loss: one warm-up epoch, two rounds. */
  gmm: string;
  /** Conversations, sweep --methods ogm-ge,mlb, one seed; run with --report. */
  methods: string;
  /** Conversations, sweep over the subsets tav and ta, one seed. */
  subsets: string;
  /** A robustness.json given as a file (robustness of the methods sweep's OGM-GE run, --out). */
  robustnessFile: string;
  /** A diagnose directory (mmbalance diagnose, one epoch). */
  diagnose: string;
  /** What each command printed. */
  stdout: Record<'ada2i' | 'methods' | 'subsets', string>;
}

/** Runs the command line on one thread, in the background, so several can run at once. */
function cli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [join(packageRoot(), 'bin', 'mmbalance.js'), ...args],
      { env: { ...process.env, MMBALANCE_NUM_THREADS: '1' }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => (err ? reject(new Error(`mmbalance ${args.join(' ')} failed:\n${stderr}`)) : resolve(stdout)),
    ),
  );
}

const SYNTH = { dialogues: 16, utterances: 160, minLength: 4, maxLength: 16 };
const SMALL = ['--preset', 'joint', '--set', 'model.encoder=mlp', '--set', 'model.hidden=8', '--set', 'train.batchSize=4', '--quiet'];
const CLIP = ['--modalities', 'seq+vec', '--set', 'train.batchSize=8', '--set', 'model.hidden=8', '--quiet'];

export function robustnessExample(method = 'mlb', modalities = ['seq', 'vec']): Record<string, unknown> {
  const curve = (modality: string, corruption: string, levelName: string, levels: number[], drop: number) => ({
    modality,
    corruption,
    levelName,
    levels: levels.map((level, i) => ({ level, accuracy: 0.8 - drop * i, weightedF1: 0.78 - drop * i })),
  });
  return {
    format: 'mmbalance.robustness.v1',
    run: 'runs/x',
    method,
    modalities,
    split: 'test',
    seed: 0,
    clean: { accuracy: 0.8, weightedF1: 0.78 },
    curves: [
      curve(modalities[0]!, 'gaussian', 'SNR (dB)', [20, 10, 0], 0.1),
      curve(modalities[1]!, 'gaussian', 'SNR (dB)', [20, 10, 0], 0.02),
      curve(modalities[0]!, 'zero', 'fraction zeroed', [0.25, 0.5, 1], 0.15),
      curve(modalities[1]!, 'zero', 'fraction zeroed', [0.25, 0.5, 1], 0.05),
    ],
  };
}

/** Makes every case in a fresh temporary directory (about ten seconds: the commands run side by side). */
export async function makeReportCases(): Promise<ReportCases> {
  const root = mkdtempSync(join(tmpdir(), 'mmb-report-'));
  const conv = join(root, 'conv.safetensors');
  const clips = join(root, 'clips.safetensors');
  saveClips(tinyClips(1, { train: 40, dev: 12, test: 16 }), clips);
  saveDataset(synthConversations({ seed: 12, ...SYNTH, modalities: { text: 6, audio: 5, visual: 4 } }), conv);
  const c: Omit<ReportCases, 'stdout'> = {
    root,
    ada2i: join(root, 'ada2i'),
    mlb: join(root, 'mlb'),
    gmm: join(root, 'gmm'),
    methods: join(root, 'methods'),
    subsets: join(root, 'subsets'),
    robustnessFile: join(root, 'robustness-ogm.json'),
    diagnose: join(root, 'diagnose'),
  };
  const gmmStages = ['--set', 'methodOptions.warmupEpochs=1', '--set', 'methodOptions.rounds=2', '--set', 'methodOptions.epochsPerRound=1'];
  const sweep = ['sweep', '--data', conv, '--seeds', '1', '--epochs', '2', ...SMALL];
  const [ada2i, methods, subsets] = await Promise.all([
    cli('train', '--data', conv, '--epochs', '3', ...SMALL, '--method', 'ada2i', '--out', c.ada2i, '--report'),
    cli(...sweep, '--modalities', 'ta', '--methods', 'ogm-ge,mlb', '--out', c.methods, '--report'),
    cli(...sweep, '--modalities', 'tav,ta', '--out', c.subsets),
    cli('train', '--preset', 'clip-mlb', '--data', clips, '--epochs', '3', ...CLIP, '--out', c.mlb),
    cli('train', '--preset', 'clip-gmm', '--data', clips, ...CLIP, ...gmmStages, '--out', c.gmm),
  ]);
  await Promise.all([
    cli('robustness', '--run', c.mlb, '--quiet'),
    cli('robustness', '--run', join(c.methods, 'ogm-ge', 'text+audio', 'seed-12'), '--out', c.robustnessFile, '--quiet'),
    cli('diagnose', '--data', conv, '--epochs', '1', ...SMALL, '--out', c.diagnose, '--no-report'),
  ]);
  return { ...c, stdout: { ada2i: ada2i!, methods: methods!, subsets: subsets! } };
}
