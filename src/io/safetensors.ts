/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON header, then the data buffer, row-major little-endian.
 *
 * The writer produces the same bytes as the reference implementation (`safetensors.torch.save`):
 * tensors sorted by dtype, widest alignment first, then by name as UTF-8 bytes; compact JSON with
 * `__metadata__` first; the header padded with spaces to a multiple of 8 bytes. The one difference:
 * the reference keeps metadata in a hash map, so with more than one metadata key its key order is
 * random; here metadata keys are written sorted by UTF-8 bytes.
 */
import { readFileSync } from 'node:fs';
import { writeAtomically } from './atomic.js';
import { endianness } from 'node:os';
import { type DType, typedArrayFor } from '../engine/dtype.js';
import { Tensor, fromTypedArray } from '../engine/tensor.js';

/** Element types of the format. U16, U32, U64 and the F8 types can be read raw but have no engine dtype. */
export type SafeDType =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | 'U64' | 'U32' | 'U16' | 'F8_E5M2' | 'F8_E4M3';

/** A tensor as stored in the file: dtype, shape and its little-endian bytes. */
export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsContents {
  /** In file order (by data offset). Each `data` is a view into the parsed bytes, not a copy. */
  tensors: Map<string, RawTensor>;
  /** The `__metadata__` map; empty when the file has none. */
  metadata: Record<string, string>;
}

/** A malformed safetensors file, or tensors that cannot be written as one. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The reference implementation's limit: larger headers are refused rather than parsed. */
export const MAX_HEADER_BYTES = 100_000_000;

// The Rust Dtype enum order (increasing alignment); the writer sorts by descending rank.
const RANK: readonly SafeDType[] = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
];

const ELEMENT_BYTES: Record<SafeDType, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

const TO_ENGINE: Partial<Record<SafeDType, DType>> = {
  F32: 'float32',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  BOOL: 'bool',
  F16: 'float16',
  BF16: 'bfloat16',
  U8: 'uint8',
  I8: 'int8',
  I16: 'int16',
};

const FROM_ENGINE: Record<DType, SafeDType> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  bool: 'BOOL',
  float16: 'F16',
  bfloat16: 'BF16',
  uint8: 'U8',
  int8: 'I8',
  int16: 'I16',
};

const BIG_ENDIAN_HOST = endianness() === 'BE';

function isSafeDType(v: unknown): v is SafeDType {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(ELEMENT_BYTES, v);
}

/** Element size in bytes of a format dtype. */
export function safeDTypeSize(d: SafeDType): number {
  return ELEMENT_BYTES[d];
}

/** Orders strings as Rust does (UTF-8 bytes, i.e. code points), not by UTF-16 units like `<`. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Product of the dims, or -1 when it is not a safe integer (a corrupt shape). */
function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

function fail(message: string): never {
  throw new SafetensorsError(message);
}

const NOT_SAFETENSORS = 'the file is truncated, corrupt or not a safetensors file';

/**
 * Parses and validates a whole safetensors file. Refuses anything the reference implementation
 * refuses: a bad header length, a header that is not a JSON object, unknown dtypes, offsets that do
 * not match shape x dtype size, and data that is not exactly covered by the tensors (no overlap,
 * no gap, no trailing bytes). The returned tensors' `data` are views into `bytes`, not copies.
 */
