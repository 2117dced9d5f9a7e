/**
 * A run directory a user can trust: each case below is something a new user tried, through the
 * command line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { readSafetensors } from '../../src/io/safetensors.js';
import { packageRoot, runCli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-rundir-'));
const data = join(dir, 'tiny.safetensors');
const SYNTH = ['--set', 'dialogues=16', '--set', 'utterances=160', '--set', 'minLength=4', '--set', 'maxLength=16'];
const SMALL = ['--preset', 'joint', '--set', 'model.encoder=mlp', '--set', 'model.hidden=8', '--set', 'train.batchSize=4', '--quiet'];

function makeData(): void {
  if (existsSync(data)) return;
  const r = runCli('data', 'synth', data, ...SYNTH, '--set', 'modalities={"text":6,"audio":5,"visual":4}');
  assert.equal(r.status, 0, r.stderr);
}

function train(out: string, ...more: string[]) {
  return runCli('train', '--data', data, '--epochs', '1', '--out', out, ...SMALL, ...more);
}

function fails(r: { status: number | null; stderr: string }, pattern: RegExp, what: string): void {
  assert.notEqual(r.status, 0, what);
  assert.match(r.stderr, pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace: ${what}`);
}

test('config values are type-checked against one schema; mmbalance config lists every key', () => {
  makeData();
  const out = join(dir, 'typed');
  fails(train(out, '--set', 'model.afw=no'), /model\.afw expects true or false but received 'no'/, 'afw=no');
  fails(train(out, '--set', 'model.afw=False'), /model\.afw expects true or false but received 'False'/, 'afw=False');
  fails(train(out, '--set', 'model=3'), /'model' is a group of settings, not a value/, 'model=3');
  fails(train(out, '--set', 'train.epochs=2.5'), /train\.epochs expects an integer >= 1 but received 2\.5/, 'fractional epochs');
  fails(train(out, '--set', 'model.head=concatt'), /model\.head expects one of .*; did you mean 'concat'\?/, 'bad head');
  assert.ok(!existsSync(out), 'nothing was created by a refused configuration');
  const cfg = runCli('config');
  assert.equal(cfg.status, 0, cfg.stderr);
  for (const key of ['model.afw', 'train.lr', 'data.task', 'ada2i.parity', 'train.device', 'recipe'])
    assert.match(cfg.stdout, new RegExp(`^  ${key.replace('.', '\\.')}\\s`, 'm'), key);
  assert.match(cfg.stdout, /model\.afw\s+true\n\s+true or false: /, 'the Ada2I preset turns AFW on');
  assert.match(runCli('train', '--help-config', '--preset', 'joint').stdout, /model\.afw\s+false/);
});

test('a run that fails before its first epoch leaves nothing that blocks the retry', () => {
  makeData();
  const out = join(dir, 'early');
  fails(train(out, '--epochs', '0'), /train\.epochs expects an integer >= 1 but received 0/, 'epochs 0');
  fails(train(out, '--set', 'nonsense=1'), /unknown config key 'nonsense'/, 'bad --set');
  assert.ok(!existsSync(out), 'validated before anything was created');
  // A run killed during epoch 1 leaves a config and no checkpoint: both a plain retry and --resume start it again.
  mkdirSync(out);
  writeFileSync(join(out, 'config.json'), '{}');
  const retry = train(out);
  assert.equal(retry.status, 0, retry.stderr);
  assert.match(retry.stdout, /never finished an epoch; starting it again/);
  rmSync(join(out, 'summary.json'));
  rmSync(join(out, 'last.safetensors'));
  const resumed = runCli('train', '--out', out, '--resume', '--quiet');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /no finished epoch; starting it again from the beginning/);
  assert.ok(existsSync(join(out, 'summary.json')));
});

test('--resume refuses options that differ from the stored run, listing them; --epochs may grow', () => {
  makeData();
  const out = join(dir, 'resume');
  assert.equal(train(out).status, 0);
  const r = runCli('train', '--out', out, '--resume', '--set', 'train.lr=0.5', '--seed', '3', '--modalities', 'ta', '--quiet');
  fails(r, /differ from its config\.json/, 'changed options');
  assert.match(r.stderr, /train\.lr: 0\.0001 -> 0\.5/);
  assert.match(r.stderr, /train\.seed: 12 -> 3/);
  assert.match(r.stderr, /modalities: \["text","audio","visual"\] -> \["text","audio"\]/);
  fails(runCli('train', '--out', out, '--resume', '--data', join(dir, 'other.safetensors')), /does not exist|differ/, 'other data');
  fails(runCli('train', '--out', out, '--resume'), /finished already; give a larger --epochs/, 'nothing left to do');
  const more = runCli('train', '--out', out, '--resume', '--epochs', '2', '--quiet');
  assert.equal(more.status, 0, more.stderr);
  assert.match(more.stdout, /train\.epochs 1 -> 2/);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).epochs.length, 2);
});

test('a lock on the run directory: a second run on the same --out at once gets a clear error', async () => {
  makeData();
  const out = join(dir, 'locked');
  // A live process holds the directory.
  const holder = spawn('sleep', ['30']);
  try {
    mkdirSync(out);
    writeFileSync(join(out, '.mmbalance.lock'), JSON.stringify({ pid: holder.pid }));
    fails(train(out), /is in use by another mmbalance process \(pid \d+/, 'locked');
    assert.ok(!existsSync(join(out, 'config.json')), 'the second run wrote nothing');
  } finally {
    holder.kill();
  }
  await new Promise((r) => holder.once('exit', r));
  // The holder is gone: its lock is stale and taken over.
  const r = train(out);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(join(out, '.mmbalance.lock')), 'released at the end');
});

test('two trainings started together on one --out: one runs, the other is refused', async () => {
  makeData();
  const out = join(dir, 'race');
  const start = () =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [join(packageRoot(), 'bin', 'mmbalance.js'), 'train', '--data', data, '--epochs', '2', '--out', out, ...SMALL],
        {
          env: { ...process.env, MMBALANCE_NUM_THREADS: '1' },
        },
      );
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += String(d)));
      p.on('exit', (status) => resolve({ status, stderr }));
    });
  const results = await Promise.all([start(), start()]);
  const ok = results.filter((r) => r.status === 0);
  assert.equal(ok.length, 1, results.map((r) => r.stderr).join('\n'));
  assert.match(results.find((r) => r.status !== 0)!.stderr, /in use by another mmbalance process|already holds a run/);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).epoch),
    [1, 2],
    'one run wrote the metrics',
  );
});

test('sweeps: a rerun keeps finished runs and continues; duplicate combinations are refused', () => {
  makeData();
  const out = join(dir, 'sweep');
  const args = ['sweep', '--data', data, '--modalities', 'ta,tv', '--seeds', '1', '--epochs', '1', '--out', out, ...SMALL];
  fails(runCli('sweep', '--data', data, '--modalities', 'ta,ta', '--out', out, ...SMALL), /lists text\+audio twice/, 'duplicates');
  assert.ok(!existsSync(out));
  assert.equal(runCli(...args).status, 0);
  const ta = join(out, 'text+audio', 'seed-12', 'summary.json');
  const before = readFileSync(ta, 'utf8');
  // An interrupted sweep: one run lost its summary (finished epochs, no final report).
  rmSync(join(out, 'text+visual', 'seed-12', 'summary.json'));
  const again = runCli(...args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /text\+audio seed 12: finished before, kept/);
  assert.equal(readFileSync(ta, 'utf8'), before, 'the finished run was not retrained');
  assert.ok(existsSync(join(out, 'text+visual', 'seed-12', 'summary.json')));
  fails(
    runCli(
      'sweep',
      '--data',
      data,
      '--modalities',
      'ta,tv',
      '--seeds',
      '1',
      '--epochs',
      '1',
      '--out',
      out,
      ...SMALL,
      '--set',
      'train.lr=0.3',
    ),
    /holds a sweep with other settings \(train\.lr\)/,
    'changed sweep',
  );
  // More seeds extend the sweep and keep its runs; fewer are refused, naming the option.
  const grown = runCli(...args.map((a, i) => (args[i - 1] === '--seeds' ? '2' : a)));
  assert.equal(grown.status, 0, grown.stderr);
  assert.match(grown.stdout, /text\+audio seed 12: finished before, kept/);
  assert.ok(existsSync(join(out, 'text+audio', 'seed-13', 'summary.json')));
  assert.equal(readFileSync(ta, 'utf8'), before, 'the finished run was not retrained');
  fails(runCli(...args), /--seeds \(was 2; it may only grow\)/, 'fewer seeds');
});

test('data convert never writes over its input; convert and synth need --force to replace', () => {
  makeData();
  const pkl = join(dir, 'in.pkl');
  writeFileSync(pkl, readFileSync(join(packageRoot(), 'test', 'fixtures', 'data', 'ada2i_iemocap_p4.pkl')));
  const size = readFileSync(pkl).length;
  fails(runCli('data', 'convert', pkl, pkl), /is the input file/, 'X X');
  assert.equal(readFileSync(pkl).length, size, 'the input is intact');
  fails(runCli('data', 'synth', data, ...SYNTH), /exists; pass --force/, 'synth over a file');
  const out = join(dir, 'conv.safetensors');
  assert.equal(runCli('data', 'convert', pkl, out).status, 0);
  fails(runCli('data', 'convert', pkl, out), /exists; pass --force/, 'convert over a file');
  assert.equal(runCli('data', 'convert', pkl, out, '--force').status, 0);
});

test('arguments: help everywhere, stray words and single-dash flags refused, near names suggested', () => {
  const h = runCli('train', '-h');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Usage: mmbalance train/);
  assert.match(h.stdout, /Examples:/);
  assert.match(h.stdout, /--epochs <number>\s+training epochs \(default the preset's \(50\)\)/);
  assert.equal(runCli('help', 'train').stdout, h.stdout);
  fails(runCli('train', 'foo'), /unexpected argument 'foo'/, 'stray word');
  fails(runCli('train', '-epochs', '2'), /unknown option -epochs: options are written --name; did you mean --epochs\?/, 'single dash');
  fails(runCli('train', '--modality', 'ta'), /did you mean --modalities\?/, '--modality');
  fails(runCli('data', 'foo'), /unknown data command 'foo'/, 'data foo');
  fails(runCli('data', 'inspect'), /expects a PATH/, 'data inspect without a path');
  fails(runCli('help', 'trian'), /did you mean 'train'/, 'help trian');
  const synthHelp = runCli('data', 'synth', '--help');
  assert.match(synthHelp.stdout, /dialogues=151/);
  assert.match(synthHelp.stdout, /separation=/);
  for (const cmd of ['eval', 'predict', 'sweep', 'config', 'data']) assert.equal(runCli(cmd, '-h').status, 0, cmd);
});

test('data synth --set parses values as train --set does', () => {
  const out = join(dir, 'typed-synth.safetensors');
  const r = runCli('data', 'synth', out, ...SYNTH, '--set', 'modalities={"x":3,"y":2}', '--set', 'classNames=["p","q"]');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 modalities \(x 3, y 2\), 2 classes/);
});

test('unwritable outputs fail fast with a clear error', () => {
  makeData();
  const t0 = Date.now();
  fails(train('/proc/mmbalance-run'), /cannot write to \/proc\/mmbalance-run/, '/proc');
  assert.ok(Date.now() - t0 < 20_000, 'failed fast');
});

test('runs find their data from anywhere; eval refuses other classes; corrupt configs are named; seeds fit 32 bits', () => {
  makeData();
  const out = join(dir, 'relative');
  const rel = relative(process.cwd(), data);
  const r = runCli('train', '--data', rel, '--epochs', '1', '--out', out, ...SMALL);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).data.path, data, 'stored resolved');
  const other = join(dir, 'other-classes.safetensors');
  assert.equal(
    runCli(
      'data',
      'synth',
      other,
      ...SYNTH,
      '--set',
      'modalities={"text":6,"audio":5,"visual":4}',
      '--set',
      'classNames=["a","b","c","d","e","f"]',
    ).status,
    0,
  );
  fails(
    runCli('eval', '--run', out, '--data', other),
    /classes \(a, b, c, d, e, f\) differ from the run's \(hap, sad, neu, ang, exc, fru\).*--force/,
    'other classes',
  );
  assert.equal(runCli('eval', '--run', out, '--data', other, '--force').status, 0);
  const bad = join(dir, 'corrupt');
  mkdirSync(bad);
  writeFileSync(join(bad, 'config.json'), '{"method": ');
  writeFileSync(join(bad, 'best.safetensors'), '');
  fails(
    runCli('eval', '--run', bad),
    new RegExp(`${join(bad, 'config.json').replace(/[/.]/g, '\\$&')} is not valid JSON`),
    'corrupt config',
  );
  fails(
    train(join(dir, 'seed'), '--seed', String(2 ** 32)),
    /train\.seed expects an integer between 0 and 4294967295 but received 4294967296/,
    'seed',
  );
});

test('leftovers of a killed run are cleaned; epochs carry timings; summary.json has provenance', () => {
  makeData();
  const out = join(dir, 'prov');
  mkdirSync(out);
  writeFileSync(join(out, 'last.safetensors.partial'), 'x');
  writeFileSync(join(out, 'best.safetensors.tmp-12345'), 'x');
  const r = train(out, '--epochs', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /removed what an interrupted run left half-written/);
  assert.deepEqual(
    readdirSync(out).filter((f) => f.includes('.partial') || f.includes('.tmp-')),
    [],
  );
  const line = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]!);
  assert.ok(line.seconds > 0 && line.wallSeconds >= line.seconds, 'training and whole-epoch seconds');
  assert.ok(!Number.isNaN(Date.parse(line.timestamp)), 'a timestamp');
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(s.versions.mmbalance, '0.1.0');
  assert.match(s.versions.libtorch, /^\d+\.\d+/);
  assert.equal(s.data.path, data);
  assert.match(s.data.sha256, /^[0-9a-f]{64}$/);
  assert.equal(s.seed, 12);
  assert.ok(Date.parse(s.endedAt) >= Date.parse(s.startedAt) && s.wallSeconds > 0);
  assert.equal(s.stopReason, 'completed');
  assert.equal(s.test.confusionMatrix.length, 6);
  assert.equal(
    s.test.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0),
    s.data.sizes.test,
  );
  assert.ok(s.test.loss > 0);
  // Per-sample predictions of dev and test.
  const { tensors, metadata } = readSafetensors(join(out, 'predictions.safetensors'));
  assert.deepEqual(tensors.get('test.probs')!.shape, [s.data.sizes.test, 6]);
  assert.deepEqual(tensors.get('dev.unimodal.audio')!.shape, [s.data.sizes.dev, 6]);
  assert.deepEqual(
    tensors.get('test.index')!.toArray(),
    Array.from({ length: s.data.sizes.test }, (_, i) => i),
  );
  assert.equal(JSON.parse(metadata['test.names']!).length, s.data.sizes.test);
  assert.match(r.stdout, /mmbalance train --out .* --resume' continues/);
});
