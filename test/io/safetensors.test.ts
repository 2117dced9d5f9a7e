import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  type DType,
  type RawTensor,
  type SafeDType,
  SafetensorsError,
  Tensor,
  cuda,
  fromTypedArray,
  loadSafetensors,
  loadStateDict,
  nn,
  parseSafetensors,
  rawToTensor,
  readSafetensors,
  saveSafetensors,
  saveStateDict,
  safeDTypeSize,
  scope,
  serializeSafetensors,
  tensorToRaw,
} from '../../src/index.js';
import { assertClose, fixturePath, readJsonFixture } from '../helpers.js';

interface ExpectedTensor {
  dtype: DType;
  st_dtype: SafeDType;
  shape: number[];
  values: (number | string | boolean)[];
  bits?: number[];
}
interface ExpectedFile {
  metadata: Record<string, string> | null;
  order: string[];
  byteIdentical: boolean;
  tensors: Record<string, ExpectedTensor>;
}

const expected = readJsonFixture<{ files: Record<string, ExpectedFile> }>('safetensors', 'expected.json').files;
const FILES = Object.keys(expected);
const tmp = mkdtempSync(join(tmpdir(), 'mmbalance-safetensors-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath('safetensors', name)));
}

function num(v: number | string | boolean): number {
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return Number(v);
}

/** The tensor PyTorch wrote, rebuilt from expected.json alone (not from the file). */
function expectedTensor(e: ExpectedTensor): Tensor {
  const v = e.values;
  switch (e.dtype) {
    case 'float32':
      return fromTypedArray(Float32Array.from(v, num), e.shape);
    case 'float64':
      return fromTypedArray(Float64Array.from(v, num), e.shape);
    case 'int64':
      return fromTypedArray(
        BigInt64Array.from(v, (x) => BigInt(x as string)),
        e.shape,
      );
    case 'int32':
      return fromTypedArray(Int32Array.from(v, num), e.shape);
    case 'int16':
      return fromTypedArray(Int16Array.from(v, num), e.shape);
    case 'int8':
      return fromTypedArray(Int8Array.from(v, num), e.shape);
    case 'uint8':
      return fromTypedArray(Uint8Array.from(v, num), e.shape);
    case 'bool':
      return fromTypedArray(
        Uint8Array.from(v, (x) => (x ? 1 : 0)),
        e.shape,
        { dtype: 'bool' },
      );
    case 'float16':
    case 'bfloat16':
      return fromTypedArray(Uint16Array.from(e.bits!), e.shape, { dtype: e.dtype });
  }
}

function bytesOf(t: Tensor): Uint8Array {
  const a = t.toTypedArray();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A file from a header (object or raw text) and a data buffer, with an optional forced length prefix. */
function build(header: unknown, data: Uint8Array | number = 0, n?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseSafetensors(bytes),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected a SafetensorsError, got ${String(e)}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

function f32(name: string, begin: number, end: number, shape: number[] = [(end - begin) / 4]): Record<string, unknown> {
  return { [name]: { dtype: 'F32', shape, data_offsets: [begin, end] } };
}

// ---- the reference implementation's own test vectors (safetensors/src/tensor.rs) ----

test('writes the reference test vectors byte for byte', () => {
  const data = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);
  const ser = serializeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } });
  // prettier-ignore
  assert.deepEqual(Array.from(ser), [
    64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
    116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
    58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
    101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
    0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
  ]);
  const aligned = serializeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } });
  // prettier-ignore
  assert.deepEqual(Array.from(aligned), [
    72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
    121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
    91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
    115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
    32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
    160, 64,
  ]);
  assert.deepEqual(Array.from(serializeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  // prettier-ignore
  assert.deepEqual(Array.from(serializeSafetensors(new Map(), { framework: 'pt' })), [
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32,
  ]);
  const parsed = parseSafetensors(aligned);
  assert.deepEqual([...parsed.tensors.keys()], ['attn0']);
  assert.deepEqual(parsed.tensors.get('attn0')!.shape, [1, 1, 2, 3]);
  assert.deepEqual(parsed.metadata, {});
  assert.deepEqual(parseSafetensors(serializeSafetensors({}, { framework: 'pt' })).metadata, { framework: 'pt' });
});

