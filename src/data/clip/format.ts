/**
 * mmbalance's clip dataset file: one safetensors file per dataset.
 *
 * Layout (format 'mmbalance.clips', version 1):
 * - `<split>/<modality>`: float32 [N, ...shape] for a fixed shape; for a variable-length sequence
 *   modality (shape [-1, d]) float32 [sum of lengths, d] with `<split>/<modality>.lengths` int32 [N];
 * - `<split>/labels`: int32 [N];
 * - `__metadata__`: `format`, `version`, and `index`: JSON { name, modalities, shapes, classNames,
 *   devSource, meta, ids: { <split>: string[] } }.
 */
import { readFileSync } from 'node:fs';
import { writeAtomically } from '../../io/atomic.js';
import { type RawTensor, SafetensorsError, parseSafetensors, serializeSafetensors } from '../../io/safetensors.js';
import { SPLITS, type SplitName } from '../dataset.js';
import { hostCopy, leBytes } from '../format.js';
import { DatasetError } from '../validate.js';
import { type ClipDataset, type ClipSplit, isVariableSequence } from './types.js';
import { validateClips } from './validate.js';

export const CLIP_FORMAT = 'mmbalance.clips';
export const CLIP_FORMAT_VERSION = '1';

interface ClipIndex {
  name: string;
  modalities: string[];
  shapes: Record<string, number[]>;
  classNames: string[];
  devSource: 'file' | 'train-split';
  meta?: Record<string, string>;
  ids: Record<SplitName, string[]>;
}

/** The bytes of a clip dataset file (validated first). */
export function serializeClips(ds: ClipDataset): Uint8Array {
  validateClips(ds);
  const tensors = new Map<string, RawTensor>();
  const index: ClipIndex = {
    name: ds.name,
    modalities: ds.modalities,
    shapes: ds.shapes,
    classNames: ds.classNames,
    devSource: ds.devSource,
    ...(ds.meta ? { meta: ds.meta } : {}),
    ids: { train: ds.splits.train.ids, dev: ds.splits.dev.ids, test: ds.splits.test.ids },
  };
  for (const split of SPLITS) {
    const sp = ds.splits[split];
    const n = sp.labels.length;
    tensors.set(`${split}/labels`, { dtype: 'I32', shape: [n], data: leBytes(sp.labels) });
    for (const m of ds.modalities) {
      const shape = ds.shapes[m]!;
      if (isVariableSequence(shape)) {
        const lengths = sp.lengths[m]!;
        const total = lengths.reduce((a, t) => a + t, 0);
        tensors.set(`${split}/${m}`, { dtype: 'F32', shape: [total, shape[1]!], data: leBytes(sp.features[m]!) });
        tensors.set(`${split}/${m}.lengths`, { dtype: 'I32', shape: [n], data: leBytes(lengths) });
      } else tensors.set(`${split}/${m}`, { dtype: 'F32', shape: [n, ...shape], data: leBytes(sp.features[m]!) });
    }
  }
  return serializeSafetensors(tensors, { format: CLIP_FORMAT, version: CLIP_FORMAT_VERSION, index: JSON.stringify(index) });
}

/** Saves atomically: a failure never leaves a partial file or destroys an earlier one. */
export function saveClips(ds: ClipDataset, path: string): void {
  writeAtomically(path, serializeClips(ds));
}

function bad(message: string): never {
  throw new DatasetError(
    `${message}; the file is not a valid mmbalance clip dataset (re-create it with 'mmbalance data convert' or 'data avmnist')`,
  );
}

