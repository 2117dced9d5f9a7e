import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  LOGMEL,
  WavError,
  addNoiseAtSnr,
  centreFit,
  decodeWav,
  hannPeriodic,
  logMel,
  melFilterbank,
  readWav,
  signalPower,
} from '../../src/data/clip/audio.js';
import { mulberry32 } from '../../src/data/split.js';
import { normalSampler } from '../../src/data/synth.js';
import { packageRoot, readJsonFixture } from '../helpers.js';

/** Written by test/fixtures/audio/gen_logmel.py (NumPy float64, Python's wave module). */
interface LogMelFixture {
  filters: { shape: number[]; values: number[] };
  cases: { file: string; samples: number; head: number[]; sumSquares: number; logmel: { shape: number[]; values: number[] } }[];
}

const FSDD = join(packageRoot(), '..', 'shared', 'data', 'fsdd', 'recordings');
const fixture = readJsonFixture<LogMelFixture>('audio', 'logmel.json');
const skip = existsSync(FSDD) ? false : `the Free Spoken Digit Dataset is not at ${FSDD}`;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A canonical 44-byte-header WAV, written byte by byte (independently of the decoder). */
function wavBytes(o: { format?: number; channels?: number; rate?: number; bits?: number; frames?: number }): Buffer {
  const format = o.format ?? 1;
  const channels = o.channels ?? 1;
  const rate = o.rate ?? 8000;
  const bits = o.bits ?? 16;
  const frames = o.frames ?? 100;
  const block = (channels * bits) / 8;
  const data = Buffer.alloc(frames * block);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 0xff;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * block, 28);
  h.writeUInt16LE(block, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

describe('decodeWav / readWav', () => {
  test('real FSDD files decode to the samples Python reads, scaled by 1/32768', { skip }, () => {
    for (const c of fixture.cases) {
      const x = readWav(join(FSDD, c.file));
      assert.equal(x.length, c.samples, c.file);
      assert.ok(maxAbsDiff(x.subarray(0, c.head.length), c.head) < 1e-9, c.file);
      let ss = 0;
      for (const v of x) ss += v * v;
      assert.ok(Math.abs(ss - c.sumSquares) <= 1e-9 * c.sumSquares, `${c.file}: sum of squares ${ss} vs ${c.sumSquares}`);
    }
  });

  test('a Buffer that starts inside a larger allocation decodes the same', { skip }, () => {
    const bytes = readFileSync(join(FSDD, fixture.cases[0]!.file));
    const inner = Buffer.concat([Buffer.alloc(13, 7), bytes]).subarray(13);
    assert.equal(inner.byteOffset, 13);
    assert.deepEqual(decodeWav(inner, 'inner'), readWav(join(FSDD, fixture.cases[0]!.file)));
  });

  test('a hand-written 8 kHz mono 16-bit WAV decodes to its little-endian int16 values', () => {
    const bytes = wavBytes({ frames: 50 });
    const x = decodeWav(bytes, 'made.wav');
    assert.equal(x.length, 50);
    for (let i = 0; i < 50; i++) assert.equal(x[i], bytes.readInt16LE(44 + 2 * i) / 32768);
  });

  const dir = mkdtempSync(join(tmpdir(), 'mmbalance-wav-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const bad: [string, Buffer, RegExp][] = [
    ['rate16k.wav', wavBytes({ rate: 16000 }), /16000 Hz, 1 channel\(s\), 16-bit PCM/],
    ['stereo.wav', wavBytes({ channels: 2 }), /8000 Hz, 2 channel\(s\)/],
    ['eightbit.wav', wavBytes({ bits: 8 }), /8-bit PCM/],
    ['float.wav', wavBytes({ format: 3, bits: 32 }), /format code 3, not PCM/],
    ['empty.wav', wavBytes({ frames: 0 }), /holds no samples/],
    ['garbage.wav', Buffer.from('this is not a wave file at all, just text'), /not a readable WAV file/],
  ];
  for (const [name, bytes, why] of bad) {
    test(`refuses ${name}, naming the file and the reason`, () => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      assert.throws(
        () => readWav(path),
        (e: unknown) => {
          assert.ok(e instanceof WavError, String(e));
          assert.equal(e.file, path);
          assert.ok(e.message.startsWith(`${path}: `), e.message);
          assert.match(e.message, why);
          return true;
        },
      );
    });
  }

  test('a missing file is a WavError naming it', () => {
    const path = join(dir, 'missing.wav');
    assert.throws(
      () => readWav(path),
      (e: unknown) => e instanceof WavError && e.message.includes(path) && /cannot be read/.test(e.message),
    );
  });

  test('an unsupported format says how to convert it', () => {
    assert.throws(() => decodeWav(wavBytes({ rate: 44100, channels: 2 }), 'x.wav'), /expected 8000 Hz mono 16-bit PCM.*sox/);
  });
});

describe('log-mel', () => {
  test('the mel filters match the NumPy reference', () => {
    const { nMels, nFft, sampleRate, fMin, fMax } = LOGMEL;
    assert.deepEqual(fixture.filters.shape, [nMels, nFft / 2 + 1]);
    assert.ok(maxAbsDiff(melFilterbank(nMels, nFft, sampleRate, fMin, fMax), fixture.filters.values) < 1e-8);
  });

  test('every mel filter peaks at 1 and covers at least one bin', () => {
    const fb = melFilterbank(40, 256, 8000, 0, 4000);
    for (let m = 0; m < 40; m++) {
      const row = fb.subarray(m * 129, (m + 1) * 129);
      const peak = Math.max(...row);
      assert.ok(peak > 0.5 && peak <= 1, `filter ${m} peaks at ${peak}`);
    }
  });

  test('the periodic Hann window', () => {
    const w = hannPeriodic(8);
    assert.ok(maxAbsDiff(w, [0, 0.1464466, 0.5, 0.8535534, 1, 0.8535534, 0.5, 0.1464466]) < 1e-7);
  });

  test('matches the NumPy reference on real recordings (padded, cropped, long) within 1e-4', { skip }, () => {
    for (const c of fixture.cases) {
      const lm = logMel(readWav(join(FSDD, c.file)));
      assert.deepEqual(c.logmel.shape, [40, 40]);
      assert.equal(lm.length, 1600);
      const d = maxAbsDiff(lm, c.logmel.values);
      assert.ok(d < 1e-4, `${c.file}: max |diff| ${d}`);
    }
  });

  test('a clip shorter than 5,248 samples gives silent frames of ln(1e-6) at both ends', { skip }, () => {
    const lm = logMel(readWav(join(FSDD, '6_nicolas_7.wav')));
    for (let m = 0; m < 40; m++) {
      assert.ok(Math.abs(lm[m * 40]! - Math.log(1e-6)) < 1e-5);
      assert.ok(Math.abs(lm[m * 40 + 39]! - Math.log(1e-6)) < 1e-5);
    }
  });

  test('is computed in about a millisecond a clip', { skip }, () => {
    const x = readWav(join(FSDD, '9_yweweler_4.wav'));
    logMel(x);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) logMel(x);
    const ms = (performance.now() - t0) / 200;
    assert.ok(ms < 5, `${ms.toFixed(2)} ms a clip`);
  });
});

