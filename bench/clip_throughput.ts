/**
 * Training throughput on clips: joint LeNet + LeNet on AV-MNIST shapes (audio 1x40x40, image
 * 1x28x28, batch 32) and ResNet-18 on 1x128x128 (batch 16), each against the same model and loop
 * written in PyTorch (bench/clip_throughput.py) on the same machine in the same run.
 * Run: npm run build && node dist/bench/clip_throughput.js [--write]
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ClipData } from '../src/data/clip/dataset.js';
import { JointTraining, Trainer, buildModel, defaultRunConfig, getNumThreads, libtorchVersion } from '../src/index.js';
import { packageRoot } from '../test/helpers.js';
import { randomClips } from './random_clips.js';
import { writeSection } from './report.js';

const EPOCHS = 4;
const ROUNDS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Training samples per second: the median epoch of EPOCHS after a warm-up epoch. */
function mmbalance(shapes: Record<string, number[]>, encoder: string, n: number, batch: number): number {
  const data = new ClipData(randomClips(shapes, n));
  const c = defaultRunConfig();
  c.model = {
    ...c.model,
    hidden: 128,
    dropout: 0,
    head: 'concat',
    encoders: Object.fromEntries(Object.keys(shapes).map((m) => [m, encoder])),
  };
  const model = buildModel('clip', data, { model: c.model, ada2i: c.ada2i, seed: 0 });
  const r = new Trainer(model, data, new JointTraining(), {
    epochs: EPOCHS + 1,
    batchSize: batch,
    optimizer: 'adamw',
    lr: 1e-3,
    weightDecay: 0.01,
    scheduler: 'none',
    clipGradNorm: 0,
    patience: 0,
  }).fit({ progress: false });
  return n / median(r.history.slice(1).map((h) => h.seconds));
}

function pytorch(model: string): number | null {
  const r = spawnSync(
    '/usr/bin/python3',
    [join(packageRoot(), 'bench', 'clip_throughput.py'), model, String(getNumThreads()), String(EPOCHS)],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) {
    console.error(`PyTorch side failed: ${r.stderr}`);
    return null;
  }
  return (JSON.parse(r.stdout) as { samplesPerSecond: number }).samplesPerSecond;
}

const rows: string[] = [];
for (const [label, shapes, enc, n, batch, py] of [
  ['joint LeNet + LeNet (audio 1x40x40, image 1x28x28), batch 32', { audio: [1, 40, 40], image: [1, 28, 28] }, 'lenet', 3200, 32, 'lenet'],
  ['ResNet-18 on 1x128x128, batch 16', { spec: [1, 128, 128] }, 'resnet18', 128, 16, 'resnet18'],
] as const) {
  // Alternate the two sides, so a slow spell of the machine hits both.
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    ours.push(mmbalance(shapes as unknown as Record<string, number[]>, enc, n, batch));
    const t = pytorch(py);
    if (t !== null) theirs.push(t);
  }
  const o = median(ours);
  const t = theirs.length ? median(theirs) : null;
  const all = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
  rows.push(
    `| ${label} | ${o.toFixed(0)} (${all(ours)}) | ${t === null ? 'n/a' : `${t.toFixed(0)} (${all(theirs)})`} | ${t === null ? 'n/a' : (t / o).toFixed(2)} |`,
  );
  console.log(rows.at(-1));
}
const body = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${getNumThreads()} threads; libtorch ${libtorchVersion()}. Command: \`node dist/bench/clip_throughput.js --write\`.`,
  '',
  `Training samples per second: the median of ${EPOCHS} epochs after a warm-up epoch, in ${ROUNDS} alternating rounds per side (median of the rounds; each round in brackets); random inputs held in memory, AdamW, the concat head. mmbalance runs its Trainer (batches built per step, dev evaluation excluded, ridge probes on); PyTorch runs the same model and loop (bench/clip_throughput.py).`,
  '',
  '| model | mmbalance samples/s | PyTorch samples/s | time ratio (mmbalance / PyTorch) |',
  '|---|---|---|---|',
  ...rows,
].join('\n');
console.log(body);
if (process.argv.includes('--write'))
  console.log(`wrote ${writeSection('clip-throughput', 'Clip training throughput against PyTorch', body)}`);
