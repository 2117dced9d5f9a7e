/**
 * Data-parallel training over c10d Gloo on this machine's loopback:
 *  1. all-reduce time and bandwidth for 1 to 100 MB of float32 gradients between 2 processes;
 *  2. training epochs per second, 2 workers x 1 thread against 1 process x 2 threads, in
 *     alternating rounds, and the share of rank 0's training time spent in collectives.
 *
 * Run: npm run build && node dist/bench/data_parallel.js --data avmnist.safetensors [--epochs 4] [--rounds 2] [--write]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessGroup } from '../src/engine/dist.js';
import { libtorchVersion } from '../src/engine/runtime.js';
import { scope } from '../src/engine/scope.js';
import { zeros } from '../src/engine/tensor.js';
import { packageRoot } from '../test/helpers.js';
import { writeSection } from './report.js';

const SIZES_MB = [1, 4, 16, 64, 100];
const REPS = 10;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

/** One rank of the all-reduce measurement: prints JSON lines {mb, seconds[]} (rank 0 only). */
function allreduceWorker(rank: number, port: number): void {
  const pg = new ProcessGroup({
    rank,
    worldSize: 2,
    rendezvous: { kind: 'tcp', host: '127.0.0.1', port },
    iface: '127.0.0.1',
    timeoutMs: 60_000,
  });
  for (const mb of SIZES_MB) {
    scope(() => {
      const t = zeros([Math.round((mb * 1024 * 1024) / 4)]);
      pg.allReduce([t]);
      const seconds: number[] = [];
      for (let r = 0; r < REPS; r++) {
        pg.barrier();
        const t0 = performance.now();
        pg.allReduce([t]);
        seconds.push((performance.now() - t0) / 1000);
      }
      if (rank === 0) console.log(JSON.stringify({ mb, seconds }));
    });
  }
  pg.destroy();
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function allreduceTable(): Promise<string[]> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const script = join(packageRoot(), 'dist', 'bench', 'data_parallel.js');
  const run = (rank: number) =>
    new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [script, '--allreduce-worker', String(rank), String(port)], {
        env: { ...process.env, MMBALANCE_NUM_THREADS: '1' },
      });
      let out = '';
      p.stdout.on('data', (d) => (out += String(d)));
      p.stderr.on('data', (d) => process.stderr.write(d));
      p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`all-reduce worker ${rank} exited with ${code}`))));
    });
  const [out] = await Promise.all([run(0), run(1)]);
  const rows = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { mb: number; seconds: number[] });
  return [
    '| size | median time (ms) | bandwidth (GB/s: buffer size / time; a ring of 2 sends and receives the buffer once per rank) |',
    '|---|---|---|',
    ...rows.map((r) => {
      const s = median(r.seconds);
      const gb = (r.mb * 1024 * 1024) / 1e9;
      return `| ${r.mb} MB | ${(s * 1000).toFixed(2)} | ${(gb / s).toFixed(2)} |`;
    }),
  ];
}

interface TrainRun {
  epochSeconds: number[];
  commSeconds: number | null;
  trainSeconds: number;
  accuracy: number;
}

function trainOnce(data: string, epochs: number, nproc: number): TrainRun {
  const out = mkdtempSync(join(tmpdir(), 'mmb-dp-bench-'));
  rmSync(out, { recursive: true });
  const args = [
    join(packageRoot(), 'bin', 'mmbalance.js'),
    'train',
    '--preset',
    'clip-joint',
    '--data',
    data,
    '--epochs',
    String(epochs),
    '--out',
    out,
    '--quiet',
  ];
  if (nproc > 1) args.push('--nproc', String(nproc));
  const r = spawnSync(process.execPath, args, { env: { ...process.env, MMBALANCE_NUM_THREADS: nproc > 1 ? '1' : '2' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`training failed: ${r.stderr}`);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    epochs: { seconds: number }[];
    parallel?: { communicationSeconds: number };
    test: { accuracy: number };
  };
  rmSync(out, { recursive: true, force: true });
  const epochSeconds = summary.epochs.map((e) => e.seconds);
  return {
    epochSeconds,
    commSeconds: summary.parallel?.communicationSeconds ?? null,
    trainSeconds: epochSeconds.reduce((a, b) => a + b, 0),
    accuracy: summary.test.accuracy,
  };
}

async function main(): Promise<void> {
  const data = arg('data', '');
  if (!data) throw new Error('--data avmnist.safetensors is required (mmbalance data avmnist --fsdd ... --out avmnist.safetensors)');
  const epochs = Number(arg('epochs', '4'));
  const rounds = Number(arg('rounds', '2'));
  const reduce = await allreduceTable();
  console.log(reduce.join('\n'));
  const sides: Record<'one' | 'two', TrainRun[]> = { one: [], two: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? (['one', 'two'] as const) : (['two', 'one'] as const)) {
      const run = trainOnce(data, epochs, side === 'two' ? 2 : 1);
      sides[side].push(run);
      console.log(
        `round ${r + 1} ${side}: epochs ${run.epochSeconds.map((s) => s.toFixed(2)).join(', ')} s, comm ${run.commSeconds?.toFixed(2) ?? '-'} s`,
      );
    }
  }
  // The first epoch of each run warms up; the rate is from the rest.
  const rate = (runs: TrainRun[]) => 1 / median(runs.flatMap((x) => x.epochSeconds.slice(1)));
  const one = rate(sides.one);
  const two = rate(sides.two);
  const comm = sides.two.map((x) => x.commSeconds! / x.trainSeconds);
  const body = [
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; libtorch ${libtorchVersion()}; Gloo over loopback. Command: \`node dist/bench/data_parallel.js --data avmnist.safetensors --epochs ${epochs} --rounds ${rounds} --write\`.`,
    '',
    `All-reduce of float32 buffers between 2 processes (1 thread each), the median of ${REPS} after a warm-up, each after a barrier:`,
    '',
    ...reduce,
    '',
    `Training (AV-MNIST, preset clip-joint: LeNet + LeNet, batch 32), ${epochs} epochs per run, ${rounds} alternating rounds; epochs per second from the median epoch after the first (dev evaluation excluded). The share in collectives is rank 0's time inside all-reduce and broadcast calls (waiting for the other worker included) over its training time.`,
    '',
    '| setup | epochs/s | test accuracy | time in collectives |',
    '|---|---|---|---|',
    `| 1 process x 2 threads | ${one.toFixed(3)} | ${sides.one.map((x) => (100 * x.accuracy).toFixed(2)).join(', ')} | - |`,
    `| 2 workers x 1 thread (--nproc 2) | ${two.toFixed(3)} | ${sides.two.map((x) => (100 * x.accuracy).toFixed(2)).join(', ')} | ${comm.map((c) => `${(100 * c).toFixed(1)}%`).join(', ')} |`,
    '',
    `Ratio (2 workers / 1 process, epochs per second): ${(two / one).toFixed(2)}.`,
  ].join('\n');
  console.log(body);
  if (process.argv.includes('--write'))
    console.log(`wrote ${writeSection('data-parallel', 'Data-parallel training on c10d (Gloo, loopback)', body)}`);
}

const wi = process.argv.indexOf('--allreduce-worker');
if (wi >= 0) allreduceWorker(Number(process.argv[wi + 1]), Number(process.argv[wi + 2]));
else await main();
