/**
 * The addon's own kernels against the libtorch ops they replace, at the sizes one Ada2I training
 * step uses (run: npm run build && node dist/bench/kernels.js [--write]).
 */
import { cpus } from 'node:os';
import { F, getNumThreads, optim, rand, randn, randnLike, scalarTensor, type Tensor } from '../src/index.js';
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

// Dropout on a feed-forward activation of one batch (~480 utterances x 2048).
const act = randn([480, 2048]);
const dropoutAddon = medianMs(() => F.dropout(act, 0.5, true).dispose());
// libtorch's generator draws the same mask serially: uniform draws, a comparison, a scale.
const dropoutTorch = medianMs(() => {
  const keep = rand(act.shape).ge(0.5);
  const y = act.mul(keep).mul(2);
  keep.dispose();
  y.dispose();
});

// Gradient noise over the encoders' 34M parameters, as one 34M-element gradient.
const grad = randn([34_000_000]);
const sigma = scalarTensor(1e-3);
const noiseAddon = medianMs(() => grad.addGaussianNoise_(sigma), 5);
const noiseTorch = medianMs(() => {
  const z = randnLike(grad);
  grad.add_(z.mul_(sigma));
  z.dispose();
}, 5);

// Adam over 34 parameters of 1M elements each.
const params: Tensor[] = Array.from({ length: 34 }, () => randn([1_000_000]).requiresGrad_());
for (const p of params) p.grad = randn([1_000_000]);
const adamMs = (fused: boolean): number => {
  const o = new optim.Adam(params, { lr: 1e-4, weightDecay: 1e-8, fused });
  return medianMs(() => o.step(), 5);
};
const adamFused = adamMs(true);
const adamForeach = adamMs(false);

const row = (what: string, addon: number, torch: number): string =>
  `| ${what} | ${addon.toFixed(1)} | ${torch.toFixed(1)} | ${(torch / addon).toFixed(1)}x |`;
const body = [
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${getNumThreads()} threads. Command: \`node dist/bench/kernels.js --write\`. Median of 5-9 calls.`,
  '',
  '| work | addon kernel, ms | libtorch ops, ms | speed-up |',
  '|---|---|---|---|',
  row('dropout p=0.5 of 480 x 2048 (mask, multiply)', dropoutAddon, dropoutTorch),
  row('Gaussian noise added to 34M gradient elements', noiseAddon, noiseTorch),
  row('Adam step, 34 x 1M parameters (fused vs multi-tensor)', adamFused, adamForeach),
  '',
  "The libtorch columns draw with libtorch 1.13's CPU generator (a serial Mersenne Twister) and update Adam with its multi-tensor ops; the addon's kernels are in native/random.cc and native/adam.cc.",
].join('\n');
console.log(body);
if (process.argv.includes('--write')) console.log(`wrote ${writeSection('kernels', "The addon's kernels against libtorch ops", body)}`);
