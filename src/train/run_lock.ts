import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Two processes in one run directory at once is an error, not a race. */
export class RunLockedError extends Error {
  override name = 'RunLockedError';
}

const LOCK = '.mmbalance.lock';
const held = new Set<string>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Owner = { pid?: number; host?: string; started?: string };

/**
 * The lock's owner. An empty or half-written lock is either being written this moment by a
 * process that just created it (two runs started together) or was left by one that died between
 * open and write: it is read again for a moment before being called stale.
 */
function readOwner(path: string): Owner {
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Owner;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      if (Date.now() > deadline) return {};
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/**
 * Takes the directory's lock (a file holding the owner's pid and host), or throws naming the
 * process that holds it. A lock left by a process that no longer runs (killed with -9) is taken
 * over. Returns the function that releases it; it is also released when the process exits.
 */
export function acquireRunLock(dir: string): () => void {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readOwner(path);
      const sameHost = owner.host === undefined || owner.host === hostname();
      if (owner.pid !== undefined && (!sameHost || alive(owner.pid)))
        throw new RunLockedError(
          `${dir} is in use by another mmbalance process (pid ${owner.pid} on ${owner.host ?? 'this machine'}, since ${owner.started ?? '?'}); ` +
            `wait for it to finish, or use another --out. If no such process runs, remove ${path}.`,
        );
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));
    closeSync(fd);
    held.add(path);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const p of held) rmSync(p, { force: true });
      });
    }
    return () => {
      if (held.delete(path)) rmSync(path, { force: true });
    };
  }
  throw new RunLockedError(`could not take the lock ${path}; remove it if no mmbalance process uses ${dir}`);
}
