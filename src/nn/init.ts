/** Parameter initialisers with torch.nn.init's formulas; all work in place under no-grad. */
import { noGrad } from '../engine/grad_mode.js';
import type { Tensor } from '../engine/tensor.js';

export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new Error(`fan in/out need a tensor with at least 2 dimensions, got shape [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1]! * receptive, fanOut: s[0]! * receptive };
}

export function uniform_(t: Tensor, a: number, b: number): Tensor {
  return noGrad(() => t.uniform_(a, b));
}
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}
export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}
export function ones_(t: Tensor): Tensor {
  return noGrad(() => t.fill_(1));
}
export function constant_(t: Tensor, v: number): Tensor {
  return noGrad(() => t.fill_(v));
}
/** kaiming_uniform_ with leaky-ReLU slope a (PyTorch's Linear/Conv default uses a = sqrt(5)). */
export function kaimingUniform_(t: Tensor, a = 0, mode: 'fanIn' | 'fanOut' = 'fanIn'): Tensor {
  const f = fans(t);
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / (mode === 'fanIn' ? f.fanIn : f.fanOut));
  return uniform_(t, -bound, bound);
}
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const f = fans(t);
  const bound = gain * Math.sqrt(6 / (f.fanIn + f.fanOut));
  return uniform_(t, -bound, bound);
}
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const f = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (f.fanIn + f.fanOut)));
}
