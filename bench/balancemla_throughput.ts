/**
 * Training throughput of BalanceMLA as the preset balancemla trains it (hidden 64, 2 encoder layers,
 * feed-forward 256, 8 cross-modal heads, 3 cross-modal layers, dropout 0.1, Adam, batch 32,
 * category-level decision fusion) in its two phases, unimodal pre-training and fine-tuning of the
 * composite, and of joint training of the same sequence encoders with a concat head (clip-joint),
 * on AV-MNIST's sequence shapes (audio [40, 40], image [28, 28]), each against the same model and
 * loop written in PyTorch (bench/balancemla_throughput.py) on the same machine in the same run.
 * Run: npm run build && node dist/bench/balancemla_throughput.js [--threads N] [--epochs 4] [--samples 2048] [--rounds 3] [--write]
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ClipData } from '../src/data/clip/dataset.js';
import {
  type RunConfig,
  Trainer,
  applyPreset,
  applySet,
  buildRunModel,
  defaultRunConfig,
  getNumThreads,
  libtorchVersion,
  makeStrategy,
  setNumThreads,
  validateRunConfig,
} from '../src/index.js';
import { packageRoot } from '../test/helpers.js';
import { randomClips } from './random_clips.js';
import { writeSection } from './report.js';

const args = process.argv.slice(2);
const intOpt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} expects an integer >= 1, got ${args[i + 1]}`);
  return v;
};
if (args.includes('--threads')) setNumThreads(intOpt('threads', 1));
const THREADS = getNumThreads();
const EPOCHS = intOpt('epochs', 4);
const ROUNDS = intOpt('rounds', 3);
const N = intOpt('samples', 2048);
const SHAPES: Record<string, number[]> = { audio: [40, 40], image: [28, 28] };
// clip-joint on the same encoders as BalanceMLA's, and BalanceMLA's optimizer (Adam 3e-4, no decay or schedule).
const JOINT_SET = [
  'model.hidden=64',
  'model.dimFeedforward=256',
  'model.dropout=0.1',
  'train.optimizer=adam',
  'train.lr=3e-4',
  'train.weightDecay=0',
  'train.scheduler=none',
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Side {
  /** Training samples per second by phase ('pretrain', 'finetune', 'joint'). */
  rates: Record<string, number>;
  parameters: number;
}

/** Training samples per second of each phase: the median epoch of EPOCHS after the phase's warm-up epoch. */
function mmbalance(c: RunConfig, data: ClipData): Side {
  validateRunConfig(c);
  const model = buildRunModel(c, data);
  const r = new Trainer(model, data, makeStrategy(c.method, c.methodOptions), c.train).fit({ progress: false });
  const rates: Record<string, number> = {};
  for (const phase of new Set(r.history.map((h) => h.phase)))
    rates[phase === 'train' ? 'joint' : phase] =
      N /
      median(
        r.history
          .filter((h) => h.phase === phase)
          .slice(1)
          .map((h) => h.seconds),
      );
  return { rates, parameters: model.parameters().reduce((a, p) => a + p.numel(), 0) };
}

/** The preset balancemla, its schedule shortened to EPOCHS + 1 epochs per phase (finetuneLr 5e-5 kept). */
function balancemla(data: ClipData): Side {
  const c = applyPreset(defaultRunConfig(), 'balancemla');
  c.methodOptions = { ...c.methodOptions, pretrainEpochs: EPOCHS + 1, finetuneEpochs: EPOCHS + 1 };
  return mmbalance(c, data);
}

function joint(data: ClipData): Side {
  const c = applyPreset(defaultRunConfig(), 'clip-joint');
  for (const s of [...JOINT_SET, `train.epochs=${EPOCHS + 1}`]) applySet(c, s);
  return mmbalance(c, data);
}

