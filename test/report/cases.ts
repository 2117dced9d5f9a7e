/** Short real runs, sweeps and hand-written robustness and diagnose files, for the report tests. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
  /** Clips, MLB with the multi head; holds a hand-written robustness.json. */
  mlb: string;
  /** Clips, the GMM-guided loss: one warm-up epoch, two rounds. */
  gmm: string;
  /** Conversations, sweep --methods ogm-ge,mlb, one seed; run with --report. */
  methods: string;
  /** Conversations, sweep over the subsets tav and ta, one seed. */
  subsets: string;
  /** A robustness.json given as a file. */
  robustnessFile: string;
  /** A directory holding a hand-written diagnose.json. */
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

export function diagnoseExample(): Record<string, unknown> {
  const perEpoch = [1, 2, 3].map((epoch) => ({
    epoch,
    devScore: 0.5 + 0.05 * epoch,
    unimodalAccuracy: { audio: 0.6 + 0.02 * epoch, image: 0.2 },
    probeAccuracy: { audio: 0.62, image: 0.7 },
    disparityRatio: { audio: 2.5 - 0.2 * epoch, image: 1 },
  }));
  return {
    format: 'mmbalance.diagnose.v1',
    data: { name: 'avmnist', kind: 'clip', path: '/data/avmnist.safetensors', sizes: { train: 7001, dev: 999, test: 2000 } },
    modalities: ['audio', 'image'],
    score: 'accuracy',
    probes: { audio: { dev: 0.65, test: 0.63 }, image: { dev: 0.74, test: 0.72 } },
    joint: {
      epochs: 3,
      runDir: '/data/diag/joint',
      perEpoch,
      final: { devScore: 0.65, unimodalAccuracy: { audio: 0.66, image: 0.2 }, disparityRatio: { audio: 1.9, image: 1 } },
    },
    gap: {
      pair: ['audio', 'image'],
      definition: 'P(true class | audio) − P(true class | image), per dev sample',
      mean: 0.31,
      std: 0.22,
      histogram: { edges: [-1, -0.5, 0, 0.5, 1], counts: [3, 10, 40, 20] },
    },
    verdict: {
      imbalanced: true,
      dominant: 'audio',
      weak: ['image'],
      rule: 'imbalanced when the joint model scores one modality below 0.8 of its probe while another keeps up',
      reasons: ['image: scored 0.20 against a probe of 0.74', 'audio: scored 0.66 against a probe of 0.65'],
    },
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
  writeFileSync(join(c.mlb, 'robustness.json'), JSON.stringify(robustnessExample()));
  writeFileSync(c.robustnessFile, JSON.stringify(robustnessExample('ogm-ge', ['text', 'audio'])));
  mkdirSync(c.diagnose);
  writeFileSync(join(c.diagnose, 'diagnose.json'), JSON.stringify(diagnoseExample()));
  return { ...c, stdout: { ada2i: ada2i!, methods: methods!, subsets: subsets! } };
}
