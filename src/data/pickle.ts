/**
 * A safe reader for Python pickles of plain data (protocols 0 to 5): dicts, lists, tuples, sets,
 * strings, bytes, numbers and numpy arrays, the shape of every ERC feature file researchers share.
 *
 * A pickle is a program for a stack machine and in Python loading one may call any function it
 * names. This reader calls nothing: it knows a short allow-list of globals (numpy array and scalar
 * reconstruction, `_codecs.encode`, the builtin containers, `collections.OrderedDict`) and refuses
 * every other GLOBAL, STACK_GLOBAL or INST the moment it is read, before any argument could be
 * applied, with a PickleSecurityError. Every loop is bounded by the input length and every length
 * field is checked against the bytes left, so malformed input ends in a PickleError, never a hang.
 *
 * Python values come out as:
 * - None -> null; bool -> boolean; float -> number;
 * - int -> number when it is a safe integer, else bigint (any size, any sign);
 * - str -> string; Python 2 `str` (STRING/BINSTRING/SHORT_BINSTRING) -> string decoded per the
 *   `encoding` option (latin-1 by default, as numpy recommends), or Uint8Array with 'bytes';
 * - bytes and bytearray -> Uint8Array;
 * - list and tuple -> Array (tuples are not told apart from lists);
 * - dict and OrderedDict -> Map (keys keep their JS form: a string, number or bigint; a tuple or
 *   bytes key is kept but can only be found by identity);
 * - set and frozenset -> Set;
 * - numpy.ndarray -> NdArray; numpy scalars -> number (bigint for 64-bit integers beyond 2^53,
 *   boolean for numpy.bool_).
 */

import { readFileSync } from 'node:fs';

/** A numpy array as plain data. Numeric data are C-ordered, in host byte order, copied (so aligned). */
export interface NdArray {
  kind: 'ndarray';
  /**
   * The numpy dtype of `data` ('<f4', '<f8', '<i8', '|b1', '|u1', '<U5', '|O'...): little-endian
   * even when the file held big-endian data, since the values were byte-swapped on reading.
   * float16 ('<f2') data are decoded into a Float32Array.
   */
  dtype: string;
  /** The dtype as written in the file (e.g. '>f4'). */
  sourceDtype: string;
  shape: number[];
  data: NdArrayData;
}

export type NdArrayData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  /** 'U' and 'S' arrays (decoded text) and object arrays (the pickled elements). */
  | unknown[];

/** Truncated or malformed pickle data, or a construct this reader does not support. */
export class PickleError extends Error {
  override name = 'PickleError';
}

/** The pickle names a global outside the allow-list: it is a program, not a plain data pickle. */
export class PickleSecurityError extends Error {
  override name = 'PickleSecurityError';
}

export interface UnpickleOptions {
  /**
   * How Python 2 `str` values are decoded, as in Python's `pickle.load(f, encoding=...)`:
   * 'latin1' (default; never fails and keeps numpy's Python-2 array bytes intact), 'utf8',
   * 'ascii', or 'bytes' to keep them as Uint8Array.
   */
  encoding?: 'latin1' | 'utf8' | 'ascii' | 'bytes';
}

// ---------------------------------------------------------------------------------------------
// Values the machine keeps on its stack that are not final data.

/** An allow-listed callable, produced by GLOBAL/STACK_GLOBAL and applied by REDUCE/NEWOBJ/OBJ. */
class Callable {
  constructor(
    readonly qualified: string,
    readonly call: (args: unknown[]) => unknown,
  ) {}
}

/** A numpy dtype under construction (REDUCE gives the type string, BUILD its byte order and size). */
class DType {
  constructor(
    public kind: string,
    public itemsize: number,
    public order: '<' | '>' | '|',
  ) {}
  get str(): string {
    const size = this.kind === 'U' ? this.itemsize / 4 : this.itemsize;
    return `${this.order}${this.kind}${this.kind === 'O' ? '' : size}`;
  }
}

/** An ndarray made by `_reconstruct` and filled in by BUILD (ndarray.__setstate__). */
class PendingArray {
  result: NdArray | null = null;
  /** Memo slots holding this array, rewritten to the result once BUILD gives it its data. */
  memoKeys: number[] = [];
}

/** The MARK sentinel on the stack. */
const MARK = Symbol('mark');

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Python 3.11's limit on decimal digits in int(), which also keeps text integers cheap to parse.
const MAX_INT_DIGITS = 4300;

// ---------------------------------------------------------------------------------------------
// numpy array reconstruction

function fail(message: string): never {
  throw new PickleError(message);
}

