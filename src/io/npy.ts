/**
 * NumPy's `.npy` format (format versions 1.0, 2.0 and 3.0): the magic `\x93NUMPY`, a major and
 * minor version byte, a little-endian header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0), a
 * Python dict literal `{'descr': ..., 'fortran_order': ..., 'shape': (...)}` (latin-1 in 1.0 and
 * 2.0, UTF-8 in 3.0), then the elements, one after another with no gaps.
 *
 * The header is parsed by a small literal parser, never evaluated. Object arrays (descr 'O') are
 * refused: their data is a pickle, and unpickling can run arbitrary code. Every problem with the
 * file raises an NpyError naming it; the data size is checked against the file size before any
 * allocation, so a corrupt header cannot make the reader allocate what the file does not hold.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { checkInt } from '../engine/errors.js';

/** Element types the reader decodes. */
export type NpyDType =
  'float16' | 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

/** What the header says, checked against the file's size. */
export interface NpyHeader {
  /** '1.0', '2.0' or '3.0'. */
  version: string;
  /** The dtype string as written ('<f4', '>i8', '|b1'...). */
  descr: string;
  dtype: NpyDType;
  /** Byte order of the stored elements ('=' and '|' resolve to the host's order). */
  littleEndian: boolean;
  itemSize: number;
  /** True when the elements are stored column-major (readers transpose to row-major). */
  fortranOrder: boolean;
  /** [] for a 0-d array. */
  shape: number[];
  /** Number of elements: the product of the shape (1 for a 0-d array). */
  count: number;
  /** Byte offset of the first element in the file. */
  dataOffset: number;
  /** count * itemSize: the file holds exactly this many bytes after the header. */
  dataBytes: number;
}

/** Decoded elements, row-major, host byte order. float16 decodes (exactly) to a Float32Array; bool to 0/1 bytes. */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

/** One chunk of rows from npyRows: rows [start, start + rows) of the array as float32, row-major. */
export interface NpyRowChunk {
  start: number;
  rows: number;
  data: Float32Array;
}

/** A file that is not a .npy file that can be read safely; the message names the file and what to do. */
export class NpyError extends Error {
  override name = 'NpyError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** Larger headers are refused: a plain array's header is under 200 bytes, numpy's own limit is 10,000. */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const HOST_LITTLE = endianness() === 'LE';

const ITEM_SIZE: Record<NpyDType, number> = {
  float16: 2,
  float32: 4,
  float64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

const KIND_SIZE: Record<string, NpyDType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

const SUPPORTED = 'float16/32/64 (<f2, <f4, <f8), int8/16/32/64 (|i1, <i2, <i4, <i8), uint8/16/32/64 (|u1, <u2, <u4, <u8), bool (|b1)';
const RESAVE = 'save it with a numeric dtype, e.g. np.save(path, np.asarray(x, dtype=np.float32))';

/** Element size in bytes of a dtype. */
export function npyItemSize(d: NpyDType): number {
  return ITEM_SIZE[d];
}

// ---------------------------------------------------------------------------------------------
// The header's Python literal: dicts, tuples, lists, strings, integers, True/False/None.

type PyValue = string | bigint | boolean | null | PyValue[] | PyTuple | Map<string, PyValue>;

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

const MAX_DEPTH = 32;
const MAX_INT_DIGITS = 40;

class LiteralParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly bad: (why: string) => never,
  ) {}

  parseWhole(): PyValue {
    const v = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.bad(`unexpected ${this.show()} after the header's dict`);
    return v;
  }

  private show(): string {
    if (this.pos >= this.text.length) return 'end of header';
    return `character ${JSON.stringify(this.text[this.pos])} at header offset ${this.pos}`;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos++;
  }

  private value(depth: number): PyValue {
    if (depth > MAX_DEPTH) this.bad(`the header nests deeper than ${MAX_DEPTH} levels`);
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.dict(depth);
    if (c === '(') return this.sequence(depth, ')');
    if (c === '[') return this.sequence(depth, ']');
    if (c === "'" || c === '"') return this.string();
    if ((c === 'u' || c === 'b') && (this.text[this.pos + 1] === "'" || this.text[this.pos + 1] === '"')) {
      this.pos++;
      return this.string();
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.integer();
    for (const [word, v] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    this.bad(`expected a value but found ${this.show()}`);
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== c) this.bad(`expected ${JSON.stringify(c)} but found ${this.show()}`);
    this.pos++;
  }

  private dict(depth: number): Map<string, PyValue> {
    this.pos++;
    const out = new Map<string, PyValue>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') break;
      const key = this.value(depth + 1);
      if (typeof key !== 'string') this.bad('a header dict key is not a string');
      if (out.has(key)) this.bad(`the header repeats the key ${JSON.stringify(key)}`);
      this.expect(':');
      out.set(key, this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== '}') this.bad(`expected ',' or '}' but found ${this.show()}`);
    }
    this.pos++;
    return out;
  }

