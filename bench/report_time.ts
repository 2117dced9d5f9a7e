/**
 * How long `mmbalance report` takes: a 50-epoch run and a 3-method x 3-seed sweep, both trained
 * on tiny data first. Prints a markdown table (run: node dist/bench/report_time.js).
 * Measured in-process (the library already loaded: cold is the first report, warm the median of
 * five more) and end to end through the command line (a fresh process: Node, libtorch and
 * vega-lite start every time).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveDataset, synthConversations } from '../src/data/index.js';
import { writeReport } from '../src/report/index.js';
import { packageRoot } from '../test/helpers.js';

const bin = join(packageRoot(), 'bin', 'mmbalance.js');
const env = { ...process.env, MMBALANCE_NUM_THREADS: '1' };

function mmbalance(...args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mmbalance ${args.join(' ')} failed:\n${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const root = mkdtempSync(join(tmpdir(), 'mmb-report-bench-'));
const data = join(root, 'conv.safetensors');
saveDataset(
  synthConversations({
    seed: 12,
    dialogues: 16,
    utterances: 160,
    minLength: 4,
    maxLength: 16,
    modalities: { text: 6, audio: 5, visual: 4 },
  }),
  data,
);
const small = [
  '--data',
  data,
  '--preset',
  'joint',
  '--set',
  'model.encoder=mlp',
  '--set',
  'model.hidden=8',
  '--set',
  'train.batchSize=4',
  '--quiet',
];
const run = join(root, 'run50');
const sweep = join(root, 'sweep');
const trainSeconds = mmbalance('train', ...small, '--method', 'ada2i', '--epochs', '50', '--set', 'train.patience=0', '--out', run);
const sweepSeconds = mmbalance(
  'sweep',
  ...small,
  '--modalities',
  'tav',
  '--methods',
  'joint,ogm-ge,mlb',
  '--seeds',
  '3',
  '--epochs',
  '5',
  '--out',
  sweep,
);

const rows: string[] = [];
for (const [name, dir] of [
  ['50-epoch run (Ada2I, 3 modalities)', run],
  ['sweep: 3 methods x 3 seeds (9 runs)', sweep],
] as const) {
  const out = join(root, `${name.split(' ')[0]}.html`);
  const times: number[] = [];
  let figures = 0;
  for (let k = 0; k < 6; k++) {
    const t0 = performance.now();
    const r = await writeReport([dir], out, { warn: () => {} });
    times.push((performance.now() - t0) / 1000);
    figures = r.figures.length;
  }
  const cli = mmbalance('report', dir, '--out', out);
  const t0 = performance.now();
  await writeReport([dir], join(root, 'svg.html'), { format: 'svg', warn: () => {} });
  const svg = (performance.now() - t0) / 1000;
  const kb = statSync(out).size / 1024;
  rows.push(
    `| ${name} | ${figures} | ${times[0]!.toFixed(2)} | ${median(times.slice(1)).toFixed(2)} | ${cli.toFixed(2)} | ${svg.toFixed(2)} | ${kb.toFixed(0)} |`,
  );
}

console.log(
  [
    `Report generation (${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}). Training the inputs took ${trainSeconds.toFixed(1)} s (run) and ${sweepSeconds.toFixed(1)} s (sweep).`,
    '',
    '| input | figures | first report, in-process (s) | later reports, median (s) | `mmbalance report`, end to end (s) | with `--format svg` (s) | HTML (KB) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n'),
);
