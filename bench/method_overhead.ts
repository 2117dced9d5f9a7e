/**
 * Per-epoch cost of each balancing method over joint training, same data and model: short runs of
 * every method in alternating rounds (so machine noise falls on all of them alike), the median
 * training seconds per epoch (dev evaluation excluded, as in metrics.jsonl `seconds`), and the
 * ratio to joint. For the GMM-guided loss also the round's extra work: the no-grad pass over the
 * training split and the fit (`passSeconds`, `fitSeconds` of each round), against an epoch.
 * Run: node dist/bench/method_overhead.js --data avmnist.safetensors --out DIR [--rounds 3] [--epochs 3] [--write]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
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
const rounds = Number(opt('rounds', '3'));
const epochs = Number(opt('epochs', '3'));
const preset = opt('preset', 'clip-joint');
const cli = join(packageRoot(), 'bin', 'mmbalance.js');

// Each method as `sweep --methods` runs it (src/train/run_config.ts METHOD_VARIANTS).
const methods: { name: string; set: string[] }[] = [
  { name: 'joint', set: ['method=joint'] },
  { name: 'multi-loss', set: ['method=multi-loss', 'model.head=multi'] },
  { name: 'mlb', set: ['method=mlb', 'model.head=multi'] },
  { name: 'ogm-ge', set: ['method=ogm-ge'] },
  { name: 'ada2i-modulation', set: ['method=ada2i'] },
  { name: 'mmcosine', set: ['method=joint', 'model.head=amw', 'model.amwMode=mmcosine', 'model.amwScale=10'] },
  // One warm-up epoch, then rounds of one epoch each: every epoch after the first starts a round.
  {
    name: 'gmm',
    set: ['method=gmm', 'methodOptions.warmupEpochs=1', `methodOptions.rounds=${epochs - 1}`, 'methodOptions.epochsPerRound=1'],
  },
  {
    name: 'gmm (gaps: epoch)',
    set: [
      'method=gmm',
      'methodOptions.warmupEpochs=1',
      `methodOptions.rounds=${epochs - 1}`,
      'methodOptions.epochsPerRound=1',
      'methodOptions.gaps=epoch',
    ],
  },
];

interface Epoch {
  seconds: number;
  strategy?: { round?: { passSeconds?: number; fitSeconds?: number } };
}
const seconds: Record<string, number[]> = Object.fromEntries(methods.map((m) => [m.name, []]));
const gmmRound: Record<string, { pass: number[]; fit: number[] }> = {};
for (let r = 0; r < rounds; r++)
  for (const m of methods) {
    const dir = join(out, `${m.name.replace(/[^a-z0-9-]+/g, '_')}-${r}`);
    if (existsSync(dir)) rmSync(dir, { recursive: true });
    const res = spawnSync(
      process.execPath,
      [
        cli,
        'train',
        '--preset',
        preset,
        '--data',
        data,
        '--epochs',
        String(epochs),
        '--out',
        dir,
        '--quiet',
        ...m.set.flatMap((s) => ['--set', s]),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (res.status !== 0) throw new Error(`${m.name} failed`);
    const recs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Epoch);
    // The first epoch carries one-off costs (allocator warm-up); the rest are the steady state.
    for (const e of recs.slice(1)) seconds[m.name]!.push(e.seconds);
    for (const e of recs) {
      const round = e.strategy?.round;
      if (round?.passSeconds === undefined) continue;
      (gmmRound[m.name] ??= { pass: [], fit: [] }).pass.push(round.passSeconds);
      gmmRound[m.name]!.fit.push(round.fitSeconds ?? 0);
    }
    process.stderr.write(`round ${r + 1}/${rounds} ${m.name}: ${recs.map((e) => e.seconds.toFixed(2)).join(' ')}\n`);
  }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const joint = median(seconds.joint!);
const lines = [
  '| method | s / epoch (median) | ratio to joint | epochs timed |',
  '|---|---|---|---|',
  ...methods.map((m) => {
    const s = median(seconds[m.name]!);
    return `| ${m.name} | ${s.toFixed(2)} | ${(s / joint).toFixed(3)} | ${seconds[m.name]!.length} |`;
  }),
];
const roundLines = Object.entries(gmmRound).map(([name, t]) => {
  const epoch = median(seconds[name]!);
  const pass = median(t.pass);
  const fit = median(t.fit);
  return (
    `${name}, a round's extra work (median of ${t.pass.length}): the pass over the training split ${pass.toFixed(2)} s, ` +
    `gaps + EM fit + posteriors ${(fit * 1000).toFixed(1)} ms; together ${(pass + fit).toFixed(2)} s = ` +
    `${((100 * (pass + fit)) / epoch).toFixed(1)}% of its epoch (${epoch.toFixed(2)} s).`
  );
});
const body = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores. Command: \`node dist/bench/method_overhead.js --data ${data} --out DIR --rounds ${rounds} --epochs ${epochs} --write\``,
  `(preset ${preset}; every method for ${epochs} epochs, ${rounds} alternating rounds; the first epoch of each run not timed).`,
  '',
  ...lines,
  '',
  ...roundLines.flatMap((l) => [l, '']),
].join('\n');
console.log(body);
if (args.includes('--write'))
  console.log(`wrote ${writeSection('method-overhead', "Each method's cost per epoch over joint training", body)}`);