  private sequence(depth: number, close: ')' | ']'): PyValue {
    this.pos++;
    const items: PyValue[] = [];
    let trailingComma = false;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) break;
      items.push(this.value(depth + 1));
      this.skipSpace();
      trailingComma = this.text[this.pos] === ',';
      if (trailingComma) this.pos++;
      else if (this.text[this.pos] !== close) this.bad(`expected ',' or '${close}' but found ${this.show()}`);
    }
    this.pos++;
    if (close === ']') return items;
    // Python: `(3)` is the integer 3, `(3,)` a one-element tuple.
    if (items.length === 1 && !trailingComma) return items[0]!;
    return new PyTuple(items);
  }

  private string(): string {
    const quote = this.text[this.pos]!;
    this.pos++;
    let s = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n') this.bad('a string in the header is not closed');
      this.pos++;
      if (c === quote) return s;
      if (c !== '\\') {
        s += c;
        continue;
      }
      const e = this.text[this.pos++];
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0' };
      if (e !== undefined && simple[e] !== undefined) s += simple[e];
      else if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = this.text.slice(this.pos, this.pos + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) this.bad(`a string in the header has a bad \\${e} escape`);
        s += String.fromCharCode(parseInt(hex, 16));
        this.pos += n;
      } else this.bad(`a string in the header has an unknown escape \\${e ?? ''}`);
    }
  }

  private integer(): bigint {
    const m = /^-?[0-9]+/.exec(this.text.slice(this.pos, this.pos + MAX_INT_DIGITS + 2));
    if (!m) this.bad(`expected an integer but found ${this.show()}`);
    const digits = m[0];
    if (digits.replace('-', '').length > MAX_INT_DIGITS) this.bad(`an integer in the header has more than ${MAX_INT_DIGITS} digits`);
    this.pos += digits.length;
    // Python 2 wrote long integers with an L suffix: (3L, 4L).
    if (this.text[this.pos] === 'L' || this.text[this.pos] === 'l') this.pos++;
    return BigInt(digits);
  }
}

// ---------------------------------------------------------------------------------------------
// The header

function describeValue(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof PyTuple) return `a tuple of ${v.items.length}`;
  if (v instanceof Map) return 'a dict';
  return `a list of ${v.length}`;
}

function parseDescr(descr: PyValue | undefined, bad: (why: string) => never): { dtype: NpyDType; littleEndian: boolean; descr: string } {
  if (Array.isArray(descr))
    bad(`the array has a structured (record) dtype, which cannot be read; save each field as its own array and ${RESAVE}`);
  if (typeof descr !== 'string') bad(`'descr' must be a dtype string like '<f4' but is ${describeValue(descr)}`);
  const m = /^([<>|=]?)([A-Za-z?])(\d*)$/.exec(descr);
  if (m && m[2] === 'O')
    bad(
      'the file holds Python objects (dtype object, written with allow_pickle=True); its data is a pickle, which can run arbitrary code when loaded, so it cannot be read safely. Save the data with a numeric dtype instead, e.g. np.save(path, np.asarray(x, dtype=np.float32)); for sequences of different lengths, save one file per sample',
    );
  const kind = m ? (m[2] === '?' && m[3] === '' ? 'b1' : `${m[2]}${m[3]}`) : '';
  const dtype = KIND_SIZE[kind];
  if (!m || dtype === undefined) bad(`dtype ${JSON.stringify(descr)} is not supported (supported: ${SUPPORTED}); ${RESAVE}`);
  const order = m[1];
  const littleEndian = order === '<' ? true : order === '>' ? false : HOST_LITTLE;
  return { dtype, littleEndian, descr };
}

function parseShape(v: PyValue | undefined, bad: (why: string) => never): number[] {
  if (!(v instanceof PyTuple)) bad(`'shape' must be a tuple of non-negative integers but is ${describeValue(v)}`);
  return v.items.map((d) => {
    if (typeof d !== 'bigint' || d < 0n) bad(`'shape' must be a tuple of non-negative integers but holds ${describeValue(d)}`);
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) bad(`shape dimension ${d} is impossibly large: the header is corrupt`);
    return Number(d);
  });
}

/**
 * Reads and checks the header from the file's first bytes. `prefix` holds at least the preamble
 * and header; `fileSize` is the whole file's size, against which the data size is checked.
 */
