import { readFileSync } from 'node:fs';
import { type RawTensor, parseSafetensors } from '../io/safetensors.js';
import { ReportError } from './errors.js';
import type { PredictionSplit, RunPredictions } from './inputs.js';

function floats(raw: RawTensor): Float32Array {
  const view = new DataView(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  const out = new Float32Array(raw.data.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

function ints(raw: RawTensor): Int32Array {
  const view = new DataView(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  const out = new Int32Array(raw.data.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = Number(view.getBigInt64(8 * i, true));
  return out;
}

function parseList(path: string, metadata: Record<string, string>, key: string): string[] {
  try {
    const v = JSON.parse(metadata[key] ?? '[]') as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // reported below
  }
  throw new ReportError(`${path}: metadata '${key}' should be a JSON list of names`);
}

/**
 * Reads predictions.safetensors as plain arrays, straight from the bytes (no tensors), so a report
 * of many runs stays fast.
 */
export function readPredictionsFile(path: string): RunPredictions {
  const { tensors, metadata } = parseSafetensors(readFileSync(path));
  if (metadata.format !== 'mmbalance.predictions.v1')
    throw new ReportError(`${path} is not an mmbalance predictions file (its metadata has no format 'mmbalance.predictions.v1')`);
  const classNames = parseList(path, metadata, 'classNames');
  const modalities = parseList(path, metadata, 'modalities');
  const splits: RunPredictions['splits'] = {};
  for (const split of ['dev', 'test'] as const) {
    const probs = tensors.get(`${split}.probs`);
    const label = tensors.get(`${split}.label`);
    if (!probs || !label) continue;
    if (probs.dtype !== 'F32' || probs.shape.length !== 2 || label.dtype !== 'I64' || label.shape[0] !== probs.shape[0])
      throw new ReportError(`${path}: ${split}.probs should be float32 (N, C) and ${split}.label int64 (N)`);
    const [n, c] = probs.shape as [number, number];
    const unimodal: Record<string, Float32Array> = {};
    for (const m of modalities) {
      const u = tensors.get(`${split}.unimodal.${m}`);
      if (!u || u.dtype !== 'F32' || u.shape[0] !== n || u.shape[1] !== c)
        throw new ReportError(`${path}: ${split}.unimodal.${m} should be float32 (${n}, ${c}), like ${split}.probs`);
      unimodal[m] = floats(u);
    }
    const s: PredictionSplit = { n, c, probs: floats(probs), unimodal, label: ints(label) };
    splits[split] = s;
  }
  return { classNames, modalities, splits };
}

/** The rows of an (n, c) array, as views: the form the metric functions take. */
export function rowsOf(data: Float32Array, n: number, c: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => data.subarray(i * c, (i + 1) * c));
}