// ---- fixtures written by PyTorch ----

for (const file of FILES) {
  test(`reads ${file}: names, order, dtypes, shapes, values and metadata as PyTorch wrote them`, () => {
    const exp = expected[file]!;
    const { tensors, metadata } = readSafetensors(fixturePath('safetensors', file));
    assert.deepEqual(metadata, exp.metadata ?? {});
    assert.deepEqual([...tensors.keys()], exp.order);
    assert.deepEqual(new Set(tensors.keys()), new Set(Object.keys(exp.tensors)));
    for (const [name, e] of Object.entries(exp.tensors)) {
      const t = tensors.get(name)!;
      assert.equal(t.dtype, e.dtype, `${name} dtype`);
      assert.deepEqual(t.shape, e.shape, `${name} shape`);
      assert.equal(t.device, 'cpu');
      assert.deepEqual(bytesOf(t), bytesOf(expectedTensor(e)), `${name}: stored bits`);
      if (e.dtype === 'int64') assert.deepEqual(Array.from(t.toTypedArray() as BigInt64Array, String), e.values, `${name} values`);
      else if (e.dtype === 'bool')
        assert.deepEqual(
          t.toArray(),
          e.values.map((b) => (b ? 1 : 0)),
          `${name} values`,
        );
      else assertClose(t, e.values.map(num), 0, 0, `${file}:${name}`);
      if (e.bits) assert.deepEqual(Array.from(t.toTypedArray() as Uint16Array), e.bits, `${name} bits`);
    }
  });

  test(`writes ${file} ${expected[file]!.byteIdentical ? 'byte-identical to PyTorch' : '(sorted metadata keys) byte-identical to the fixture'}`, () => {
    const exp = expected[file]!;
    const want = fixtureBytes(file);
    // From the values in expected.json, never from the file itself.
    const fromValues = new Map(Object.entries(exp.tensors).map(([name, e]) => [name, expectedTensor(e)]));
    const out = join(tmp, `written-${file}`);
    saveSafetensors(out, fromValues, exp.metadata ?? undefined);
    assert.deepEqual(new Uint8Array(readFileSync(out)), want);
    // Raw parse -> serialize also reproduces the file, whatever order the record lists tensors in.
    const parsed = parseSafetensors(want);
    const shuffled = Object.fromEntries([...parsed.tensors.entries()].reverse());
    assert.deepEqual(serializeSafetensors(shuffled, exp.metadata ?? undefined), want);
  });
}

test('names sort by UTF-8 bytes within a dtype, not by UTF-16 units', () => {
  const order = expected['names.safetensors']!.order;
  assert.ok(order.indexOf('\uff5ewave') < order.indexOf('\u{1f600}smile'));
  assert.ok(order.indexOf('B') < order.indexOf('a.10') && order.indexOf('a.10') < order.indexOf('a.2'));
  const one = (v: number): RawTensor => ({ dtype: 'U8', shape: [1], data: Uint8Array.of(v) });
  const bytes = serializeSafetensors({ '\u{1f600}': one(1), '\uff5e': one(2) });
  assert.deepEqual([...parseSafetensors(bytes).tensors.keys()], ['\uff5e', '\u{1f600}']);
});

// ---- round trips ----

