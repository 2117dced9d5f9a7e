import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeStrategy } from '../balance/index.js';
import type { MultimodalDataset } from '../data/dataset.js';
import { ensureWritableDir, loadFullData, loadRunData, runDirState, runTraining } from '../train/experiment.js';
import { accuracy, agreementTable, calibrationError } from '../metrics/index.js';
import { loadPredictions } from '../train/predictions.js';
import {
  METHOD_VARIANTS,
  type RunConfig,
  configDifferences,
  nearest,
  parseModalities,
  readJsonObject,
  validateRunConfig,
} from '../train/run_config.js';
import { acquireRunLock } from '../train/run_lock.js';
import { type OptionSpec, UsageError, formatHelp, parseOptions, wantsHelp } from './args.js';
import { TRAIN_OPTIONS, buildConfig, defaultRunDir } from './commands.js';
import { makeDirs } from '../io/dirs.js';
import { reportAfterRun } from './report.js';
import { ROBUSTNESS_FILE, evaluateRobustness, saveRobustness } from '../train/robustness.js';

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
    name: 'methods',
    type: 'string',
    help: `methods to compare, separated by commas (${Object.keys(METHOD_VARIANTS).join(', ')})`,
    shownDefault: 'the configured method alone',
  },
  {
    name: 'out',
    type: 'string',
    help: 'sweep directory; rerunning into it skips finished runs and resumes interrupted ones',
    shownDefault: 'runs/<time>-sweep-<method>',
  },
  {
    name: 'robustness',
    type: 'boolean',
    help: 'after each run, score its test split with each modality corrupted (gaussian, freqmask, zero at their default levels) into its robustness.json',
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

/** Method names for --methods: known, each once. */
export function parseMethods(spec: string): string[] {
  const names = spec.split(/[ ,]+/).filter(Boolean);
  for (const n of names)
    if (!(n in METHOD_VARIANTS)) {
      const near = nearest(n, Object.keys(METHOD_VARIANTS));
      throw new UsageError(
        `unknown method '${n}' in --methods${near ? `; did you mean '${near}'?` : ''} (known: ${Object.keys(METHOD_VARIANTS).join(', ')})`,
      );
    }
  if (new Set(names).size !== names.length) throw new UsageError('--methods lists a method twice; list each once');
  if (names.length === 0) throw new UsageError('--methods lists no method');
  return names;
}

export interface MethodRow {
  method: string;
  modalities: string[];
  score: { mean: number; std: number; runs: number[] };
  /** Test accuracy of each modality's unimodal logits, mean over seeds. */
  unimodalAccuracy: Record<string, number>;
  /** Expected calibration error of the fused test probabilities (15 bins), mean over seeds. */
  ece: number;
  /** Two modalities: test samples both wrong / only the first right / only the second / both right, mean over seeds. */
  agreement: { label: string; count: number }[] | null;
  /** Mean training seconds per epoch. */
  epochSeconds: number;
}

/** One row per method and combination, from the runs' summaries and predictions. */
export function methodTable(
  results: { method: string; modalities: string[]; seed: number; weightedF1: number; accuracy: number; dir: string }[],
  metric: 'weightedF1' | 'accuracy',
): MethodRow[] {
  const groups = new Map<string, typeof results>();
  for (const r of results) {
    const k = `${r.method}|${r.modalities.join('+')}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [...groups.values()].map((runs) => {
    const scores = runs.map((r) => r[metric]);
    const ms = meanStd(scores);
    const uni: Record<string, number[]> = {};
    const eces: number[] = [];
    const agreements: number[][] = [];
    let labels: string[] = [];
    const secs: number[] = [];
    for (const r of runs) {
      const p = loadPredictions(join(r.dir, 'predictions.safetensors')).splits.test!;
      eces.push(calibrationError(p.probs, p.label));
      for (const [m, u] of Object.entries(p.unimodal)) (uni[m] ??= []).push(accuracy(u, p.label));
      if (Object.keys(p.unimodal).length === 2) {
        const t = agreementTable(p.unimodal, p.label);
        labels = t.rows.map((row) => row.label);
        agreements.push(t.rows.map((row) => row.count));
      }
      const summary = readJsonObject(join(r.dir, 'summary.json'), 'the run summary') as { epochs: { seconds: number }[] };
      secs.push(mean(summary.epochs.map((e) => e.seconds)));
    }
    return {
      method: runs[0]!.method,
      modalities: runs[0]!.modalities,
      score: { ...ms, runs: scores },
      unimodalAccuracy: Object.fromEntries(Object.entries(uni).map(([m, v]) => [m, mean(v)])),
      ece: mean(eces),
      agreement: agreements.length ? labels.map((label, i) => ({ label, count: mean(agreements.map((a) => a[i]!)) })) : null,
      epochSeconds: mean(secs),
    };
  });
}

export function methodMarkdown(rows: MethodRow[], title: string, metricName: string): string {
  const pct = (x: number): string => (100 * x).toFixed(2);
  return [
    `### ${title}`,
    '',
    `| method | modalities | ${metricName} (%) | unimodal accuracy (%) | ECE | agreement (mean counts) | s / epoch | runs |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${r.modalities.join('+')} | ${pct(r.score.mean)} ± ${pct(r.score.std)} | ` +
        `${Object.entries(r.unimodalAccuracy)
          .map(([m, v]) => `${m} ${pct(v)}`)
          .join(', ')} | ${r.ece.toFixed(3)} | ` +
        `${r.agreement ? r.agreement.map((a) => `${a.label} ${a.count.toFixed(0)}`).join(', ') : '-'} | ${r.epochSeconds.toFixed(1)} | ${r.score.runs.length} |`,
    ),
    '',
    "Mean ± sample standard deviation over seeds; test split, best-dev weights. Unimodal accuracy: each modality's own logits (head slices, or its classifier); agreement: test samples on which both modalities are wrong, only one is right, or both are.",
  ].join('\n');
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

export function sweepCommand(argv: string[], log: (l: string) => void): number | Promise<number> {
  if (wantsHelp(argv)) {
    log(
      formatHelp(
        'Usage: mmbalance sweep [--preset P] [--data PATH] [--modalities tav,ta,tv,av] [--seeds 3] [train options]\n\n' +
          'Trains each modality combination with several seeds and tabulates test scores (sweep.md, sweep.json).',
        SWEEP_OPTIONS,
        [
          'mmbalance sweep --preset ada2i-iemocap --data iemocap.safetensors --modalities tav,ta,tv,av --seeds 3 --out runs/sweep',
          'mmbalance sweep --preset clip-joint --data avmnist.safetensors --modalities audio+image --methods joint,ogm-ge,mmcosine,multi-loss,mlb,gmm,ada2i-modulation --seeds 3 --out runs/methods',
        ],
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
  const methods = o.methods === undefined ? [null] : parseMethods(o.methods as string);
  // Every method's configuration is checked before anything runs.
  for (const m of methods) {
    if (m === null) continue;
    const c = structuredClone(base);
    METHOD_VARIANTS[m]!.apply(c);
    makeStrategy(c.method, c.methodOptions);
    validateRunConfig(c);
  }
  const plan = { config: base, modalities: combos, seeds, methods };
  const planPath = join(out, 'sweep.plan.json');
  if (existsSync(planPath)) {
    const prev = readJsonObject(planPath, 'the sweep plan') as unknown as typeof plan;
    const diff = configDifferences(prev.config, base).map((d) => d.key);
    if (JSON.stringify(prev.modalities) !== JSON.stringify(combos)) diff.push('--modalities');
    if (JSON.stringify(prev.methods ?? [null]) !== JSON.stringify(methods)) diff.push('--methods');
    // More seeds extend a finished sweep (its runs are kept); fewer would drop results.
    if (prev.seeds > seeds) diff.push(`--seeds (was ${prev.seeds}; it may only grow)`);
    if (diff.length > 0)
      throw new UsageError(
        `${out} holds a sweep with other settings (${diff.join(', ')}); continue it with the same options (--seeds may grow), or use another --out`,
      );
    log(`mmbalance: continuing the sweep in ${out} (finished runs are kept)`);
  }
  ensureWritableDir(out);
  const release = acquireRunLock(out);
  try {
    writeFileSync(planPath, JSON.stringify(plan, null, 2) + '\n');
    const results: { method: string; modalities: string[]; seed: number; weightedF1: number; accuracy: number; dir: string }[] = [];
    const dataBySeed = new Map<number, MultimodalDataset>([[base.train.seed, first]]);
    for (let k = 0; k < seeds; k++) {
      const seed = base.train.seed + k;
      const c0: RunConfig = structuredClone(base);
      c0.train.seed = seed;
      // The dev hold-out and the built-in data depend on the seed: load once per seed.
      if (!dataBySeed.has(seed)) dataBySeed.set(seed, loadFullData(c0));
      const raw = dataBySeed.get(seed)!;
      for (const method of methods)
        for (const combo of combos) {
          const c = structuredClone(c0);
          if (method !== null) METHOD_VARIANTS[method]!.apply(c);
          c.modalities = combo;
          const dir = method === null ? join(out, combo.join('+'), `seed-${seed}`) : join(out, method, combo.join('+'), `seed-${seed}`);
          const label = `${method === null ? '' : `${method} `}${combo.join('+')} seed ${seed}`;
          const state = runDirState(dir);
          let r: { test: { weightedF1: number; accuracy: number } };
          if (state === 'finished') {
            const s = readJsonObject(join(dir, 'summary.json'), 'the run summary') as { test: { weightedF1: number; accuracy: number } };
            r = s;
            log(`${label}: finished before, kept`);
          } else {
            makeDirs(dir);
            r = runTraining(c, loadRunData(c, raw), dir, { resume: state === 'resumable', quiet: Boolean(o.quiet), log });
          }
          results.push({
            method: method ?? c.method,
            modalities: combo,
            seed,
            weightedF1: r.test.weightedF1,
            accuracy: r.test.accuracy,
            dir,
          });
          log(`${label}: test weighted F1 ${r.test.weightedF1.toFixed(4)}, accuracy ${r.test.accuracy.toFixed(4)}`);
          // Not part of the plan: it changes no result, so a rerun with --robustness fills in what is missing.
          if (o.robustness && !existsSync(join(dir, ROBUSTNESS_FILE))) {
            saveRobustness(join(dir, ROBUSTNESS_FILE), evaluateRobustness(dir, { dataset: raw, quiet: true }), log);
            log(`${label}: robustness curves in ${join(dir, ROBUSTNESS_FILE)}`);
          }
        }
    }
    let md: string;
    let rows: unknown;
    if (methods[0] === null) {
      const table = sweepTable(results, first.modalities);
      rows = table;
      md = sweepMarkdown(table, `${base.method} on ${first.name}, ${seeds} seed(s)`);
    } else {
      const table = methodTable(results, first.kind === 'conversation' ? 'weightedF1' : 'accuracy');
      rows = table;
      md = methodMarkdown(table, `Methods on ${first.name}, ${seeds} seed(s)`, first.kind === 'conversation' ? 'weighted F1' : 'accuracy');
    }
    writeFileSync(join(out, 'sweep.json'), JSON.stringify({ config: base, methods, results, rows }, null, 2) + '\n');
    writeFileSync(join(out, 'sweep.md'), md + '\n');
    log(md);
    log(`wrote ${join(out, 'sweep.md')} and ${join(out, 'sweep.json')}`);
  } finally {
    release();
  }
  return reportAfterRun(out, Boolean(o.report), log);
}
