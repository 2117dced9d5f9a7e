import type { Device } from './device.js';
import { checkInt, invalid } from './errors.js';
import { native } from './native.js';
import { scope } from './scope.js';
import { type Tensor, fromTypedArray } from './tensor.js';

/** A collective failed: a peer died, hung past the timeout, or could not be reached. */
export class DistributedError extends Error {
  override name = 'DistributedError';
}

export type DistBackend = 'gloo' | 'nccl';

/** Where the ranks meet: a TCP store served by rank 0, or a file on a filesystem every rank sees. */
export type Rendezvous = { kind: 'tcp'; host: string; port: number } | { kind: 'file'; path: string };

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  rendezvous: Rendezvous;
  /** 'gloo' (CPU tensors, the default) or 'nccl' (CUDA tensors; a CUDA libtorch built with NCCL). */
  backend?: DistBackend;
  /** How long a collective or the rendezvous waits for the other ranks (ms). Default 300 000. */
  timeoutMs?: number;
  /** The address Gloo's connections bind to (default: this host's name, else loopback). */
  iface?: string;
  /** Where sumNumbers puts its values: NCCL reduces CUDA tensors only. Default 'cpu' (gloo), 'cuda' (nccl). */
  device?: Device;
}

/** The c10d backends this build of the addon has (none when libtorch or Gloo lacked c10d at build time). */
export function distBackends(): DistBackend[] {
  return native.distBackends() as DistBackend[];
}

function wrap<T>(what: string, f: () => T, timed?: ProcessGroup): T {
  const t0 = performance.now();
  try {
    return f();
  } catch (e) {
    if (e instanceof DistributedError) throw e;
    throw new DistributedError(`${what}: ${(e as Error).message}`);
  } finally {
    if (timed) {
      timed.commSeconds += (performance.now() - t0) / 1000;
      timed.collectives++;
    }
  }
}

/**
 * A c10d process group (PyTorch's own: TCPStore rendezvous, ProcessGroupGloo or ProcessGroupNCCL).
 * Collectives are synchronous and in place. Every rank must call the same collectives in the
 * same order; a rank that dies or stalls makes the others throw a DistributedError within the
 * timeout instead of waiting forever.
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: DistBackend;
  readonly timeoutMs: number;
  readonly device: Device;
  /** Seconds spent in collectives since the group was made (waiting for the others included). */
  commSeconds = 0;
  /** Collectives since the group was made. */
  collectives = 0;
  private id: number | null;

  constructor(o: ProcessGroupOptions) {
    this.worldSize = checkInt('worldSize', o.worldSize, 1);
    this.rank = checkInt('rank', o.rank, 0, this.worldSize - 1);
    this.backend = o.backend ?? 'gloo';
    if (this.backend !== 'gloo' && this.backend !== 'nccl') throw invalid('backend', "'gloo' or 'nccl'", this.backend);
    this.timeoutMs = checkInt('timeoutMs', o.timeoutMs ?? 300_000, 1);
    this.device = o.device ?? (this.backend === 'nccl' ? 'cuda' : 'cpu');
    const have = distBackends();
    if (!have.includes(this.backend))
      throw new DistributedError(
        have.length === 0
          ? 'this build of mmbalance has no c10d (libtorch without Gloo, or libgloo-dev missing when the addon was built); ' +
              'install libgloo-dev (Debian/Ubuntu) and rebuild: npm run build:native'
          : `this build has no ${this.backend} backend (it has ${have.join(', ')})` +
              (this.backend === 'nccl' ? '; NCCL needs a CUDA libtorch and NCCL found when the addon is built' : ''),
      );
    const r = o.rendezvous;
    if (r.kind === 'tcp') checkInt('port', r.port, 1, 65535);
    this.id = wrap(
      `could not form the process group (rank ${this.rank} of ${this.worldSize}, ${r.kind === 'tcp' ? `${r.host}:${r.port}` : r.path})`,
      () =>
        native.distInit(
          this.backend,
          this.rank,
          this.worldSize,
          r.kind,
          r.kind === 'tcp' ? r.host : r.path,
          r.kind === 'tcp' ? r.port : 0,
          this.timeoutMs,
          o.iface ?? '',
        ) as number,
    );
  }

  private get handle(): number {
    if (this.id === null) throw new DistributedError('the process group was destroyed');
    return this.id;
  }

  /** Sums (or averages) the tensors across ranks, in place: one collective over their concatenation. */
  allReduce(tensors: readonly Tensor[], op: 'sum' | 'avg' = 'sum'): void {
    if (op !== 'sum' && op !== 'avg') throw invalid('op', "'sum' or 'avg'", op);
    wrap(
      'all-reduce',
      () =>
        native.distAllreduce(
          this.handle,
          tensors.map((t) => t.h),
          op === 'avg',
        ),
      this,
    );
  }

  /** Sums plain numbers across ranks (in float64): a strategy's batch statistics, counts. */
  sumNumbers(values: readonly number[]): number[] {
    if (values.length === 0) return [];
    return scope(() => {
      const host = fromTypedArray(Float64Array.from(values));
      const t = this.device === 'cpu' ? host : host.to({ device: this.device });
      this.allReduce([t]);
      return Array.from(t.toArray());
    });
  }

  /** Every rank's tensors become the root's, in place. */
  broadcast(tensors: readonly Tensor[], root = 0): void {
    checkInt('root', root, 0, this.worldSize - 1);
    wrap(
      'broadcast',
      () =>
        native.distBroadcast(
          this.handle,
          tensors.map((t) => t.h),
          root,
        ),
      this,
    );
  }

  barrier(): void {
    wrap('barrier', () => native.distBarrier(this.handle), this);
  }

  /** Closes the group's connections; harmless twice. */
  destroy(): void {
    if (this.id !== null) native.distDestroy(this.id);
    this.id = null;
  }
}
