import { checkNumber, invalid } from '../errors.js';
import type { GradEdits } from '../grad_edits.js';
import { native } from '../native.js';
import { type Handle, type Tensor } from '../tensor.js';
import { Optimizer, disposeHandles, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  /**
   * One native pass per parameter (read param, grad and both moments; write them back) instead of
   * ~25 multi-tensor passes. Used where every parameter is a float32/float64 CPU tensor; the
   * multi-tensor form runs otherwise, or everywhere with `fused: false`. Same arithmetic either way.
   */
  fused: boolean;
}

function checkAdam(o: AdamOptions): AdamOptions {
  checkNumber('lr', o.lr, 0);
  checkNumber('eps', o.eps, 0);
  checkNumber('weightDecay', o.weightDecay, 0);
  if (typeof o.fused !== 'boolean') throw invalid('fused', 'a boolean', o.fused);
  if (!Array.isArray(o.betas) || o.betas.length !== 2 || !o.betas.every((b) => b >= 0 && b < 1))
    throw invalid('betas', 'two numbers in [0, 1)', o.betas);
  return o;
}

/**
 * Adam (torch.optim.Adam); with `decoupled` the weight decay is AdamW's. Updates every parameter of
 * a group in a few multi-tensor native calls.
 */
export class Adam extends Optimizer<AdamOptions> {
  protected decoupled = false;

  constructor(params: ParamsArg<AdamOptions>, o: Partial<AdamOptions> = {}) {
    super(params, checkAdam({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, fused: true, ...o }));
  }

  private fusedFor(g: ParamGroup<AdamOptions>, params: Tensor[]): boolean {
    return g.fused && params.every((p) => p.device === 'cpu' && (p.dtype === 'float32' || p.dtype === 'float64'));
  }

  protected override foldsEdits(g: ParamGroup<AdamOptions>, params: Tensor[]): boolean {
    return this.fusedFor(g, params);
  }

  protected update(g: ParamGroup<AdamOptions>, params: Tensor[], gradsIn: Handle[], edits: GradEdits | null): void {
    const [beta1, beta2] = g.betas;
    const names = g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
    const states = params.map((p) => this.stateOf(p, names));
    const ps = params.map((p) => p.h);
    const m = states.map((s) => s.buffers.exp_avg!.h);
    const v = states.map((s) => s.buffers.exp_avg_sq!.h);
    for (const s of states) s.step += 1;
    if (this.fusedFor(g, params)) {
      const vmax = g.amsgrad ? states.map((s) => s.buffers.max_exp_avg_sq!.h) : [];
      native.adamStep_(
        ps,
        gradsIn,
        m,
        v,
        vmax,
        states.map((s) => s.step),
        g.lr,
        beta1,
        beta2,
        g.eps,
        g.weightDecay,
        this.decoupled,
        ...(edits ? edits.argsFor(params) : []),
      );
      return;
    }
    let grads = gradsIn;
    if (g.weightDecay !== 0) {
      if (this.decoupled) {
        native.foreachMulScalar_(ps, 1 - g.lr * g.weightDecay);
      } else {
        grads = native.foreachClone(grads) as Handle[];
        native.foreachAddList_(grads, ps, g.weightDecay);
      }
    }
    native.foreachMulScalar_(m, beta1);
    native.foreachAddList_(m, grads, 1 - beta1);
    native.foreachMulScalar_(v, beta2);
    native.foreachAddcmul_(v, grads, grads, 1 - beta2);
    let second = v;
    if (g.amsgrad) {
      second = states.map((s) => s.buffers.max_exp_avg_sq!.h);
      native.foreachMaximum_(second, v);
    }
    const stepSizes = states.map((s) => -g.lr / (1 - beta1 ** s.step));
    const bc2Sqrt = states.map((s) => Math.sqrt(1 - beta2 ** s.step));
    const denom = native.foreachSqrt(second) as Handle[];
    native.foreachDivScalars_(denom, bc2Sqrt);
    native.foreachAddScalar_(denom, g.eps);
    native.foreachAddcdivScalars_(ps, m, denom, stepSizes);
    disposeHandles(denom);
    if (grads !== gradsIn) disposeHandles(grads);
  }
}

/** AdamW: Adam with decoupled weight decay (torch.optim.AdamW; default weightDecay 0.01). */
export class AdamW extends Adam {
  constructor(params: ParamsArg<AdamOptions>, o: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 0.01, ...o });
    this.decoupled = true;
  }
}
