/** Clip data end to end through the command line: AV-MNIST built from real recordings and handwriting. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot, runCli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-clips-'));
const fsdd = join(packageRoot(), '..', 'shared', 'data', 'fsdd', 'recordings');
const avmnist = join(dir, 'avmnist.safetensors');

test('data avmnist builds, inspect shows it; clip-joint, OGM-GE and MMCosine train, eval and predict on it', () => {
  const b = runCli('data', 'avmnist', '--fsdd', fsdd, '--out', avmnist);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /audio \[1, 40, 40\], image \[1, 28, 28\]/);
  const again = runCli('data', 'avmnist', '--fsdd', fsdd, '--out', avmnist);
  assert.match(again.stderr, /exists; pass --force/);
  assert.match(runCli('data', 'inspect', avmnist).stdout, /train\s+7001/);
  const fast = ['--epochs', '1', '--set', 'train.batchSize=128', '--quiet'];
  const results: Record<string, { test: { accuracy: number }; strategy: string }> = {};
  for (const preset of ['clip-joint', 'clip-ogm-ge', 'clip-mmcosine']) {
    const out = join(dir, preset);
    const r = runCli('train', '--preset', preset, '--data', avmnist, '--out', out, ...fast);
    assert.equal(r.status, 0, `${preset}: ${r.stderr}`);
    results[preset] = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.ok(existsSync(join(out, 'predictions.safetensors')));
  }
  assert.ok(results['clip-joint']!.test.accuracy > 0.5, `joint accuracy ${results['clip-joint']!.test.accuracy}`);
  assert.equal(results['clip-ogm-ge']!.strategy, 'ogm-ge');
  const line = JSON.parse(readFileSync(join(dir, 'clip-ogm-ge', 'metrics.jsonl'), 'utf8').split('\n')[0]!);
  assert.ok(line.strategy.modulatedSteps > 0, 'OGM-GE modulated the conv kernels');
  assert.deepEqual(Object.keys(line.probeAccuracy).sort(), ['audio', 'image']);
  const ev = runCli('eval', '--run', join(dir, 'clip-joint'));
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(Math.abs(JSON.parse(ev.stdout).accuracy - results['clip-joint']!.test.accuracy) < 1e-12, 'eval reproduces the summary');
  const preds = join(dir, 'preds.jsonl');
  const pr = runCli('predict', '--run', join(dir, 'clip-joint'), '--out', preds);
  assert.equal(pr.status, 0, pr.stderr);
  const first = JSON.parse(readFileSync(preds, 'utf8').split('\n')[0]!);
  assert.match(first.sample, /^img\d{5}\+\d_theo_\d+$/);
  assert.equal(first.sample.split('+')[1][0], first.label, "the recording's digit is the label");
  // Multi-Loss, MLB and the GMM-guided loss (two short stages) through the same loop.
  for (const [preset, more] of [
    ['clip-multi-loss', []],
    ['clip-mlb', []],
    ['clip-gmm', ['--set', 'methodOptions.warmupEpochs=1', '--set', 'methodOptions.rounds=1', '--set', 'methodOptions.epochsPerRound=1']],
  ] as [string, string[]][]) {
    const out = join(dir, preset);
    const r = runCli('train', '--preset', preset, '--data', avmnist, '--out', out, ...fast, ...more);
    assert.equal(r.status, 0, `${preset}: ${r.stderr}`);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    if (preset === 'clip-mlb') assert.deepEqual(Object.keys(lines[0].strategy.k).sort(), ['audio', 'image']);
    if (preset === 'clip-multi-loss')
      assert.deepEqual(Object.keys(lines[0].trainLossTerms).sort(), ['fused', 'unimodal.audio', 'unimodal.image']);
    if (preset === 'clip-gmm') {
      assert.deepEqual(
        lines.map((l) => l.phase),
        ['warmup', 'round-1'],
      );
      assert.equal(
        lines[1].strategy.round.histogram.counts.reduce((a: number, b: number) => a + b, 0),
        7001,
      );
    }
  }
  // One modality alone.
  const audio = runCli('train', '--preset', 'clip-joint', '--data', avmnist, '--modalities', 'audio', '--out', join(dir, 'audio'), ...fast);
  assert.equal(audio.status, 0, audio.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'audio', 'summary.json'), 'utf8')).modalities, ['audio']);
});

test('data convert of a feature folder with a labels CSV, then train on it', () => {
  const folder = join(dir, 'features');
  mkdirSync(join(folder, 'video'), { recursive: true });
  const rows = ['id,label,split'];
  const n = 60;
  // audio.npy: N x 4 float32 (row i = CSV row i); video/<id>.npy: variable-length [T, 3] sequences.
  const npy = (shape: number[], values: Float32Array): Buffer => {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
    header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
    const pre = Buffer.alloc(10);
    Buffer.from('\x93NUMPY', 'latin1').copy(pre);
    pre[6] = 1;
    pre.writeUInt16LE(header.length, 8);
    return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
  };
  const audio = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const y = i % 3;
    rows.push(`clip${i},${['cat', 'dog', 'owl'][y]},${i < 40 ? 'train' : i < 48 ? 'dev' : 'test'}`);
    for (let j = 0; j < 4; j++) audio[i * 4 + j] = (j === y ? 2 : 0) + Math.sin(i * 7 + j);
    const T = 2 + (i % 4);
    writeFileSync(
      join(folder, 'video', `clip${i}.npy`),
      npy(
        [T, 3],
        Float32Array.from({ length: T * 3 }, (_, k) => (k % 3 === y ? 1 : 0) + Math.cos(i + k)),
      ),
    );
  }
  writeFileSync(join(folder, 'audio.npy'), npy([n, 4], audio));
  writeFileSync(join(folder, 'labels.csv'), rows.join('\n') + '\n');
  const out = join(dir, 'features.safetensors');
  const c = runCli('data', 'convert', folder, out);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /video \[T, 3\]/);
  assert.match(c.stdout, /video sequence lengths: min 2, median \d, max 5/);
  const run = join(dir, 'features-run');
  const t = runCli(
    'train',
    '--preset',
    'clip-joint',
    '--data',
    out,
    '--out',
    run,
    '--epochs',
    '3',
    '--set',
    'model.hidden=8',
    '--set',
    'model.nhead=1',
    '--set',
    'model.dimFeedforward=16',
    '--quiet',
  );
  assert.equal(t.status, 0, t.stderr);
  const s = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
  assert.deepEqual(s.classNames, ['cat', 'dog', 'owl']);
  assert.equal(s.recipe, 'clip');
  assert.equal(s.data.sizes.test, 12);
  // A bad file is refused with its name.
  writeFileSync(join(folder, 'video', 'clip3.npy'), Buffer.from('not a numpy file'));
  const bad = runCli('data', 'convert', folder, join(dir, 'bad.safetensors'));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /clip3\.npy/);
});
