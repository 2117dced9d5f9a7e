import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { readClipFolder, type ClipFolderOptions } from '../../src/data/clip/folder.js';
import type { ClipDataset } from '../../src/data/clip/types.js';
import { shuffled } from '../../src/data/split.js';
import { DatasetError, type DatasetLocation } from '../../src/data/validate.js';
import { ArgumentError } from '../../src/engine/errors.js';
import { NpyError } from '../../src/io/npy.js';
import { SafetensorsError, serializeSafetensors, type RawTensor } from '../../src/io/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'mmb-clipfolder-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;

type Descr = '<f4' | '>f4' | '<f8' | '<i2' | '|u1';

/** A .npy file of `values` given in row-major order, stored in `descr` (and column-major when `fortran`). */
function npy(shape: number[], values: ArrayLike<number>, descr: Descr = '<f4', fortran = false): Uint8Array {
  const n = shape.reduce((a, d) => a * d, 1);
  assert.equal(values.length, n, 'fixture values match the shape');
  let order = Array.from({ length: n }, (_, i) => i);
  if (fortran) {
    // Element at column-major position f is the row-major element with the same multi-index.
    order = order.map((f) => {
      let c = 0;
      let rest = f;
      const idx = shape.map((d) => {
        const i = rest % d;
        rest = Math.floor(rest / d);
        return i;
      });
      for (let k = 0; k < shape.length; k++) c = c * shape[k]! + idx[k]!;
      return c;
    });
  }
  const size = { '<f4': 4, '>f4': 4, '<f8': 8, '<i2': 2, '|u1': 1 }[descr];
  const data = new DataView(new ArrayBuffer(n * size));
  order.forEach((c, f) => {
    const v = values[c]!;
    if (descr === '<f4' || descr === '>f4') data.setFloat32(f * 4, v, descr === '<f4');
    else if (descr === '<f8') data.setFloat64(f * 8, v, true);
    else if (descr === '<i2') data.setInt16(f * 2, v, true);
    else data.setUint8(f, v);
  });
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const header = Buffer.from(`{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${dims}, }\n`, 'latin1');
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(header, 10);
  out.set(new Uint8Array(data.buffer), 10 + header.length);
  return out;
}

