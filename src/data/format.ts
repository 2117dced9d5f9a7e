/**
 * mmbalance's own conversation dataset file: one safetensors file, so a converted dataset loads
 * in a fraction of a second, runs no code and can be inspected by any safetensors tool.
 *
 * Layout (format version 1):
 * - tensors `<split>/<modality>`: float32 [utterances in the split, dims[modality]], the split's
 *   dialogues concatenated in order; `<split>/labels`: int32 [utterances in the split].
 *   Every split and modality has its tensors, possibly with 0 rows.
 * - `__metadata__` (string values):
 *   - `format`: 'mmbalance.conversations', `version`: '1';
 *   - `index`: JSON { name, modalities, dims, classNames, devSource, meta,
 *     splits: { <split>: { ids: string[], offsets: number[] (dialogues + 1 utterance offsets),
 *     speakers: string[][] } } };
 *   - `sentences`: JSON { <split>: (string[] | null)[] }, when any dialogue has sentences. If that
 *     JSON would make the header too large for readers (100 MB limit), it is stored instead as
 *     the UTF-8 tensor `sentences.json` (uint8) and the metadata says `sentences: "tensor"`.
 */
import { readFileSync } from 'node:fs';
import { writeAtomically } from '../io/atomic.js';
import { parseSafetensors, serializeSafetensors, SafetensorsError, type RawTensor } from '../io/safetensors.js';
import { SPLITS, splitUtteranceCount, type ConversationDataset, type Dialogue, type SplitName } from './types.js';
import { DatasetError, validateDataset } from './validate.js';

export const DATASET_FORMAT = 'mmbalance.conversations';
export const DATASET_FORMAT_VERSION = '1';

// Sentences above this size go into a tensor, keeping the header well under the 100 MB limit.
const MAX_SENTENCES_IN_HEADER = 32 * 1024 * 1024;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface SplitIndex {
  ids: string[];
  offsets: number[];
  speakers: string[][];
}

interface DatasetIndex {
  name: string;
  modalities: string[];
  dims: Record<string, number>;
  classNames: string[];
  devSource: ConversationDataset['devSource'];
  meta?: Record<string, string>;
  splits: Record<SplitName, SplitIndex>;
}

/** Little-endian bytes of a typed array (a view on little-endian hosts, a swapped copy otherwise). */
export function leBytes(a: Float32Array | Int32Array): Uint8Array {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (HOST_LITTLE_ENDIAN) return b;
  const c = b.slice();
  for (let i = 0; i < c.length; i += 4) c.subarray(i, i + 4).reverse();
  return c;
}

/** An aligned copy of little-endian bytes, in host order. */
export function hostCopy(b: Uint8Array): ArrayBuffer {
  const c = b.slice();
  if (!HOST_LITTLE_ENDIAN) for (let i = 0; i < c.length; i += 4) c.subarray(i, i + 4).reverse();
  return c.buffer;
}

/** Serializes a dataset to the bytes of a dataset file (validating it first). */
export function serializeDataset(ds: ConversationDataset): Uint8Array {
  validateDataset(ds);
  const tensors = new Map<string, RawTensor>();
  const index: DatasetIndex = {
    name: ds.name,
    modalities: ds.modalities,
    dims: ds.dims,
    classNames: ds.classNames,
    devSource: ds.devSource,
    ...(ds.meta === undefined ? {} : { meta: ds.meta }),
    splits: {
      train: { ids: [], offsets: [], speakers: [] },
      dev: { ids: [], offsets: [], speakers: [] },
      test: { ids: [], offsets: [], speakers: [] },
    },
  };
  const sentences: Record<string, (string[] | null)[]> = {};
  let anySentences = false;
  for (const split of SPLITS) {
    const dialogues = ds.splits[split];
    const total = splitUtteranceCount(ds, split);
    const si = index.splits[split];
    const labels = new Int32Array(total);
    let off = 0;
    si.offsets.push(0);
    for (const d of dialogues) {
      si.ids.push(d.id);
      si.speakers.push(d.speakers);
      labels.set(d.labels, off);
      off += d.labels.length;
      si.offsets.push(off);
    }
    tensors.set(`${split}/labels`, { dtype: 'I32', shape: [total], data: leBytes(labels) });
    for (const m of ds.modalities) {
      const dim = ds.dims[m]!;
      const f = new Float32Array(total * dim);
      let at = 0;
      for (const d of dialogues) {
        f.set(d.features[m]!, at);
        at += d.features[m]!.length;
      }
      tensors.set(`${split}/${m}`, { dtype: 'F32', shape: [total, dim], data: leBytes(f) });
    }
    sentences[split] = dialogues.map((d) => d.sentences ?? null);
    if (dialogues.some((d) => d.sentences !== undefined)) anySentences = true;
  }
  const metadata: Record<string, string> = { format: DATASET_FORMAT, version: DATASET_FORMAT_VERSION, index: JSON.stringify(index) };
  if (anySentences) {
    const json = JSON.stringify(sentences);
    if (json.length > MAX_SENTENCES_IN_HEADER) {
      const bytes = new TextEncoder().encode(json);
      tensors.set('sentences.json', { dtype: 'U8', shape: [bytes.length], data: bytes });
      metadata.sentences = 'tensor';
    } else metadata.sentences = json;
  }
  return serializeSafetensors(tensors, metadata);
}

