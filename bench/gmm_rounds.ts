/**
 * The GMM-guided loss round by round, from finished runs' metrics.jsonl: per round the mixture
 * fitted to the training gaps (the imbalanced component's weight and mean, the balanced one's
 * mean), the mean posterior, and the unimodal accuracies (head slices and probes, dev) at the
 * round's first and last epoch. What the paper's figures 2-3 claim: the imbalanced component
 * shrinks and its mean moves toward 0 round by round while the unimodal accuracies rise.
 * Run: node dist/bench/gmm_rounds.js RUN_DIR... [--write NAME --title TITLE]
 */
import { readFileSync } from 'node:fs';
import { writeSection } from './report.js';

interface Round {
  round: number;
  epoch: number;
  pair: string[];
  mixture: { weights: number[]; means: number[]; variances: number[] };
  balanced: number;
  meanGamma: number;
}
interface Epoch {
  epoch: number;
  phase: string;
  unimodalAccuracy?: Record<string, number>;
  probeAccuracy?: Record<string, number> | null;
  strategy?: { round?: Round };
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const write = flag('write');
const title = flag('title') ?? 'The GMM-guided loss round by round';
const dirs = args.filter((a, i) => !a.startsWith('--') && !['--write', '--title'].includes(args[i - 1] ?? ''));
if (dirs.length === 0) throw new Error('usage: node dist/bench/gmm_rounds.js RUN_DIR... [--write NAME --title TITLE]');

const f2 = (x: number): string => x.toFixed(2);
const acc = (r: Record<string, number> | null | undefined, pair: string[]): string =>
  r ? pair.map((m) => `${m} ${(100 * (r[m] ?? NaN)).toFixed(1)}`).join(', ') : '-';
const out: string[] = [];
for (const dir of dirs) {
  const epochs = readFileSync(`${dir}/metrics.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Epoch);
  const warm = epochs.filter((e) => e.phase === 'warmup').at(-1);
  const rounds = epochs.filter((e) => e.strategy?.round).map((e) => e.strategy!.round!);
  if (rounds.length === 0) throw new Error(`${dir} has no GMM rounds in metrics.jsonl`);
  // More than two modalities and no pair: the max - min gap over all of them.
  const maxMin = rounds[0]!.pair.length !== 2;
  const pair = maxMin ? Object.keys(epochs[0]?.unimodalAccuracy ?? {}) : rounds[0]!.pair;
  out.push(
    `${dir}: gap = ${maxMin ? `max - min over ${pair.join(', ')} of P(true class)` : `P(${pair[0]}) - P(${pair[1]}) of the true class`}.`,
    '',
  );
  out.push(
    '| round | imbalanced weight | imbalanced mean | balanced mean | mean gamma | slices (dev) at start -> end | probes (dev) at start -> end |',
    '|---|---|---|---|---|---|---|',
  );
  if (warm)
    out.push(`| warm-up end (epoch ${warm.epoch}) | | | | | ${acc(warm.unimodalAccuracy, pair)} | ${acc(warm.probeAccuracy, pair)} |`);
  for (const r of rounds) {
    const imb = 1 - r.balanced;
    const inRound = epochs.filter((e) => e.phase === `round-${r.round}`);
    const first = inRound[0];
    const last = inRound.at(-1);
    out.push(
      `| ${r.round} (epochs ${first?.epoch}-${last?.epoch}) | ${f2(r.mixture.weights[imb]!)} | ${f2(r.mixture.means[imb]!)} | ${f2(
        r.mixture.means[r.balanced]!,
      )} | ${f2(r.meanGamma)} | ${acc(first?.unimodalAccuracy, pair)} -> ${acc(last?.unimodalAccuracy, pair)} | ${acc(
        first?.probeAccuracy,
        pair,
      )} -> ${acc(last?.probeAccuracy, pair)} |`,
    );
  }
  out.push('');
}
const body = out.join('\n');
console.log(body);
if (write) console.log(`wrote ${writeSection(write, title, body)}`);
