/**
 * OpenBLAS's kernels as the engine picks them (src/engine/blas_core.ts) against its own choice:
 * float32 matmul GFLOP/s at two sizes, each setting in its own process (OpenBLAS reads
 * OPENBLAS_CORETYPE when it loads), alternating, on one thread.
 * Run: node dist/bench/blas_core.js [--rounds 2] [--cores Prescott,auto]
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};

if (process.env.MMBALANCE_BLAS_CHILD) {
  const { randn, setNumThreads } = await import('../src/index.js');
  setNumThreads(1);
  const rates: number[] = [];
  for (const n of [300, 1024]) {
    const a = randn([n, n]);
    const b = randn([n, n]);
    for (let i = 0; i < 3; i++) a.matmul(b).dispose();
    const reps = n === 1024 ? 10 : 100;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) a.matmul(b).dispose();
    rates.push((2 * n ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9);
  }
  console.log(JSON.stringify({ core: process.env.OPENBLAS_CORETYPE ?? '', rates }));
} else {
  const rounds = Number(opt('rounds', '2'));
  const cores = opt('cores', 'Prescott,auto').split(',');
  const rows: string[] = [];
  for (let r = 0; r < rounds; r++)
    for (const c of cores) {
      const env: NodeJS.ProcessEnv = { ...process.env, MMBALANCE_BLAS_CHILD: '1' };
      delete env.OPENBLAS_CORETYPE;
      if (c !== 'auto') env.OPENBLAS_CORETYPE = c;
      const out = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env, encoding: 'utf8' })) as {
        core: string;
        rates: number[];
      };
      rows.push(`| ${r + 1} | ${c === 'auto' ? `auto (${out.core})` : c} | ${out.rates[0]!.toFixed(1)} | ${out.rates[1]!.toFixed(1)} |`);
    }
  console.log(
    [
      `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, 1 thread. Command: \`node dist/bench/blas_core.js --rounds ${rounds}\``,
      '',
      '| round | OpenBLAS kernels | 300^3 GFLOP/s | 1024^3 GFLOP/s |',
      '|---|---|---|---|',
      ...rows,
    ].join('\n'),
  );
}
