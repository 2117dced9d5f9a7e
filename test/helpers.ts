import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromTypedArray, getNumThreads, setNumThreads, type Tensor } from '../src/index.js';

/** The package root (tests run from dist/test, fixtures live in test/fixtures). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export function fixturePath(...parts: string[]): string {
  return join(packageRoot(), 'test', 'fixtures', ...parts);
}

export function readJsonFixture<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8')) as T;
}

/** Runs bin/mmbalance.js with these arguments on one thread; its exit status and output. */
export function runCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'mmbalance.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, MMBALANCE_NUM_THREADS: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An array as the fixture generators write it. */
export interface FixtureArray {
  shape: number[];
  values: (number | boolean)[];
}

/** A fixture array as a tensor: bool when it holds booleans, else of the given float dtype. */
export function fixtureTensor(j: FixtureArray, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  if (typeof j.values[0] === 'boolean')
    return fromTypedArray(
      Uint8Array.from(j.values, (v) => (v ? 1 : 0)),
      j.shape,
      { dtype: 'bool' },
    );
  const values = j.values as number[];
  return fromTypedArray(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), j.shape);
}

/** Flattens nested number arrays. */
export function flat(v: unknown): number[] {
  if (Array.isArray(v)) return v.flatMap(flat);
  return [Number(v)];
}

/** Asserts |a - e| <= atol + rtol * |e| element-wise, naming the first offending index. */
export function assertClose(
  actual: Tensor | ArrayLike<number> | number[],
  expected: unknown,
  atol = 1e-5,
  rtol = 1e-5,
  what = 'value',
): void {
  const a = 'toArray' in (actual as object) ? (actual as Tensor).toArray() : Array.from(actual as ArrayLike<number>);
  const e = flat(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} elements, expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i]! - e[i]!);
    if (!(diff <= atol + rtol * Math.abs(e[i]!)) && !(Number.isNaN(a[i]!) && Number.isNaN(e[i]!)) && a[i] !== e[i]) {
      assert.fail(`${what}[${i}]: got ${a[i]}, expected ${e[i]} (|diff| ${diff})`);
    }
  }
}

/** Runs fn with libtorch's thread count set to n, then puts the count back. */
export function withThreads<T>(n: number, fn: () => T): T {
  const before = getNumThreads();
  setNumThreads(n);
  try {
    return fn();
  } finally {
    setNumThreads(before);
  }
}
