import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Device } from '../engine/device.js';
import { DistributedError, ProcessGroup, distBackends } from '../engine/dist.js';
import { native } from '../engine/native.js';
import { hasCheckpoint } from './checkpoint.js';

/**
 * Data-parallel training on c10d, launched like torchrun's standalone mode: `--nproc N` starts N
 * worker processes of the same command on this machine (and `--nnodes/--node-rank/--master-addr/
 * --master-port` spans machines). The launcher does no training; it starts the workers, passes
 * them their rank through the environment, and stops them all when one fails.
 */

/** What a worker reads from its environment (set by the launcher, or by hand on each machine). */
export interface WorkerEnv {
  rank: number;
  /** Rank among this machine's workers: which GPU a 'cuda' run takes. */
  localRank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  timeoutMs: number;
}

const ENV = {
  rank: 'MMBALANCE_DIST_RANK',
  localRank: 'MMBALANCE_DIST_LOCAL_RANK',
  world: 'MMBALANCE_DIST_WORLD_SIZE',
  addr: 'MMBALANCE_DIST_MASTER_ADDR',
  port: 'MMBALANCE_DIST_MASTER_PORT',
  timeout: 'MMBALANCE_DIST_TIMEOUT',
} as const;

/** This process's place in a data-parallel run, or null when it is not a worker. */
export function workerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv | null {
  if (env[ENV.rank] === undefined) return null;
  const num = (k: string, min: number): number => {
    const v = Number(env[k]);
    if (!Number.isInteger(v) || v < min) throw new DistributedError(`${k} must be an integer >= ${min}, got '${env[k] ?? ''}'`);
    return v;
  };
  const worldSize = num(ENV.world, 1);
  const rank = num(ENV.rank, 0);
  if (rank >= worldSize) throw new DistributedError(`${ENV.rank} (${rank}) must be below ${ENV.world} (${worldSize})`);
  return {
    rank,
    localRank: env[ENV.localRank] === undefined ? rank : num(ENV.localRank, 0),
    worldSize,
    masterAddr: env[ENV.addr] ?? '127.0.0.1',
    masterPort: num(ENV.port, 1),
    timeoutMs: Math.round(Number(env[ENV.timeout] ?? 300) * 1000),
  };
}

/** A worker's device: 'cuda' becomes this worker's own GPU, cuda:<local rank>. */
export function workerDevice(device: Device, w: WorkerEnv | null): Device {
  return w !== null && w.worldSize > 1 && device === 'cuda' ? `cuda:${w.localRank}` : device;
}

/**
 * Joins the run's process group through a TCP store served by rank 0: Gloo for a CPU run, NCCL
 * for a CUDA run (each worker on its own GPU).
 */
export function joinProcessGroup(w: WorkerEnv, device: Device = 'cpu'): ProcessGroup {
  // A worker must not outlive the launcher that started it, even one killed with -9.
  native.distDieWithParent();
  const local = w.masterAddr === '127.0.0.1' || w.masterAddr === 'localhost';
  return new ProcessGroup({
    rank: w.rank,
    worldSize: w.worldSize,
    rendezvous: { kind: 'tcp', host: w.masterAddr, port: w.masterPort },
    timeoutMs: w.timeoutMs,
    backend: device === 'cpu' ? 'gloo' : 'nccl',
    device,
    // On one machine the workers talk over loopback; across machines Gloo binds to the address
    // this host's name resolves to.
    ...(local ? { iface: '127.0.0.1' } : {}),
  });
}

