/**
 * Baselines on AV-MNIST: image only, audio only, joint training, OGM-GE and MMCosine, over seeds;
 * test accuracy fused and per modality (the model's unimodal slices and the ridge probes).
 * Run: node dist/bench/avmnist_baselines.js --data avmnist.safetensors --out DIR [--seeds 3] [--epochs 30] [--write]
 * Runs `mmbalance sweep` for each method (finished runs are kept, so an interrupted bench continues).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../test/helpers.js';
import { writeSection } from './report.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback?: string): string => {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1]!;
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
};
const data = opt('data');
const out = opt('out');
const seeds = Number(opt('seeds', '3'));
const epochs = opt('epochs', '30');
const extra = args.includes('--set') ? ['--set', opt('set')] : [];

const cli = join(packageRoot(), 'bin', 'mmbalance.js');
const runs: { name: string; preset: string; modalities: string }[] = [
  { name: 'joint', preset: 'clip-joint', modalities: 'audio+image,audio,image' },
  { name: 'ogm-ge', preset: 'clip-ogm-ge', modalities: 'audio+image' },
  { name: 'mmcosine', preset: 'clip-mmcosine', modalities: 'audio+image' },
];
for (const r of runs) {
  const res = spawnSync(
    process.execPath,
    [
      cli,
      'sweep',
      '--preset',
      r.preset,
      '--data',
      data,
      '--modalities',
      r.modalities,
      '--seeds',
      String(seeds),
      '--epochs',
      epochs,
      '--out',
      join(out, r.name),
      '--quiet',
      ...extra,
    ],
    { stdio: 'inherit' },
  );
  if (res.status !== 0) throw new Error(`the ${r.name} sweep failed`);
}

interface Summary {
  test: { accuracy: number; unimodalAccuracy: Record<string, number> };
  epochs: { probeAccuracy: Record<string, number> | null }[];
  bestEpoch: number;
}
const pct = (xs: number[]): string => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${(100 * m).toFixed(2)} ± ${(100 * sd).toFixed(2)}`;
};
const rows: string[] = [];
const line = (label: string, dir: string, combo: string): void => {
  const sums: Summary[] = [];
  for (let k = 0; k < seeds; k++)
    sums.push(JSON.parse(readFileSync(join(out, dir, combo, `seed-${12 + k}`, 'summary.json'), 'utf8')) as Summary);
  const uni = (m: string): string =>
    sums[0]!.test.unimodalAccuracy[m] === undefined ? '-' : pct(sums.map((s) => s.test.unimodalAccuracy[m]!));
  const probe = (m: string): string => {
    const v = sums.map((s) => s.epochs[s.bestEpoch - 1]?.probeAccuracy?.[m]);
    return v.every((x) => typeof x === 'number') ? pct(v as number[]) : '-';
  };
  rows.push(
    `| ${label} | ${pct(sums.map((s) => s.test.accuracy))} | ${uni('audio')} | ${uni('image')} | ${probe('audio')} | ${probe('image')} |`,
  );
};
line('audio only', 'joint', 'audio');
line('image only', 'joint', 'image');
line('joint (concat)', 'joint', 'audio+image');
line('OGM-GE', 'ogm-ge', 'audio+image');
line('MMCosine', 'mmcosine', 'audio+image');
const body = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores. Command: \`node dist/bench/avmnist_baselines.js --data ${data} --out DIR --seeds ${seeds} --epochs ${epochs}${extra.length ? ` --set ${extra[1]}` : ''} --write\` (the presets clip-joint, clip-ogm-ge, clip-mmcosine; seeds 12 to ${11 + seeds}).`,
  '',
  "Test accuracy (%), mean ± sample std over seeds, best-dev weights. Per modality: the accuracy of the head's unimodal slices (what OGM-GE scores; for MMCosine the linear slices of its weight) and of the ridge probes on each modality's features (dev split, at the best epoch).",
  '',
  '| run | fused | audio (slice) | image (slice) | audio (probe, dev) | image (probe, dev) |',
  '|---|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log(body);
if (args.includes('--write')) console.log(`wrote ${writeSection('avmnist-baselines', 'Baselines on AV-MNIST', body)}`);
