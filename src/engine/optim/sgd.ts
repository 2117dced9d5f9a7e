import { checkNumber, invalid } from '../errors.js';
import { native } from '../native.js';
import { type Handle, Tensor } from '../tensor.js';
import { Optimizer, disposeHandles, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD). */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArg<SGDOptions>, o: Partial<SGDOptions> & { lr: number }) {
    const d: SGDOptions = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...o };
    checkNumber('lr', d.lr, 0);
    checkNumber('momentum', d.momentum, 0);
    checkNumber('weightDecay', d.weightDecay, 0);
    if (d.nesterov && (d.momentum <= 0 || d.dampening !== 0))
      throw invalid('nesterov', 'momentum > 0 and dampening 0', `momentum ${d.momentum}, dampening ${d.dampening}`);
    super(params, d);
  }

  protected update(g: ParamGroup<SGDOptions>, params: Tensor[], grads: Handle[]): void {
    params.forEach((p, i) => {
      const temps: Handle[] = [];
      let dp = grads[i]!;
      if (g.weightDecay !== 0) temps.push((dp = native.add(dp, p.h, g.weightDecay)));
      if (g.momentum !== 0) {
        let s = this.state.get(p);
        if (s === undefined) {
          s = { step: 0, buffers: { momentum_buffer: new Tensor(native.clone(dp)) } };
          s.buffers.momentum_buffer!.kept = true;
          this.state.set(p, s);
        } else {
          const buf = s.buffers.momentum_buffer!.h;
          native.mulS_(buf, g.momentum);
          native.add_(buf, dp, 1 - g.dampening);
        }
        s.step += 1;
        const buf = s.buffers.momentum_buffer!.h;
        if (g.nesterov) temps.push((dp = native.add(dp, buf, g.momentum)));
        else dp = buf;
      }
      native.add_(p.h, dp, -g.lr);
      disposeHandles(temps);
    });
  }
}
