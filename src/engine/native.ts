import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