function parseHeader(prefix: Uint8Array, fileSize: number, file: string): NpyHeader {
  // Annotated so the compiler narrows after each call (a never-returning arrow needs it).
  const bad: (why: string) => never = (why) => {
    throw new NpyError(file, why);
  };
  const truncated = 'the file is truncated or not a .npy file';
  if (fileSize < MAGIC.length) bad(`the file is ${fileSize} bytes, too short for the .npy magic: ${truncated}`);
  if (!MAGIC.every((b, i) => prefix[i] === b)) {
    const hint =
      prefix[0] === 0x50 && prefix[1] === 0x4b
        ? ' It looks like a .npz (zip) archive: load it with np.load and save each array with np.save.'
        : prefix[0] === 0x80
          ? ' It looks like a Python pickle: load it in Python and save the arrays with np.save.'
          : '';
    bad(`the file does not start with the .npy magic \\x93NUMPY: it is not a .npy file.${hint}`);
  }
  if (fileSize < 8) bad(`the file ends inside the version bytes: ${truncated}`);
  const major = prefix[6]!;
  const minor = prefix[7]!;
  if (major < 1 || major > 3 || minor !== 0)
    bad(`format version ${major}.${minor} is not supported (versions 1.0, 2.0 and 3.0 are); re-save the array with np.save`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (fileSize < 8 + lengthBytes) bad(`the file ends inside the header length: ${truncated}`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (headerLength > MAX_NPY_HEADER_BYTES)
    bad(`the header length ${headerLength} exceeds the ${MAX_NPY_HEADER_BYTES}-byte limit: the header is corrupt`);
  if (dataOffset > fileSize) bad(`the header length ${headerLength} runs past the end of the ${fileSize}-byte file: ${truncated}`);

  const raw = prefix.subarray(8 + lengthBytes, dataOffset);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
    } catch {
      bad('the version 3.0 header is not valid UTF-8: the header is corrupt');
    }
  } else text = new TextDecoder('latin1').decode(raw);

  const header = new LiteralParser(text, (why) => bad(`cannot parse the header (${why})`)).parseWhole();
  if (!(header instanceof Map)) bad(`the header must be a dict but is ${describeValue(header)}`);
  const keys = [...header.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape')
    bad(`the header must have exactly the keys 'descr', 'fortran_order' and 'shape' but has ${keys.map((k) => `'${k}'`).join(', ')}`);
  const { dtype, littleEndian, descr } = parseDescr(header.get('descr'), bad);
  const fortran = header.get('fortran_order');
  if (typeof fortran !== 'boolean') bad(`'fortran_order' must be True or False but is ${describeValue(fortran)}`);
  const shape = parseShape(header.get('shape'), bad);

  const itemSize = ITEM_SIZE[dtype];
  let count = 1;
  for (const d of shape) count *= d;
  const dataBytes = count * itemSize;
  const available = fileSize - dataOffset;
  const dims = `shape (${shape.join(', ')}${shape.length === 1 ? ',' : ''}) of ${descr}`;
  if (!Number.isSafeInteger(dataBytes))
    bad(`${dims} would take an impossibly large number of bytes, but the file holds ${available}: the header is corrupt`);
  if (dataBytes > available) bad(`${dims} needs ${dataBytes} bytes of data but the file holds ${available}: ${truncated}`);
  if (dataBytes < available)
    bad(
      `${dims} needs ${dataBytes} bytes of data but the file holds ${available}: ${available - dataBytes} trailing bytes belong to no element (the header or the file is corrupt)`,
    );
  return { version: `${major}.${minor}`, descr, dtype, littleEndian, itemSize, fortranOrder: fortran, shape, count, dataOffset, dataBytes };
}

/** Reads exactly `length` bytes at `position` into `into` (from its start), or fails naming the file. */
function readExactly(fd: number, into: Uint8Array, length: number, position: number, file: string): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) throw new NpyError(file, `the file ended ${length - done} bytes early while reading (was it truncated while being read?)`);
    done += n;
  }
}

function headerFromFd(fd: number, file: string): NpyHeader {
  const size = fstatSync(fd).size;
  // The fixed part first, then exactly as much header as it announces (checked against the size).
  const fixed = new Uint8Array(Math.min(12, size));
  readExactly(fd, fixed, fixed.length, 0, file);
  let prefix = fixed;
  if (fixed.length >= 10 && MAGIC.every((b, i) => fixed[i] === b)) {
    const dv = new DataView(fixed.buffer);
    const major = fixed[6]!;
    const announced = major === 1 ? 10 + dv.getUint16(8, true) : fixed.length >= 12 ? 12 + dv.getUint32(8, true) : 0;
    if (announced > fixed.length && announced <= size && announced - 12 <= MAX_NPY_HEADER_BYTES) {
      prefix = new Uint8Array(announced);
      readExactly(fd, prefix, announced, 0, file);
    }
  }
  return parseHeader(prefix, size, file);
}

