import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectOpenblasCore } from './blas_core.js';
import { TorchError } from './errors.js';
import type { NativeName } from './native_names.js';

/**
 * The flat libtorch entry points (native/*.cc). Arguments are validated in TypeScript before
 * they get here; every entry point turns C++ exceptions into a TorchError.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeFn = (...args: any[]) => any;
export type NativeAddon = Record<NativeName, NativeFn>;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'mmbalance') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('mmbalance: cannot find the package root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function load(): NativeAddon {
  // OpenMP worker threads spin while idle by default; on a few cores they then steal time from
  // Node's own threads (the JS thread issuing the ops, the GC). Measured here on 2 cores, passive
  // waiting made a training epoch 1.7x faster. libgomp reads this when the addon loads it, so it
  // must be set first; a value the user set wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  // OpenBLAS (Debian's libtorch uses its pthreads build) has a thread pool of its own that
  // yields in a loop between calls; 2^10 cycles before sleeping instead of 2^28 cut system time
  // in half and an epoch by about a tenth here.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '10';
  // OpenBLAS reads its kernel choice when it loads; see blas_core.ts for why it is set here.
  if (process.env.OPENBLAS_CORETYPE === undefined) {
    const core = detectOpenblasCore();
    if (core !== null) process.env.OPENBLAS_CORETYPE = core;
  }
  // The addon picks its loops' instruction set once, at load (native/kernels.cc); a misspelt
  // request would silently give the slowest copy, so it is refused here.
  const simd = process.env.MMBALANCE_SIMD;
  if (simd !== undefined && simd !== '' && !['avx512', 'avx2', 'baseline'].includes(simd))
    throw new Error(
      `MMBALANCE_SIMD must be avx512, avx2 or baseline (got '${simd}'); unset it to use the best instruction set this CPU has`,
    );
  const root = packageRoot();
  const file = join(root, 'build', 'Release', 'mmbalance.node');
  const require = createRequire(import.meta.url);
  try {
    return require(file) as NativeAddon;
  } catch (err) {
    const why = (err as Error).message;
    const lines = [
      `mmbalance: the native addon could not be loaded (${why.split('\n')[0]}).`,
      'Possible solutions:',
      existsSync(file)
        ? '- libtorch moved or changed since the build: rebuild with npm run build:native (LIBTORCH=/path/to/libtorch for a non-system libtorch)'
        : '- build it: npm install (or npm run build:native)',
      '- Debian/Ubuntu: sudo apt-get install libtorch-dev',
      '- a libtorch distribution or a Python torch folder: LIBTORCH=/path/to/libtorch npm run build:native',
    ];
    throw new Error(lines.join('\n'));
  }
}

export const native: NativeAddon = load();
native.setErrorClass(TorchError);

/** Releases raw native handles that were never wrapped in a Tensor (they never reach a scope). */
export function disposeHandles(hs: Iterable<object>): void {
  for (const h of hs) native.dispose(h);
}
