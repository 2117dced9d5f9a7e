import { existsSync, mkdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dirname, resolve } from 'node:path';

/**
 * mkdir -p without Node's `recursive: true`, which loops forever on paths under /proc (it retries
 * ENOENT there): each missing directory is made in turn, so a bad path fails at once with the
 * system's error.
 */
export function makeDirs(path: string): string[] {
  const missing: string[] = [];
  let p = resolve(path);
  while (!existsSync(p)) {
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  if (existsSync(p) && !statSync(p).isDirectory()) throw Object.assign(new Error(`${p} is not a directory`), { code: 'ENOTDIR' });
  const made: string[] = [];
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
      made.push(dir);
    } catch (e) {
      // Another process made it between the check and here (two runs started together): fine,
      // as long as it is a directory; it is not ours to remove.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw e;
    }
  }
  return made;
}

/**
 * Throws the system's error unless files can be written in `dir`, leaving nothing behind: the
 * directories it had to make for the test are removed again, unless `keep`.
 */
export function probeWritable(dir: string, keep = false): void {
  let made: string[] = [];
  try {
    made = makeDirs(dir);
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } finally {
    for (const d of keep ? [] : made.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // Not empty any more: someone else uses it now.
      }
    }
  }
}