/**
 * Saves a dataset as one safetensors file (layout in the module comment). The dataset is
 * validated first; the file is written to a temporary name, flushed and renamed, so a failure
 * never leaves a partial file or destroys an earlier one.
 */
export function saveDataset(ds: ConversationDataset, path: string): void {
  writeAtomically(path, serializeDataset(ds));
}

function bad(message: string): never {
  throw new DatasetError(`${message}; the file is not a valid mmbalance dataset (re-create it with saveDataset or 'mmbalance convert')`);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function checkIndex(v: unknown): DatasetIndex {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('the index metadata is not a JSON object');
  const ix = v as Partial<DatasetIndex>;
  if (typeof ix.name !== 'string') bad('the index lacks a name');
  if (!isStringArray(ix.modalities)) bad('the index modalities are not a list of names');
  if (!isStringArray(ix.classNames)) bad('the index classNames are not a list of names');
  if (ix.dims === null || typeof ix.dims !== 'object') bad('the index lacks dims');
  if (ix.devSource !== 'file' && ix.devSource !== 'train-split')
    bad(`the index devSource ${JSON.stringify(ix.devSource)} is not 'file' or 'train-split'`);
  if (ix.splits === null || typeof ix.splits !== 'object') bad('the index lacks splits');
  for (const s of SPLITS) {
    const si = ix.splits[s];
    if (si === undefined || !isStringArray(si.ids) || !Array.isArray(si.offsets) || !Array.isArray(si.speakers))
      bad(`the index entry for the ${s} split is missing or malformed`);
    if (si.offsets.length !== si.ids.length + 1 || si.speakers.length !== si.ids.length || !si.speakers.every(isStringArray))
      bad(
        `the index entry for the ${s} split has ${si.ids.length} ids, ${si.offsets.length} offsets and ${si.speakers.length} speaker lists`,
      );
    for (let i = 0; i < si.offsets.length; i++) {
      const o = si.offsets[i];
      if (!Number.isSafeInteger(o) || (o as number) < (i ? (si.offsets[i - 1] as number) : 0) || (i === 0 && o !== 0))
        bad(`the ${s} split's utterance offsets are not increasing integers from 0`);
    }
  }
  return ix as DatasetIndex;
}

/** Parses the bytes of a dataset file (see saveDataset); validates the result. */
export function parseDataset(bytes: Uint8Array): ConversationDataset {
  const { tensors, metadata } = parseSafetensors(bytes);
  if (metadata.format !== DATASET_FORMAT)
    bad(`the safetensors metadata has format ${JSON.stringify(metadata.format ?? null)}, not ${JSON.stringify(DATASET_FORMAT)}`);
  if (metadata.version !== DATASET_FORMAT_VERSION)
    bad(
      `the file is format version ${JSON.stringify(metadata.version ?? null)}; this version of mmbalance reads version ${DATASET_FORMAT_VERSION}`,
    );
  let ix: DatasetIndex;
  try {
    ix = checkIndex(JSON.parse(metadata.index ?? 'null'));
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    bad(`the index metadata is not valid JSON (${(e as Error).message})`);
  }
  let sentences: Record<string, unknown> | undefined;
  if (metadata.sentences !== undefined) {
    let text = metadata.sentences;
    if (text === 'tensor') {
      const t = tensors.get('sentences.json');
      if (t === undefined || t.dtype !== 'U8') bad('the metadata says sentences are in the tensor sentences.json, which is missing');
      text = new TextDecoder().decode(t.data);
    }
    try {
      sentences = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      bad(`the sentences are not valid JSON (${(e as Error).message})`);
    }
  }

  const splits: Record<SplitName, Dialogue[]> = { train: [], dev: [], test: [] };
  for (const split of SPLITS) {
    const si = ix.splits[split];
    const total = si.offsets[si.offsets.length - 1]!;
    const tensor = (name: string, dtype: 'F32' | 'I32', shape: number[]): ArrayBuffer => {
      const t = tensors.get(name);
      if (t === undefined) bad(`the tensor ${name} is missing`);
      if (t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
        bad(`the tensor ${name} is ${t.dtype} [${t.shape.join(', ')}] but the index needs ${dtype} [${shape.join(', ')}]`);
      // One aligned copy per tensor; dialogues are views into it.
      return hostCopy(t.data);
    };
    const labels = new Int32Array(tensor(`${split}/labels`, 'I32', [total]));
    const feats: Record<string, Float32Array> = {};
    for (const m of ix.modalities) {
      const dim = ix.dims[m];
      if (!Number.isSafeInteger(dim) || (dim as number) < 1) bad(`the index gives modality ${m} the dimension ${String(dim)}`);
      feats[m] = new Float32Array(tensor(`${split}/${m}`, 'F32', [total, dim!]));
    }
    const splitSentences = sentences?.[split];
    si.ids.forEach((id, i) => {
      const a = si.offsets[i]!;
      const b = si.offsets[i + 1]!;
      const features: Record<string, Float32Array> = {};
      for (const m of ix.modalities) features[m] = feats[m]!.subarray(a * ix.dims[m]!, b * ix.dims[m]!);
      const d: Dialogue = { id, features, labels: labels.subarray(a, b), speakers: si.speakers[i]! };
      const s = Array.isArray(splitSentences) ? (splitSentences[i] as unknown) : null;
      if (s !== null && s !== undefined) {
        if (!isStringArray(s)) bad(`the sentences of ${split} dialogue ${JSON.stringify(id)} are not a list of text`);
        d.sentences = s;
      }
      splits[split].push(d);
    });
  }
  const ds: ConversationDataset = {
    name: ix.name,
    modalities: ix.modalities,
    dims: ix.dims,
    classNames: ix.classNames,
    splits,
    devSource: ix.devSource,
    ...(ix.meta === undefined ? {} : { meta: ix.meta }),
  };
  validateDataset(ds);
  return ds;
}

/** Loads a dataset file written by saveDataset. Runs no code from the file and validates the data. */
export function loadDataset(path: string): ConversationDataset {
  const bytes = readFileSync(path);
  try {
    return parseDataset(bytes);
  } catch (e) {
    if (e instanceof DatasetError) {
      const w = new DatasetError('', e.location);
      w.message = `${path}: ${e.message}`;
      throw w;
    }
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path}: ${e.message}`, { cause: e });
    throw e;
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** A human summary: modalities and dims, per-split counts and class distribution, dialogue lengths. */
export function inspectDataset(ds: ConversationDataset): string {
  const lines: string[] = [];
  const mods = ds.modalities.map((m) => `${m} ${ds.dims[m]}`).join(', ');
  lines.push(`${ds.name}: ${ds.modalities.length} modalities (${mods}), ${ds.classNames.length} classes`);
  lines.push(`dev split: ${ds.devSource === 'file' ? 'from the file' : 'held out of the training dialogues'}`);
  // Cells read like '1849 (25%)'.
  const w = Math.max(12, ...ds.classNames.map((c) => c.length + 2));
  lines.push(`${pad('split', 7)}${pad('dialogues', 11)}${pad('utterances', 12)}${ds.classNames.map((c) => pad(c, w)).join('')}`.trimEnd());
  const all: number[] = [];
  const speakers = new Set<string>();
  for (const split of SPLITS) {
    const counts = new Array<number>(ds.classNames.length).fill(0);
    for (const d of ds.splits[split]) {
      all.push(d.labels.length);
      for (const s of d.speakers) speakers.add(s);
      for (const y of d.labels) if (y >= 0 && y < counts.length) counts[y]!++;
    }
    const n = splitUtteranceCount(ds, split);
    const cells = counts.map((c) => pad(n ? `${c} (${((100 * c) / n).toFixed(0)}%)` : '-', w)).join('');
    lines.push(`${pad(split, 7)}${pad(String(ds.splits[split].length), 11)}${pad(String(n), 12)}${cells}`.trimEnd());
  }
  if (all.length) {
    all.sort((a, b) => a - b);
    const total = all.reduce((a, b) => a + b, 0);
    lines.push(
      `utterances per dialogue: min ${all[0]}, median ${all[Math.floor(all.length / 2)]}, max ${all[all.length - 1]}; ${total} utterances in all; ${speakers.size} distinct speaker labels`,
    );
  }
  const hasSentences = SPLITS.some((s) => ds.splits[s].some((d) => d.sentences !== undefined));
  lines.push(`sentences: ${hasSentences ? 'yes' : 'no'}`);
  if (ds.meta && Object.keys(ds.meta).length)
    lines.push(
      `meta: ${Object.entries(ds.meta)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
  return lines.join('\n');
}
