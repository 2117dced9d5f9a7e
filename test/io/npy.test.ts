import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mulberry32 } from '../../src/data/split.js';
import { ArgumentError } from '../../src/engine/errors.js';
import {
  elementsToFloat32,
  NpyError,
  npyRows,
  npyToFloat32,
  parseNpy,
  readNpy,
  readNpyHeader,
  type NpyArray,
  type NpyDType,
} from '../../src/io/npy.js';
import { fixturePath, readJsonFixture } from '../helpers.js';

interface Expected {
  descr: string;
  shape: number[];
  fortran_order: boolean;
  version: string;
  values: (number | string | boolean)[];
}

const EXPECTED = readJsonFixture<Record<string, Expected>>('npy', 'expected.json');
const fx = (name: string): string => fixturePath('npy', name);
const dir = mkdtempSync(join(tmpdir(), 'mmb-npy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DTYPE_OF: Record<string, NpyDType> = {
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

function dtypeOf(descr: string): NpyDType {
  const d = DTYPE_OF[descr.slice(1)];
  assert.ok(d, `no dtype for ${descr}`);
  return d;
}

/** The expected value as the reader returns it: number, bigint for 64-bit integers, 0/1 for bool. */
function want(v: number | string | boolean, dtype: NpyDType): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (dtype === 'int64' || dtype === 'uint64') return BigInt(v);
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return Number(v);
}

function assertValues(a: NpyArray, e: Expected, what: string): void {
  const dtype = dtypeOf(e.descr);
  assert.equal(a.dtype, dtype, `${what}: dtype`);
  assert.deepEqual(a.shape, e.shape, `${what}: shape`);
  assert.equal(a.data.length, e.values.length, `${what}: element count`);
  e.values.forEach((v, i) => {
    const got = a.data[i]!;
    const exp = want(v, dtype);
    // Object.is: NaN equals NaN, and -0 must stay -0.
    assert.ok(Object.is(got, exp), `${what}[${i}]: got ${String(got)}, expected ${String(exp)}`);
  });
}

/** A .npy file's bytes with a hand-written header. */
function npyBytes(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const text = Buffer.from(`${header}\n`, 'latin1');
  const pre = major === 1 ? 10 : 12;
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, text.length, true);
  else dv.setUint32(8, text.length, true);
  out.set(text, pre);
  out.set(data, pre + text.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function throwsNpy(fn: () => unknown, includes: (string | RegExp)[], file?: string): NpyError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof NpyError, `expected an NpyError but got ${String(caught)}`);
  for (const s of includes)
    if (typeof s === 'string')
      assert.ok(caught.message.includes(s), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(s)}`);
    else assert.match(caught.message, s);
  if (file !== undefined) {
    assert.equal(caught.file, file);
    assert.ok(caught.message.startsWith(`${file}: `), 'the message names the file');
  }
  return caught;
}

test('fixtures cover every dtype, byte order, Fortran order, 0-d, empty, 3-D and versions 2.0 and 3.0', () => {
  const descrs = new Set(Object.values(EXPECTED).map((e) => e.descr));
  for (const code of Object.keys(DTYPE_OF)) {
    if (code.endsWith('1')) assert.ok(descrs.has(`|${code}`), code);
    else for (const o of '<>') assert.ok(descrs.has(`${o}${code}`), `${o}${code}`);
  }
  const all = Object.values(EXPECTED);
  assert.ok(all.some((e) => e.fortran_order && e.shape.length === 3 && e.descr.startsWith('>')));
  assert.ok(all.some((e) => e.shape.length === 0));
  assert.ok(all.some((e) => e.shape.includes(0)));
  assert.ok(all.some((e) => e.version === '2.0') && all.some((e) => e.version === '3.0'));
});

for (const [name, e] of Object.entries(EXPECTED)) {
  test(`${name}: values, shape and dtype as numpy wrote them`, () => {
    const path = fx(name);
    const h = readNpyHeader(path);
    assert.equal(h.version, e.version);
    assert.equal(h.fortranOrder, e.fortran_order);
    assert.deepEqual(h.shape, e.shape);
    assert.equal(h.dataOffset + h.dataBytes, readFileSync(path).length);
    assertValues(readNpy(path), e, `${name} readNpy`);
    const bytes = readFileSync(path);
    const copy = Uint8Array.from(bytes);
    assertValues(parseNpy(bytes, name), e, `${name} parseNpy`);
    assert.deepEqual(new Uint8Array(bytes), copy, 'parseNpy leaves its input as it was');
    assert.deepEqual(readNpyHeader(bytes), h, 'the header from bytes and from the path agree');

    const f = npyToFloat32(readNpy(path));
    assert.ok(f instanceof Float32Array);
    const dtype = dtypeOf(e.descr);
    e.values.forEach((v, i) => {
      const x = Math.fround(Number(want(v, dtype)));
      assert.ok(Object.is(f[i], x), `${name} as float32 [${i}]: got ${f[i]}, expected ${x}`);
    });
  });
}

test('npyToFloat32 hands back float32 data itself and converts the rest', () => {
  const a = readNpy(fx('float32_be.npy'));
  assert.equal(npyToFloat32(a), a.data);
  const b = readNpy(fx('float64_le.npy'));
  assert.notEqual(npyToFloat32(b) as unknown, b.data);
});

test('npyRows yields every row once, in order, for any chunk size', () => {
  for (const name of [
    'float32_le.npy',
    'int64_be.npy',
    'float16_be.npy',
    'c_2x3x4.npy',
    'fortran_2x3.npy',
    'fortran_be_2x3x4.npy',
    'v3_3x2.npy',
    'bool.npy',
  ]) {
    const whole = npyToFloat32(readNpy(fx(name)));
    const rows = readNpyHeader(fx(name)).shape[0]!;
    for (const k of [1, 2, 3, 100]) {
      const parts: number[] = [];
      let next = 0;
      for (const c of npyRows(fx(name), k)) {
        assert.equal(c.start, next, `${name} k=${k}: chunks are contiguous`);
        assert.ok(c.rows >= 1 && c.rows <= k, `${name} k=${k}: chunk of ${c.rows} rows`);
        assert.ok(c.data instanceof Float32Array);
        assert.equal(c.data.length, (c.rows * whole.length) / rows);
        next += c.rows;
        parts.push(...c.data);
      }
      assert.equal(next, rows);
      assert.deepEqual(parts, [...whole], `${name} k=${k}`);
    }
  }
  assert.deepEqual([...npyRows(fx('empty_0x4.npy'), 4)], []);
  const zeroWide = [...npyRows(fx('empty_3x0.npy'), 2)];
  assert.deepEqual(
    zeroWide.map((c) => [c.start, c.rows, c.data.length]),
    [
      [0, 2, 0],
      [2, 1, 0],
    ],
  );
});

test('npyRows reads each chunk at its offset when it is asked for, not the file up front', () => {
  const rows = 64;
  const path = join(dir, 'lazy.npy');
  const values = Array.from({ length: rows * 4 }, (_, i) => i);
  writeFileSync(path, npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (64, 4), }", f32Bytes(values)));
  const it = npyRows(path, 8);
  const first = it.next();
  assert.equal(first.done, false);
  assert.deepEqual([...first.value!.data], values.slice(0, 32));
  // Rewrite the last row on disk: a reader that had read the file whole would not see it.
  const fd = openSync(path, 'r+');
  const size = readFileSync(path).length;
  writeSync(fd, f32Bytes([-1, -2, -3, -4]), 0, 16, size - 16);
  closeSync(fd);
  const rest = [...it].flatMap((c) => [...c.data]);
  assert.deepEqual(rest.slice(-4), [-1, -2, -3, -4]);
  assert.equal(rest.length, (rows - 8) * 4);
});

test('leaving npyRows early closes the file', { skip: !existsSync('/proc/self/fd') }, () => {
  const before = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 20; i++) {
    // What a `break` out of for...of does: one chunk, then return().
    const it = npyRows(fx('c_2x3x4.npy'), 1);
    assert.equal(it.next().done, false);
    it.return();
  }
  assert.throws(() => [...npyRows(fx('truncated.npy'), 1)], NpyError);
  assert.equal(readdirSync('/proc/self/fd').length, before);
});

test('npyRows refuses a 0-d array and a chunk size below 1', () => {
  throwsNpy(() => [...npyRows(fx('scalar_0d.npy'), 1)], ['0-d', 'no rows'], fx('scalar_0d.npy'));
  assert.throws(() => npyRows(fx('c_2x3x4.npy'), 0).next(), ArgumentError);
  assert.throws(() => npyRows(fx('c_2x3x4.npy'), 1.5).next(), /Expected integer >= 1 for rowsPerChunk but received 1.5/);
});

const REFUSED: [string, (string | RegExp)[]][] = [
  ['object.npy', ['Python objects', 'cannot be read safely', 'allow_pickle', 'np.save', 'numeric dtype']],
  ['structured.npy', ['structured (record) dtype', 'each field']],
  ['complex64.npy', ['dtype "<c8" is not supported', 'np.float32']],
  ['unicode.npy', ['dtype "<U2" is not supported']],
  ['truncated.npy', ['needs 32 bytes of data but the file holds 27', 'truncated']],
  ['truncated_header.npy', ['runs past the end of the 40-byte file', 'truncated']],
  ['huge_shape.npy', ['shape (1048576, 1048576) of <f4 needs 4398046511104 bytes of data but the file holds 16', 'truncated']],
  ['overflow_shape.npy', ['impossibly large', 'corrupt']],
  ['header_past_end.npy', ['header length 5000 runs past the end']],
  ['trailing_bytes.npy', ['needs 36 bytes of data but the file holds 40', '4 trailing bytes']],
  ['version_4.npy', ['format version 4.0 is not supported']],
  ['missing_key.npy', ["exactly the keys 'descr', 'fortran_order' and 'shape'", "has 'descr', 'shape'"]],
  ['eval_attempt.npy', ['cannot parse the header', 'expected a value']],
];

for (const [name, includes] of REFUSED) {
  test(`${name} is refused with an NpyError naming the file`, () => {
    const path = fx(name);
    throwsNpy(() => readNpy(path), includes, path);
    throwsNpy(() => readNpyHeader(path), includes, path);
    throwsNpy(() => [...npyRows(path, 2)], includes, path);
    throwsNpy(() => parseNpy(readFileSync(path), name), includes, name);
  });
}

test('files that are not .npy at all say what they look like', () => {
  throwsNpy(() => parseNpy(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0]), 'a.npz'), ['not a .npy file', '.npz (zip) archive']);
  throwsNpy(() => parseNpy(Uint8Array.from([0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0]), 'a.pkl'), ['Python pickle']);
  throwsNpy(() => parseNpy(Uint8Array.from([0x93, 0x4e, 0x55]), 'x'), ['3 bytes, too short']);
  throwsNpy(() => parseNpy(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 9]), 'x'), ['ends inside the header length']);
});

test('the header parser takes what numpy writes and refuses everything else', () => {
  const data = f32Bytes([1, 2]);
  const ok = (header: string, major = 1): NpyArray => parseNpy(npyBytes(header, data, major));
  assert.deepEqual([...ok('{"descr":"<f4","fortran_order":False,"shape":(2,)}').data], [1, 2]);
  assert.deepEqual([...ok("{'shape': (1, 2), 'fortran_order': True, 'descr': '<f4',}").data], [1, 2]);
  assert.deepEqual(ok("{'descr': u'\\x3cf4', 'fortran_order': False, 'shape': (2,)}").shape, [2]);
  assert.deepEqual(ok("{'descr': '?', 'fortran_order': False, 'shape': (8,)}").dtype, 'bool');
  assert.deepEqual(ok("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 2).shape, [2]);

  const bad = (header: string, includes: string[]): void => void throwsNpy(() => parseNpy(npyBytes(header, data)), includes);
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", ["'shape' must be a tuple", 'the integer 2']);
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", ["'shape' must be a tuple", 'a list of 1']);
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", ['non-negative integers']);
  bad("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", ["'fortran_order' must be True or False"]);
  bad("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", ['repeats the key "descr"']);
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", ["has 'descr', 'extra'"]);
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", ["after the header's dict"]);
  bad("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", ['cannot parse the header']);
  bad(`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(100)}2${',)'.repeat(100)}}`, ['nests deeper than 32 levels']);
  bad(`{'descr': '<f4', 'fortran_order': False, 'shape': (${'9'.repeat(60)},)}`, ['more than 40 digits']);
  bad("{'descr': '<f3', 'fortran_order': False, 'shape': (2,)}", ['dtype "<f3" is not supported']);
  bad("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", ['Python objects']);
  bad("[('descr', '<f4')]", ['the header must be a dict but is a list of 1']);
});

test('a version 3.0 header must be UTF-8', () => {
  const b = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f32Bytes([1, 2]), 3);
  b[20] = 0xff;
  throwsNpy(() => parseNpy(b, 'v3'), ['not valid UTF-8'], 'v3');
});

test('elementsToFloat32 decodes raw elements of either byte order without touching them', () => {
  const be = Uint8Array.from([0x3f, 0xc0, 0, 0, 0xc0, 0x20, 0, 0]);
  const keep = be.slice();
  assert.deepEqual([...elementsToFloat32(be, 'float32', false)], [1.5, -2.5]);
  assert.deepEqual(be, keep);
  // An odd offset forces a copy before the typed view.
  const odd = new Uint8Array(9);
  odd.set(f32Bytes([0.25, 8]), 1);
  assert.deepEqual([...elementsToFloat32(odd.subarray(1), 'float32', true)], [0.25, 8]);
  assert.deepEqual([...elementsToFloat32(Uint8Array.from([0, 0x3c, 0, 0xfc]), 'float16', true)], [1, -Infinity]);
  assert.deepEqual([...elementsToFloat32(Uint8Array.from([0, 2, 1]), 'bool', true)], [0, 1, 1]);
  assert.throws(() => elementsToFloat32(new Uint8Array(6), 'float32', true), /not a whole number of float32 elements/);
});

test('a mutation fuzz never raises anything but NpyError and never hangs', { timeout: 15_000 }, () => {
  const rand = mulberry32(20240611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const seeds = [
    'float32_le.npy',
    'fortran_be_2x3x4.npy',
    'v2_3x2.npy',
    'v3_3x2.npy',
    'int64_be.npy',
    'bool.npy',
    'scalar_0d.npy',
    'float16_le.npy',
  ].map((n) => readFileSync(fx(n)));
  const alphabet = "{}()[]',:0123456789-LTrueFalseNone <>|=fiubO?\\\n\x00\xff";
  let accepted = 0;
  let refused = 0;
  for (let round = 0; round < 600; round++) {
    const src = pick(seeds);
    let b = Uint8Array.from(src);
    const edits = rand() < 0.7 ? 1 : 2 + Math.floor(rand() * 3);
    for (let e = 0; e < edits; e++) {
      // Half inside the preamble and header, where the parsing happens.
      const at = rand() < 0.5 ? Math.floor(rand() * Math.min(b.length, 80)) : Math.floor(rand() * b.length);
      const kind = Math.floor(rand() * 5);
      if (kind === 0) b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
      else if (kind === 1) b[at] = Math.floor(rand() * 256);
      else if (kind === 2) b[at] = alphabet.charCodeAt(Math.floor(rand() * alphabet.length)) & 0xff;
      else if (kind === 3) b = b.slice(0, Math.floor(rand() * b.length));
      else {
        const grown = new Uint8Array(b.length + 1);
        grown.set(b.subarray(0, at));
        grown[at] = alphabet.charCodeAt(Math.floor(rand() * alphabet.length)) & 0xff;
        grown.set(b.subarray(at), at + 1);
        b = grown;
      }
    }
    const run = (fn: () => unknown): void => {
      try {
        fn();
        accepted++;
      } catch (err) {
        if (!(err instanceof NpyError)) assert.fail(`round ${round}: ${String(err)} is not an NpyError`);
        refused++;
      }
    };
    run(() => parseNpy(b, 'fuzz'));
    if (round % 10 === 0) {
      const path = join(dir, 'fuzz.npy');
      writeFileSync(path, b);
      run(() => readNpy(path));
      run(() => [...npyRows(path, 2)]);
    }
  }
  // The fuzz must exercise both outcomes to mean anything.
  assert.ok(accepted >= 10 && refused >= 300, `accepted ${accepted}, refused ${refused}`);
});
