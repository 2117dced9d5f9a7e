import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ReportError } from './errors.js';
import type { MethodRow, RobustnessInput, RunInput, ScoreName, SubsetRow, SweepInput, Warn } from './inputs.js';
import { expectField, isNumber, isRecord, isStringArray, readJsonObject } from './json_file.js';
import { loadRobustness } from './load_robustness.js';
import { isRunDir, loadRun } from './load_run.js';

interface SweepResult {
  method: string;
  modalities: string[];
  seed: number;
  dir: string;
  accuracy: number;
  weightedF1: number;
}

/** Where a sweep's run is: as recorded, else at its place in the sweep directory (the sweep was moved). */
function runDirOf(sweepDir: string, r: SweepResult, byMethod: boolean): string | null {
  if (isRunDir(r.dir)) return r.dir;
  const moved = byMethod
    ? join(sweepDir, r.method, r.modalities.join('+'), `seed-${r.seed}`)
    : join(sweepDir, r.modalities.join('+'), `seed-${r.seed}`);
  return isRunDir(moved) ? moved : null;
}

/** Reads sweep.json and the runs it lists. */
export function loadSweep(dir: string, warn: Warn): SweepInput {
  const file = join(dir, 'sweep.json');
  if (!existsSync(file)) throw new ReportError(`${dir} is not a sweep directory: it has no sweep.json (made by mmbalance sweep)`);
  const doc = readJsonObject(file, 'a sweep summary');
  expectField(Array.isArray(doc.methods), file, 'methods', 'a list of method names (or [null])');
  expectField(Array.isArray(doc.results), file, 'results', 'a list of runs');
  expectField(Array.isArray(doc.rows), file, 'rows', 'the table rows');
  const methods = doc.methods as (string | null)[];
  const byMethod = methods[0] !== null;
  const results = doc.results as SweepResult[];
  results.forEach((r, i) =>
    expectField(
      isRecord(r) && typeof r.method === 'string' && isStringArray(r.modalities) && isNumber(r.seed) && typeof r.dir === 'string',
      file,
      `results[${i}]`,
      'a run with method, modalities, seed and dir',
    ),
  );
  const runs: RunInput[] = [];
  const robustness: RobustnessInput[] = [];
  const missing: string[] = [];
  for (const r of results) {
    const runDir = runDirOf(dir, r, byMethod);
    if (runDir === null) {
      missing.push(r.dir);
      continue;
    }
    runs.push(loadRun(runDir, warn, byMethod ? r.method : undefined));
    if (existsSync(join(runDir, 'robustness.json'))) robustness.push(loadRobustness(join(runDir, 'robustness.json')));
  }
  if (missing.length > 0)
    warn(`${file}: ${missing.length} of its ${results.length} run directories are gone (${missing[0]}...); their curves are left out`);
  const config = isRecord(doc.config) ? doc.config : {};
  const data = isRecord(config.data) ? config.data : {};
  const dataName = runs[0]?.dataName ?? (typeof data.path === 'string' ? basename(data.path) : 'built-in data');
  const seeds = new Set(results.map((r) => r.seed)).size;
  const common = {
    kind: 'sweep' as const,
    dir,
    label: basename(dir),
    dataName,
    seeds,
    runs,
    robustness,
    files: [file, ...runs.flatMap((r) => r.files), ...robustness.flatMap((r) => r.files)],
  };
  if (!byMethod) {
    const rows = doc.rows as SubsetRow[];
    rows.forEach((row, i) =>
      expectField(
        isRecord(row) && isStringArray(row.modalities) && isRecord(row.weightedF1) && isRecord(row.accuracy),
        file,
        `rows[${i}]`,
        'a modality-subset row (modalities, weightedF1, accuracy, gapToAll)',
      ),
    );
    return { ...common, score: 'weightedF1', table: 'subsets', rows };
  }
  const rows = doc.rows as MethodRow[];
  rows.forEach((row, i) =>
    expectField(
      isRecord(row) && typeof row.method === 'string' && isStringArray(row.modalities) && isRecord(row.score),
      file,
      `rows[${i}]`,
      'a method row (method, modalities, score, unimodalAccuracy, ece, agreement, epochSeconds)',
    ),
  );
  // sweep.json does not name the method table's score (the data's kind picks it): the rows' runs match it.
  const score = runs[0]?.dataKind === 'clip' ? 'accuracy' : runs[0]?.dataKind === 'conversation' ? 'weightedF1' : inferScore(results, rows);
  return { ...common, score, table: 'methods', rows };
}

function inferScore(results: SweepResult[], rows: MethodRow[]): ScoreName {
  const row = rows[0];
  const first = results.find((r) => r.method === row?.method && r.modalities.join('+') === row.modalities.join('+'));
  return first && row && row.score.runs[0] === first.accuracy && first.accuracy !== first.weightedF1 ? 'accuracy' : 'weightedF1';
}
