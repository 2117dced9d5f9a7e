/**
 * Turns a folder of users' clip features into a ClipDataset (what `mmbalance data convert DIR
 * OUT.safetensors` converts). The folder holds a labels CSV and, per modality, either
 *
 * - one file `<modality>.npy` or `<modality>.safetensors` (a single tensor) holding an array
 *   [N, ...] whose row i is the sample on the i-th data row of the CSV (rows map to CSV rows in
 *   order, so N must equal the number of CSV rows); or
 * - one sub-folder `<modality>/` holding one `<id>.npy` per sample, named by the CSV's ids; here
 *   sequences [T, d] may vary in T (the modality's shape becomes [-1, d] with per-sample lengths).
 *
 * Both layouts may be mixed, one per modality; modalities are ordered by name. Hidden entries, other
 * top-level files and a sub-folder holding the labels CSV are ignored. Per-sample files are found
 * by listing the folder and matching names to ids, so an id never becomes a path. A sample's shape
 * is [d], [T, d] or [C, H, W]; values of any numeric .npy dtype (or safetensors dtype but F8)
 * become float32.
 *
 * The CSV has the header `id,label` or `id,label,split` (columns in any order, values may be
 * quoted). Labels are class names or integers: with `classNames` given, labels are those names
 * (or, when every label is an integer, indices into them); without, integer labels 0..K-1 name the
 * classes "0".."K-1", and other labels are class names ordered by code point (as Python's sorted()
 * and sklearn's LabelEncoder order them). Split values are train, dev and test; without dev rows,
 * a seeded `devFraction` of the training rows is held out as dev (devSource 'train-split'), chosen
 * exactly as holdOutClipDev chooses them.
 *
 * Streaming: a per-modality .npy file larger than `streamAboveBytes` is read in chunks of about
 * `chunkBytes` (npyRows), each copied straight into its samples' places in the splits, so reading it
 * never holds a second full-size copy of the file's bytes: peak memory is the converted float32
 * dataset plus one chunk (its bytes and their float32 values). Smaller files are read whole first (one full-size copy of the file more,
 * briefly). The dataset itself always holds every float32 value in memory. A .safetensors
 * modality file is always read whole.
 *
 * Problems raise a DatasetError naming split, sample and field (`label`, `id`, `split`, or the
 * modality) and how to fix them; an unreadable .npy raises NpyError, a malformed .safetensors
 * SafetensorsError, each naming the file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { checkInt, checkNumber, invalid } from '../../engine/errors.js';
import { elementsToFloat32, type NpyDType, npyRows, npyToFloat32, readNpy, readNpyHeader } from '../../io/npy.js';
import { parseSafetensors, type RawTensor, type SafeDType, SafetensorsError } from '../../io/safetensors.js';
import { SPLITS, type SplitName } from '../dataset.js';
import { shuffled } from '../split.js';
import { DatasetError, type DatasetLocation } from '../validate.js';
import type { ClipDataset, ClipSplit } from './types.js';

export interface ClipFolderOptions {
  /** The labels CSV; default `<dir>/labels.csv`. */
  labels?: string;
  /** Share of the training rows held out as dev when the CSV marks none as dev; in (0, 1), default 0.1. */
  devFraction?: number;
  /** Seed of the dev hold-out; default 0. */
  seed?: number;
  /** The classes, in index order; labels must then be these names or indices into them. */
  classNames?: string[];
  /** Per-modality .npy files larger than this are read in chunks; default 256 MiB. */
  streamAboveBytes?: number;
  /** Bytes per chunk when streaming (rounded to whole rows, at least one); default 16 MiB. */
  chunkBytes?: number;
}

export const DEFAULT_STREAM_ABOVE_BYTES = 256 * 1024 * 1024;

export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;
const LAYOUTS = 'a <modality>.npy or <modality>.safetensors file of [N, ...] rows in CSV order, or a <modality>/ folder of <id>.npy files';

interface Row {
  /** 1-based line of the CSV where the row starts. */
  line: number;
  id: string;
  label: string;
  split: SplitName;
}

/** Where each CSV row goes: its split and its position there. */
interface Plan {
  rows: Row[];
  /** Split of CSV row r after the dev hold-out. */
  split: SplitName[];
  /** Position of CSV row r within its split. */
  pos: Int32Array;
  /** CSV row indices of each split, in CSV order. */
  members: Record<SplitName, number[]>;
  csv: string;
}

