import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { detectOpenblasCore, openblasCoreFor } from '../../src/engine/blas_core.js';
import { packageRoot } from '../helpers.js';

const cpu = (flags: string): string =>
  `processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: ${flags}\n\n`;

test('the OpenBLAS kernels follow the instruction sets, not the model name', () => {
  assert.equal(openblasCoreFor(cpu('fpu sse3 avx avx2 fma avx512f avx512dq avx512bw avx512vl amx_tile')), 'SkylakeX');
  // AVX-512 without BW/VL (Knights Landing) cannot run the SkylakeX kernels.
  assert.equal(openblasCoreFor(cpu('fpu sse3 avx avx2 fma avx512f avx512cd')), 'Haswell');
  assert.equal(openblasCoreFor(cpu('fpu sse3 avx avx2 fma')), 'Haswell');
  assert.equal(openblasCoreFor(cpu('fpu sse3 avx')), null);
  assert.equal(openblasCoreFor('no flags here'), null);
});

test('loading the engine fills OPENBLAS_CORETYPE from the CPU, and keeps a value the user set', () => {
  const native = pathToFileURL(join(packageRoot(), 'dist', 'src', 'engine', 'native.js')).href;
  const probe = (env: Record<string, string | undefined>): string =>
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(native)}); console.log(process.env.OPENBLAS_CORETYPE ?? '-')`],
      {
        encoding: 'utf8',
        env,
      },
    ).trim();
  const rest = { ...process.env };
  delete rest.OPENBLAS_CORETYPE;
  assert.equal(probe({ ...rest, OPENBLAS_CORETYPE: 'Haswell' }), 'Haswell');
  assert.equal(probe(rest), detectOpenblasCore() ?? '-');
});
