import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeStrategy } from '../balance/index.js';
import type { MultimodalDataset } from '../data/dataset.js';
import { ensureWritableDir, loadFullData, loadRunData, runDirState, runTraining } from '../train/experiment.js';
import { type RunConfig, configDifferences, parseModalities, readJsonObject } from '../train/run_config.js';
import { acquireRunLock } from '../train/run_lock.js';
import { type OptionSpec, UsageError, formatHelp, parseOptions, wantsHelp } from './args.js';
import { TRAIN_OPTIONS, buildConfig, defaultRunDir } from './commands.js';
import { makeDirs } from '../io/dirs.js';

const SWEEP_OPTIONS: OptionSpec[] = [
  ...TRAIN_OPTIONS.filter((s) => !['modalities', 'resume', 'out', 'help-config'].includes(s.name)),
  {
    name: 'modalities',
    type: 'string',
    help: "combinations to train, separated by commas: tav,ta,tv,av, or names joined by '+' (audio+image,audio,image)",
    default: 'tav,ta,tv,av',
  },
  { name: 'seeds', type: 'number', help: 'runs per combination, with seeds seed, seed+1, ...', default: 3 },
  {
    name: 'out',
    type: 'string',
    help: 'sweep directory; rerunning into it skips finished runs and resumes interrupted ones',
    shownDefault: 'runs/<time>-sweep-<method>',
  },
];

export interface SweepRow {
  modalities: string[];
  weightedF1: { mean: number; std: number; runs: number[] };
  accuracy: { mean: number; std: number; runs: number[] };
  /** Mean weighted F1 of the all-modality combination minus this one's (null when none was run). */
  gapToAll: number | null;
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** Summarises test scores per combination: mean ± sample std over seeds, and the gap to the all-modality runs. */
export function sweepTable(
  results: { modalities: string[]; weightedF1: number; accuracy: number }[],
  allModalities: readonly string[],
): SweepRow[] {
  const byKey = new Map<string, { modalities: string[]; f1: number[]; acc: number[] }>();
  for (const r of results) {
    const k = r.modalities.join('+');
    const e = byKey.get(k) ?? { modalities: r.modalities, f1: [], acc: [] };
    e.f1.push(r.weightedF1);
    e.acc.push(r.accuracy);
    byKey.set(k, e);
  }
  const all = [...byKey.values()].find(
    (e) => e.modalities.length === allModalities.length && allModalities.every((m) => e.modalities.includes(m)),
  );
  const allMean = all ? meanStd(all.f1).mean : null;
  return [...byKey.values()].map((e) => {
    const f = meanStd(e.f1);
    const a = meanStd(e.acc);
    return {
      modalities: e.modalities,
      weightedF1: { ...f, runs: e.f1 },
      accuracy: { ...a, runs: e.acc },
      gapToAll: allMean === null ? null : allMean - f.mean,
    };
  });
}

export function sweepMarkdown(rows: SweepRow[], title: string): string {
  const pct = (x: number): string => (100 * x).toFixed(2);
  const lines = [
    `### ${title}`,
    '',
    '| modalities | weighted F1 (%) | accuracy (%) | gap: all modalities minus this (wF1 points) | runs |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.modalities.join('+')} | ${pct(r.weightedF1.mean)} ± ${pct(r.weightedF1.std)} | ${pct(r.accuracy.mean)} ± ${pct(r.accuracy.std)} | ` +
        `${r.gapToAll === null ? 'n/a' : pct(r.gapToAll)} | ${r.weightedF1.runs.length} |`,
    ),
    '',
    'Mean ± sample standard deviation over seeds; test split, best-dev weights.',
  ];
  return lines.join('\n');
}

/** Every combination listed once, in the order given. */
export function parseCombinations(spec: string, available: readonly string[]): string[][] {
  const combos = spec
    .split(/[ ,]+/)
    .filter(Boolean)
    .map((s) => parseModalities(s, available));
  const seen = new Set<string>();
  for (const c of combos) {
    const k = [...c].sort().join('+');
    if (seen.has(k)) throw new UsageError(`--modalities lists ${c.join('+')} twice; list each combination once`);
    seen.add(k);
  }
  if (combos.length === 0) throw new UsageError('--modalities lists no combination');
  return combos;
}

