import { checkNumber } from '../errors.js';
import { native } from '../native.js';
import { type Handle, type Tensor } from '../tensor.js';
import { Optimizer, disposeHandles, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/** RMSprop (torch.optim.RMSprop), with optional momentum and centring. */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsArg<RMSpropOptions>, o: Partial<RMSpropOptions> = {}) {
    const d: RMSpropOptions = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...o };
    checkNumber('lr', d.lr, 0);
    checkNumber('alpha', d.alpha, 0);
    checkNumber('eps', d.eps, 0);
    checkNumber('momentum', d.momentum, 0);
    super(params, d);
  }

  protected update(g: ParamGroup<RMSpropOptions>, params: Tensor[], grads: Handle[]): void {
    const names = ['square_avg', ...(g.momentum > 0 ? ['momentum_buffer'] : []), ...(g.centered ? ['grad_avg'] : [])];
    params.forEach((p, i) => {
      const s = this.stateOf(p, names);
      s.step += 1;
      const temps: Handle[] = [];
      let grad = grads[i]!;
      if (g.weightDecay !== 0) temps.push((grad = native.add(grad, p.h, g.weightDecay)));
      const sq = s.buffers.square_avg!.h;
      native.mulS_(sq, g.alpha);
      native.addcmul_(sq, grad, grad, 1 - g.alpha);
      let avg;
      if (g.centered) {
        const ga = s.buffers.grad_avg!.h;
        native.mulS_(ga, g.alpha);
        native.add_(ga, grad, 1 - g.alpha);
        const gaSq = native.mul(ga, ga);
        const centred = native.sub(sq, gaSq, 1);
        temps.push(gaSq, centred);
        avg = native.sqrt(centred);
      } else {
        avg = native.sqrt(sq);
      }
      native.addS_(avg, g.eps);
      if (g.momentum > 0) {
        const buf = s.buffers.momentum_buffer!.h;
        native.mulS_(buf, g.momentum);
        native.addcdiv_(buf, grad, avg, 1);
        native.add_(p.h, buf, -g.lr);
      } else {
        native.addcdiv_(p.h, grad, avg, -g.lr);
      }
      temps.push(avg);
      disposeHandles(temps);
    });
  }
}
