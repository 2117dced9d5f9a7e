import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturePath, runCli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-cli-'));

const SMALL = [
  '--preset',
  'joint',
  '--set',
  'model.encoder=mlp',
  '--set',
  'model.hidden=16',
  '--set',
  'train.batchSize=2',
  '--set',
  'train.lr=0.01',
  '--quiet',
];

test('convert, inspect, train, eval, predict and resume on a user pickle', () => {
  const data = join(dir, 'iemocap.safetensors');
  const conv = runCli('data', 'convert', fixturePath('data', 'dialoguernn_iemocap_p4.pkl'), data);
  assert.equal(conv.status, 0, conv.stderr);
  assert.ok(existsSync(data));
  const insp = runCli('data', 'inspect', data);
  assert.equal(insp.status, 0, insp.stderr);
  assert.match(insp.stdout, /3 modalities/);

  const run = join(dir, 'run');
  const tr = runCli('train', '--data', data, '--modalities', 'ta', '--epochs', '2', '--seed', '1', '--out', run, ...SMALL);
  assert.equal(tr.status, 0, tr.stderr);
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.modalities, ['text', 'audio']);
  assert.equal(summary.epochs.length, 2);
  assert.equal(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);

  const ev = runCli('eval', '--run', run);
  assert.equal(ev.status, 0, ev.stderr);
  const evOut = JSON.parse(ev.stdout);
  assert.ok(Math.abs(evOut.weightedF1 - summary.test.weightedF1) < 1e-12, 'eval reproduces the summary');

  const preds = join(dir, 'preds.jsonl');
  const pr = runCli('predict', '--run', run, '--data', data, '--out', preds, '--split', 'all');
  assert.equal(pr.status, 0, pr.stderr);
  const lines = readFileSync(preds, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(lines.length > 10);
  assert.ok(['hap', 'sad', 'neu', 'ang', 'exc', 'fru'].includes(lines[0].prediction));
  assert.ok(Math.abs(Object.values(lines[0].probabilities as Record<string, number>).reduce((a, b) => a + b, 0) - 1) < 1e-5);

  const res = runCli('train', '--out', run, '--resume', '--epochs', '3', '--quiet');
  assert.equal(res.status, 0, res.stderr);
  assert.equal(JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')).epochs.length, 3);
  assert.equal(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 3);
  const again = runCli('train', '--data', data, '--out', run, ...SMALL);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already holds a run; use --resume/);
});

test('bad input gets a clear message and a non-zero exit, never a stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['trian'], /unknown command 'trian'; did you mean 'train'\?/],
    [['train', '--epoch', '2'], /unknown option --epoch; did you mean --epochs\?/],
    [['train', '--set', 'train.lrr=1'], /unknown config key 'train.lrr'; did you mean 'train.lr'\?/],
    [['train', '--method', 'ogm'], /method expects one of joint, .* but received 'ogm'; did you mean 'ogm-ge'\?/],
    [['data', 'inspect', fixturePath('data', 'malicious_os_system.pkl')], /PickleSecurityError: .*os.*system/],
    [['eval', '--run', dir], /is not a run directory with weights/],
  ];
  for (const [args, pattern] of cases) {
    const r = runCli(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
  }
  const help = runCli('train', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--modalities/);
});

test('CMU-MOSEI label tasks and the IEMOCAP 4-class variant through the command line', () => {
  const tiny = [
    '--set',
    'model.hidden=10',
    '--set',
    'model.dimFeedforward=16',
    '--set',
    'model.afwRank=2',
    '--set',
    'train.batchSize=2',
    '--epochs',
    '1',
    '--quiet',
  ];
  const mosei = fixturePath('data', 'mosei_tasks_p4.pkl');
  const noTask = runCli('train', '--preset', 'ada2i-mosei', '--data', mosei, '--out', join(dir, 'mosei-none'), ...tiny);
  assert.equal(noTask.status, 1);
  assert.match(noTask.stderr, /2 tasks \("sentiment_2", "sentiment_7"\).*data\.task/);
  const out = join(dir, 'mosei7');
  const r = runCli('train', '--preset', 'ada2i-mosei', '--data', mosei, '--set', 'data.task=sentiment_7', '--out', out, ...tiny);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(s.classNames, ['sneg', 'neg', 'wneg', 'neu', 'wpos', 'pos', 'spos']);
  assert.equal(s.method, 'ada2i');
  assert.equal(s.data.devSource, 'file', 'valVid is the dev split');
  const four = join(dir, 'iemocap4');
  const r4 = runCli(
    'train',
    '--preset',
    'joint',
    '--data',
    fixturePath('data', 'ada2i_iemocap_p4.pkl'),
    '--set',
    'data.classes=4',
    '--out',
    four,
    ...SMALL,
    '--epochs',
    '1',
  );
  assert.equal(r4.status, 0, r4.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(four, 'summary.json'), 'utf8')).classNames, ['hap', 'sad', 'neu', 'ang']);
  const bad = runCli('train', '--set', 'data.classes=5', '--out', join(dir, 'five'));
  assert.match(bad.stderr, /data\.classes expects one of 6, 4 but received 5/);
});
