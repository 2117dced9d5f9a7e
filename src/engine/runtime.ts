import { availableParallelism, cpus } from 'node:os';
import { checkInt } from './errors.js';
import { native } from './native.js';

/** Seeds libtorch's generators (CPU and CUDA), so runs repeat exactly on one machine. */
export function manualSeed(seed: number): void {
  native.manualSeed(checkInt('seed', seed, 0, Number.MAX_SAFE_INTEGER));
}

export function setNumThreads(n: number): void {
  native.setNumThreads(checkInt('threads', n, 1, 1024));
}

export function getNumThreads(): number {
  return native.getNumThreads() as number;
}

/** The libtorch version linked at build time, e.g. "1.13.0". */
export function libtorchVersion(): string {
  return native.version() as string;
}

export function parallelInfo(): string {
  return native.parallelInfo() as string;
}

export function defaultThreads(): number {
  const env = process.env.MMBALANCE_NUM_THREADS;
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
}

// Debian's libtorch starts with one thread; use every core unless told otherwise.
setNumThreads(defaultThreads());

/**
 * The instruction set of the addon's own loops (dropout masks, gradient noise, moments, Adam):
 * 'avx512', 'avx2' or 'baseline', the best this CPU has unless MMBALANCE_SIMD asked for a lower one.
 */
export function simdLevel(): 'avx512' | 'avx2' | 'baseline' {
  return native.simdLevel() as 'avx512' | 'avx2' | 'baseline';
}