test('round trip through a file for every dtype, 0-d and empty tensors included', () => {
  scope(() => {
    const stored: Record<DType, SafeDType> = {
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
    const shapes = [[], [0], [3, 0, 2], [5], [2, 3, 4]];
    const tensors = new Map<string, Tensor>();
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xffff;
    for (const [dt, st] of Object.entries(stored) as [DType, SafeDType][]) {
      for (const shape of shapes) {
        // Random bit patterns: NaN payloads, subnormals and extreme integers must survive too.
        const bytes = new Uint8Array(shape.reduce((a, b) => a * b, 1) * safeDTypeSize(st));
        for (let i = 0; i < bytes.length; i++) bytes[i] = dt === 'bool' ? rnd() & 1 : rnd() & 0xff;
        const t = rawToTensor({ dtype: st, shape, data: bytes });
        assert.equal(t.dtype, dt);
        assert.deepEqual(tensorToRaw(t), { dtype: st, shape, data: bytes });
        tensors.set(`${dt}.${shape.join('x') || 'scalar'}`, t);
      }
    }
    const path = join(tmp, 'roundtrip.safetensors');
    saveSafetensors(path, tensors, { kind: 'roundtrip' });
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { kind: 'roundtrip' });
    assert.equal(back.tensors.size, tensors.size);
    for (const [name, t] of tensors) {
      const b = back.tensors.get(name)!;
      assert.equal(b.dtype, t.dtype, name);
      assert.deepEqual(b.shape, t.shape, name);
      assert.deepEqual(bytesOf(b), bytesOf(t), name);
    }
    // Record input and a second save give the same bytes (the order depends on nothing but the contents).
    const again = join(tmp, 'roundtrip2.safetensors');
    saveSafetensors(again, Object.fromEntries([...tensors].reverse()), { kind: 'roundtrip' });
    assert.deepEqual(readFileSync(again), readFileSync(path));
  });
});

test('parse returns views into the input; rawToTensor copies', () => {
  const bytes = serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) } });
  const raw = parseSafetensors(bytes).tensors.get('x')!;
  assert.equal(raw.data.buffer, bytes.buffer);
  const t = rawToTensor(raw);
  new Float32Array(bytes.buffer, bytes.byteLength - 8, 2).set([5, 6]);
  assert.deepEqual(Array.from(new Float32Array(raw.data.slice().buffer)), [5, 6]);
  assert.deepEqual(t.toArray(), [1, 2]);
});

test('metadata: given is written (even empty), "__proto__" stays a plain key', () => {
  const empty = serializeSafetensors({}, {});
  assert.equal(Buffer.from(empty.subarray(8)).toString().trimEnd(), '{"__metadata__":{}}');
  const meta = JSON.parse('{"__proto__": "x", "b": "2"}') as Record<string, string>;
  const back = parseSafetensors(serializeSafetensors({}, meta)).metadata;
  assert.deepEqual(Object.keys(back), ['__proto__', 'b']);
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.equal(back['b'], '2');
});

test('save is atomic: a failure keeps the previous file and leaves no temporary file', () => {
  const path = join(tmp, 'atomic.safetensors');
  saveSafetensors(path, { a: fromTypedArray(new Float32Array([1, 2, 3])) });
  const before = readFileSync(path);
  const dead = fromTypedArray(new Float32Array([1]));
  dead.dispose();
  assert.throws(() => saveSafetensors(path, { a: fromTypedArray(new Float32Array([4])), b: dead }));
  assert.throws(() => saveSafetensors(path, { a: 'nope' as unknown as Tensor }), SafetensorsError);
  assert.deepEqual(readFileSync(path), before);
  assert.throws(() => saveSafetensors(join(tmp, 'no-such-dir', 'x.safetensors'), { a: fromTypedArray(new Float32Array([1])) }), /ENOENT/);
  assert.deepEqual(
    readdirSync(tmp).filter((f) => f.includes('.tmp-')),
    [],
  );
  assert.equal(existsSync(`${path}.tmp-${process.pid}`), false);
});

