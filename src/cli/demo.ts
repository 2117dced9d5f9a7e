/**
 * The built-in demonstration: two synthetic modalities, one informative and one weak, fused by
 * concatenation and trained jointly. It prints fused and per-modality accuracy per epoch: the
 * imbalance the balancing methods address, in miniature.
 */
import { F, manualSeed, nn, noGrad, optim, randint, randn, scope, type Tensor, cat } from '../index.js';

export interface DemoOptions {
  epochs: number;
  seed: number;
  samples: number;
  log: (line: string) => void;
}

export interface DemoResult {
  fusedAccuracy: number;
  unimodalAccuracy: { strong: number; weak: number };
}

const C = 4;
const D = 16;

function makeData(n: number, means: [Tensor, Tensor], noise: [number, number]): { x: [Tensor, Tensor]; y: Tensor } {
  const y = randint(0, C, [n]);
  const x = means.map((mu, m) => mu.indexSelect(0, y).add(randn([n, D]).mul(noise[m]!))) as [Tensor, Tensor];
  return { x, y };
}

class Fusion extends nn.Module {
  readonly enc: [nn.Sequential, nn.Sequential];
  readonly head: nn.Linear;
  constructor() {
    super();
    this.enc = [0, 1].map((m) => this.registerModule(`encoders.${m}`, new nn.Sequential(new nn.Linear(D, 32), new nn.ReLU()))) as [
      nn.Sequential,
      nn.Sequential,
    ];
    this.head = this.registerModule('head', new nn.Linear(64, C));
  }
  forward(x: [Tensor, Tensor]): { fused: Tensor; unimodal: [Tensor, Tensor] } {
    const h = x.map((xm, m) => this.enc[m]!.forward(xm));
    const fused = this.head.forward(cat(h, 1));
    // Unimodal logits from the sliced head: W_m h_m + b / |M|.
    const w = this.head.weight;
    const b = this.head.bias!.div(2);
    const unimodal = h.map((hm, m) => F.linear(hm, w.narrow(1, 32 * m, 32), b)) as [Tensor, Tensor];
    return { fused, unimodal };
  }
}

function accuracy(logits: Tensor, y: Tensor): number {
  return logits.argmax(1).eq(y).float().mean().item();
}

export function runDemo(o: DemoOptions): DemoResult {
  manualSeed(o.seed);
  const means: [Tensor, Tensor] = [randn([C, D]).mul(0.3), randn([C, D]).mul(0.18)];
  const train = makeData(o.samples, means, [1, 1]);
  const test = makeData(Math.max(200, o.samples >> 2), means, [1, 1]);
  const model = new Fusion();
  const opt = new optim.Adam(model.parameters(), { lr: 3e-3 });
  const batch = 64;
  let result: DemoResult = { fusedAccuracy: 0, unimodalAccuracy: { strong: 0, weak: 0 } };
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    let lossSum = 0;
    model.train();
    for (let i = 0; i < o.samples; i += batch) {
      lossSum += scope(() => {
        const n = Math.min(batch, o.samples - i);
        const xb = train.x.map((t) => t.narrow(0, i, n)) as [Tensor, Tensor];
        const loss = F.crossEntropy(model.forward(xb).fused, train.y.narrow(0, i, n));
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item() * n;
      });
    }
    model.eval();
    result = scope(() =>
      noGrad(() => {
        const out = model.forward(test.x);
        return {
          fusedAccuracy: accuracy(out.fused, test.y),
          unimodalAccuracy: { strong: accuracy(out.unimodal[0], test.y), weak: accuracy(out.unimodal[1], test.y) },
        };
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    o.log(
      `epoch ${String(epoch).padStart(String(o.epochs).length)}/${o.epochs}  loss ${(lossSum / o.samples).toFixed(4)}  ` +
        `test acc ${(result.fusedAccuracy * 100).toFixed(1)}%  strong-modality acc ${(result.unimodalAccuracy.strong * 100).toFixed(1)}%  ` +
        `weak-modality acc ${(result.unimodalAccuracy.weak * 100).toFixed(1)}%  ${secs.toFixed(2)}s`,
    );
  }
  return result;
}
