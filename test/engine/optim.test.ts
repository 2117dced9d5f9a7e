import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromTypedArray, manualSeed, optim, randn, type Tensor, tensor, zeros } from '../../src/index.js';
import { assertClose, readJsonFixture } from '../helpers.js';

interface Fixture {
  W0: number[];
  B0: number[];
  X: number[];
  Y: number[];
  steps: number;
  cases: Record<string, { w: number[]; b: number[] }[]>;
  schedules: Record<string, number[]>;
}
const fx = readJsonFixture<Fixture>('optim', 'optim.json');
const f64 = (v: number[], shape: number[]): Tensor => fromTypedArray(Float64Array.from(v), shape);

type Make = (groups: { params: Tensor[]; lr?: number }[]) => optim.Optimizer<{ lr: number }>;
const makers: Record<string, Make> = {
  sgd: (p) => new optim.SGD(p, { lr: 0.01 }),
  sgd_momentum_wd: (p) => new optim.SGD(p, { lr: 0.01, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  sgd_nesterov: (p) => new optim.SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true }),
  adam: (p) => new optim.Adam(p, { lr: 0.01 }),
  adam_wd_amsgrad: (p) => new optim.Adam(p, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1, amsgrad: true }),
  adamw: (p) => new optim.AdamW(p, { lr: 0.01, weightDecay: 0.1 }),
  rmsprop: (p) => new optim.RMSprop(p, { lr: 0.01 }),
  rmsprop_centered_momentum_wd: (p) => new optim.RMSprop(p, { lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true, weightDecay: 0.01 }),
};

function lossOf(w: Tensor, b: Tensor, X: Tensor, Y: Tensor): Tensor {
  const wx = w.matmul(X);
  return wx.sub(Y).pow(2).sum().add(b.pow(2).sum()).add(wx.sum().mul(b.sum()));
}

function run(make: Make, steps: number, onStep?: (opt: optim.Optimizer<{ lr: number }>, step: number) => void) {
  const w = f64(fx.W0, [3, 4]).requiresGrad_();
  const b = f64(fx.B0, [3]).requiresGrad_();
  const X = f64(fx.X, [4, 5]);
  const Y = f64(fx.Y, [3, 5]);
  const opt = make([{ params: [w] }, { params: [b], lr: 0.05 }]);
  const traj: { w: number[]; b: number[] }[] = [];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    lossOf(w, b, X, Y).backward();
    if (s === 3) opt.paramGroups[0]!.lr *= 0.5;
    onStep?.(opt, s);
    opt.step();
    traj.push({ w: w.toArray(), b: b.toArray() });
  }
  return { traj, opt, w, b };
}

// The multi-tensor (foreach) forms of Adam and AdamW must follow the same fixtures as the fused one.
const foreachMakers: Record<string, Make> = {
  adam: (p) => new optim.Adam(p, { lr: 0.01, fused: false }),
  adam_wd_amsgrad: (p) => new optim.Adam(p, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1, amsgrad: true, fused: false }),
  adamw: (p) => new optim.AdamW(p, { lr: 0.01, weightDecay: 0.1, fused: false }),
};
const cases: [string, string, Make][] = [
  ...Object.entries(makers).map(([n, m]): [string, string, Make] => [n, n, m]),
  ...Object.entries(foreachMakers).map(([n, m]): [string, string, Make] => [`${n} (foreach)`, n, m]),
];

for (const [name, fixture, make] of cases) {
  test(`${name}: the parameter trajectory equals torch.optim's (two groups, an lr change)`, () => {
    const { traj } = run(make, fx.steps);
    const want = fx.cases[fixture]!;
    traj.forEach((got, i) => {
      assertClose(got.w, want[i]!.w, 1e-12, 1e-10, `${name} step ${i + 1} w`);
      assertClose(got.b, want[i]!.b, 1e-12, 1e-10, `${name} step ${i + 1} b`);
    });
  });
}

test('stateDict/loadStateDict resumes an optimizer exactly', () => {
  const full = run(makers.adam_wd_amsgrad!, 6).traj;
  // Run 3 steps, save, build a fresh optimizer on copies, load, continue 3 steps.
  const first = run(makers.adam_wd_amsgrad!, 3);
  const saved = first.opt.stateDict();
  const w = first.w.detach().clone().requiresGrad_();
  const b = first.b.detach().clone().requiresGrad_();
  const opt = makers.adam_wd_amsgrad!([{ params: [w] }, { params: [b], lr: 0.05 }]);
  opt.loadStateDict(saved);
  const X = f64(fx.X, [4, 5]);
  const Y = f64(fx.Y, [3, 5]);
  for (let s = 3; s < 6; s++) {
    opt.zeroGrad();
    lossOf(w, b, X, Y).backward();
    if (s === 3) opt.paramGroups[0]!.lr *= 0.5;
    opt.step();
    assertClose(w.toArray(), full[s]!.w, 0, 0, `resumed step ${s + 1}`);
  }
});

