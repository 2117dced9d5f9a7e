import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../src/index.js';

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