function pytorch(model: string): Side | null {
  const r = spawnSync(
    '/usr/bin/python3',
    [join(packageRoot(), 'bench', 'balancemla_throughput.py'), model, String(THREADS), String(EPOCHS), String(N)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    console.error(`PyTorch side failed: ${r.stderr}`);
    return null;
  }
  const out = JSON.parse(r.stdout) as { parameters: number; phases: Record<string, { samplesPerSecond: number }> };
  return {
    rates: Object.fromEntries(Object.entries(out.phases).map(([p, v]) => [p, v.samplesPerSecond])),
    parameters: out.parameters,
  };
}

const data = new ClipData(randomClips(SHAPES, N));
const rateText = (s: Side): string =>
  Object.entries(s.rates)
    .map(([p, v]) => `${p} ${v.toFixed(0)}`)
    .join(', ');
const ROWS = [
  { key: 'pretrain', label: 'BalanceMLA pretrain (encoders + own classifiers, unimodal losses)' },
  { key: 'finetune', label: 'BalanceMLA finetune (composite: AttentionBRFF, decision fusion, all parameters)' },
  { key: 'joint', label: 'joint (the same sequence encoders, concat head)' },
] as const;
const ours: Record<string, number[]> = { pretrain: [], finetune: [], joint: [] };
const theirs: Record<string, number[]> = { pretrain: [], finetune: [], joint: [] };
const parameters: Record<string, [number, number | null]> = {};
// Alternate the two sides, so a slow spell of the machine hits both.
for (let k = 0; k < ROUNDS; k++) {
  for (const [model, run] of [
    ['balancemla', balancemla],
    ['joint', joint],
  ] as const) {
    const o = run(data);
    const t = pytorch(model);
    for (const [p, v] of Object.entries(o.rates)) ours[p]!.push(v);
    for (const [p, v] of Object.entries(t?.rates ?? {})) theirs[p]!.push(v);
    parameters[model] = [o.parameters, t?.parameters ?? null];
    console.log(`round ${k + 1}, ${model}: mmbalance ${rateText(o)}; PyTorch ${t === null ? 'failed' : rateText(t)} samples/s`);
  }
}

const all = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
const med = (xs: number[]): number | null => (xs.length ? median(xs) : null);
const rows = ROWS.map(({ key, label }) => {
  const o = median(ours[key]!);
  const t = med(theirs[key]!);
  return `| ${label} | ${o.toFixed(0)} (${all(ours[key]!)}) | ${t === null ? 'n/a' : `${t.toFixed(0)} (${all(theirs[key]!)})`} | ${t === null ? 'n/a' : (t / o).toFixed(2)} |`;
});
// Time per sample against joint training's: joint's samples/s over the phase's.
const relative = (side: Record<string, number[]>, key: string): string => {
  const p = med(side[key]!);
  const j = med(side.joint!);
  return p === null || j === null ? 'n/a' : (j / p).toFixed(2);
};
const params = (model: string): string => {
  const [o, t] = parameters[model]!;
  return `${o.toLocaleString('en-US')}${t === null ? '' : t === o ? ' (PyTorch: the same)' : ` (PyTorch: ${t.toLocaleString('en-US')})`}`;
};
const command = ['node dist/bench/balancemla_throughput.js', ...args].join(' ');
const body = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${THREADS} threads; libtorch ${libtorchVersion()}. Command: \`${command}\`.`,
  '',
  `Training samples per second: the median of ${EPOCHS} epochs after a warm-up epoch (per phase), in ${ROUNDS} alternating rounds per side (median of the rounds; each round in brackets); ${N} random training samples held in memory, AV-MNIST's sequence shapes (audio [40, 40], image [28, 28], fixed length: no padding masks), 10 classes, batch 32. BalanceMLA: the preset balancemla (hidden 64, 2 encoder layers with 5 and 7 heads, feed-forward 256, AttentionBRFF with 3 cross-modal layers of 8 heads, dropout 0.1, category-level decision fusion), its schedule shortened to ${EPOCHS + 1} epochs per phase: pretrain (the branches alone, sum of the unimodal cross entropies, Adam 3e-4 on the encoders and their classifiers) then finetune (cross entropy of the fused prediction plus each branch's, Adam 5e-5 on every parameter). Joint: the preset clip-joint with \`--set ${JOINT_SET.join(' ')}\` (the same Transformer encoders, pooled then projected, a concat head). mmbalance runs its Trainer (batches built per step, dev evaluation excluded, ridge probes on); PyTorch runs the same models and loops (bench/balancemla_throughput.py). Only mmbalance's steps also read each loss term back and, in pretrain, compute the model's unused outputs (the equal-weight mixture of the unimodal predictions and the per-branch cross entropies, both outside the pretrain loss); its Adam is one fused native pass per parameter, PyTorch's is torch.optim.Adam. Parameters: BalanceMLA ${params('balancemla')}, joint ${params('joint')}.`,
  '',
  '| model / phase | mmbalance samples/s | PyTorch samples/s | time ratio (mmbalance / PyTorch) |',
  '|---|---|---|---|',
  ...rows,
  '',
  'Time per training sample relative to joint training (joint samples/s over the phase samples/s, medians of the rounds):',
  '',
  '| BalanceMLA phase / joint | mmbalance | PyTorch |',
  '|---|---|---|',
  `| pretrain / joint | ${relative(ours, 'pretrain')} | ${relative(theirs, 'pretrain')} |`,
  `| finetune / joint | ${relative(ours, 'finetune')} | ${relative(theirs, 'finetune')} |`,
].join('\n');
console.log(body);
if (args.includes('--write'))
  console.log(`wrote ${writeSection('balancemla-throughput', 'BalanceMLA training throughput against PyTorch and joint training', body)}`);