test('resetState forgets moments: the next Adam step equals a first step', () => {
  const p = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const opt = new optim.Adam([p], { lr: 0.1 });
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    p.mul(p).sum().backward();
    opt.step();
  }
  opt.resetState();
  assert.equal(opt.state.size, 0);
  const before = p.toArray();
  opt.zeroGrad();
  p.mul(p).sum().backward();
  opt.step();
  // A first Adam step moves every coordinate by lr * sign(grad) (up to eps).
  p.toArray().forEach((v, i) => assert.ok(Math.abs(before[i]! - v - 0.1) < 1e-6, `coordinate ${i} moved ${before[i]! - v}`));
});

test('zeroGrad clears to none by default and to zeros when asked', () => {
  const p = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
  const opt = new optim.SGD([p], { lr: 0.1 });
  p.sum().backward();
  opt.zeroGrad(false);
  assert.deepEqual(p.grad!.toArray(), [0, 0]);
  opt.zeroGrad();
  assert.equal(p.grad, null);
});

test('optimizers refuse bad hyperparameters with a clear message', () => {
  const p = zeros([2], { requiresGrad: true });
  assert.throws(() => new optim.SGD([p], { lr: -1 }), /Expected number >= 0 for lr but received -1/);
  assert.throws(() => new optim.Adam([p], { betas: [0.9, 1.5] }), /Expected two numbers in \[0, 1\) for betas/);
  assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), /momentum > 0 and dampening 0/);
  assert.throws(() => new optim.Adam([]), /at least one parameter/);
  assert.throws(() => new optim.Adam([{ params: [p] }, { params: [p] }]), /each parameter in one group only/);
});

const schedMakers: Record<string, (o: optim.SGD) => { step(m?: number): void }> = {
  step: (o) => new optim.StepLR(o, 3, 0.5),
  cosine: (o) => new optim.CosineAnnealingLR(o, 10, 0.001),
  linear_warmup: (o) => new optim.LinearWarmup(o, 4, 0.25),
  plateau: (o) => new optim.ReduceLROnPlateau(o, { factor: 0.5, patience: 2 }),
};
const plateauMetrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85];

for (const [name, make] of Object.entries(schedMakers)) {
  test(`${name} schedule gives torch.optim.lr_scheduler's learning rates`, () => {
    const o = new optim.SGD([zeros([1], { requiresGrad: true })], { lr: 0.1 });
    const s = make(o);
    const got = [o.paramGroups[0]!.lr];
    for (let e = 0; e < 12; e++) {
      if (name === 'plateau') s.step(plateauMetrics[e]);
      else s.step();
      got.push(o.paramGroups[0]!.lr);
    }
    assertClose(got, fx.schedules[name]!, 1e-12, 1e-9, `${name} lr`);
  });
}

test('fused and foreach Adam agree in float32 on contiguous and strided parameters', () => {
  const shapes: { make: () => Tensor }[] = [
    { make: () => randn([1000]) },
    // A transposed leaf: the fused kernel's strided path.
    { make: () => randn([30, 40]).T },
  ];
  const variants: Partial<optim.AdamOptions>[] = [{}, { weightDecay: 0.05, amsgrad: true }];
  for (const { make } of shapes) {
    for (const v of variants) {
      for (const decoupled of [false, true]) {
        manualSeed(3);
        const init = make();
        const grads = Array.from({ length: 5 }, () => randn(init.shape));
        const traj = [true, false].map((fused) => {
          const p = init.clone().requiresGrad_();
          assert.equal(p.isContiguous(), init.isContiguous(), 'clone keeps the layout');
          const o = decoupled ? new optim.AdamW([p], { lr: 0.01, ...v, fused }) : new optim.Adam([p], { lr: 0.01, ...v, fused });
          for (const g of grads) {
            p.grad = g;
            o.step();
          }
          return p.toArray() as number[];
        });
        assertClose(traj[0]!, traj[1]!, 1e-6, 1e-6, `shape ${init.shape.join('x')} ${JSON.stringify(v)} decoupled ${decoupled}`);
      }
    }
  }
});

test('Adam refuses a non-boolean fused option', () => {
  assert.throws(() => new optim.Adam([zeros([2]).requiresGrad_()], { fused: 'yes' as unknown as boolean }), /fused/);
});