export function parseSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`parseSafetensors expects a Uint8Array but received ${describe(bytes)}`);
  // A plain Uint8Array view, so tensor data are never Buffers (whose slice() does not copy).
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length prefix: ${NOT_SAFETENSORS}`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n64} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit: ${NOT_SAFETENSORS}`);
  const n = Number(n64);
  if (8 + n > bytes.byteLength)
    fail(`header length ${n} bytes is larger than the ${bytes.byteLength - 8} bytes that follow the prefix: ${NOT_SAFETENSORS}`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(`header is not valid UTF-8: ${NOT_SAFETENSORS}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message}): ${NOT_SAFETENSORS}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(`header must be a JSON object but is ${describe(header)}: ${NOT_SAFETENSORS}`);
  }

  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  const metaEntries: [string, string][] = [];
  const entries: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        fail(`__metadata__ must be an object of strings but is ${describe(value)}`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string')
          fail(`__metadata__ value for key ${JSON.stringify(k)} is ${describe(v)}; metadata values must be strings`);
        metaEntries.push([k, v]);
      }
      continue;
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      fail(`${where}: entry must be an object with dtype, shape and data_offsets but is ${describe(value)}`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (dtype === undefined) fail(`${where}: entry is missing dtype`);
    if (shape === undefined) fail(`${where}: entry is missing shape`);
    if (offsets === undefined) fail(`${where}: entry is missing data_offsets`);
    if (!isSafeDType(dtype)) fail(`${where}: unknown dtype ${describe(dtype)}; supported: ${RANK.join(', ')}`);
    if (!Array.isArray(shape) || !shape.every(isIndex))
      fail(`${where}: shape must be an array of non-negative integers but is ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      fail(`${where}: data_offsets must be [begin, end] with non-negative integers but is ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength)
      fail(`${where}: data_offsets [${begin}, ${end}] are out of range: the data buffer is ${dataLength} bytes (${NOT_SAFETENSORS})`);
    const count = elementCount(shape as number[]);
    const need = count * ELEMENT_BYTES[dtype];
    if (count < 0 || !Number.isSafeInteger(need) || need !== end - begin) {
      const needText = count < 0 || !Number.isSafeInteger(need) ? 'an impossibly large number of' : String(need);
      fail(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${needText} bytes`,
      );
    }
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }

  // The data must be covered exactly, in offset order: no overlap, no gap, nothing after the end.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (const e of entries) {
    if (e.begin < cursor)
      fail(
        `tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(previous)}, which ends at ${cursor}`,
      );
    if (e.begin > cursor)
      fail(
        `tensor ${JSON.stringify(e.name)}: bytes ${cursor}..${e.begin} of the data buffer belong to no tensor (a gap); the format requires the data to be fully covered`,
      );
    cursor = e.end;
    previous = e.name;
  }
  if (cursor !== dataLength) {
    fail(
      `the data buffer is ${dataLength} bytes but the tensors cover only ${cursor}; the ${dataLength - cursor} bytes after them belong to no tensor (${NOT_SAFETENSORS})`,
    );
  }

  const tensors = new Map<string, RawTensor>();
  for (const e of entries)
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(dataStart + e.begin, dataStart + e.end) });
  // fromEntries defines own properties, so a key like "__proto__" stays data, not a prototype.
  return { tensors, metadata: Object.fromEntries(metaEntries) as Record<string, string> };
}

/**
 * Writes tensors and optional metadata as a safetensors file, byte for byte as
 * `safetensors.torch.save` does (see the module comment for the order). Metadata is written
 * whenever it is given, even empty, as the reference does.
 */
