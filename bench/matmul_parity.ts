/**
 * The same 1024^3 float32 matmul through the addon and from Python's torch on the same libtorch,
 * at 1 and 2 threads, each side also under the other's environment (the addon sets
 * OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=10 before libtorch loads; Python leaves
 * OpenMP's and OpenBLAS's defaults). Every configuration runs in its own fresh process, the
 * configurations alternate for several rounds, and the table gives each one's median and best.
 *
 * Run: npx tsc -p . && node dist/bench/matmul_parity.js [--rounds 5] [--python /usr/bin/python3] [--write]
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { writeSection } from './report.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROUNDS = Number(opt('rounds') ?? 5);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds expects an integer >= 1, got ${opt('rounds')}`);
const PYTHON = opt('python') ?? '/usr/bin/python3';
const WRITE = args.includes('--write');
const SIZE = 1024;

const NODE_CHILD = `
import { randn, setNumThreads, scope, noGrad } from '${new URL('../src/index.js', import.meta.url).href}';
setNumThreads(Number(process.env.PARITY_THREADS));
const a = randn([${SIZE}, ${SIZE}]), b = randn([${SIZE}, ${SIZE}]);
noGrad(() => { for (let i = 0; i < 3; i++) scope(() => a.matmul(b)); });
let best = Infinity;
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  noGrad(() => { for (let i = 0; i < 5; i++) scope(() => a.matmul(b)); });
  best = Math.min(best, (performance.now() - t0) / 5);
}
process.stdout.write(String(2 * ${SIZE} ** 3 / best / 1e6));
`;
const PY_CHILD = `
import os, time, torch
torch.set_num_threads(int(os.environ['PARITY_THREADS']))
a = torch.randn(${SIZE}, ${SIZE}); b = torch.randn(${SIZE}, ${SIZE})
for _ in range(3): a @ b
best = float('inf')
for _ in range(5):
    t = time.perf_counter()
    for _ in range(5): a @ b
    best = min(best, (time.perf_counter() - t) / 5)
print(2 * ${SIZE} ** 3 / best / 1e9, end='')
`;

// The addon's environment as src/engine/native.ts sets it, and the defaults it overrides.
const addonEnv = { OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_THREAD_TIMEOUT: '10' };
const base = { ...process.env };
delete base.OMP_WAIT_POLICY;
delete base.OPENBLAS_THREAD_TIMEOUT;
// Both sides use the kernels the engine picks for this CPU (OPENBLAS_CORETYPE, blas_core.ts).
const { detectOpenblasCore } = await import('../src/engine/blas_core.js');
const core = process.env.OPENBLAS_CORETYPE ?? detectOpenblasCore();
if (core) base.OPENBLAS_CORETYPE = core;

interface Config {
  name: string;
  side: 'addon' | 'python';
  threads: number;
  env: NodeJS.ProcessEnv;
}
const configs: Config[] = [];
for (const threads of [1, 2]) {
  configs.push({ name: `addon, its environment`, side: 'addon', threads, env: { ...base, ...addonEnv } });
  // The engine only fills in what the user left unset, so an explicit default reaches libgomp/OpenBLAS.
  configs.push({
    name: 'addon, library defaults',
    side: 'addon',
    threads,
    env: { ...base, OMP_WAIT_POLICY: 'ACTIVE', OPENBLAS_THREAD_TIMEOUT: '28' },
  });
  // glibc hands blocks above its mmap threshold (128 KiB until a freed mapping raises it) straight
  // from mmap, so each product's 4 MiB output is mapped, faulted in and unmapped again.
  configs.push({
    name: "addon, its environment, glibc's mmap threshold at 32 MiB",
    side: 'addon',
    threads,
    env: { ...base, ...addonEnv, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=33554432' },
  });
  configs.push({ name: 'Python, library defaults', side: 'python', threads, env: { ...base } });
  configs.push({ name: "Python, the addon's environment", side: 'python', threads, env: { ...base, ...addonEnv } });
}

function run(c: Config): number {
  const env = { ...c.env, PARITY_THREADS: String(c.threads) };
  const out =
    c.side === 'addon'
      ? execFileSync(process.execPath, ['--input-type=module', '-e', NODE_CHILD], { env, encoding: 'utf8' })
      : execFileSync(PYTHON, ['-c', PY_CHILD], { env, encoding: 'utf8' });
  return Number(out);
}

const results = configs.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  configs.forEach((c, i) => results[i]!.push(run(c)));
  console.log(`round ${r + 1}/${ROUNDS}: ${results.map((x) => x.at(-1)!.toFixed(0)).join(' ')}`);
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rows = configs.map(
  (c, i) =>
    `| ${c.threads} | ${c.name} | ${median(results[i]!).toFixed(1)} | ${Math.max(...results[i]!).toFixed(1)} | ${Math.min(...results[i]!).toFixed(1)} |`,
);
const body = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; OPENBLAS_CORETYPE=${core ?? '(unset)'} on both sides. Command: \`node dist/bench/matmul_parity.js ${args.join(' ')}\`.`,
  '',
  `A ${SIZE}^3 float32 matmul, GFLOP/s (each process: best of 5 rounds of 5 products after 3 warm-up products); ${ROUNDS} processes per configuration, the configurations alternating. "Library defaults" for the addon sets OPENBLAS_THREAD_TIMEOUT=28 (OpenBLAS's default) and OMP_WAIT_POLICY=ACTIVE (libgomp's default spins a while before it sleeps; a matmul runs on OpenBLAS's threads, not OpenMP's).`,
  '',
  '| threads | side and environment | median | best | worst |',
  '|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log(`\n${body}\n`);
if (WRITE) console.log(`wrote ${writeSection('matmul-parity', 'The same matmul through the addon and from Python', body)}`);