function withFile<T>(path: string, fn: (fd: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The header of a .npy file, checked against the file's size: from a path (reads only the header
 * bytes), or from the whole file's bytes. `name` names the bytes in errors.
 */
export function readNpyHeader(source: Uint8Array | string, name?: string): NpyHeader {
  if (typeof source === 'string') return withFile(source, (fd) => headerFromFd(fd, name ?? source));
  if (!(source instanceof Uint8Array)) throw new TypeError(`readNpyHeader expects a path or a Uint8Array but received ${typeof source}`);
  return parseHeader(source, source.byteLength, name ?? 'the .npy bytes');
}

// ---------------------------------------------------------------------------------------------
// Decoding

function swapInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * The elements as a typed array in host order (float16 as raw bits in a Uint16Array). `owned`
 * says the bytes may be swapped in place; otherwise, or when they are misaligned, they are copied.
 */
function hostElements(bytes: Uint8Array, dtype: NpyDType, littleEndian: boolean, owned: boolean): NpyData | Uint16Array {
  const size = ITEM_SIZE[dtype];
  const swap = size > 1 && littleEndian !== HOST_LITTLE;
  let b = bytes;
  // new Uint8Array(view) copies (a Buffer's slice() would not).
  if ((swap && !owned) || b.byteOffset % size !== 0) b = new Uint8Array(bytes);
  if (swap) swapInPlace(b, size);
  const n = b.byteLength / size;
  const buf = b.buffer;
  const at = b.byteOffset;
  switch (dtype) {
    case 'float16':
    case 'uint16':
      return new Uint16Array(buf, at, n);
    case 'float32':
      return new Float32Array(buf, at, n);
    case 'float64':
      return new Float64Array(buf, at, n);
    case 'int8':
      return new Int8Array(buf, at, n);
    case 'int16':
      return new Int16Array(buf, at, n);
    case 'int32':
      return new Int32Array(buf, at, n);
    case 'int64':
      return new BigInt64Array(buf, at, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, at, n);
    case 'uint32':
      return new Uint32Array(buf, at, n);
    case 'uint64':
      return new BigUint64Array(buf, at, n);
  }
}

let halfTable: Float32Array | undefined;

/** All 65,536 float16 values as float32 (exact: float32 holds every float16). */
function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    halfTable[h] =
      exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return halfTable;
}

function decodeHalf(bits: Uint16Array): Float32Array {
  const table = float16Table();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/** Host-order elements (float16 as bits) to a new Float32Array; may return `v` itself when `mayReturnSelf`. */
function elementsAsFloat32(v: NpyData | Uint16Array, dtype: NpyDType, mayReturnSelf: boolean): Float32Array {
  if (dtype === 'float16') return decodeHalf(v as Uint16Array);
  if (v instanceof Float32Array) return mayReturnSelf ? v : v.slice();
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(v[i]!);
    return out;
  }
  if (dtype === 'bool') {
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i] ? 1 : 0;
    return out;
  }
  return new Float32Array(v as Exclude<NpyData, BigInt64Array | BigUint64Array>);
}

/**
 * Raw elements of a dtype, in the given byte order, as a new Float32Array (int64 and float64
 * round to the nearest float32; bool gives 0/1). `bytes` is not modified.
 */
export function elementsToFloat32(bytes: Uint8Array, dtype: NpyDType, littleEndian: boolean): Float32Array {
  if (bytes.byteLength % ITEM_SIZE[dtype] !== 0)
    throw new RangeError(`${bytes.byteLength} bytes are not a whole number of ${dtype} elements (${ITEM_SIZE[dtype]} bytes each)`);
  return elementsAsFloat32(hostElements(bytes, dtype, littleEndian, false), dtype, false);
}

type Indexable = { [i: number]: number | bigint; readonly length: number };

/** Column-major elements to row-major, into a new array of the same type. */
function fortranToC<T extends NpyData>(src: T, shape: readonly number[]): T {
  const n = src.length;
  const out = new (src.constructor as new (n: number) => T)(n);
  const nd = shape.length;
  if (n === 0) return out;
  const fStride: number[] = [];
  let s = 1;
  for (let i = 0; i < nd; i++) {
    fStride.push(s);
    s *= shape[i]!;
  }
  const idx = new Array<number>(nd).fill(0);
  const from = src as unknown as Indexable;
  const to = out as unknown as Indexable;
  let f = 0;
  for (let c = 0; c < n; c++) {
    to[c] = from[f]!;
    // Advance the row-major index (last axis fastest), keeping the column-major offset f in step.
    for (let i = nd - 1; i >= 0; i--) {
      idx[i]!++;
      f += fStride[i]!;
      if (idx[i]! < shape[i]!) break;
      f -= idx[i]! * fStride[i]!;
      idx[i] = 0;
    }
  }
  return out;
}