/** Parses a clip dataset file's bytes; the result is validated. */
export function parseClips(bytes: Uint8Array): ClipDataset {
  const { tensors, metadata } = parseSafetensors(bytes);
  if (metadata.format !== CLIP_FORMAT) bad(`its format is ${JSON.stringify(metadata.format)}, not '${CLIP_FORMAT}'`);
  if (metadata.version !== CLIP_FORMAT_VERSION) bad(`its version ${JSON.stringify(metadata.version)} is not ${CLIP_FORMAT_VERSION}`);
  let index: ClipIndex;
  try {
    index = JSON.parse(metadata.index ?? '') as ClipIndex;
  } catch {
    bad('its index metadata is not JSON');
  }
  if (
    !index ||
    !Array.isArray(index.modalities) ||
    !Array.isArray(index.classNames) ||
    typeof index.shapes !== 'object' ||
    typeof index.ids !== 'object'
  )
    bad('its index lacks modalities, classNames, shapes or ids');
  const get = (name: string, dtype: string): RawTensor => {
    const t = tensors.get(name);
    if (!t) bad(`it has no tensor '${name}'`);
    if (t.dtype !== dtype) bad(`tensor '${name}' is ${t.dtype}, expected ${dtype}`);
    return t;
  };
  const splits = {} as Record<SplitName, ClipSplit>;
  for (const split of SPLITS) {
    const ids = index.ids[split];
    if (!Array.isArray(ids)) bad(`its index has no ids for the ${split} split`);
    const sp: ClipSplit = { ids, labels: new Int32Array(hostCopy(get(`${split}/labels`, 'I32').data)), features: {}, lengths: {} };
    for (const m of index.modalities) {
      sp.features[m] = new Float32Array(hostCopy(get(`${split}/${m}`, 'F32').data));
      if (isVariableSequence(index.shapes[m] ?? [])) sp.lengths[m] = new Int32Array(hostCopy(get(`${split}/${m}.lengths`, 'I32').data));
    }
    splits[split] = sp;
  }
  const ds: ClipDataset = {
    name: index.name,
    modalities: index.modalities,
    shapes: index.shapes,
    classNames: index.classNames,
    splits,
    devSource: index.devSource === 'train-split' ? 'train-split' : 'file',
    ...(index.meta ? { meta: index.meta } : {}),
  };
  validateClips(ds);
  return ds;
}

export function loadClips(path: string): ClipDataset {
  const bytes = readFileSync(path);
  try {
    return parseClips(bytes);
  } catch (e) {
    if (e instanceof DatasetError || e instanceof SafetensorsError) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

/** What kind of mmbalance dataset a safetensors file holds ('conversations', 'clips'), or null. */
export function datasetFileKind(path: string): 'conversations' | 'clips' | null {
  try {
    const buf = readFileSync(path);
    const n = Number(buf.readBigUInt64LE(0));
    if (n <= 0 || n > 100_000_000 || 8 + n > buf.length) return null;
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as { __metadata__?: { format?: string } };
    const f = header.__metadata__?.format;
    return f === CLIP_FORMAT ? 'clips' : f === 'mmbalance.conversations' ? 'conversations' : null;
  } catch {
    return null;
  }
}

/** Splits, shapes, sequence lengths and class balance, for `mmbalance data inspect`. */
export function inspectClips(ds: ClipDataset): string {
  const shape = (m: string): string => `${m} [${ds.shapes[m]!.map((d) => (d === -1 ? 'T' : d)).join(', ')}]`;
  const lines = [
    `${ds.name}: clips, ${ds.modalities.length} modalities (${ds.modalities.map(shape).join(', ')}), ${ds.classNames.length} classes`,
  ];
  lines.push(`dev split: ${ds.devSource === 'file' ? 'from the file' : 'held out of the training split'}`);
  const w = Math.max(10, ...ds.classNames.map((c) => c.length + 2));
  lines.push(`${'split'.padEnd(7)}${'samples'.padEnd(9)}${ds.classNames.map((c) => c.padEnd(w)).join('')}`.trimEnd());
  for (const split of SPLITS) {
    const sp = ds.splits[split];
    const counts = new Array<number>(ds.classNames.length).fill(0);
    for (const y of sp.labels) counts[y]!++;
    const n = sp.labels.length;
    lines.push(
      `${split.padEnd(7)}${String(n).padEnd(9)}${counts.map((c) => (n ? `${c} (${((100 * c) / n).toFixed(0)}%)` : '-').padEnd(w)).join('')}`.trimEnd(),
    );
  }
  for (const m of ds.modalities) {
    if (!isVariableSequence(ds.shapes[m]!)) continue;
    const all = SPLITS.flatMap((s) => Array.from(ds.splits[s].lengths[m] ?? []));
    all.sort((a, b) => a - b);
    if (all.length) lines.push(`${m} sequence lengths: min ${all[0]}, median ${all[all.length >> 1]}, max ${all[all.length - 1]}`);
  }
  if (ds.meta && Object.keys(ds.meta).length) for (const [k, v] of Object.entries(ds.meta)) lines.push(`${k}: ${v}`);
  return lines.join('\n');
}
