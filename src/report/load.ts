import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ReportError } from './errors.js';
import { type ReportInput, type RobustnessInput, type RunInput, type Warn, warnOnStderr } from './inputs.js';
import { readJsonObject } from './json_file.js';
import { DIAGNOSE_FORMAT, loadDiagnose } from './load_diagnose.js';
import { ROBUSTNESS_FORMAT, loadRobustness } from './load_robustness.js';
import { isRunDir, loadRun } from './load_run.js';
import { loadSweep } from './load_sweep.js';

export const INPUT_KINDS =
  'a run directory (config.json + metrics.jsonl, from mmbalance train), a sweep directory (sweep.json), ' +
  'a robustness.json, or a diagnose directory (diagnose.json)';

/** Why a directory is none of the kinds, with the way out when it can be guessed. */
function notAnInput(dir: string): ReportError {
  let hint = '';
  if (existsSync(join(dir, 'config.json'))) hint = '; it has config.json but no metrics.jsonl: its run has not finished an epoch yet';
  else {
    const runs = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && isRunDir(join(dir, e.name)))
      .map((e) => join(dir, e.name));
    if (runs.length > 0)
      hint = `; it holds run directories: give them instead (mmbalance report ${runs.slice(0, 3).join(' ')}${runs.length > 3 ? ' ...' : ''})`;
  }
  return new ReportError(`${dir} is not a report input: expected ${INPUT_KINDS}${hint}`);
}

/** The inputs one path holds: a run directory may also hold its robustness.json. */
function inputsAt(path: string, warn: Warn): ReportInput[] {
  if (!existsSync(path)) throw new ReportError(`${path} does not exist; expected ${INPUT_KINDS}`);
  if (statSync(path).isFile()) {
    const name = basename(path);
    if (name === 'sweep.json') return [loadSweep(dirname(path), warn)];
    if (['config.json', 'metrics.jsonl', 'summary.json'].includes(name) && isRunDir(dirname(path))) return [loadRun(dirname(path), warn)];
    if (name.endsWith('.json')) {
      const format = readJsonObject(path, `${INPUT_KINDS}`).format;
      if (format === ROBUSTNESS_FORMAT) return [loadRobustness(path)];
      if (format === DIAGNOSE_FORMAT) return [loadDiagnose(dirname(path), path)];
    }
    throw new ReportError(`${path} is a file the report cannot read: expected ${INPUT_KINDS}`);
  }
  const found: ReportInput[] = [];
  if (isRunDir(path)) found.push(loadRun(path, warn));
  if (existsSync(join(path, 'sweep.json'))) found.push(loadSweep(path, warn));
  if (existsSync(join(path, 'diagnose.json'))) found.push(loadDiagnose(path));
  if (existsSync(join(path, 'robustness.json'))) found.push(loadRobustness(join(path, 'robustness.json')));
  if (found.length === 0) throw notAnInput(path);
  return found;
}

function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** Every run of the inputs, top level or inside a sweep, each once. */
export function allRuns(inputs: readonly ReportInput[]): RunInput[] {
  const seen = new Set<string>();
  const out: RunInput[] = [];
  for (const i of inputs)
    for (const r of i.kind === 'run' ? [i] : i.kind === 'sweep' ? i.runs : []) {
      const key = realOrResolved(r.dir);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(r);
    }
  return out;
}

/** Every robustness test of the inputs, given on its own or held by a sweep's run, each once. */
export function allRobustness(inputs: readonly ReportInput[]): RobustnessInput[] {
  const seen = new Set<string>();
  const out: RobustnessInput[] = [];
  for (const i of inputs)
    for (const r of i.kind === 'robustness' ? [i] : i.kind === 'sweep' ? i.robustness : []) {
      const key = realOrResolved(r.file);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(r);
    }
  return out;
}

/** A robustness test that sits in a run directory of the report takes that run's label, so both read alike. */
function labelRobustness(tests: readonly RobustnessInput[], runs: readonly RunInput[]): void {
  const byDir = new Map(runs.map((r) => [realOrResolved(r.dir), r.label]));
  for (const t of tests) t.label = byDir.get(realOrResolved(dirname(t.file))) ?? t.label;
  uniqueLabels(tests, (t) => t.file);
}

/** Labels that tell the runs apart: the parts (method, modalities, seed, data) that differ between them. */
export function labelRuns(runs: readonly RunInput[]): void {
  const parts = runs.map((r) => [r.method, r.modalities.join('+'), r.seed === null ? 'seed ?' : `seed ${r.seed}`, r.dataName]);
  const varies = [0, 1, 2, 3].map((k) => new Set(parts.map((p) => p[k])).size > 1);
  const shown = varies.some(Boolean) ? varies : [true, true, true, false];
  runs.forEach((r, i) => (r.label = parts[i]!.filter((_, k) => shown[k]).join(' ')));
  uniqueLabels(runs, (r) => r.dir);
}

/** Labels that collide get the end of their path. */
function uniqueLabels<T extends { label: string }>(items: readonly T[], pathOf: (item: T) => string): void {
  const count = new Map<string, number>();
  for (const it of items) count.set(it.label, (count.get(it.label) ?? 0) + 1);
  for (const it of items)
    if (count.get(it.label)! > 1) {
      const rel = relative(process.cwd(), resolve(pathOf(it)));
      it.label = `${it.label} (${rel.length < resolve(pathOf(it)).length ? rel : resolve(pathOf(it))})`;
    }
}

/**
 * Loads every path: run, sweep, robustness and diagnose inputs, told apart by what they contain.
 * A path that is none of them is an error that says what was expected.
 */
export function loadReportInputs(paths: readonly string[], warn: Warn = warnOnStderr): ReportInput[] {
  if (paths.length === 0) throw new ReportError(`nothing to report on: give at least one path (${INPUT_KINDS})`);
  const inputs = paths.flatMap((p) => inputsAt(p, warn));
  // An input given twice is read once; a run given on its own and inside a sweep is drawn as the sweep's.
  const inSweeps = new Set(
    inputs.flatMap((i) =>
      i.kind === 'sweep' ? [...i.runs.map((r) => r.dir), ...i.robustness.map((r) => r.file)].map(realOrResolved) : [],
    ),
  );
  const seen = new Set<string>();
  const kept = inputs.filter((i) => {
    const path = realOrResolved(i.kind === 'robustness' ? i.file : i.dir);
    const key = `${i.kind}:${path}`;
    if (((i.kind === 'run' || i.kind === 'robustness') && inSweeps.has(path)) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const runs = allRuns(kept);
  labelRuns(runs);
  labelRobustness(allRobustness(kept), runs);
  uniqueLabels(
    kept.filter((i) => i.kind === 'sweep'),
    (i) => i.dir,
  );
  uniqueLabels(
    kept.filter((i) => i.kind === 'diagnose'),
    (i) => i.dir,
  );
  return kept;
}
