import { readFileSync } from 'node:fs';

/**
 * The OpenBLAS kernel family to ask for on this CPU, or null to leave OpenBLAS's own choice.
 *
 * OpenBLAS (Debian's libtorch reaches it through libblas.so.3) picks its kernels from the CPU's
 * model number. Virtual machines often report a generic model ("Intel(R) Xeon(R) Processor"),
 * and OpenBLAS 0.3.21 then falls back to its SSE3 kernels ("Prescott"): measured on such a
 * machine with AVX-512, a conversation epoch took 4x longer than with the AVX-512 kernels. The
 * instruction-set flags are what the kernels need, so they decide here: AVX-512 (F, BW, VL, DQ)
 * gets the SkylakeX kernels, AVX2 with FMA the Haswell ones (which OpenBLAS also uses for AMD Zen).
 * A value the user set in OPENBLAS_CORETYPE always wins.
 */
export function openblasCoreFor(cpuinfo: string): string | null {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  if (!line) return null;
  const flags = new Set(
    line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/),
  );
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.has(f))) return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return null;
}

/** openblasCoreFor on this machine's /proc/cpuinfo (x86-64 Linux only). */
export function detectOpenblasCore(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  try {
    return openblasCoreFor(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return null;
  }
}