export function serializeSafetensors(
  tensors: Record<string, RawTensor> | Map<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of list) {
    const where = `tensor ${JSON.stringify(name)}`;
    if (name === '__metadata__') fail(`"__metadata__" is reserved for the metadata and cannot name a tensor`);
    if (t === null || typeof t !== 'object') fail(`${where}: expected { dtype, shape, data } but received ${describe(t)}`);
    if (!isSafeDType(t.dtype)) fail(`${where}: unknown dtype ${describe(t.dtype)}; supported: ${RANK.join(', ')}`);
    if (!Array.isArray(t.shape) || !t.shape.every(isIndex))
      fail(`${where}: shape must be an array of non-negative integers but is ${JSON.stringify(t.shape)}`);
    if (!(t.data instanceof Uint8Array)) fail(`${where}: data must be a Uint8Array of little-endian bytes but is ${describe(t.data)}`);
    const count = elementCount(t.shape);
    if (count < 0 || count * ELEMENT_BYTES[t.dtype] !== t.data.byteLength) {
      fail(
        `${where}: data is ${t.data.byteLength} bytes but shape [${t.shape.join(', ')}] of ${t.dtype} needs ${count < 0 ? 'an impossibly large number of' : count * ELEMENT_BYTES[t.dtype]} bytes`,
      );
    }
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
      fail(`metadata must be an object of strings but is ${describe(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        fail(
          `metadata value for key ${JSON.stringify(k)} is ${describe(v)}; metadata values must be strings (JSON.stringify other values first)`,
        );
    }
  }

  // Widest alignment first keeps every tensor aligned once the header is padded to 8 bytes.
  const keyed = list.map(([name, t]) => ({ name, key: Buffer.from(name, 'utf8'), rank: RANK.indexOf(t.dtype), t }));
  keyed.sort((a, b) => b.rank - a.rank || Buffer.compare(a.key, b.key));

  // JSON.stringify escapes strings exactly as serde_json does (", \, control characters as \uXXXX).
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const { name, t } of keyed) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const headerLength = json.byteLength + ((8 - (json.byteLength % 8)) % 8);
  if (headerLength > MAX_HEADER_BYTES)
    fail(
      `the header would be ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce; split the tensors over several files`,
    );

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const { t } of keyed) {
    out.set(t.data, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Reverses the bytes of each element in place (only needed on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/** Copies a stored tensor into a new CPU engine tensor. */
export function rawToTensor(raw: RawTensor, name = 'tensor'): Tensor {
  const dtype = TO_ENGINE[raw.dtype];
  if (dtype === undefined) {
    fail(
      `${name}: dtype ${raw.dtype} has no mmbalance dtype (supported: ${Object.keys(TO_ENGINE).join(', ')}); convert it before saving, e.g. in PyTorch with .to(torch.int64) or .float()`,
    );
  }
  // A fresh copy: a file buffer is rarely aligned for Float32Array/BigInt64Array views.
  const copy = new Uint8Array(raw.data.byteLength);
  copy.set(raw.data);
  if (BIG_ENDIAN_HOST) swapBytes(copy, ELEMENT_BYTES[raw.dtype]);
  // libtorch assumes bool bytes are 0 or 1.
  if (dtype === 'bool') for (let i = 0; i < copy.length; i++) if (copy[i]! > 1) copy[i] = 1;
  return fromTypedArray(typedArrayFor(dtype, copy.buffer), raw.shape, { dtype });
}

/** The stored form of an engine tensor (copied to the CPU, contiguous, little-endian). */
export function tensorToRaw(t: Tensor): RawTensor {
  const values = t.toTypedArray();
  const data = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const dtype = FROM_ENGINE[t.dtype];
  if (BIG_ENDIAN_HOST) swapBytes(data, ELEMENT_BYTES[dtype]);
  return { dtype, shape: t.shape, data };
}

function withPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Reads a safetensors file and its metadata; tensors are new CPU tensors, in file order. */
export function readSafetensors(path: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const bytes = readFileSync(path);
  return withPath(path, () => {
    const parsed = parseSafetensors(bytes);
    // Check every dtype before creating any tensor, so a refusal leaves nothing allocated.
    for (const [name, raw] of parsed.tensors) if (TO_ENGINE[raw.dtype] === undefined) rawToTensor(raw, `tensor ${JSON.stringify(name)}`);
    const tensors = new Map<string, Tensor>();
    try {
      for (const [name, raw] of parsed.tensors) tensors.set(name, rawToTensor(raw, `tensor ${JSON.stringify(name)}`));
    } catch (e) {
      for (const t of tensors.values()) t.dispose();
      throw e;
    }
    return { tensors, metadata: parsed.metadata };
  });
}

/** Reads a safetensors file into new CPU tensors, in file order. Use readSafetensors for the metadata too. */
export function loadSafetensors(path: string): Map<string, Tensor> {
  return readSafetensors(path).tensors;
}

/**
 * Writes tensors (from any device) as a safetensors file. The bytes go to `<path>.tmp-<pid>`,
 * are flushed to disk, then renamed over `path`, so a failure never leaves a partial file and
 * never destroys the previous one.
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of list) {
    if (!(t instanceof Tensor)) fail(`tensor ${JSON.stringify(name)}: expected a Tensor but received ${describe(t)}`);
    raw.set(name, tensorToRaw(t));
  }
  const bytes = serializeSafetensors(raw, metadata);
  writeAtomically(path, bytes);
}
