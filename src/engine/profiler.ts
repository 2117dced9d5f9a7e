import { native } from './native.js';

/** One operator's time over a profiled call (libtorch's own profiler; the calling thread's work). */
export interface OpTime {
  /** The ATen operator, autograd node ("AddmmBackward0") or addon kernel ("mmb::scale_noise"). */
  name: string;
  calls: number;
  /** Wall time inside the operator, nested operators included. */
  totalMs: number;
  /** totalMs less the operators nested in it. */
  selfMs: number;
}

let active = false;

/**
 * Runs fn under libtorch's operator profiler and returns its result with every operator's time,
 * largest self time first. Only for measuring: profiling adds a few microseconds per operator.
 * With `shapes`, an operator's entries are split by its inputs' shapes, named
 * "aten::mm [473, 1024] [1024, 3072]".
 */
export function profileOps<T>(fn: () => T, o: { shapes?: boolean } = {}): { result: T; ops: OpTime[] } {
  if (active) throw new Error('profileOps: a profile is already running; profiles do not nest');
  native.profilerStart(o.shapes ?? false);
  active = true;
  let stopped = false;
  try {
    const result = fn();
    stopped = true;
    const ops = native.profilerStop() as OpTime[];
    return { result, ops: ops.sort((a, b) => b.selfMs - a.selfMs) };
  } finally {
    if (!stopped) native.profilerStop();
    active = false;
  }
}