test('saves CUDA tensors, or refuses a CUDA device clearly where libtorch has none', () => {
  if (!cuda.isAvailable()) {
    assert.throws(() => fromTypedArray(new Float32Array([1, 2, 3]), [3], { device: 'cuda' }), /this libtorch has no CUDA.*LIBTORCH/);
    return;
  }
  const t = fromTypedArray(new Float32Array([1, 2, 3]), [3], { device: 'cuda' });
  const path = join(tmp, 'cuda.safetensors');
  saveSafetensors(path, { t });
  const back = loadSafetensors(path).get('t')!;
  assert.equal(back.device, 'cpu');
  assert.deepEqual(back.toArray(), [1, 2, 3]);
});

// ---- refusals ----

test('refuses malformed files with a SafetensorsError naming the problem', () => {
  refuses(new Uint8Array(5), /5 bytes, shorter than the 8-byte header length prefix/);
  refuses(new Uint8Array(0), /shorter than the 8-byte/);
  refuses(build('{}', 0, 100n), /header length 100 bytes is larger than the 2 bytes/);
  refuses(build('{}', 0, 200_000_000n), /exceeds the 100000000-byte limit/);
  refuses(build('{}', 0, 0xffffffffffffffffn), /exceeds the 100000000-byte limit/);
  const badUtf8 = new Uint8Array(12);
  new DataView(badUtf8.buffer).setBigUint64(0, 4n, true);
  badUtf8.set([0x7b, 0xff, 0xfe, 0x7d], 8);
  refuses(badUtf8, /header is not valid UTF-8/);
  refuses(build('{"a": '), /header is not valid JSON/);
  refuses(build('[1, 2]'), /header must be a JSON object but is an array/);
  refuses(build('null'), /header must be a JSON object but is null/);
  refuses(build('42'), /header must be a JSON object but is number 42/);
  refuses(build({ a: 3 }), /tensor "a": entry must be an object/);
  refuses(build({ a: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor "a": entry is missing dtype/);
  refuses(build({ a: { dtype: 'F32', data_offsets: [0, 4] } }, 4), /tensor "a": entry is missing shape/);
  refuses(build({ a: { dtype: 'F32', shape: [1] } }, 4), /tensor "a": entry is missing data_offsets/);
  refuses(
    build({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 4] } }, 4),
    /tensor "a": unknown dtype the string "F128"; supported: BOOL, U8/,
  );
  refuses(build({ a: { dtype: 'f32', shape: [1], data_offsets: [0, 4] } }, 4), /unknown dtype/);
  refuses(build({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /shape must be an array of non-negative integers/);
  refuses(build({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), /shape must be/);
  refuses(build({ a: { dtype: 'F32', shape: '1', data_offsets: [0, 4] } }, 4), /shape must be/);
  refuses(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /data_offsets must be \[begin, end\]/);
  refuses(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, '4'] } }, 4), /data_offsets must be/);
  refuses(build({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /end before they begin/);
  refuses(build(f32('a', 0, 8), 4), /tensor "a": data_offsets \[0, 8\] are out of range: the data buffer is 4 bytes/);
  refuses(build(f32('a', 0, 8, [3]), 8), /span 8 bytes but shape \[3\] of F32 needs 12 bytes/);
  refuses(build(f32('a', 0, 0, [2 ** 40, 2 ** 40]), 0), /impossibly large/);
  refuses(build({ ...f32('a', 0, 8), ...f32('b', 4, 12) }, 12), /tensor "b": data_offsets \[4, 12\] overlap tensor "a"/);
  refuses(build({ ...f32('a', 0, 4), ...f32('b', 8, 12) }, 12), /bytes 4\.\.8 of the data buffer belong to no tensor \(a gap\)/);
  refuses(build(f32('a', 4, 8), 8), /bytes 0\.\.4 .*gap/);
  refuses(build(f32('a', 0, 4), 6), /the 2 bytes after them belong to no tensor/);
  refuses(build({}, 3), /cover only 0/);
  refuses(build({ __metadata__: { x: 1 } }), /__metadata__ value for key "x" is number 1; metadata values must be strings/);
  refuses(build({ __metadata__: { x: null } }), /key "x" is null/);
  refuses(build({ __metadata__: ['a'] }), /__metadata__ must be an object of strings but is an array/);
});

test('refuses tensors it cannot write, and dtypes the engine lacks', () => {
  const bad = (tensors: Record<string, RawTensor>, metadata: Record<string, string> | undefined, pattern: RegExp): void =>
    assert.throws(
      () => serializeSafetensors(tensors, metadata),
      (e: unknown) => e instanceof SafetensorsError && pattern.test(e.message),
    );
  const data = new Uint8Array(8);
  bad({ a: { dtype: 'F32', shape: [3], data } }, undefined, /tensor "a": data is 8 bytes but shape \[3\] of F32 needs 12 bytes/);
  bad({ a: { dtype: 'X' as SafeDType, shape: [2], data } }, undefined, /unknown dtype/);
  bad({ a: { dtype: 'F32', shape: [-2], data } }, undefined, /shape must be/);
  bad({ a: { dtype: 'F32', shape: [2], data: [1, 2] as unknown as Uint8Array } }, undefined, /data must be a Uint8Array/);
  bad({ __metadata__: { dtype: 'F32', shape: [2], data } }, undefined, /reserved/);
  bad({}, { epoch: 3 as unknown as string }, /metadata value for key "epoch" is number 3/);

  const u32 = join(tmp, 'u32.safetensors');
  writeFileSync(
    u32,
    serializeSafetensors({ ok: { dtype: 'F32', shape: [1], data: new Uint8Array(4) }, big: { dtype: 'U32', shape: [2], data } }),
  );
  assert.equal(parseSafetensors(readFileSync(u32)).tensors.get('big')!.dtype, 'U32');
  assert.throws(
    () => loadSafetensors(u32),
    (e: unknown) => e instanceof SafetensorsError && e.message.startsWith(`${u32}: tensor "big": dtype U32 has no mmbalance dtype`),
  );
  const corrupt = join(tmp, 'corrupt.safetensors');
  writeFileSync(corrupt, new Uint8Array(3));
  assert.throws(
    () => loadSafetensors(corrupt),
    (e: unknown) => e instanceof SafetensorsError && e.message.startsWith(`${corrupt}: file is 3 bytes`),
  );
});

test('fuzz: 300 mutations of a valid file parse or throw SafetensorsError, never anything else', () => {
  const base = fixtureBytes('dtypes.safetensors');
  const headerEnd = 8 + Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true));
  let s = 0x9e3779b9;
  const rnd = (n: number): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
  const tokens = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"',
    '0',
    '9',
    '-',
    'e',
    ' ',
    '\\',
    'F32',
    'U16',
    '__metadata__',
    'null',
    '99999999999999999999',
  ];
  const counts = { parsed: 0, refused: 0 };
  const start = Date.now();
  for (let i = 0; i < 300; i++) {
    let m = base.slice();
    const kind = rnd(6);
    if (kind === 0)
      m = m.slice(0, rnd(m.length)); // truncation
    else if (kind === 1)
      for (let k = 0; k <= rnd(4); k++) m[rnd(headerEnd)] = rnd(256); // random header bytes
    else if (kind === 2)
      m[rnd(8)] = rnd(256); // length prefix
    else if (kind === 3) {
      const at = 8 + rnd(headerEnd - 8);
      const tok = Buffer.from(tokens[rnd(tokens.length)]!, 'latin1');
      m.set(tok.subarray(0, Math.min(tok.length, m.length - at)), at); // JSON-ish tokens
    } else if (kind === 4) {
      const at = rnd(m.length);
      const extra = new Uint8Array(rnd(16) + 1).map(() => rnd(256));
      const grown = new Uint8Array(m.length + extra.length);
      grown.set(m.subarray(0, at));
      grown.set(extra, at);
      grown.set(m.subarray(at), at + extra.length);
      m = grown; // insertion
    } else m[headerEnd + rnd(m.length - headerEnd)] = rnd(256); // data bytes: must still parse
    let parsed: ReturnType<typeof parseSafetensors>;
    try {
      parsed = parseSafetensors(m);
    } catch (e) {
      if (!(e instanceof SafetensorsError)) assert.fail(`mutation ${i} (kind ${kind}) threw ${String(e)} instead of a SafetensorsError`);
      assert.notEqual(kind, 5, `mutation ${i}: changing data bytes must not break parsing (${e.message})`);
      counts.refused++;
      continue;
    }
    counts.parsed++;
    // Whatever parses must re-serialize and become tensors (or be refused for its dtype).
    parseSafetensors(serializeSafetensors(parsed.tensors, parsed.metadata));
    scope(() => {
      for (const [name, raw] of parsed.tensors) {
        try {
          rawToTensor(raw, name);
        } catch (e) {
          assert.ok(e instanceof SafetensorsError && /has no mmbalance dtype/.test(e.message), `mutation ${i}: ${String(e)}`);
        }
      }
    });
  }
  assert.equal(counts.parsed + counts.refused, 300);
  assert.ok(counts.refused > 100, `only ${counts.refused} mutations refused: the mutations are too gentle`);
  assert.ok(Date.now() - start < 20_000, 'fuzzing took too long');
});

