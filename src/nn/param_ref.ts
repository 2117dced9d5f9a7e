import type { Tensor } from '../engine/tensor.js';

/**
 * A parameter, or a slice of one, that belongs to one modality: a fusion head's weight is shared,
 * and modality m owns only its block of columns. A slice is a reference (dim, start, length), not
 * a copy, so acting on its gradient acts on the shared parameter's.
 */
export interface ParamRef {
  param: Tensor;
  slice?: { dim: number; start: number; length: number };
}

/** The gradient of the referenced parameter or slice (a view of the live gradient), or null. */
export function refGrad(r: ParamRef): Tensor | null {
  const g = r.param.grad;
  if (g === null || r.slice === undefined) return g;
  return g.narrow(r.slice.dim, r.slice.start, r.slice.length);
}

/** Whole parameters as references. */
export function wholeRefs(params: readonly Tensor[]): ParamRef[] {
  return params.map((param) => ({ param }));
}
