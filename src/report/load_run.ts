import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ReportError } from './errors.js';
import type { RunInput, RunSummary, ScoreName, Warn } from './inputs.js';
import { isNumber, isRecord, isStringArray, readJsonObject } from './json_file.js';
import { readMetricsFile } from './metrics_file.js';
import { readPredictionsFile } from './predictions_file.js';

/** True for a directory that `mmbalance train` wrote (or is writing). */
export function isRunDir(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'metrics.jsonl'));
}

/**
 * Reads a run directory: config.json and metrics.jsonl always; summary.json and
 * predictions.safetensors when the run finished. `variant` is the method name a sweep gave it.
 */
export function loadRun(dir: string, warn: Warn, variant?: string): RunInput {
  const configPath = join(dir, 'config.json');
  const metricsPath = join(dir, 'metrics.jsonl');
  if (!isRunDir(dir))
    throw new ReportError(`${dir} is not a run directory: it needs config.json and metrics.jsonl (made by mmbalance train)`);
  const files = [configPath, metricsPath];
  const config = readJsonObject(configPath, 'the run configuration');
  const epochs = readMetricsFile(metricsPath, warn);
  const summaryPath = join(dir, 'summary.json');
  let summary: RunSummary | null = null;
  if (existsSync(summaryPath)) {
    summary = readJsonObject(summaryPath, 'the run summary') as RunSummary;
    files.push(summaryPath);
  }
  const predictionsPath = join(dir, 'predictions.safetensors');
  let predictions = null;
  if (existsSync(predictionsPath)) {
    predictions = readPredictionsFile(predictionsPath);
    files.push(predictionsPath);
  }
  const train = isRecord(config.train) ? config.train : {};
  const data = isRecord(config.data) ? config.data : {};
  const monitor: ScoreName = train.monitor === 'dev.accuracy' ? 'accuracy' : 'weightedF1';
  const modalities = isStringArray(summary?.modalities)
    ? summary.modalities
    : isStringArray(config.modalities) && config.modalities.length > 0
      ? config.modalities
      : Object.keys(epochs[0]?.unimodalAccuracy ?? {});
  const dataPath = typeof data.path === 'string' ? data.path : null;
  return {
    kind: 'run',
    dir,
    label: basename(dir),
    method: variant ?? summary?.method ?? (typeof config.method === 'string' ? config.method : 'unknown'),
    modalities,
    seed: isNumber(summary?.seed) ? summary.seed : isNumber(train.seed) ? train.seed : null,
    dataName: summary?.data?.name ?? (dataPath ? basename(dataPath) : 'built-in data'),
    dataKind: summary?.data?.kind ?? null,
    monitor,
    classNames: summary?.classNames ?? predictions?.classNames ?? [],
    epochs,
    summary,
    predictions,
    files,
  };
}