/** Decodes the data bytes (owned: may be reused as the result's storage). */
function decodeData(bytes: Uint8Array, h: NpyHeader): NpyData {
  const host = hostElements(bytes, h.dtype, h.littleEndian, true);
  let data: NpyData;
  if (h.dtype === 'float16') data = decodeHalf(host as Uint16Array);
  else if (h.dtype === 'bool') {
    const b = host as Uint8Array;
    for (let i = 0; i < b.length; i++) if (b[i]! > 1) b[i] = 1;
    data = b;
  } else data = host;
  return h.fortranOrder && h.shape.length > 1 ? fortranToC(data, h.shape) : data;
}

/** Parses a whole .npy file held in memory; `name` names it in errors. The result never aliases `bytes`. */
export function parseNpy(bytes: Uint8Array, name = 'the .npy bytes'): NpyArray {
  const h = readNpyHeader(bytes, name);
  const data = decodeData(new Uint8Array(bytes.subarray(h.dataOffset, h.dataOffset + h.dataBytes)), h);
  return { dtype: h.dtype, shape: h.shape, data };
}

/**
 * Reads a .npy file: the header first, then exactly the data bytes into one new buffer (which
 * becomes the result's storage when the file is in host byte order and C order).
 */
export function readNpy(path: string): NpyArray {
  return withFile(path, (fd) => {
    const h = headerFromFd(fd, path);
    const bytes = new Uint8Array(h.dataBytes);
    readExactly(fd, bytes, h.dataBytes, h.dataOffset, path);
    return { dtype: h.dtype, shape: h.shape, data: decodeData(bytes, h) };
  });
}

/** The array's values as float32 (int64/float64 rounded to nearest). Returns `a.data` itself when it already is a Float32Array. */
export function npyToFloat32(a: NpyArray): Float32Array {
  return elementsAsFloat32(a.data, a.dtype === 'float16' ? 'float32' : a.dtype, true);
}

/**
 * Reads an array of shape [N, ...] in chunks of up to `rowsPerChunk` rows, as float32, without
 * ever holding the whole file: each chunk is read with fs.readSync at its offset into one reused
 * buffer of rowsPerChunk rows, then decoded into a new Float32Array. The file is checked (header,
 * size) before the first chunk. Fortran-ordered files keep their rows far apart on disk, so they
 * are read whole (readNpy) and then handed out in chunks. The file stays open until the
 * generator finishes or is returned from (a `break` out of for...of closes it).
 */
export function* npyRows(path: string, rowsPerChunk: number): Generator<NpyRowChunk, void, undefined> {
  checkInt('rowsPerChunk', rowsPerChunk, 1);
  const fd = openSync(path, 'r');
  try {
    const h = headerFromFd(fd, path);
    if (h.shape.length === 0) throw new NpyError(path, 'the array is 0-d (a single value) and has no rows to read');
    const rows = h.shape[0]!;
    const rowValues = h.count / Math.max(rows, 1);
    if (h.fortranOrder && h.shape.length > 1) {
      const bytes = new Uint8Array(h.dataBytes);
      readExactly(fd, bytes, h.dataBytes, h.dataOffset, path);
      const all = npyToFloat32({ dtype: h.dtype, shape: h.shape, data: decodeData(bytes, h) });
      for (let start = 0; start < rows; start += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, rows - start);
        yield { start, rows: n, data: all.subarray(start * rowValues, (start + n) * rowValues) };
      }
      return;
    }
    const rowBytes = rowValues * h.itemSize;
    const chunkRows = Math.min(rowsPerChunk, Math.max(rows, 1));
    const buffer = new Uint8Array(chunkRows * rowBytes);
    for (let start = 0; start < rows; start += chunkRows) {
      const n = Math.min(chunkRows, rows - start);
      const bytes = buffer.subarray(0, n * rowBytes);
      readExactly(fd, bytes, bytes.length, h.dataOffset + start * rowBytes, path);
      yield { start, rows: n, data: elementsAsFloat32(hostElements(bytes, h.dtype, h.littleEndian, true), h.dtype, false) };
    }
  } finally {
    closeSync(fd);
  }
}