/** A folder holding these files (paths relative to it). */
function folder(files: Record<string, Uint8Array | string>): string {
  const dir = join(root, `f${folders++}`);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const seq = (n: number, from = 0, step = 1): number[] => Array.from({ length: n }, (_, i) => from + i * step);

function rows(ds: ClipDataset, split: 'train' | 'dev' | 'test', m: string): number[][] {
  const shape = ds.shapes[m]!;
  const f = ds.splits[split].features[m]!;
  const lengths = ds.splits[split].lengths[m];
  const width = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const out: number[][] = [];
  let at = 0;
  for (let i = 0; i < ds.splits[split].ids.length; i++) {
    const n = lengths ? lengths[i]! * width : width;
    out.push([...f.subarray(at, at + n)]);
    at += n;
  }
  assert.equal(at, f.length, `${split}/${m}: the values add up to the samples`);
  return out;
}

function refuses(fn: () => unknown, location: DatasetLocation, includes: string[]): DatasetError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DatasetError, `expected a DatasetError but got ${String(caught)}`);
  assert.deepEqual(caught.location, location);
  for (const s of includes) assert.ok(caught.message.includes(s), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(s)}`);
  return caught;
}

// Six samples: a0 a1 (train), b0 (dev), c0 c1 c2 (test, c1 with a quoted id).
const CSV = 'id,label,split\na0,dog,train\na1,cat,train\nb0,dog,dev\nc0,bird,test\n"c,1",cat,test\nc2,dog,test\n';
const IDS = ['a0', 'a1', 'b0', 'c0', 'c,1', 'c2'];
/** A folder with the six-sample CSV (or another) and these files. */
const withCsv = (extra: Record<string, Uint8Array | string> = {}, csv = CSV): string => folder({ 'labels.csv': csv, ...extra });

test('one file per modality: rows map to CSV rows in order, every dtype becomes float32', () => {
  const audio = seq(6 * 4, 0, 0.5);
  const video = seq(6 * 2 * 3 * 3, -10, 0.25);
  const dir = folder({
    'labels.csv': CSV,
    'audio.npy': npy([6, 4], audio),
    'video.npy': npy([6, 2, 3, 3], video, '<f8'),
    'pixels.npy': npy([6, 2, 2], seq(24), '|u1'),
    'README.md': 'ignored',
  });
  const ds = readClipFolder(dir);
  assert.deepEqual(ds.modalities, ['audio', 'pixels', 'video']);
  assert.deepEqual(ds.shapes, { audio: [4], pixels: [2, 2], video: [2, 3, 3] });
  assert.deepEqual(ds.classNames, ['bird', 'cat', 'dog']);
  assert.equal(ds.devSource, 'file');
  assert.deepEqual(ds.splits.train.ids, ['a0', 'a1']);
  assert.deepEqual(ds.splits.dev.ids, ['b0']);
  assert.deepEqual(ds.splits.test.ids, ['c0', 'c,1', 'c2']);
  assert.deepEqual([...ds.splits.train.labels], [2, 1]);
  assert.deepEqual([...ds.splits.test.labels], [0, 1, 2]);
  const byId = (values: number[], width: number, id: string): number[] => {
    const r = IDS.indexOf(id);
    return values.slice(r * width, (r + 1) * width);
  };
  for (const s of ['train', 'dev', 'test'] as const) {
    assert.deepEqual(
      rows(ds, s, 'audio'),
      ds.splits[s].ids.map((id) => byId(audio, 4, id)),
    );
    assert.deepEqual(
      rows(ds, s, 'video'),
      ds.splits[s].ids.map((id) => byId(video, 18, id).map(Math.fround)),
    );
    assert.deepEqual(
      rows(ds, s, 'pixels'),
      ds.splits[s].ids.map((id) => byId(seq(24), 4, id)),
    );
    assert.ok(ds.splits[s].features.audio instanceof Float32Array);
    assert.deepEqual(ds.splits[s].lengths, {});
  }
  assert.equal(ds.name, dir.split('/').at(-1));
  assert.equal(ds.meta?.files, 'audio: audio.npy; pixels: pixels.npy; video: video.npy');
});

test('one sub-folder per modality: variable-length sequences get [-1, d] and lengths, fixed ones keep [T, d]', () => {
  const T = [3, 1, 2, 4, 2, 1];
  const files: Record<string, Uint8Array | string> = { 'labels.csv': CSV };
  IDS.forEach((id, r) => {
    files[`speech/${id}.npy`] = npy([T[r]!, 2], seq(T[r]! * 2, 100 * r));
    files[`frames/${id}.npy`] = npy([2, 3], seq(6, -r), '>f4');
    files[`image/${id}.npy`] = npy([1, 2, 2], seq(4, r, 0.5), '<f4', true);
  });
  const ds = readClipFolder(folder(files));
  assert.deepEqual(ds.modalities, ['frames', 'image', 'speech']);
  assert.deepEqual(ds.shapes, { frames: [2, 3], image: [1, 2, 2], speech: [-1, 2] });
  for (const s of ['train', 'dev', 'test'] as const) {
    const rs = ds.splits[s].ids.map((id) => IDS.indexOf(id));
    assert.deepEqual(
      [...ds.splits[s].lengths.speech!],
      rs.map((r) => T[r]!),
    );
    assert.equal(ds.splits[s].lengths.frames, undefined);
    assert.deepEqual(
      rows(ds, s, 'speech'),
      rs.map((r) => seq(T[r]! * 2, 100 * r)),
    );
    assert.deepEqual(
      rows(ds, s, 'frames'),
      rs.map((r) => seq(6, -r)),
    );
    assert.deepEqual(
      rows(ds, s, 'image'),
      rs.map((r) => seq(4, r, 0.5)),
    );
  }
  assert.match(ds.meta!.files!, /speech: speech\/ \(one <id>\.npy per sample\)/);
});

test('without dev rows, a seeded share of the training rows becomes dev, in CSV order', () => {
  const n = 20;
  const ids = seq(n).map((i) => `s${i}`);
  const csv = `id,label,split\n${ids.map((id, i) => `${id},${i % 2},${i < 16 ? 'train' : 'test'}`).join('\n')}\n`;
  const dir = folder({ 'labels.csv': csv, 'x.npy': npy([n, 1], seq(n)) });
  const ds = readClipFolder(dir, { devFraction: 0.25, seed: 7 });
  assert.equal(ds.devSource, 'train-split');
  assert.deepEqual(ds.classNames, ['0', '1']);
  const picked = new Set(shuffled(seq(16), 7).slice(0, 4));
  assert.deepEqual(
    ds.splits.dev.ids,
    ids.slice(0, 16).filter((_, i) => picked.has(i)),
  );
  assert.deepEqual(
    ds.splits.train.ids,
    ids.slice(0, 16).filter((_, i) => !picked.has(i)),
  );
  assert.deepEqual(
    rows(ds, 'dev', 'x'),
    ds.splits.dev.ids.map((id) => [Number(id.slice(1))]),
  );
  assert.deepEqual(ds.splits.test.ids, ids.slice(16));
  assert.equal(ds.meta?.seed, '7');
  const other = readClipFolder(dir, { devFraction: 0.25, seed: 8 });
  assert.notDeepEqual(other.splits.dev.ids, ds.splits.dev.ids, 'another seed, another dev split');
  assert.deepEqual(readClipFolder(dir, { devFraction: 0.25, seed: 7 }).splits.dev.ids, ds.splits.dev.ids);
});

test('streaming a large modality file gives the same dataset as reading it whole', () => {
  const n = 37;
  const values = seq(n * 6, -50, 0.75);
  const csv = `id,label,split\n${seq(n)
    .map((i) => `r${i},${i % 3},${['train', 'dev', 'test', 'train'][i % 4]}`)
    .join('\n')}\n`;
  for (const [descr, fortran] of [
    ['<f4', false],
    ['>f4', false],
    ['<f8', true],
  ] as const) {
    const dir = folder({ 'labels.csv': csv, 'a.npy': npy([n, 2, 3], values, descr, fortran) });
    const whole = readClipFolder(dir);
    // 5 rows of 24 bytes per chunk: chunks straddle split boundaries.
    const streamed = readClipFolder(dir, { streamAboveBytes: 0, chunkBytes: 5 * 6 * 4 });
    assert.equal(whole.meta?.files, 'a: a.npy');
    assert.equal(streamed.meta?.files, 'a: a.npy (streamed)');
    for (const s of ['train', 'dev', 'test'] as const) {
      assert.deepEqual(streamed.splits[s].ids, whole.splits[s].ids);
      assert.deepEqual(streamed.splits[s].features.a, whole.splits[s].features.a, `${descr} ${s}`);
      assert.deepEqual(
        rows(streamed, s, 'a'),
        streamed.splits[s].ids.map((id) => values.slice(Number(id.slice(1)) * 6, Number(id.slice(1)) * 6 + 6)),
      );
    }
  }
});

/** A safetensors file with one tensor per entry. */
function safetensors(tensors: Record<string, RawTensor>): Uint8Array {
  return serializeSafetensors(tensors);
}

test('a <modality>.safetensors file with one tensor is read like a .npy file, in any float dtype', () => {
  const f16 = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0x00, 0x42, 0x00, 0x00, 0x00, 0x44]); // 1, -2, 0.5, 3, 0, 4
  const bf16 = Uint8Array.from([0x80, 0x3f, 0x00, 0xc0, 0x40, 0x40, 0x20, 0x41, 0x00, 0x00, 0xc8, 0x42]); // 1, -2, 3, 10, 0, 100
  const i64 = new Uint8Array(new BigInt64Array([5n, -6n, 7n, 0n, 9n, 2n ** 40n]).buffer);
  const dir = folder({
    'labels.csv': CSV,
    'half.safetensors': safetensors({ x: { dtype: 'F16', shape: [6, 1], data: f16 } }),
    'brain.safetensors': safetensors({ feats: { dtype: 'BF16', shape: [6, 1], data: bf16 } }),
    'count.safetensors': safetensors({ n: { dtype: 'I64', shape: [6, 1], data: i64 } }),
  });
  const ds = readClipFolder(dir);
  assert.deepEqual(ds.modalities, ['brain', 'count', 'half']);
  const all = (m: string): number[] => (['train', 'dev', 'test'] as const).flatMap((s) => rows(ds, s, m).flat());
  // Splits list rows 0 1 | 2 | 3 4 5, the CSV order.
  assert.deepEqual(all('half'), [1, -2, 0.5, 3, 0, 4]);
  assert.deepEqual(all('brain'), [1, -2, 3, 10, 0, 100]);
  assert.deepEqual(all('count'), [5, -6, 7, 0, 9, 2 ** 40]);
  refuses(
    () =>
      readClipFolder(
        folder({
          'labels.csv': CSV,
          'two.safetensors': safetensors({
            a: { dtype: 'F32', shape: [6, 1], data: new Uint8Array(24) },
            b: { dtype: 'F32', shape: [6, 1], data: new Uint8Array(24) },
          }),
        }),
      ),
    { field: 'two' },
    ['holds 2 tensors (a, b)', 'exactly one [N, ...] tensor'],
  );
  refuses(
    () => readClipFolder(withCsv({ 'f8.safetensors': safetensors({ x: { dtype: 'F8_E4M3', shape: [6, 1], data: new Uint8Array(6) } }) })),
    { field: 'f8' },
    ['holds F8_E4M3 values, which cannot be converted'],
  );
  assert.throws(
    () => readClipFolder(withCsv({ 'bad.safetensors': new Uint8Array(4) })),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.match(e.message, /bad\.safetensors: file is 4 bytes/);
      return true;
    },
  );
});

test('labels: integers, given class names, and names ordered by code point', () => {
  const one = (labels: string[], o: ClipFolderOptions = {}): ClipDataset => {
    const csv = `id,split,label\n${labels.map((l, i) => `s${i},${i === 0 ? 'test' : 'train'},${l}`).join('\n')}\n`;
    return readClipFolder(folder({ 'labels.csv': csv, 'x.npy': npy([labels.length, 1], seq(labels.length)) }), o);
  };
  const ints = one(['2', '0', '0', '3']);
  assert.deepEqual(ints.classNames, ['0', '1', '2', '3']);
  assert.deepEqual([...ints.splits.test.labels, ...ints.splits.train.labels, ...ints.splits.dev.labels].sort(), [0, 0, 2, 3]);
  const names = one(['zebra', 'Zebra', '\u00c4pfel', 'apple', 'zebra']);
  assert.deepEqual(names.classNames, ['Zebra', 'apple', 'zebra', '\u00c4pfel']);
  const given = one(['neg', 'pos', 'neg', 'neu'], { classNames: ['pos', 'neg', 'neu'] });
  assert.deepEqual(given.classNames, ['pos', 'neg', 'neu']);
  assert.deepEqual([...given.splits.test.labels], [1]);
  const indices = one(['1', '0', '2', '1'], { classNames: ['a', 'b', 'c'] });
  assert.deepEqual([...indices.splits.test.labels], [1]);
  refuses(
    () => one(['neg', 'pos', 'meh', 'neu'], { classNames: ['pos', 'neg', 'neu'] }),
    { split: 'train', sample: 's2', field: 'label' },
    ['line 4', 'label "meh" is not one of the classes pos, neg, neu'],
  );
  refuses(() => one(['1', '0', '3', '1'], { classNames: ['a', 'b', 'c'] }), { split: 'train', sample: 's2', field: 'label' }, [
    'label 3 is no index into the 3 classes',
  ]);
  refuses(() => one(['1', '-1', '0', '1']), { split: 'train', sample: 's1', field: 'label' }, ['label -1 is not a class index']);
  refuses(() => one(['cat', 'cat', 'cat', 'cat']), { field: 'label' }, ['names 1 class (cat)', 'at least 2']);
});

test('the CSV may quote fields, use CRLF, start with a BOM, and live elsewhere', () => {
  const dir = folder({
    'meta/my labels.csv': '\ufeffID,Label,Split\r\n"x ""1""",cat,train\r\n  y2 ,"dog, big",TEST\r\n\r\nz3,cat,train\r\n',
    'v.npy': npy([3, 2], seq(6)),
  });
  const ds = readClipFolder(dir, { labels: join(dir, 'meta', 'my labels.csv') });
  assert.deepEqual(ds.classNames, ['cat', 'dog, big']);
  assert.deepEqual(ds.splits.test.ids, ['y2']);
  assert.deepEqual([...ds.splits.train.ids, ...ds.splits.dev.ids].sort(), ['x "1"', 'z3']);
  assert.deepEqual(rows(ds, 'test', 'v'), [[2, 3]]);
});

test('every validation error names split, sample and field and says what to do', () => {
  const bad = seq(6 * 4);
  bad[4 * 4 + 2] = NaN; // sample "c,1", element 2
  refuses(() => readClipFolder(withCsv({ 'audio.npy': npy([6, 4], bad) })), { split: 'test', sample: 'c,1', field: 'audio' }, [
    'value NaN at element 2 of row 4 of',
    'audio.npy',
    'replace NaN/Inf',
  ]);
  refuses(
    () => readClipFolder(withCsv({ 'audio.npy': npy([6, 4], bad) }), { streamAboveBytes: 0, chunkBytes: 16 }),
    { split: 'test', sample: 'c,1', field: 'audio' },
    ['value NaN'],
  );

  const files = (shapeOf: (r: number) => number[], patch?: (r: number, v: number[]) => void): Record<string, Uint8Array> =>
    Object.fromEntries(
      IDS.map((id, r) => {
        const shape = shapeOf(r);
        const v = seq(shape.reduce((a, d) => a * d, 1));
        patch?.(r, v);
        return [`speech/${id}.npy`, npy(shape, v)];
      }),
    );
  refuses(
    () =>
      readClipFolder(
        withCsv(
          files(
            (r) => [r + 1, 3],
            (r, v) => {
              if (r === 2) v[1 * 3 + 2] = -Infinity;
            },
          ),
        ),
      ),
    { split: 'dev', sample: 'b0', field: 'speech' },
    ['value -Infinity at step 1, element 2 of speech/b0.npy'],
  );
  refuses(() => readClipFolder(withCsv(files((r) => (r === 3 ? [2, 4] : [2, 3])))), { split: 'test', sample: 'c0', field: 'speech' }, [
    'has shape [2, 4]',
    'the first sample ("a0") has [2, 3]',
  ]);
  refuses(() => readClipFolder(withCsv(files((r) => (r === 1 ? [6] : [2, 3])))), { split: 'train', sample: 'a1', field: 'speech' }, [
    'has shape [6]',
  ]);
  refuses(() => readClipFolder(withCsv(files((r) => (r === 5 ? [0, 3] : [2, 3])))), { split: 'test', sample: 'c2', field: 'speech' }, [
    'sequence is empty',
  ]);
  refuses(() => readClipFolder(withCsv(files(() => [1, 1, 1, 1]))), { split: 'train', sample: 'a0', field: 'speech' }, [
    '[d], [T, d] or [C, H, W]',
  ]);

  // Ids in the CSV without data, and data without a CSV row, in both layouts.
  const missing = files(() => [2]);
  delete missing['speech/c0.npy'];
  refuses(() => readClipFolder(withCsv(missing)), { split: 'test', sample: 'c0', field: 'speech' }, ['there is no speech/c0.npy']);
  refuses(() => readClipFolder(withCsv({ ...files(() => [2]), 'speech/zz.npy': npy([2], [1, 2]) })), { field: 'speech' }, [
    'zz.npy has no row in',
    'add a row for sample "zz" or remove the file',
  ]);
  refuses(() => readClipFolder(withCsv({ 'a.npy': npy([5, 2], seq(10)) })), { split: 'test', sample: 'c2', field: 'a' }, [
    'line 7 has no data',
    'has 5 rows, one per CSV row in order, but the CSV has 6',
  ]);
  refuses(() => readClipFolder(withCsv({ 'a.npy': npy([7, 2], seq(14)) })), { field: 'a' }, ['row 6 of', 'has no CSV row']);
  refuses(() => readClipFolder(withCsv({ 'a.npy': npy([6], seq(6)) })), { field: 'a' }, ['shape [6]', '[N, d], [N, T, d] or [N, C, H, W]']);
  refuses(() => readClipFolder(withCsv({ 'a.npy': npy([6, 0], []) })), { field: 'a' }, ['shape [6, 0]']);
  refuses(() => readClipFolder(withCsv({ ...files(() => [2]), 'speech/notes.txt': 'x' })), { field: 'speech' }, [
    'notes.txt is not an <id>.npy file',
  ]);

  // The CSV itself.
  const a = { 'a.npy': npy([6, 1], seq(6)) };
  refuses(() => readClipFolder(withCsv(a, CSV.replace('c2,', 'a1,'))), { split: 'test', sample: 'a1', field: 'id' }, [
    'appears on line 3 and again on line 7',
  ]);
  refuses(() => readClipFolder(withCsv(a, CSV.replace('c2,dog,test', 'c2,dog,valid'))), { sample: 'c2', field: 'split' }, [
    'line 7: split "valid" is not train, dev or test',
  ]);
  refuses(() => readClipFolder(withCsv(a, CSV.replace(/test/g, 'train'))), { split: 'test' }, ['the test split is empty']);
  refuses(() => readClipFolder(withCsv(a, CSV.replace(/,train/g, ',test'))), { split: 'train' }, ['the training split is empty']);
  refuses(() => readClipFolder(withCsv(a, 'id,label\na,x\nb,y\nc,x\nd,y\ne,x\nf,y\n')), { split: 'test' }, ['has no split column']);
  refuses(() => readClipFolder(withCsv(a, 'id,class\na,x\n')), {}, ['must be id,label or id,label,split']);
  refuses(() => readClipFolder(withCsv(a, 'id,label,split\na,x\n')), {}, ['line 2 has 2 fields but the header has 3']);
  refuses(() => readClipFolder(withCsv(a, 'id,label,split\n,x,train\n')), { field: 'id' }, ['line 2 has an empty id']);
  refuses(() => readClipFolder(withCsv(a, 'id,label,split\n"a,x,train\n')), {}, ['never closed']);
  refuses(() => readClipFolder(withCsv(a, 'id,label,split\n')), {}, ['no rows']);
  refuses(() => readClipFolder(folder({ 'a.npy': npy([1], [1]) })), {}, ['cannot read the labels file', 'labels.csv']);

  // The folder.
  refuses(
    () => readClipFolder(withCsv({ 'a.npy': npy([6, 1], seq(6)), 'a.safetensors': new Uint8Array(8), 'a/x.npy': '' })),
    { field: 'a' },
    ['stored twice'],
  );
  refuses(() => readClipFolder(withCsv({ 'notes.txt': 'x' })), {}, ['holds no modality']);
  refuses(() => readClipFolder(join(root, 'nowhere')), {}, ['is not a folder']);
});

test('a held-out dev split needs two training samples; options are checked before any reading', () => {
  refuses(() => readClipFolder(withCsv({ 'a.npy': npy([2, 1], [1, 2]) }, 'id,label,split\na,x,train\nb,y,test\n')), { split: 'train' }, [
    'cannot hold out a dev split from 1 training sample',
  ]);
  const dir = withCsv({ 'a.npy': npy([6, 1], seq(6)) });
  assert.throws(() => readClipFolder(dir, { devFraction: 1 }), ArgumentError);
  assert.throws(() => readClipFolder(dir, { seed: 0.5 }), /Expected integer for seed but received 0.5/);
  assert.throws(() => readClipFolder(dir, { classNames: ['only'] }), /Expected an array of at least 2 distinct, non-empty class names/);
  assert.throws(() => readClipFolder(dir, { streamAboveBytes: -1 }), ArgumentError);
});

test('an unreadable .npy raises NpyError naming the file', () => {
  const whole = npy([6, 1], seq(6));
  const broken = whole.slice(0, whole.length - 3);
  assert.throws(() => readClipFolder(withCsv({ 'a.npy': broken })), NpyError);
  assert.throws(() => readClipFolder(withCsv({ 'a.npy': broken })), /a\.npy: .*truncated/);
});