export interface LaunchOptions {
  /** Workers on this machine. */
  nproc: number;
  nnodes: number;
  nodeRank: number;
  /** Rank 0's machine (its TCP store); 127.0.0.1 on one machine. */
  masterAddr: string;
  /** The store's port; on one machine a free one is picked when absent. */
  masterPort?: number;
  /** Seconds a collective (or the rendezvous) waits for the others before failing. */
  timeoutSeconds: number;
  /** The command line each worker runs (the launcher's own, without the launch options). */
  argv: string[];
  /** The run directory (for the message after a failure). */
  out: string;
  /** The script each worker runs (bin/mmbalance.js). */
  script: string;
  log: (line: string) => void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the workers and waits for them. When one exits with an error (or is killed), the others
 * are stopped (SIGTERM, then SIGKILL after 5 s) and the launcher fails naming the worker; the run
 * directory keeps the last finished epoch, which `--resume` continues with any number of workers.
 */
export async function launchWorkers(o: LaunchOptions): Promise<number> {
  if (!distBackends().includes('gloo'))
    throw new DistributedError(
      'this build of mmbalance has no c10d: install libgloo-dev (Debian/Ubuntu) and rebuild the addon (npm run build:native)',
    );
  const worldSize = o.nproc * o.nnodes;
  const port = o.masterPort ?? (o.nnodes === 1 ? await freePort() : 29500);
  const threads = process.env.MMBALANCE_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / o.nproc)));
  const children: { rank: number; proc: ChildProcess; stderr: string }[] = [];
  o.log(
    `mmbalance: ${o.nproc} worker${o.nproc > 1 ? 's' : ''} on this machine` +
      (o.nnodes > 1 ? ` (node ${o.nodeRank} of ${o.nnodes}, ${worldSize} in all, store ${o.masterAddr}:${port})` : '') +
      `, ${threads} thread${threads === '1' ? '' : 's'} each`,
  );
  let failure: { rank: number; pid: number; how: string; stderr: string } | null = null;
  const stopAll = (): void => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
    const t = setTimeout(() => {
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    }, 5000);
    t.unref();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    failure ??= { rank: -1, pid: process.pid, how: `the launcher got ${sig}`, stderr: '' };
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const exits: Promise<void>[] = [];
  for (let local = 0; local < o.nproc; local++) {
    const rank = o.nodeRank * o.nproc + local;
    const proc = spawn(process.execPath, [o.script, ...o.argv], {
      env: {
        ...process.env,
        [ENV.rank]: String(rank),
        [ENV.localRank]: String(local),
        [ENV.world]: String(worldSize),
        [ENV.addr]: o.masterAddr,
        [ENV.port]: String(port),
        [ENV.timeout]: String(o.timeoutSeconds),
        MMBALANCE_NUM_THREADS: threads,
      },
      // Rank 0 speaks to the user; the others are quiet and their errors are shown prefixed.
      stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'pipe'],
    });
    const child = { rank, proc, stderr: '' };
    children.push(child);
    proc.stderr?.on('data', (d: Buffer) => {
      const text = String(d);
      child.stderr += text;
      for (const line of text.split('\n')) if (line.trim()) process.stderr.write(`[worker ${rank}] ${line}\n`);
    });
    exits.push(
      new Promise((resolve) => {
        proc.once('error', (e) => {
          failure ??= { rank, pid: proc.pid ?? -1, how: `could not start (${e.message})`, stderr: '' };
          stopAll();
          resolve();
        });
        proc.once('exit', (code, signal) => {
          if (code !== 0 && failure === null) {
            failure = {
              rank,
              pid: proc.pid ?? -1,
              how: signal ? `was killed by ${signal}` : `exited with code ${code}`,
              stderr: child.stderr,
            };
            stopAll();
          }
          resolve();
        });
      }),
    );
    o.log(`mmbalance: worker ${rank} pid ${proc.pid}`);
  }
  await Promise.all(exits);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (failure === null) return 0;
  const f = failure as { rank: number; pid: number; how: string };
  const who = f.rank < 0 ? f.how : `worker ${f.rank} (pid ${f.pid}) ${f.how}`;
  o.log(
    `mmbalance: ${who}; ${f.rank < 0 ? 'the workers were' : 'the other workers were'} stopped.` +
      (hasCheckpoint(o.out)
        ? ` ${o.out} keeps the last finished epoch: 'mmbalance train --out ${o.out} --resume' continues it (with any --nproc).`
        : ''),
  );
  const code = children.find((c) => c.rank === f.rank)?.proc.exitCode;
  return typeof code === 'number' && code !== 0 ? code : 1;
}
