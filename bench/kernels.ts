/**
 * The addon's own kernels against the libtorch ops they replace, at the sizes one Ada2I training
 * step uses, for each instruction-set copy of the kernels this CPU can run (each in a child
 * process with MMBALANCE_SIMD set), all in one run.
 * (run: npm run build && node dist/bench/kernels.js [--write]).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  F,
  GradEdits,
  foreachMoments,
  getNumThreads,
  optim,
  rand,
  randn,
  randnLike,
  scalarTensor,
  simdLevel,
  type Tensor,
} from '../src/index.js';
import { writeSection } from './report.js';

function medianMs(fn: () => void, rounds = 9): number {
  fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(rounds / 2)]!;
}

type Timings = Record<string, number>;

/** Every measurement of this process (its kernels are the ones MMBALANCE_SIMD chose). */
function measure(withTorch: boolean): Timings {
  const t: Timings = {};
  // Dropout on a feed-forward activation of one batch (~480 utterances x 2048), forward and backward.
  const act = randn([480, 2048]).requiresGrad_();
  t.dropout = medianMs(() => {
    const y = F.dropout(act, 0.5, true);
    y.sum().backward();
    y.dispose();
  });
  if (withTorch)
    t.dropoutTorch = medianMs(() => {
      // libtorch's generator draws the same mask serially: uniform draws, a comparison, a scale.
      const keep = rand(act.shape).ge(0.5);
      const y = act.mul(keep).mul(2);
      y.sum().backward();
      keep.dispose();
      y.dispose();
    });

  // Gradient noise over the encoders' 34M parameters, as one 34M-element gradient.
  const grad = randn([34_000_000]);
  const sigma = scalarTensor(1e-3);
  t.noise = medianMs(() => grad.addGaussianNoise_(sigma), 5);
  if (withTorch)
    t.noiseTorch = medianMs(() => {
      const z = randnLike(grad);
      grad.add_(z.mul_(sigma));
      z.dispose();
    }, 5);
  t.moments = medianMs(() => void foreachMoments([grad]), 5);
  if (withTorch) t.momentsTorch = medianMs(() => void grad.std().item(), 5);
  grad.dispose();

  // Adam over 34 parameters of 1M elements each: plain, and with a scale and noise folded in.
  const params: Tensor[] = Array.from({ length: 34 }, () => randn([1_000_000]).requiresGrad_());
  for (const p of params) p.grad = randn([1_000_000]);
  const fused = new optim.Adam(params, { lr: 1e-4, weightDecay: 1e-8, fused: true });
  t.adam = medianMs(() => fused.step(), 5);
  t.adamNoise = medianMs(() => {
    const e = new GradEdits(params);
    for (const p of params) {
      e.scale(p, 0.9);
      e.addNoise(p, 1e-3);
    }
    fused.step(e);
  }, 5);
  if (withTorch) {
    const foreach = new optim.Adam(params, { lr: 1e-4, weightDecay: 1e-8, fused: false });
    t.adamTorch = medianMs(() => foreach.step(), 5);
  }
  return t;
}

if (process.env.KERNELS_CHILD) {
  process.stdout.write(JSON.stringify({ level: simdLevel(), t: measure(false) }));
} else {
  const self = fileURLToPath(import.meta.url);
  const levels = ['baseline', 'avx2', 'avx512'];
  const runs = new Map<string, Timings>();
  for (const want of levels) {
    const out = JSON.parse(
      execFileSync(process.execPath, [self], { env: { ...process.env, KERNELS_CHILD: '1', MMBALANCE_SIMD: want }, encoding: 'utf8' }),
    ) as { level: string; t: Timings };
    if (!runs.has(out.level)) runs.set(out.level, out.t);
  }
  const torch = measure(true);
  const have = [...runs.keys()];
  const cell = (x: number): string => x.toFixed(1);
  const row = (what: string, key: string, torchKey: string | null): string => {
    const best = runs.get(simdLevel())![key]!;
    const tk = torchKey ? torch[torchKey]! : NaN;
    return `| ${what} | ${have.map((l) => cell(runs.get(l)![key]!)).join(' | ')} | ${torchKey ? cell(tk) : '-'} | ${torchKey ? `${(tk / best).toFixed(1)}x` : '-'} |`;
  };
  const body = [
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${getNumThreads()} threads; the kernels this CPU runs by default: ${simdLevel()}. Command: \`node dist/bench/kernels.js --write\`. Median of 5-9 calls, ms.`,
    '',
    `| work | ${have.map((l) => `addon, ${l}`).join(' | ')} | libtorch ops | speed-up (${simdLevel()}) |`,
    `|---|${have.map(() => '---|').join('')}---|---|`,
    row('dropout p=0.5 of 480 x 2048, forward and backward', 'dropout', 'dropoutTorch'),
    row('Gaussian noise added to 34M gradient elements', 'noise', 'noiseTorch'),
    row('sum and sum of squares of 34M gradient elements (libtorch: std)', 'moments', 'momentsTorch'),
    row('Adam step, 34 x 1M parameters (fused vs multi-tensor)', 'adam', 'adamTorch'),
    row('Adam step with a scale and Gaussian noise folded in, 34 x 1M', 'adamNoise', null),
    '',
    "Each addon column runs in its own process with MMBALANCE_SIMD set to that instruction set (native/kernels.cc). The libtorch column draws with libtorch 1.13's CPU generator (a serial Mersenne Twister), multiplies the mask in as a second pass, and updates Adam with its multi-tensor ops. The folded step is what a training step with clipping and the modulation's noise costs in the optimizer (src/engine/grad_edits.ts); without the fold it is the noise row plus the Adam row plus a scaling pass.",
  ].join('\n');
  console.log(body);
  if (process.argv.includes('--write')) console.log(`wrote ${writeSection('kernels', "The addon's kernels against libtorch ops", body)}`);
}
