import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { isNdArray, PickleError, PickleSecurityError, readPickle, unpickle, type NdArray } from '../../src/data/pickle.js';
import { mulberry32 } from '../../src/data/split.js';
import { assertClose, fixturePath } from '../helpers.js';

const fx = (name: string): string => fixturePath('data', name);
const MARKER = '/tmp/mmbalance-pickle-pwned';

function arr(v: unknown): NdArray {
  assert.ok(isNdArray(v), `expected a numpy array, got ${String(v)}`);
  return v;
}

const INTS: (number | bigint)[] = [
  0,
  1,
  -1,
  255,
  256,
  65535,
  65536,
  -129,
  -(2 ** 31),
  2 ** 31 - 1,
  2 ** 31,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  2n ** 63n,
  2n ** 64n + 5n,
  -(2n ** 70n),
];

for (const p of [0, 1, 2, 3, 4, 5]) {
  test(`protocol ${p}: edge values decode as Python wrote them`, () => {
    const v = readPickle(fx(`values_p${p}.pkl`)) as Map<string, unknown>;
    assert.ok(v instanceof Map);
    assert.deepEqual(v.get('ints'), INTS);
    const floats = v.get('floats') as number[];
    assert.deepEqual(floats, [0.5, -1.25e-300, Infinity]);
    assert.deepEqual(v.get('flags'), [true, false, null]);
    assert.equal(v.get('text'), 'h\u00e9llo \u2713 \u{1f600}');
    assert.deepEqual(v.get('bytes'), Uint8Array.from([0, 1, 255]));
    assert.deepEqual(v.get('bytearray'), Uint8Array.from([97, 98]));
    assert.deepEqual(v.get('set'), new Set([1, 2, 3]));
    assert.deepEqual(v.get('frozenset'), new Set(['a']));
    assert.deepEqual(v.get('tuple'), [1, 'two', [3]]);
    assert.deepEqual(
      [...(v.get('ordered') as Map<string, number>)],
      [
        ['z', 1],
        ['a', 2],
      ],
    );
    assert.deepEqual(
      v.get('intkeys'),
      new Map<number, string>([
        [1, 'one'],
        [-2, 'minus two'],
      ]),
    );

    const be = arr(v.get('be_f4'));
    assert.equal(be.sourceDtype, '>f4');
    assert.equal(be.dtype, '<f4');
    assert.deepEqual(be.shape, [2, 3]);
    assert.ok(be.data instanceof Float32Array);
    assertClose(be.data, [0, 0.25, 0.5, 0.75, 1, 1.25]);
    assert.deepEqual(arr(v.get('be_i8')).data, BigInt64Array.from([-2n, 2n ** 40n]));

    const f = arr(v.get('fortran'));
    assert.deepEqual(f.shape, [2, 3]);
    assert.deepEqual(Array.from(f.data as Float64Array), [0, 1, 2, 3, 4, 5]);
    const f3 = arr(v.get('fortran3'));
    assert.deepEqual(f3.shape, [2, 3, 4]);
    assert.deepEqual(
      Array.from(f3.data as Int32Array),
      Array.from({ length: 24 }, (_, i) => i),
    );

    const h = arr(v.get('f16'));
    assert.equal(h.dtype, '<f2');
    assert.ok(h.data instanceof Float32Array);
    assertClose(h.data, [1, -2.5, 65504, 0.0001], 1e-7, 1e-3);

    assert.deepEqual(arr(v.get('i8')).data, BigInt64Array.from([-(2n ** 63n), -1n, 2n ** 62n]));
    assert.deepEqual(arr(v.get('u8')).data, BigUint64Array.from([2n ** 64n - 1n]));
    assert.deepEqual(arr(v.get('i1')).data, Int8Array.from([-128, 127]));
    assert.deepEqual(arr(v.get('u2')).data, Uint16Array.from([65535]));
    const b = arr(v.get('b1'));
    assert.equal(b.dtype, '|b1');
    assert.deepEqual(b.data, Uint8Array.from([1, 0, 1]));
    assert.deepEqual(arr(v.get('unicode_arr')).data, ['ab', '\u00e9']);
    const o = arr(v.get('obj_arr'));
    assert.equal(o.dtype, '|O');
    assert.deepEqual(o.data, ['x', 3]);
    const e = arr(v.get('empty'));
    assert.deepEqual(e.shape, [0, 3]);
    assert.equal(e.data.length, 0);

    assert.equal(v.get('scalar_f4'), 1.5);
    assert.equal(v.get('scalar_i8'), -3);
    assert.equal(v.get('scalar_big'), 2n ** 62n);
    assert.equal(v.get('scalar_bool'), true);
    const shared = v.get('shared') as unknown[][];
    assert.equal(shared[0], shared[1], 'a memoized object stays one object');
  });
}

test('typed array data are aligned copies, never views of the file buffer', () => {
  const bytes = readFileSync(fx('values_p4.pkl'));
  const v = unpickle(bytes) as Map<string, unknown>;
  const a = arr(v.get('be_f4'));
  assert.notEqual((a.data as Float32Array).buffer, bytes.buffer);
  assert.equal((a.data as Float32Array).byteOffset, 0);
});