// ---- state dicts ----

class Model extends nn.Module {
  readonly encoder = this.registerModule(
    'encoder',
    new nn.TransformerEncoder(() => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true }), 1),
  );
  readonly bn = this.registerModule('bn', new nn.BatchNorm(4));
  readonly head = this.registerModule('head', new nn.Linear(8, 3));
  forward(): void {}
}

test('state dict written by PyTorch loads into the matching model by dotted name', () => {
  const sd = loadStateDict(fixturePath('safetensors', 'state_dict.safetensors'));
  assert.ok(sd.has('encoder.layers.0.self_attn.in_proj_weight'));
  assert.equal(sd.get('bn.num_batches_tracked')!.dtype, 'int64');
  const model = new Model();
  assert.deepEqual(model.loadStateDict(sd), { missing: [], unexpected: [] });
  const exp = expected['state_dict.safetensors']!.tensors;
  for (const [name, t] of model.stateDict()) assert.deepEqual(bytesOf(t), bytesOf(expectedTensor(exp[name]!)), name);
  // Saving the model again gives PyTorch's bytes (metadata format=pt, as save_pretrained writes).
  const path = join(tmp, 'model.safetensors');
  saveStateDict(path, model.stateDict());
  assert.deepEqual(new Uint8Array(readFileSync(path)), fixtureBytes('state_dict.safetensors'));
});

test('state dict save/load round trip keeps dotted names, values and metadata', () => {
  const model = new Model();
  const path = join(tmp, 'roundtrip-sd.safetensors');
  saveStateDict(path, Object.fromEntries(model.stateDict()), { epoch: '3' });
  const { tensors, metadata } = readSafetensors(path);
  assert.deepEqual(metadata, { format: 'pt', epoch: '3' });
  const own = model.stateDict();
  assert.deepEqual(new Set(tensors.keys()), new Set(own.keys()));
  for (const [name, t] of own) {
    assert.deepEqual(tensors.get(name)!.shape, t.shape, name);
    assert.deepEqual(bytesOf(tensors.get(name)!), bytesOf(t), name);
  }
  const other = new Model();
  other.loadStateDict(loadStateDict(path));
  for (const [name, t] of other.stateDict()) assert.deepEqual(bytesOf(t), bytesOf(own.get(name)!), name);
  saveStateDict(path, new Map([['x', fromTypedArray(new Float32Array([1]))]]), { format: 'np' });
  assert.deepEqual(readSafetensors(path).metadata, { format: 'np' });
  assert.throws(() => saveStateDict(path, { w: 5 as unknown as Tensor }), /state dict entry "w" is not a Tensor/);
});