function asBytes(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  // Python 2 wrote array bytes as `str`; with encoding='latin1' they became a string of code units < 256.
  if (typeof v === 'string') {
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c > 255)
        fail(`${what}: the data is text with characters above U+00FF, not bytes; read Python 2 pickles with encoding 'latin1' or 'bytes'`);
      out[i] = c;
    }
    return out;
  }
  fail(`${what}: expected bytes but found ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (v === MARK) return 'a MARK';
  if (Array.isArray(v)) return `a list/tuple of ${v.length}`;
  if (v instanceof Map) return 'a dict';
  if (v instanceof Set) return 'a set';
  if (v instanceof Uint8Array) return `bytes (${v.length})`;
  if (v instanceof Callable) return `the global ${v.qualified}`;
  if (v instanceof DType) return 'a numpy dtype';
  if (v instanceof PendingArray) return 'a numpy array';
  if (typeof v === 'object' && (v as { kind?: unknown }).kind === 'ndarray') return 'a numpy array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function toInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  fail(`${what}: expected an integer but found ${describe(v)}`);
}

function parseDTypeString(s: string): DType {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(s);
  if (!m) fail(`numpy dtype '${s}' is not supported (structured or exotic dtypes cannot be read)`);
  const kind = m[2]!;
  const aliases: Record<string, [string, number]> = {
    b: ['i', 1],
    B: ['u', 1],
    h: ['i', 2],
    H: ['u', 2],
    l: ['i', 8],
    L: ['u', 8],
    q: ['i', 8],
    Q: ['u', 8],
    d: ['f', 8],
    e: ['f', 2],
  };
  const alias = aliases[kind];
  if (alias && m[3] === '') return new DType(alias[0], alias[1], m[1] === '>' ? '>' : '<');
  let k = kind;
  if (k === '?') k = 'b';
  const n = m[3] === '' ? (k === 'b' ? 1 : k === 'O' ? 8 : 0) : Number(m[3]);
  const itemsize = k === 'U' ? n * 4 : n;
  const order = k === 'b' || k === 'O' || k === 'S' || (k === 'u' && n === 1) || (k === 'i' && n === 1) ? '|' : m[1] === '>' ? '>' : '<';
  if (!'fiubUSO'.includes(k)) fail(`numpy dtype '${s}' is not supported: only bool, integer, float, text and object arrays can be read`);
  return new DType(k, itemsize, order);
}

function makeDType(args: unknown[]): DType {
  const s = args[0];
  if (typeof s !== 'string') fail(`numpy.dtype: expected a type string but found ${describe(s)}`);
  return parseDTypeString(s);
}

/** dtype.__setstate__: (version, byteorder, subdescr, names, fields, elsize, alignment, flags[, metadata]). */
function setDTypeState(d: DType, state: unknown): void {
  if (!Array.isArray(state) || state.length < 6) fail(`numpy dtype state: expected a tuple of 8 or 9 items but found ${describe(state)}`);
  const order = state[1];
  if (order === '>' || order === '<' || order === '|') d.order = order;
  else if (order === '=') d.order = HOST_LITTLE_ENDIAN ? '<' : '>';
  if (state[3] !== null || state[4] !== null)
    fail('numpy structured (record) dtypes are not supported; save the fields as separate arrays');
  const elsize = state[5];
  if (typeof elsize === 'number' && elsize > 0 && (d.kind === 'U' || d.kind === 'S')) d.itemsize = elsize;
}

function decodeFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Reorders a Fortran-ordered buffer into C order (element-wise byte copy; bounded by the size). */
function fortranToC(bytes: Uint8Array, shape: number[], itemsize: number): Uint8Array {
  const n = bytes.length / itemsize;
  const out = new Uint8Array(bytes.length);
  const nd = shape.length;
  const fStride: number[] = [];
  let s = 1;
  for (let i = 0; i < nd; i++) {
    fStride.push(s);
    s *= shape[i]!;
  }
  const idx = new Array<number>(nd).fill(0);
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let i = 0; i < nd; i++) f += idx[i]! * fStride[i]!;
    out.set(bytes.subarray(f * itemsize, (f + 1) * itemsize), c * itemsize);
    // Increment the C-order index, last axis fastest.
    for (let i = nd - 1; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

function checkShape(v: unknown): number[] {
  if (!Array.isArray(v)) fail(`numpy array shape: expected a tuple but found ${describe(v)}`);
  return v.map((d) => {
    const n = toInt(d, 'numpy array shape');
    if (n < 0) fail(`numpy array shape has a negative dimension ${n}`);
    return n;
  });
}

function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) fail(`numpy array shape [${shape.join(', ')}] is impossibly large`);
  return n;
}

/** Builds the NdArray from raw bytes (or the element list of an object array). */
function buildArray(dtype: DType, shape: number[], fortran: boolean, raw: unknown): NdArray {
  const count = elementCount(shape);
  const sourceDtype = dtype.str;
  const outOrder = dtype.order === '|' ? '|' : '<';
  if (dtype.kind === 'O') {
    if (!Array.isArray(raw)) fail(`numpy object array: expected a list of elements but found ${describe(raw)}`);
    if (raw.length !== count) fail(`numpy object array of shape [${shape.join(', ')}] holds ${raw.length} elements`);
    let data = raw;
    if (fortran && shape.length > 1) {
      const order = Array.from({ length: count }, (_, i) => i);
      const bytes = new Uint8Array(new Uint32Array(order).buffer);
      const perm = new Uint32Array(fortranToC(bytes, shape, 4).buffer);
      data = Array.from(perm, (i) => raw[i]);
    }
    return { kind: 'ndarray', dtype: '|O', sourceDtype, shape, data };
  }
  let bytes = asBytes(raw, 'numpy array data');
  const size = dtype.itemsize;
  if (size <= 0) fail(`numpy dtype ${sourceDtype} has no element size`);
  if (bytes.length !== count * size)
    fail(
      `numpy array of shape [${shape.join(', ')}] and dtype ${sourceDtype} needs ${count * size} bytes but the pickle holds ${bytes.length}`,
    );
  // A fresh copy: the pickle buffer is not aligned for wide typed arrays, and must not be aliased.
  bytes = fortran && shape.length > 1 ? fortranToC(bytes, shape, size) : bytes.slice();
  const swap = size > 1 && dtype.order !== '|' && (dtype.order === '<') !== HOST_LITTLE_ENDIAN;
  const k = dtype.kind;
  if (k === 'U' || k === 'S') {
    const data: string[] = [];
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < count; i++) {
      let s = '';
      if (k === 'S') {
        for (let j = 0; j < size; j++) {
          const b = bytes[i * size + j]!;
          if (b === 0) break;
          s += String.fromCharCode(b);
        }
      } else {
        for (let j = 0; j < size; j += 4) {
          const cp = dv.getUint32(i * size + j, dtype.order !== '>');
          if (cp === 0) break;
          if (cp > 0x10ffff) fail(`numpy text array holds an invalid code point ${cp}`);
          s += String.fromCodePoint(cp);
        }
      }
      data.push(s);
    }
    return { kind: 'ndarray', dtype: `${k === 'U' ? '<' : '|'}${k}${k === 'U' ? size / 4 : size}`, sourceDtype, shape, data };
  }
  if (swap) for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  const buf = bytes.buffer;
  const out = (data: NdArrayData): NdArray => ({ kind: 'ndarray', dtype: `${outOrder}${k}${size}`, sourceDtype, shape, data });
  if (k === 'f') {
    if (size === 4) return out(new Float32Array(buf));
    if (size === 8) return out(new Float64Array(buf));
    if (size === 2) {
      const h = new Uint16Array(buf);
      const f = new Float32Array(count);
      for (let i = 0; i < count; i++) f[i] = decodeFloat16(h[i]!);
      return out(f);
    }
  } else if (k === 'i') {
    if (size === 1) return out(new Int8Array(buf));
    if (size === 2) return out(new Int16Array(buf));
    if (size === 4) return out(new Int32Array(buf));
    if (size === 8) return out(new BigInt64Array(buf));
  } else if (k === 'u') {
    if (size === 1) return out(new Uint8Array(buf));
    if (size === 2) return out(new Uint16Array(buf));
    if (size === 4) return out(new Uint32Array(buf));
    if (size === 8) return out(new BigUint64Array(buf));
  } else if (k === 'b' && size === 1) {
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) bytes[i] = 1;
    return out(bytes);
  }
  fail(`numpy dtype ${sourceDtype} is not supported`);
}

/** ndarray.__setstate__: (version, shape, dtype, is_fortran, data) or the 4-tuple without version. */
function setArrayState(p: PendingArray, state: unknown): void {
  if (!Array.isArray(state) || (state.length !== 4 && state.length !== 5))
    fail(`numpy array state: expected a tuple of 4 or 5 items but found ${describe(state)}`);
  const s = state.length === 5 ? state.slice(1) : state;
  const dtype = s[1];
  if (!(dtype instanceof DType)) fail(`numpy array state: expected a dtype but found ${describe(dtype)}`);
  p.result = buildArray(dtype, checkShape(s[0]), s[2] === true || s[2] === 1, s[3]);
}

/** numpy.core.multiarray.scalar(dtype, bytes): a numpy scalar becomes a JS number. */
function makeScalar(args: unknown[]): unknown {
  const dtype = args[0];
  if (!(dtype instanceof DType)) fail(`numpy scalar: expected a dtype but found ${describe(dtype)}`);
  if (dtype.kind === 'O') return args[1];
  const a = buildArray(dtype, [], false, args[1]);
  const v = (a.data as ArrayLike<unknown>)[0];
  if (dtype.kind === 'b') return v === 1;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  return v;
}

/** numpy.core.numeric._frombuffer(buffer, dtype, shape, order): protocol 5's in-band array form. */
function fromBuffer(args: unknown[]): NdArray {
  const [buf, dtype, shape, order] = args;
  if (!(dtype instanceof DType)) fail(`numpy _frombuffer: expected a dtype but found ${describe(dtype)}`);
  return buildArray(dtype, checkShape(shape), order === 'F', buf);
}

function latin1Bytes(s: string): Uint8Array {
  return asBytes(s, '_codecs.encode');
}

/** `_codecs.encode(text, 'latin1')`: how Python 3 writes bytes at protocols 0 to 2. */
function codecsEncode(args: unknown[]): Uint8Array {
  const [text, enc] = args;
  if (typeof text !== 'string') fail(`_codecs.encode: expected text but found ${describe(text)}`);
  const e = typeof enc === 'string' ? enc.toLowerCase().replace(/[-_]/g, '') : 'utf8';
  if (e === 'latin1' || e === 'iso88591') return latin1Bytes(text);
  if (e === 'utf8') return new TextEncoder().encode(text);
  if (e === 'ascii') return latin1Bytes(text);
  fail(`_codecs.encode with encoding ${describe(enc)} is not supported`);
}

function iterableItems(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...v];
  if (v instanceof Map) return [...v.keys()];
  if (typeof v === 'string') return [...v];
  if (v instanceof Uint8Array) return [...v];
  fail(`${what}: expected an iterable but found ${describe(v)}`);
}

function makeDict(args: unknown[]): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  const src = args[0];
  if (src instanceof Map) for (const [k, v] of src) m.set(k, v);
  else if (src !== undefined)
    for (const pair of iterableItems(src, 'dict()')) {
      if (!Array.isArray(pair) || pair.length !== 2) fail(`dict(): expected (key, value) pairs but found ${describe(pair)}`);
      m.set(pair[0], pair[1]);
    }
  return m;
}

const SET_MAKER = (args: unknown[]): Set<unknown> => new Set(iterableItems(args[0], 'set()'));

const ALLOWED: Record<string, (args: unknown[]) => unknown> = {};
for (const core of ['numpy.core', 'numpy._core']) {
  ALLOWED[`${core}.multiarray._reconstruct`] = () => new PendingArray();
  ALLOWED[`${core}.multiarray.scalar`] = makeScalar;
  ALLOWED[`${core}.numeric._frombuffer`] = fromBuffer;
}
ALLOWED['numpy.ndarray'] = () => new PendingArray();
ALLOWED['numpy.dtype'] = makeDType;
ALLOWED['_codecs.encode'] = codecsEncode;
for (const b of ['builtins', '__builtin__']) {
  ALLOWED[`${b}.set`] = SET_MAKER;
  ALLOWED[`${b}.frozenset`] = SET_MAKER;
  ALLOWED[`${b}.list`] = (args) => [...iterableItems(args[0], 'list()')];
  ALLOWED[`${b}.tuple`] = (args) => [...iterableItems(args[0], 'tuple()')];
  ALLOWED[`${b}.dict`] = makeDict;
  ALLOWED[`${b}.bytearray`] = (args) =>
    args[0] === undefined
      ? new Uint8Array(0)
      : typeof args[0] === 'string'
        ? latin1Bytes(args[0])
        : asBytes(args[0], 'bytearray()').slice();
  ALLOWED[`${b}.bytes`] = (args) => (args[0] === undefined ? new Uint8Array(0) : asBytes(args[0], 'bytes()').slice());
}
ALLOWED['collections.OrderedDict'] = makeDict;

/** The allow-list of globals a data pickle may name (module.name). */
export const ALLOWED_GLOBALS: readonly string[] = Object.freeze(Object.keys(ALLOWED));

function lookupGlobal(module: string, name: string, offset: number): Callable {
  const qualified = `${module}.${name}`;
  const fn = Object.prototype.hasOwnProperty.call(ALLOWED, qualified) ? ALLOWED[qualified] : undefined;
  if (fn === undefined) {
    const shown = qualified.length > 120 ? `${qualified.slice(0, 120)}...` : qualified;
    throw new PickleSecurityError(
      `the pickle refers to the global ${JSON.stringify(shown)} (at byte ${offset}), which is not on the allow-list of data types: the file is not a plain data pickle (it could run code when loaded in Python) and was refused; nothing in it was executed. Re-save the data as dicts/lists of numpy arrays, or convert it in a trusted Python session.`,
    );
  }
  return new Callable(qualified, fn);
}

// ---------------------------------------------------------------------------------------------
// The machine

const OPNAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Two's-complement little-endian integer of any length (LONG1/LONG4), via hex so it stays linear. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  if (b.length <= 6) {
    let v = 0;
    for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i]!;
    if (b[b.length - 1]! & 0x80) v -= 2 ** (8 * b.length);
    return v;
  }
  let hex = '';
  for (let i = b.length - 1; i >= 0; i--) hex += b[i]!.toString(16).padStart(2, '0');
  let v = BigInt(`0x${hex}`);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return normalizeInt(v);
}

function normalizeInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private marks: number[] = [];
  private memo = new Map<number, unknown>();
  private readonly view: DataView;
  private opStart = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly encoding: NonNullable<UnpickleOptions['encoding']>,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private err(message: string): never {
    throw new PickleError(`${message} (opcode at byte ${this.opStart})`);
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.bytes.length)
      this.err(`truncated pickle: ${what} needs ${n} bytes at byte ${this.pos} but only ${this.bytes.length - this.pos} remain`);
  }

  private u8(): number {
    this.need(1, 'a 1-byte argument');
    return this.bytes[this.pos++]!;
  }
  private u16(): number {
    this.need(2, 'a 2-byte argument');
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private i32(): number {
    this.need(4, 'a 4-byte argument');
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u32(): number {
    this.need(4, 'a 4-byte argument');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u64(): number {
    this.need(8, 'an 8-byte argument');
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.bytes.length)) this.err(`truncated pickle: a length of ${v} bytes exceeds the whole file`);
    return Number(v);
  }
  private take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A text argument ending in '\n' (protocol 0 opcodes), without the newline. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.err(`truncated pickle: a text argument starting at byte ${this.pos} has no terminating newline`);
    const b = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    let s = '';
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
    return s;
  }

  private utf8(b: Uint8Array): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      this.err('a text value is not valid UTF-8');
    }
  }

  /** Python 2 `str`: decoded as the caller asked (Python's `encoding` argument). */
  private py2str(b: Uint8Array): string | Uint8Array {
    switch (this.encoding) {
      case 'bytes':
        return b.slice();
      case 'utf8':
        return this.utf8(b);
      case 'ascii':
        for (const c of b) if (c > 127) this.err("a Python 2 string is not ASCII; read the file with encoding 'latin1'");
        return Buffer.from(b).toString('latin1');
      default:
        return Buffer.from(b).toString('latin1');
    }
  }

  private push(v: unknown): void {
    this.stack.push(v);
  }
  private pop(): unknown {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) this.err('stack underflow: the pickle pops a value that is not there');
    return this.stack.pop();
  }
  private top(): unknown {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) this.err('stack underflow: the pickle uses a value that is not there');
    return this.stack[this.stack.length - 1];
  }
  /** Pops everything down to the last MARK. */
  private popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) this.err('no MARK on the stack for an opcode that needs one');
    return this.stack.splice(m);
  }

  private getMemo(key: number): void {
    if (!this.memo.has(key)) this.err(`memo key ${key} was never stored (GET of a missing key)`);
    this.push(this.memo.get(key));
  }
  private putMemo(key: number): void {
    if (key < 0) this.err(`negative memo key ${key}`);
    const v = this.top();
    if (v instanceof PendingArray) v.memoKeys.push(key);
    this.memo.set(key, v);
  }

  private intFromText(text: string): number | bigint | boolean {
    const t = text.trim().replace(/L$/, '');
    if (!/^[+-]?\d+$/.test(t)) this.err(`INT/LONG argument ${JSON.stringify(text.slice(0, 40))} is not an integer`);
    if (t.length > MAX_INT_DIGITS) this.err(`an integer with ${t.length} digits exceeds the ${MAX_INT_DIGITS}-digit limit`);
    return normalizeInt(BigInt(t));
  }

  /** Unquotes a protocol-0 STRING argument (a Python repr of a byte string). */
  private unrepr(text: string): Uint8Array {
    const q = text[0];
    if ((q !== "'" && q !== '"') || text.length < 2 || text[text.length - 1] !== q) this.err('STRING argument is not quoted');
    const body = text.slice(1, -1);
    const out: number[] = [];
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c !== '\\') {
        out.push(c.charCodeAt(0));
        continue;
      }
      const n = body[++i];
      if (n === undefined) this.err('STRING argument ends in a lone backslash');
      const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '\n': -1 };
      if (n in simple) {
        if (simple[n]! >= 0) out.push(simple[n]!);
      } else if (n === 'x') {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) this.err('STRING argument has a bad \\x escape');
        out.push(parseInt(h, 16));
        i += 2;
      } else if (/[0-7]/.test(n)) {
        let o = n;
        while (o.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) o += body[++i];
        out.push(parseInt(o, 8) & 0xff);
      } else out.push(92, n.charCodeAt(0));
    }
    return Uint8Array.from(out);
  }

  /** Decodes protocol 0's raw-unicode-escape (UNICODE opcode). */
  private rawUnicode(b: Uint8Array): string {
    let s = '';
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c === 92 && (b[i + 1] === 0x75 || b[i + 1] === 0x55)) {
        const len = b[i + 1] === 0x75 ? 4 : 8;
        const hex = Buffer.from(b.subarray(i + 2, i + 2 + len)).toString('latin1');
        if (hex.length === len && /^[0-9a-fA-F]+$/.test(hex)) {
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff) this.err('UNICODE argument has an escape beyond U+10FFFF');
          s += String.fromCodePoint(cp);
          i += 1 + len;
          continue;
        }
      }
      s += String.fromCharCode(c);
    }
    return s;
  }

  private callable(v: unknown, op: string): Callable {
    if (!(v instanceof Callable)) this.err(`${op} applies ${describe(v)}, which is not callable`);
    return v;
  }

  private tupleArg(v: unknown, op: string): unknown[] {
    if (!Array.isArray(v)) this.err(`${op} expects a tuple of arguments but found ${describe(v)}`);
    return v;
  }

  private setItems(target: unknown, items: unknown[], op: string): void {
    if (!(target instanceof Map)) this.err(`${op} on ${describe(target)}, which is not a dict`);
    if (items.length % 2) this.err(`${op} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  private build(obj: unknown, state: unknown): void {
    if (obj instanceof PendingArray) {
      setArrayState(obj, state);
      // The finished array replaces its placeholder everywhere it can be reached from later on.
      this.stack[this.stack.length - 1] = obj.result;
      for (const k of obj.memoKeys) if (this.memo.get(k) === obj) this.memo.set(k, obj.result);
    } else if (obj instanceof DType) setDTypeState(obj, state);
    else if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
    else if (obj instanceof Map && state === null) return;
    else this.err(`BUILD (object state) on ${describe(obj)} is not supported in a data pickle`);
  }

  /** Finished values replace construction helpers (a filled-in ndarray becomes its NdArray). */
  private finish(v: unknown): unknown {
    if (v instanceof PendingArray) {
      if (v.result === null) this.err('a numpy array was created but never given its data (BUILD missing)');
      return v.result;
    }
    return v;
  }

  run(): unknown {
    const b = this.bytes;
    while (this.pos < b.length) {
      this.opStart = this.pos;
      const op = b[this.pos++]!;
      switch (op) {
        case 0x80: {
          const proto = this.u8();
          if (proto > 5) this.err(`unsupported pickle protocol ${proto} (0 to 5 are known)`);
          break;
        }
        case 0x95: // FRAME: a framing hint; the bytes follow inline.
          this.u64();
          break;
        case 0x2e: {
          // STOP
          const v = this.pop();
          return this.resolveFinal(v);
        }
        case 0x28:
          this.marks.push(this.stack.length);
          break;
        case 0x30:
          if (this.marks.length && this.stack.length === this.marks[this.marks.length - 1]) this.marks.pop();
          else this.pop();
          break;
        case 0x31:
          this.popMark();
          break;
        case 0x32:
          this.push(this.top());
          break;
        case 0x4e:
          this.push(null);
          break;
        case 0x88:
          this.push(true);
          break;
        case 0x89:
          this.push(false);
          break;
        case 0x49: {
          const t = this.line();
          // Protocol 0 booleans are INT 00 / 01.
          this.push(t === '00' ? false : t === '01' ? true : this.intFromText(t));
          break;
        }
        case 0x4a:
          this.push(this.i32());
          break;
        case 0x4b:
          this.push(this.u8());
          break;
        case 0x4d:
          this.push(this.u16());
          break;
        case 0x4c:
          this.push(this.intFromText(this.line()));
          break;
        case 0x8a:
          this.push(decodeLong(this.take(this.u8(), 'LONG1')));
          break;
        case 0x8b: {
          const n = this.i32();
          if (n < 0) this.err(`LONG4 with a negative length ${n}`);
          this.push(decodeLong(this.take(n, 'LONG4')));
          break;
        }
        case 0x47:
          this.need(8, 'BINFLOAT');
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        case 0x46: {
          const t = this.line().trim();
          const v = t === 'inf' ? Infinity : t === '-inf' ? -Infinity : t === 'nan' ? NaN : Number(t);
          if (Number.isNaN(v) && t !== 'nan') this.err(`FLOAT argument ${JSON.stringify(t.slice(0, 40))} is not a number`);
          this.push(v);
          break;
        }
        case 0x53:
          this.push(this.py2str(this.unrepr(this.line())));
          break;
        case 0x54: {
          const n = this.i32();
          if (n < 0) this.err(`BINSTRING with a negative length ${n}`);
          this.push(this.py2str(this.take(n, 'BINSTRING')));
          break;
        }
        case 0x55:
          this.push(this.py2str(this.take(this.u8(), 'SHORT_BINSTRING')));
          break;
        case 0x56:
          this.push(this.rawUnicode(Uint8Array.from(this.line(), (c) => c.charCodeAt(0))));
          break;
        case 0x58:
          this.push(this.utf8(this.take(this.u32(), 'BINUNICODE')));
          break;
        case 0x8c:
          this.push(this.utf8(this.take(this.u8(), 'SHORT_BINUNICODE')));
          break;
        case 0x8d:
          this.push(this.utf8(this.take(this.u64(), 'BINUNICODE8')));
          break;
        case 0x42:
          this.push(this.take(this.u32(), 'BINBYTES').slice());
          break;
        case 0x43:
          this.push(this.take(this.u8(), 'SHORT_BINBYTES').slice());
          break;
        case 0x8e:
          this.push(this.take(this.u64(), 'BINBYTES8').slice());
          break;
        case 0x96:
          this.push(this.take(this.u64(), 'BYTEARRAY8').slice());
          break;
        case 0x97:
          this.err(
            'NEXT_BUFFER: the pickle was written with out-of-band buffers (protocol 5 buffer_callback), whose data are not in the file; re-save it without buffer_callback',
          );
          break;
        case 0x98:
          this.err(
            'READONLY_BUFFER: the pickle uses out-of-band buffers (protocol 5), which are not supported; re-save it without buffer_callback',
          );
          break;
        case 0x5d:
          this.push([]);
          break;
        case 0x61: {
          const v = this.pop();
          const list = this.top();
          if (!Array.isArray(list)) this.err(`APPEND to ${describe(list)}, which is not a list`);
          list.push(v);
          break;
        }
        case 0x65: {
          const items = this.popMark();
          const list = this.top();
          if (!Array.isArray(list)) this.err(`APPENDS to ${describe(list)}, which is not a list`);
          for (const it of items) list.push(it);
          break;
        }
        case 0x6c:
          this.push(this.popMark());
          break;
        case 0x29:
          this.push([]);
          break;
        case 0x74:
          this.push(this.popMark());
          break;
        case 0x85:
          this.push([this.pop()]);
          break;
        case 0x86: {
          const y = this.pop();
          this.push([this.pop(), y]);
          break;
        }
        case 0x87: {
          const z = this.pop();
          const y = this.pop();
          this.push([this.pop(), y, z]);
          break;
        }
        case 0x7d:
          this.push(new Map());
          break;
        case 0x64: {
          const items = this.popMark();
          const m = new Map();
          this.setItems(m, items, 'DICT');
          this.push(m);
          break;
        }
        case 0x73: {
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v], 'SETITEM');
          break;
        }
        case 0x75: {
          const items = this.popMark();
          this.setItems(this.top(), items, 'SETITEMS');
          break;
        }
        case 0x8f:
          this.push(new Set());
          break;
        case 0x90: {
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) this.err(`ADDITEMS to ${describe(s)}, which is not a set`);
          for (const it of items) s.add(it);
          break;
        }
        case 0x91:
          this.push(new Set(this.popMark()));
          break;
        case 0x63: {
          const module = this.line();
          const name = this.line();
          this.push(lookupGlobal(module, name, this.opStart));
          break;
        }
        case 0x93: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.err('STACK_GLOBAL expects a module and a name as text');
          this.push(lookupGlobal(module, name, this.opStart));
          break;
        }
        case 0x69: {
          // INST: a protocol 0 class instantiation; the class is checked before anything else.
          const module = this.line();
          const name = this.line();
          const cls = lookupGlobal(module, name, this.opStart);
          this.push(cls.call(this.popMark()));
          break;
        }
        case 0x6f: {
          const items = this.popMark();
          if (items.length === 0) this.err('OBJ without a class');
          this.push(this.callable(items[0], 'OBJ').call(items.slice(1)));
          break;
        }
        case 0x52: {
          const args = this.tupleArg(this.pop(), 'REDUCE');
          const fn = this.callable(this.pop(), 'REDUCE');
          this.push(fn.call(args.map((a) => this.finish(a))));
          break;
        }
        case 0x81: {
          const args = this.tupleArg(this.pop(), 'NEWOBJ');
          const cls = this.callable(this.pop(), 'NEWOBJ');
          this.push(cls.call(args.map((a) => this.finish(a))));
          break;
        }
        case 0x92: {
          const kwargs = this.pop();
          const args = this.tupleArg(this.pop(), 'NEWOBJ_EX');
          const cls = this.callable(this.pop(), 'NEWOBJ_EX');
          if (!(kwargs instanceof Map)) this.err('NEWOBJ_EX expects keyword arguments as a dict');
          this.push(cls.call(args.map((a) => this.finish(a))));
          break;
        }
        case 0x62: {
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x70: {
          const t = this.line();
          if (!/^\d{1,15}$/.test(t)) this.err(`PUT argument ${JSON.stringify(t.slice(0, 40))} is not a memo index`);
          this.putMemo(Number(t));
          break;
        }
        case 0x71:
          this.putMemo(this.u8());
          break;
        case 0x72:
          this.putMemo(this.u32());
          break;
        case 0x94:
          this.putMemo(this.memo.size);
          break;
        case 0x67: {
          const t = this.line();
          if (!/^\d{1,15}$/.test(t)) this.err(`GET argument ${JSON.stringify(t.slice(0, 40))} is not a memo index`);
          this.getMemo(Number(t));
          break;
        }
        case 0x68:
          this.getMemo(this.u8());
          break;
        case 0x6a:
          this.getMemo(this.u32());
          break;
        case 0x50:
        case 0x51:
          this.err(
            `${OPNAMES[op]}: the pickle uses persistent ids (e.g. a torch.save file), which a plain data pickle does not; load it with torch and re-save the arrays`,
          );
          break;
        case 0x82:
        case 0x83:
        case 0x84:
          this.err(`${OPNAMES[op]}: the pickle uses the copyreg extension registry, which is not supported`);
          break;
        default:
          this.err(`unknown opcode 0x${op.toString(16).padStart(2, '0')}: the file is corrupt or not a pickle`);
      }
    }
    this.opStart = this.pos;
    this.err('truncated pickle: the data ends before the STOP opcode');
  }

  /**
   * Replaces construction helpers by their results, in place, without recursion: an ndarray placed
   * inside a container before BUILD gave it its data is only final once the pickle stops.
   */
  private resolveFinal(root: unknown): unknown {
    const seen = new Set<unknown>();
    const todo: unknown[] = [root];
    const fixContainer = (c: unknown): void => {
      if (Array.isArray(c)) {
        for (let i = 0; i < c.length; i++) {
          const v = c[i];
          if (v instanceof PendingArray) c[i] = this.finish(v);
          else todo.push(v);
        }
      } else if (c instanceof Map) {
        for (const [k, v] of c) {
          if (v instanceof PendingArray) c.set(k, this.finish(v));
          else todo.push(v);
          if (k instanceof PendingArray) this.err('a numpy array used as a dict key');
          todo.push(k);
        }
      } else if (c instanceof Set) {
        for (const v of c) {
          if (v instanceof PendingArray) this.err('a numpy array used as a set element');
          todo.push(v);
        }
      } else if (c !== null && typeof c === 'object' && (c as NdArray).kind === 'ndarray' && Array.isArray((c as NdArray).data)) {
        todo.push((c as NdArray).data);
      }
    };
    while (todo.length) {
      const c = todo.pop();
      if (c === null || typeof c !== 'object' || seen.has(c)) continue;
      seen.add(c);
      fixContainer(c);
    }
    const out = this.finish(root);
    if (out instanceof Callable || out instanceof DType) this.err(`the pickle's value is ${describe(out)}, not data`);
    return out;
  }
}