/** One modality's converted values per split. */
interface ModalityData {
  shape: number[];
  features: Record<SplitName, Float32Array>;
  lengths?: Record<SplitName, Int32Array>;
  /** For error messages: where the sample on CSV row r came from. */
  source: (r: number) => string;
  /** How the modality was stored, for the dataset's meta. */
  stored: string;
}

function fail(message: string, location: DatasetLocation = {}): never {
  throw new DatasetError(message, location);
}

function at(plan: Plan, r: number, field?: string): DatasetLocation {
  const row = plan.rows[r]!;
  return { split: plan.split[r]!, sample: row.id, ...(field !== undefined ? { field } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Labels CSV

/** RFC 4180 records with the line each starts on: quoted fields may hold commas, quotes ("") and newlines. */
function parseCsvRecords(text: string, file: string): { line: number; fields: string[] }[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  let line = 1;
  let start = 1;
  const endField = (): void => {
    fields.push(wasQuoted ? field : field.trim());
    field = '';
    wasQuoted = false;
  };
  const endRecord = (): void => {
    endField();
    if (fields.length > 1 || fields[0] !== '') out.push({ line: start, fields });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      wasQuoted = true;
      field = '';
    } else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else field += c;
  }
  if (quoted) fail(`${file}: a quoted field opened on line ${line} is never closed; close the quote (write "" for a quote inside a field)`);
  endRecord();
  return out;
}

function readRows(file: string, hasSplitColumn: { value: boolean }): Row[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(
      `cannot read the labels file ${file} (${(e as Error).message}); write a CSV with the header id,label[,split] there, or name it with the labels option`,
    );
  }
  const records = parseCsvRecords(text, file);
  const header = records.shift();
  if (header === undefined) fail(`${file} is empty; it needs the header id,label[,split] and one row per sample`);
  const names = header.fields.map((f) => f.toLowerCase());
  const col = (n: string): number => names.indexOf(n);
  const unknown = names.filter((n) => !['id', 'label', 'split'].includes(n));
  if (col('id') < 0 || col('label') < 0 || unknown.length > 0 || new Set(names).size !== names.length)
    fail(`${file}: the header is ${JSON.stringify(header.fields.join(','))} but must be id,label or id,label,split (each column once)`);
  hasSplitColumn.value = col('split') >= 0;
  if (records.length === 0) fail(`${file} has a header but no rows; add one row per sample`);
  return records.map(({ line, fields }) => {
    if (fields.length !== names.length)
      fail(`${file} line ${line} has ${fields.length} fields but the header has ${names.length}; quote fields that contain commas`);
    const id = fields[col('id')]!;
    const label = fields[col('label')]!;
    const s = hasSplitColumn.value ? fields[col('split')]!.toLowerCase() : 'train';
    if (id === '') fail(`${file} line ${line} has an empty id; give every sample an id`, { field: 'id' });
    if (!(SPLITS as readonly string[]).includes(s))
      fail(`${file} line ${line}: split ${JSON.stringify(fields[col('split')])} is not train, dev or test`, { sample: id, field: 'split' });
    const split = s as SplitName;
    if (label === '') fail(`${file} line ${line} has an empty label; give every sample a label`, { split, sample: id, field: 'label' });
    return { line, id, label, split };
  });
}

const INTEGER = /^-?[0-9]+$/;
// Integer labels name classes 0..max; a larger index is a typo, not 100,000 classes.
const MAX_CLASS_INDEX = 65535;

/** Code point order, as Python's sorted() orders strings. */
function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function resolveLabels(rows: Row[], given: string[] | undefined, file: string): { classNames: string[]; labels: Int32Array } {
  const labels = new Int32Array(rows.length);
  const where = (r: Row): DatasetLocation => ({ split: r.split, sample: r.id, field: 'label' });
  const allIntegers = rows.every((r) => INTEGER.test(r.label));
  if (given !== undefined) {
    const index = new Map(given.map((n, i) => [n, i]));
    const byName = rows.some((r) => index.has(r.label)) || !allIntegers;
    rows.forEach((r, i) => {
      const k = byName ? index.get(r.label) : Number(r.label);
      if (k === undefined || !(k >= 0 && k < given.length))
        fail(
          byName
            ? `${file} line ${r.line}: label ${JSON.stringify(r.label)} is not one of the classes ${given.join(', ')}; fix the label or the classNames`
            : `${file} line ${r.line}: label ${r.label} is no index into the ${given.length} classes (0 to ${given.length - 1}); fix the label or the classNames`,
          where(r),
        );
      labels[i] = k;
    });
    return { classNames: [...given], labels };
  }
  if (allIntegers) {
    let max = -1;
    rows.forEach((r, i) => {
      const k = Number(r.label);
      if (!(k >= 0 && k <= MAX_CLASS_INDEX))
        fail(
          `${file} line ${r.line}: label ${r.label} is not a class index from 0 to ${MAX_CLASS_INDEX}; use class indices 0..K-1, or class names`,
          where(r),
        );
      labels[i] = k;
      max = Math.max(max, k);
    });
    return { classNames: Array.from({ length: max + 1 }, (_, k) => String(k)), labels };
  }
  const classNames = [...new Set(rows.map((r) => r.label))].sort(compareCodePoints);
  const index = new Map(classNames.map((n, i) => [n, i]));
  rows.forEach((r, i) => (labels[i] = index.get(r.label)!));
  return { classNames, labels };
}

function makePlan(
  rows: Row[],
  devFraction: number,
  seed: number,
  csv: string,
  hasSplitColumn: boolean,
): { plan: Plan; devSource: 'file' | 'train-split' } {
  const seen = new Map<string, Row>();
  for (const r of rows) {
    const first = seen.get(r.id);
    if (first !== undefined)
      fail(`${csv}: the id appears on line ${first.line} and again on line ${r.line}; ids must be unique`, {
        split: r.split,
        sample: r.id,
        field: 'id',
      });
    seen.set(r.id, r);
  }
  const split = rows.map((r) => r.split);
  let devSource: 'file' | 'train-split' = 'file';
  if (!split.includes('dev')) {
    const train = split.flatMap((s, r) => (s === 'train' ? [r] : []));
    if (train.length < 2)
      fail(`cannot hold out a dev split from ${train.length} training sample(s); mark dev samples in the split column of ${csv}`, {
        split: 'train',
      });
    const k = Math.max(1, Math.round(train.length * devFraction));
    for (const i of shuffled(
      Array.from({ length: train.length }, (_, i) => i),
      seed,
    ).slice(0, k))
      split[train[i]!] = 'dev';
    devSource = 'train-split';
  }
  const members: Record<SplitName, number[]> = { train: [], dev: [], test: [] };
  const pos = new Int32Array(rows.length);
  split.forEach((s, r) => {
    pos[r] = members[s].length;
    members[s].push(r);
  });
  if (members.train.length === 0) fail(`the training split is empty; mark training samples with split train in ${csv}`, { split: 'train' });
  if (members.test.length === 0)
    fail(
      hasSplitColumn
        ? `the test split is empty; mark test samples with split test in ${csv}`
        : `${csv} has no split column, so every sample is a training sample; add a split column with train, dev or test per row`,
      { split: 'test' },
    );
  return { plan: { rows, split, pos, members, csv }, devSource };
}

// ---------------------------------------------------------------------------------------------
// Modalities

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function allocate(plan: Plan, valuesOf: (s: SplitName) => number): Record<SplitName, Float32Array> {
  return { train: new Float32Array(valuesOf('train')), dev: new Float32Array(valuesOf('dev')), test: new Float32Array(valuesOf('test')) };
}

/** Checks a stacked array [N, ...sample] against the CSV and returns the sample shape. */
function stackedSampleShape(shape: readonly number[], m: string, file: string, plan: Plan): number[] {
  const sample = shape.slice(1);
  if (shape.length < 2 || shape.length > 4 || sample.some((d) => d < 1))
    fail(
      `${file} holds an array of shape ${describeShape(shape)}; a modality file needs [N, d], [N, T, d] or [N, C, H, W] (every dimension at least 1), one row per CSV row`,
      { field: m },
    );
  const n = shape[0]!;
  const rows = plan.rows.length;
  if (n < rows)
    fail(
      `the sample on ${plan.csv} line ${plan.rows[n]!.line} has no data: ${file} has ${n} rows, one per CSV row in order, but the CSV has ${rows}; add the missing rows or remove the extra CSV rows`,
      at(plan, n, m),
    );
  if (n > rows)
    fail(
      `row ${rows} of ${file} has no CSV row: the file has ${n} rows, one per CSV row in order, but ${plan.csv} has ${rows}; add the missing CSV rows or drop the extra file rows`,
      { field: m },
    );
  return sample;
}

/** Copies rows [first, first + count) of a stacked array to their samples' places. */
function scatterRows(src: Float32Array, first: number, count: number, row: number, plan: Plan, out: Record<SplitName, Float32Array>): void {
  for (let i = 0; i < count; i++) {
    const r = first + i;
    out[plan.split[r]!].set(src.subarray(i * row, (i + 1) * row), plan.pos[r]! * row);
  }
}

function fromStacked(
  file: string,
  plan: Plan,
  sample: number[],
  fill: (out: Record<SplitName, Float32Array>, row: number) => void,
  stored: string,
): ModalityData {
  const row = sample.reduce((a, d) => a * d, 1);
  const features = allocate(plan, (s) => plan.members[s].length * row);
  fill(features, row);
  return { shape: sample, features, source: (r) => `row ${r} of ${file}`, stored };
}

function readNpyModality(m: string, file: string, plan: Plan, streamAboveBytes: number, chunkBytes: number): ModalityData {
  const h = readNpyHeader(file);
  const sample = stackedSampleShape(h.shape, m, file, plan);
  const stream = statSync(file).size > streamAboveBytes;
  return fromStacked(
    file,
    plan,
    sample,
    (out, row) => {
      if (!stream) return scatterRows(npyToFloat32(readNpy(file)), 0, plan.rows.length, row, plan, out);
      const rowsPerChunk = Math.max(1, Math.floor(chunkBytes / Math.max(1, row * h.itemSize)));
      for (const c of npyRows(file, rowsPerChunk)) scatterRows(c.data, c.start, c.rows, row, plan, out);
    },
    `${basename(file)}${stream ? ' (streamed)' : ''}`,
  );
}

const SAFE_TO_NPY: Partial<Record<SafeDType, NpyDType>> = {
  F16: 'float16',
  F32: 'float32',
  F64: 'float64',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  U8: 'uint8',
  U16: 'uint16',
  U32: 'uint32',
  U64: 'uint64',
  BOOL: 'bool',
};

function safetensorsToFloat32(t: RawTensor, file: string, m: string): Float32Array {
  if (t.dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const out = new Float32Array(t.data.byteLength / 2);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = (t.data[2 * i]! | (t.data[2 * i + 1]! << 8)) << 16;
    return out;
  }
  const d = SAFE_TO_NPY[t.dtype];
  if (d === undefined) fail(`${file} holds ${t.dtype} values, which cannot be converted; save the tensor as F32`, { field: m });
  return elementsToFloat32(t.data, d, true);
}

function readSafetensorsModality(m: string, file: string, plan: Plan): ModalityData {
  let tensors: Map<string, RawTensor>;
  try {
    tensors = parseSafetensors(readFileSync(file)).tensors;
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
  if (tensors.size !== 1)
    fail(
      `${file} holds ${tensors.size} tensors (${[...tensors.keys()].join(', ') || 'none'}); a modality file holds exactly one [N, ...] tensor, so save each modality to its own file`,
      { field: m },
    );
  const t = tensors.values().next().value!;
  const sample = stackedSampleShape(t.shape, m, file, plan);
  const values = safetensorsToFloat32(t, file, m);
  return fromStacked(file, plan, sample, (out, row) => scatterRows(values, 0, plan.rows.length, row, plan, out), basename(file));
}

function readFolderModality(m: string, folder: string, plan: Plan): ModalityData {
  const fileOf = new Map<string, string>();
  for (const name of readdirSync(folder).sort(compareCodePoints)) {
    if (name.startsWith('.')) continue;
    const path = join(folder, name);
    if (!name.endsWith('.npy') || !statSync(path).isFile())
      fail(`${path} is not an <id>.npy file; a modality folder holds only one <id>.npy per sample, so move it out`, { field: m });
    fileOf.set(name.slice(0, -4), path);
  }
  const ids = new Set(plan.rows.map((r) => r.id));
  for (const [id, path] of fileOf)
    if (!ids.has(id))
      fail(`${path} has no row in ${plan.csv}; add a row for sample ${JSON.stringify(id)} or remove the file`, { field: m });

  // Pass 1, headers only: every sample's shape, so the splits are allocated once.
  const shapes: number[][] = [];
  let ref: { shape: number[]; r: number } | undefined;
  let varies = false;
  for (let r = 0; r < plan.rows.length; r++) {
    const row = plan.rows[r]!;
    const path = fileOf.get(row.id);
    if (path === undefined)
      fail(`there is no ${m}/${row.id}.npy for this sample; add the file or remove the sample's row from ${plan.csv}`, at(plan, r, m));
    const shape = readNpyHeader(path).shape;
    const wrong = (why: string): never => fail(`${path} has shape ${describeShape(shape)}: ${why}`, at(plan, r, m));
    if (shape.length === 0 || shape.length > 3) wrong('a sample needs shape [d], [T, d] or [C, H, W]');
    if (shape.length === 2 && shape[0] === 0)
      wrong('the sequence is empty; every sequence needs at least one step (drop the sample or give it one)');
    if (shape.some((d) => d === 0)) wrong('a dimension is 0; every dimension of a sample must be at least 1');
    if (ref === undefined) ref = { shape, r };
    else {
      const refShape = ref.shape;
      const same = refShape.length === shape.length && shape.every((d, i) => d === refShape[i] || (i === 0 && shape.length === 2));
      if (!same)
        wrong(
          `the first sample (${JSON.stringify(plan.rows[ref.r]!.id)}) has ${describeShape(ref.shape)}; every sample of a modality has the same shape, only a sequence's length T (the first of [T, d]) may differ`,
        );
      if (shape.length === 2 && shape[0] !== ref.shape[0]) varies = true;
    }
    shapes.push(shape);
  }
  const first = ref!.shape;
  const shape = varies ? [-1, first[1]!] : first;
  const size = (r: number): number => shapes[r]!.reduce((a, d) => a * d, 1);
  const offsets = new Float64Array(plan.rows.length);
  const features = allocate(plan, (s) => {
    let total = 0;
    for (const r of plan.members[s]) {
      offsets[r] = total;
      total += size(r);
    }
    return total;
  });
  let lengths: Record<SplitName, Int32Array> | undefined;
  if (varies) {
    const ls = (s: SplitName): Int32Array => Int32Array.from(plan.members[s], (r) => shapes[r]![0]!);
    lengths = { train: ls('train'), dev: ls('dev'), test: ls('test') };
  }

  // Pass 2: the values (the headers were checked above; readNpy checks each file again).
  plan.rows.forEach((row, r) => {
    const path = fileOf.get(row.id)!;
    const a = readNpy(path);
    if (a.shape.join() !== shapes[r]!.join()) fail(`${path} changed while it was being read; convert again`, at(plan, r, m));
    features[plan.split[r]!].set(npyToFloat32(a), offsets[r]!);
  });
  return {
    shape,
    features,
    ...(lengths ? { lengths } : {}),
    source: (r) => `${m}/${plan.rows[r]!.id}.npy`,
    stored: `${m}/ (one <id>.npy per sample)`,
  };
}

/** Fails on the first non-finite value, naming its split, sample and place. */
function checkFinite(m: string, d: ModalityData, plan: Plan): void {
  const width = d.lengths ? d.shape[1]! : d.shape.reduce((a, x) => a * x, 1);
  for (const s of SPLITS) {
    const f = d.features[s];
    const lengths = d.lengths?.[s];
    let start = 0;
    for (let i = 0; i < plan.members[s].length; i++) {
      const end = start + (lengths ? lengths[i]! * width : width);
      let k = start;
      // x - x is 0 for every finite x, NaN for NaN and +-Infinity.
      while (k < end && f[k]! - f[k]! === 0) k++;
      if (k < end) {
        const r = plan.members[s][i]!;
        const into = k - start;
        const v = f[k]!;
        const place = lengths ? `step ${Math.floor(into / width)}, element ${into % width}` : `element ${into}`;
        fail(
          `value ${v} at ${place} of ${d.source(r)} is not finite; replace NaN/Inf (e.g. with 0) or drop the sample, then convert again`,
          at(plan, r, m),
        );
      }
      start = end;
    }
  }
}

function findModalities(dir: string, labelsFile: string): Map<string, { kind: 'npy' | 'safetensors' | 'folder'; path: string }> {
  const found = new Map<string, { kind: 'npy' | 'safetensors' | 'folder'; path: string }>();
  for (const name of readdirSync(dir).sort(compareCodePoints)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    // The labels file, or a sub-folder holding it, is not a modality.
    if (resolve(path) === resolve(labelsFile) || resolve(labelsFile).startsWith(resolve(path) + sep)) continue;
    const st = statSync(path);
    const kind = st.isDirectory() ? 'folder' : name.endsWith('.npy') ? 'npy' : name.endsWith('.safetensors') ? 'safetensors' : undefined;
    if (kind === undefined) continue;
    const m = kind === 'folder' ? name : name.slice(0, name.lastIndexOf('.'));
    const other = found.get(m);
    if (other !== undefined)
      fail(`modality ${JSON.stringify(m)} is stored twice (${other.path} and ${path}); keep one of them`, { field: m });
    found.set(m, { kind, path });
  }
  if (found.size === 0) fail(`${dir} holds no modality; give each modality as ${LAYOUTS}`);
  return found;
}

interface CheckedOptions {
  devFraction: number;
  seed: number;
  streamAboveBytes: number;
  chunkBytes: number;
  classNames?: string[];
}

function checkOptions(o: ClipFolderOptions): CheckedOptions {
  if (o === null || typeof o !== 'object') throw invalid('options', 'an object', o);
  if (o.labels !== undefined && typeof o.labels !== 'string') throw invalid('labels', 'a path to a CSV file', o.labels);
  const devFraction = o.devFraction ?? 0.1;
  if (typeof devFraction !== 'number' || !(devFraction > 0 && devFraction < 1))
    throw invalid('devFraction', 'a number between 0 and 1 (exclusive)', devFraction);
  const seed = checkInt('seed', o.seed ?? 0);
  const streamAboveBytes = checkNumber('streamAboveBytes', o.streamAboveBytes ?? DEFAULT_STREAM_ABOVE_BYTES, 0);
  const chunkBytes = checkNumber('chunkBytes', o.chunkBytes ?? DEFAULT_CHUNK_BYTES, 1);
  const c = o.classNames;
  if (
    c !== undefined &&
    (!Array.isArray(c) || c.length < 2 || !c.every((n) => typeof n === 'string' && n !== '') || new Set(c).size !== c.length)
  )
    throw invalid('classNames', 'an array of at least 2 distinct, non-empty class names', c);
  return { devFraction, seed, streamAboveBytes, chunkBytes, ...(c !== undefined ? { classNames: c } : {}) };
}

/** Reads a folder of clip features and its labels CSV into a ClipDataset (see the module comment). */
export function readClipFolder(dir: string, o: ClipFolderOptions = {}): ClipDataset {
  if (typeof dir !== 'string') throw invalid('dir', 'a folder path', dir);
  const opts = checkOptions(o);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    fail(`${dir} is not a folder; give the folder that holds the features and labels.csv`);
  const csv = o.labels ?? join(dir, 'labels.csv');

  const hasSplitColumn = { value: false };
  const rows = readRows(csv, hasSplitColumn);
  const { classNames, labels } = resolveLabels(rows, opts.classNames, csv);
  if (classNames.length < 2)
    fail(`${csv} names ${classNames.length} class (${classNames.join(', ')}); classification needs at least 2`, { field: 'label' });
  const { plan, devSource } = makePlan(rows, opts.devFraction, opts.seed, csv, hasSplitColumn.value);

  const modalities = findModalities(dir, csv);
  const data = new Map<string, ModalityData>();
  for (const [m, { kind, path }] of modalities) {
    const d =
      kind === 'npy'
        ? readNpyModality(m, path, plan, opts.streamAboveBytes, opts.chunkBytes)
        : kind === 'safetensors'
          ? readSafetensorsModality(m, path, plan)
          : readFolderModality(m, path, plan);
    checkFinite(m, d, plan);
    data.set(m, d);
  }

  const split = (s: SplitName): ClipSplit => {
    const members = plan.members[s];
    const features: Record<string, Float32Array> = {};
    const lengths: Record<string, Int32Array> = {};
    for (const [m, d] of data) {
      features[m] = d.features[s];
      if (d.lengths) lengths[m] = d.lengths[s];
    }
    return { ids: members.map((r) => rows[r]!.id), labels: Int32Array.from(members, (r) => labels[r]!), features, lengths };
  };
  const names = [...data.keys()];
  return {
    name: basename(resolve(dir)),
    modalities: names,
    shapes: Object.fromEntries(names.map((m) => [m, data.get(m)!.shape])),
    classNames,
    splits: { train: split('train'), dev: split('dev'), test: split('test') },
    devSource,
    meta: {
      builder: 'readClipFolder',
      source: resolve(dir),
      labels: resolve(csv),
      files: names.map((m) => `${m}: ${data.get(m)!.stored}`).join('; '),
      ...(devSource === 'train-split' ? { devFraction: String(opts.devFraction), seed: String(opts.seed) } : {}),
    },
  };
}
