/**
 * Benchmarks of the engine (run: npm run bench; add --write to update bench/BENCHMARKS.md).
 * Everything is measured in one run on one machine, and compared as ratios: the addon against
 * libtorch called from C++ (bench/native/ops_bench.cc) and against PyTorch (transformer_step.py).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { getNumThreads, libtorchVersion, manualSeed, nn, ones, optim, randn, scope, setNumThreads } from '../src/index.js';
import { native } from '../src/engine/native.js';
import { packageRoot } from '../test/helpers.js';
import { writeSection } from './report.js';

const root = packageRoot();
const threads = Number(process.env.MMBALANCE_NUM_THREADS ?? getNumThreads());
setNumThreads(threads);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Seconds per call: the median round, or the best one for peak throughput. */
function timeIt(fn: () => void, reps: number, rounds = 7, warmup = 3, pick: 'median' | 'best' = 'median'): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9 / reps);
  }
  return pick === 'best' ? Math.min(...ts) : median(ts);
}

function matmulGflops(m: number, k: number, n: number): number {
  const a = randn([m, k]);
  const b = randn([k, n]);
  const t = timeIt(() => a.matmul(b).dispose(), 10, 7, 20, 'best');
  return (2 * m * k * n) / t / 1e9;
}

function tinyOps(): { noopNs: number; addNs: number; addScopedNs: number } {
  const x = ones([1]);
  const noopNs = timeIt(() => native.noop(), 200_000, 5) * 1e9;
  const addNs = timeIt(() => x.add(1).dispose(), 200_000, 5) * 1e9;
  const addScopedNs = timeIt(() => scope(() => void x.add(1)), 200_000, 5) * 1e9;
  return { noopNs, addNs, addScopedNs };
}

function transformerStepMs(steps: number): number {
  manualSeed(0);
  const enc = new nn.TransformerEncoder(
    () => new nn.TransformerEncoderLayer(768, 6, { dimFeedforward: 2048, dropout: 0.1, batchFirst: true }),
    2,
  );
  const opt = new optim.Adam(enc.parameters(), { lr: 1e-4 });
  const x = randn([10, 60, 768]);
  const step = (): void =>
    scope(() => {
      opt.zeroGrad();
      enc.forward(x).pow(2).mean().backward();
      opt.step();
    });
  for (let i = 0; i < 3; i++) step();
  const ts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = process.hrtime.bigint();
    step();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

interface CppResult {
  matmul: { m: number; k: number; n: number; gflops: number }[];
  tinyAddNs: number;
}

function cppBaseline(): CppResult | null {
  const out = join(root, 'build', 'ops_bench');
  const flags = (f: string): string[] =>
    execFileSync(process.execPath, [join(root, 'scripts/libtorch.mjs'), f], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  const src = join(root, 'bench/native/ops_bench.cc');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(join(root, 'build'), { recursive: true });
    const inc = flags('--include-dirs').map((d) => `-I${d}`);
    const defs = flags('--defines').map((d) => `-D${d}`);
    const r = spawnSync('g++', ['-O2', '-std=c++17', ...inc, ...defs, src, '-o', out, ...flags('--ldflags'), ...flags('--libs')], {
      stdio: 'inherit',
    });
    if (r.status !== 0) return null;
  }
  return JSON.parse(execFileSync(out, [String(threads)], { encoding: 'utf8' })) as CppResult;
}

function pytorchStep(steps: number): { medianMs: number; torch: string } | null {
  const r = spawnSync('/usr/bin/python3', [join(root, 'bench/transformer_step.py'), String(threads), String(steps)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(
      `PyTorch comparison skipped: ${r.stderr?.split('\n').slice(-2).join(' ') || 'python3 with torch not found (apt-get install python3-torch)'}`,
    );
    return null;
  }
  return JSON.parse(r.stdout) as { medianMs: number; torch: string };
}

const steps = Number(process.env.BENCH_STEPS ?? 20);
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; libtorch ${libtorchVersion()}; ${threads} threads`);
const sizes: [number, number, number][] = [
  [512, 1024, 1024],
  [1024, 1024, 1024],
  [600, 768, 2048],
];
const addon = sizes.map(([m, k, n]) => ({ m, k, n, gflops: matmulGflops(m, k, n) }));
const tiny = tinyOps();
const cpp = cppBaseline();
const tsStep = transformerStepMs(steps);
const pyStep = pytorchStep(steps);

const lines: string[] = [];
lines.push(
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, libtorch ${libtorchVersion()}, ${threads} threads. Command: \`npm run bench -- --write\`.`,
);
lines.push(
  '',
  `The C++ and PyTorch processes inherit the engine's thread settings (OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY}, ` +
    `OPENBLAS_THREAD_TIMEOUT=${process.env.OPENBLAS_THREAD_TIMEOUT}; see src/engine/native.ts), so every side runs with the same threading.`,
);
lines.push(
  '',
  '### Matrix multiply (float32), GFLOP/s (best of 7 rounds of 10, after 20 warm-up calls)',
  '',
  '| m x k x n | addon | libtorch from C++ | ratio |',
  '|---|---|---|---|',
);
addon.forEach((a, i) => {
  const c = cpp?.matmul[i]?.gflops;
  lines.push(
    `| ${a.m} x ${a.k} x ${a.n} | ${a.gflops.toFixed(1)} | ${c?.toFixed(1) ?? 'n/a'} | ${c ? (a.gflops / c).toFixed(2) : 'n/a'} |`,
  );
});
const overhead = cpp ? tiny.addNs - cpp.tinyAddNs : NaN;
lines.push('', '### Cost of one tiny op (1-element add), ns', '', '| what | ns |', '|---|---|');
lines.push(`| empty call into the addon | ${tiny.noopNs.toFixed(0)} |`);
lines.push(`| \`x.add(1)\` from TypeScript, result disposed | ${tiny.addNs.toFixed(0)} |`);
lines.push(`| \`scope(() => x.add(1))\` | ${tiny.addScopedNs.toFixed(0)} |`);
lines.push(`| \`at::add(x, 1)\` from C++ | ${cpp?.tinyAddNs.toFixed(0) ?? 'n/a'} |`);
lines.push(`| **addon overhead per op** (TypeScript minus C++) | **${Number.isFinite(overhead) ? overhead.toFixed(0) : 'n/a'}** |`);
lines.push('', '### One training step: 2-layer Transformer encoder (d 768, 6 heads, ff 2048, dropout 0.1), batch 10 x 60, Adam', '');
lines.push('| engine | median ms |', '|---|---|');
lines.push(`| mmbalance (TypeScript + libtorch) | ${tsStep.toFixed(1)} |`);
lines.push(`| PyTorch ${pyStep?.torch ?? ''} (Python) | ${pyStep?.medianMs.toFixed(1) ?? 'n/a'} |`);
if (pyStep) lines.push(`| **ratio mmbalance / PyTorch** | **${(tsStep / pyStep.medianMs).toFixed(2)}** |`);
const report = lines.join('\n');
console.log(report);

if (process.argv.includes('--write')) console.log(`wrote ${writeSection('engine', 'Engine', report)}`);