/**
 * Reads one pickled value from bytes. Throws PickleSecurityError when the pickle names a global
 * outside the allow-list, PickleError (with the byte offset) for anything malformed or unsupported.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`unpickle expects a Uint8Array (e.g. a Buffer) but received ${describe(bytes)}`);
  const encoding = options.encoding ?? 'latin1';
  if (!['latin1', 'utf8', 'ascii', 'bytes'].includes(encoding))
    throw new TypeError(`Expected one of 'latin1', 'utf8', 'ascii', 'bytes' for encoding but received ${String(encoding)}`);
  // A plain view: Buffer.slice does not copy, and copies of the data must not alias the file.
  const u = new Unpickler(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), encoding);
  try {
    return u.run();
  } catch (e) {
    if (e instanceof PickleError || e instanceof PickleSecurityError) throw e;
    // Anything else (a RangeError from a huge allocation...) still means the input is unusable.
    throw new PickleError(`malformed pickle: ${(e as Error).message}`, { cause: e });
  }
}

/** Whether an unpickled value is a numpy array. */
export function isNdArray(v: unknown): v is NdArray {
  return v !== null && typeof v === 'object' && (v as { kind?: unknown }).kind === 'ndarray';
}

/** Reads and unpickles a file; errors name the file. */
export function readPickle(path: string, options: UnpickleOptions = {}): unknown {
  const bytes = readFileSync(path);
  try {
    return unpickle(bytes, options);
  } catch (e) {
    if (e instanceof PickleSecurityError) throw new PickleSecurityError(`${path}: ${e.message}`, { cause: e });
    if (e instanceof PickleError) throw new PickleError(`${path}: ${e.message}`, { cause: e });
    throw e;
  }
}