export function sweepCommand(argv: string[], log: (l: string) => void): number {
  if (wantsHelp(argv)) {
    log(
      formatHelp(
        'Usage: mmbalance sweep [--preset P] [--data PATH] [--modalities tav,ta,tv,av] [--seeds 3] [train options]\n\n' +
          'Trains each modality combination with several seeds and tabulates test scores (sweep.md, sweep.json).',
        SWEEP_OPTIONS,
        ['mmbalance sweep --preset ada2i-iemocap --data iemocap.safetensors --modalities tav,ta,tv,av --seeds 3 --out runs/sweep'],
      ),
    );
    return 0;
  }
  const o = parseOptions(argv, SWEEP_OPTIONS);
  const seeds = o.seeds as number;
  if (!Number.isInteger(seeds) || seeds < 1) throw new UsageError(`--seeds expects an integer >= 1 but received ${seeds}`);
  const base = buildConfig(o);
  makeStrategy(base.method, base.methodOptions);
  const out = (o.out as string | undefined) ?? defaultRunDir(`sweep-${base.method}`);
  ensureWritableDir(out, false);
  // The combinations are checked against the data before anything is written.
  const first = loadFullData(base);
  const combos = parseCombinations(o.modalities as string, first.modalities);
  const plan = { config: base, modalities: combos, seeds };
  const planPath = join(out, 'sweep.plan.json');
  if (existsSync(planPath)) {
    const prev = readJsonObject(planPath, 'the sweep plan') as unknown as typeof plan;
    const diff = configDifferences(prev.config, base);
    if (diff.length > 0 || JSON.stringify(prev.modalities) !== JSON.stringify(combos) || prev.seeds !== seeds)
      throw new UsageError(
        `${out} holds a sweep with other settings (${diff.map((d) => d.key).join(', ') || 'modalities or seeds'}); continue it with the same options, or use another --out`,
      );
    log(`mmbalance: continuing the sweep in ${out} (finished runs are kept)`);
  }
  ensureWritableDir(out);
  const release = acquireRunLock(out);
  try {
    writeFileSync(planPath, JSON.stringify(plan, null, 2) + '\n');
    const results: { modalities: string[]; seed: number; weightedF1: number; accuracy: number; dir: string }[] = [];
    const dataBySeed = new Map<number, MultimodalDataset>([[base.train.seed, first]]);
    for (let k = 0; k < seeds; k++) {
      const seed = base.train.seed + k;
      const c0: RunConfig = structuredClone(base);
      c0.train.seed = seed;
      // The dev hold-out and the built-in data depend on the seed: load once per seed.
      if (!dataBySeed.has(seed)) dataBySeed.set(seed, loadFullData(c0));
      const raw = dataBySeed.get(seed)!;
      for (const combo of combos) {
        const c = structuredClone(c0);
        c.modalities = combo;
        const dir = join(out, combo.join('+'), `seed-${seed}`);
        const state = runDirState(dir);
        let r: { test: { weightedF1: number; accuracy: number } };
        if (state === 'finished') {
          const s = readJsonObject(join(dir, 'summary.json'), 'the run summary') as { test: { weightedF1: number; accuracy: number } };
          r = s;
          log(`${combo.join('+')} seed ${seed}: finished before, kept`);
        } else {
          makeDirs(dir);
          r = runTraining(c, loadRunData(c, raw), dir, { resume: state === 'resumable', quiet: Boolean(o.quiet), log });
        }
        results.push({ modalities: combo, seed, weightedF1: r.test.weightedF1, accuracy: r.test.accuracy, dir });
        log(`${combo.join('+')} seed ${seed}: test weighted F1 ${r.test.weightedF1.toFixed(4)}, accuracy ${r.test.accuracy.toFixed(4)}`);
      }
    }
    const rows = sweepTable(results, first.modalities);
    const md = sweepMarkdown(rows, `${base.method} on ${first.name}, ${seeds} seed(s)`);
    writeFileSync(join(out, 'sweep.json'), JSON.stringify({ config: base, results, rows }, null, 2) + '\n');
    writeFileSync(join(out, 'sweep.md'), md + '\n');
    log(md);
    log(`wrote ${join(out, 'sweep.md')} and ${join(out, 'sweep.json')}`);
  } finally {
    release();
  }
  return 0;
}