describe('centreFit', () => {
  const x = Float64Array.from([1, 2, 3, 4, 5]);
  test('pads with floor((L - n) / 2) zeros in front', () => {
    assert.deepEqual([...centreFit(x, 8)], [0, 1, 2, 3, 4, 5, 0, 0]);
    assert.deepEqual([...centreFit(x, 9)], [0, 0, 1, 2, 3, 4, 5, 0, 0]);
  });
  test('crops from floor((n - L) / 2)', () => {
    assert.deepEqual([...centreFit(x, 2)], [2, 3]);
    assert.deepEqual([...centreFit(x, 3)], [2, 3, 4]);
  });
  test('returns a copy at the exact length', () => {
    const y = centreFit(x, 5);
    assert.deepEqual(y, x);
    assert.notEqual(y, x);
  });
});

describe('addNoiseAtSnr', { skip }, () => {
  const x = skip ? new Float64Array(1) : readWav(join(FSDD, '3_lucas_7.wav'));
  for (const snr of [20, 5, 0, -5]) {
    test(`measured SNR on a real clip is within 0.5 dB of ${snr} dB`, () => {
      const y = addNoiseAtSnr(x, snr, normalSampler(mulberry32(snr + 100)));
      const noise = y.map((v, i) => v - x[i]!);
      const measured = 10 * Math.log10(signalPower(x) / signalPower(noise));
      assert.ok(Math.abs(measured - snr) < 0.5, `measured ${measured.toFixed(3)} dB`);
    });
  }
  test('the same normal stream gives the same noise; the clip itself is left alone', () => {
    const before = x.slice();
    const a = addNoiseAtSnr(x, 10, normalSampler(mulberry32(1)));
    const b = addNoiseAtSnr(x, 10, normalSampler(mulberry32(1)));
    const c = addNoiseAtSnr(x, 10, normalSampler(mulberry32(2)));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.deepEqual(x, before);
  });
});