test('Python 2 strings: latin-1 by default, or bytes / utf8 on request', () => {
  // SHORT_BINSTRING 'caf\xe9' at protocol 2, and protocol 0 STRING with escapes.
  const p2 = Uint8Array.from([0x80, 0x02, 0x55, 4, 0x63, 0x61, 0x66, 0xe9, 0x2e]);
  assert.equal(unpickle(p2), 'caf\u00e9');
  assert.deepEqual(unpickle(p2, { encoding: 'bytes' }), Uint8Array.from([0x63, 0x61, 0x66, 0xe9]));
  assert.throws(() => unpickle(p2, { encoding: 'utf8' }), PickleError);
  assert.throws(() => unpickle(p2, { encoding: 'ascii' }), PickleError);
  const p0 = Buffer.from("S'a\\'b\\n\\xe9\\\\'\np0\n.", 'latin1');
  assert.equal(unpickle(p0), "a'b\n\u00e9\\");
  assert.equal(unpickle(Buffer.from('I01\n.')), true);
  assert.equal(unpickle(Buffer.from('L-12345678901234567890L\n.')), -12345678901234567890n);
  assert.equal(unpickle(Buffer.from('F-2.5\n.')), -2.5);
  assert.equal(unpickle(Buffer.from('Vcaf\\u00e9 \\U0001f600\n.')), 'caf\u00e9 \u{1f600}');
});

test('LONG1 negative and wide integers are two-complement, bigint beyond 2^53', () => {
  const long1 = (...b: number[]): unknown => unpickle(Uint8Array.from([0x80, 2, 0x8a, b.length, ...b, 0x2e]));
  assert.equal(long1(0xff), -1);
  assert.equal(long1(0x7f, 0xff), -129);
  assert.equal(long1(0x00, 0x80), -32768);
  assert.equal(long1(0, 0, 0, 0, 0, 0, 0, 0x80), -(2n ** 63n));
  assert.equal(long1(0, 0, 0, 0, 0, 0, 0, 0x80, 0), 2n ** 63n);
  assert.equal(long1(1, 0, 0, 0, 0, 0, 0x20), 2n ** 53n + 1n);
  assert.equal(long1(), 0);
});

test('a pickle naming os.system is refused before anything runs', () => {
  rmSync(MARKER, { force: true });
  for (const name of ['malicious_os_system.pkl', 'malicious_p4.pkl', 'malicious_eval_p2.pkl']) {
    assert.throws(
      () => readPickle(fx(name)),
      (e: unknown) =>
        e instanceof PickleSecurityError && /not a plain data pickle/.test(e.message) && /(os|posix)\.system|eval/.test(e.message),
    );
  }
  assert.throws(() => readPickle(fx('malicious_os_system.pkl')), /"os\.system"/);
  assert.throws(() => readPickle(fx('malicious_p4.pkl')), /"posix\.system"/);
  assert.equal(existsSync(MARKER), false, 'the payload must not have run');
});

test('other globals are refused too, including subprocess and builtins.getattr', () => {
  for (const [mod, name] of [
    ['subprocess', 'Popen'],
    ['builtins', 'getattr'],
    ['builtins', 'eval'],
    ['numpy', 'load'],
    ['copy_reg', '_reconstructor'],
  ]) {
    const bytes = Buffer.from(`c${mod}\n${name}\n(tR.`, 'latin1');
    assert.throws(
      () => unpickle(bytes),
      (e: unknown) => e instanceof PickleSecurityError && e.message.includes(`"${mod}.${name}"`),
    );
  }
  // INST names its class inline.
  assert.throws(() => unpickle(Buffer.from('(S"ls"\nios\nsystem\n.')), PickleSecurityError);
});

test('malformed input: PickleError with the byte offset', () => {
  assert.throws(
    () => unpickle(Uint8Array.from([0x80, 4, 0x95])),
    (e: unknown) => e instanceof PickleError && /byte/.test(e.message),
  );
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x68, 7, 0x2e])), /memo key 7 was never stored/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x5d])), /ends before the STOP/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x61, 0x2e])), /stack underflow/);
  assert.throws(() => unpickle(Uint8Array.from([0xff])), /unknown opcode 0xff.*byte 0/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 5, 0x97, 0x2e])), /NEXT_BUFFER/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 5, 0x98, 0x2e])), /READONLY_BUFFER/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x51, 0x2e])), /persistent ids/);
  // A length far beyond the file is refused without allocating it.
  assert.throws(() => unpickle(Uint8Array.from([0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0x2e])), /exceeds the whole file/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f])), /truncated pickle/);
});

test('fuzz: 300 seeded mutations and truncations parse or throw PickleError/PickleSecurityError', () => {
  const sources = ['values_p2.pkl', 'values_p4.pkl', 'ada2i_iemocap_p5.pkl'].map((n) => new Uint8Array(readFileSync(fx(n))));
  const rand = mulberry32(1234);
  const started = Date.now();
  for (let i = 0; i < 300; i++) {
    const src = sources[i % sources.length]!;
    let b = src.slice();
    const kind = i % 3;
    if (kind === 0) b = b.slice(0, Math.floor(rand() * b.length));
    else {
      const flips = 1 + Math.floor(rand() * (kind === 1 ? 3 : 20));
      for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    }
    try {
      unpickle(b);
    } catch (e) {
      assert.ok(e instanceof PickleError || e instanceof PickleSecurityError, `case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  assert.ok(Date.now() - started < 20_000, 'the fuzz cases must finish quickly');
});
