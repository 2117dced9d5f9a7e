import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PRESET, applyPreset, defaultRunConfig } from '../../src/train/run_config.js';
import { fixturePath, runCli } from '../helpers.js';

test("the Ada2I presets carry the authors' hyperparameters (methods.md section 7)", () => {
  assert.equal(DEFAULT_PRESET, 'ada2i-iemocap');
  const i = applyPreset(defaultRunConfig(), 'ada2i-iemocap');
  assert.equal(i.method, 'ada2i');
  assert.equal(i.recipe, 'ada2i');
  assert.equal(i.preset, 'ada2i-iemocap');
  assert.deepEqual(i.methodOptions, { alpha: 0.037, startEpoch: 4, noise: true });
  assert.equal(i.model.hidden, 300);
  assert.equal(i.model.afwRank, 11);
  assert.equal(i.model.afwBeta, 0.012);
  assert.equal(i.model.afwLayers, 2);
  assert.deepEqual(i.model.afwOrder, ['audio', 'text', 'visual']);
  assert.equal(i.model.dropout, 0.5);
  assert.equal(i.model.head, 'amw');
  assert.equal(i.model.afw, true);
  assert.equal(i.train.lr, 1.7e-4);
  assert.equal(i.train.batchSize, 10);
  assert.equal(i.train.epochs, 50);
  assert.equal(i.train.seed, 12);
  assert.equal(i.train.weightDecay, 1e-8);
  assert.equal(i.train.clipGradNorm, 2);
  assert.equal(i.train.patience, 20);
  assert.equal(i.train.scheduler, 'plateau');
  assert.equal(i.data.devFraction, 0.1);
  assert.equal(i.data.devMode, 'shuffle');
  const m = applyPreset(defaultRunConfig(), 'ada2i-meld');
  assert.equal(m.model.hidden, 200);
  assert.equal(m.train.lr, 1.3e-4);
  assert.equal(m.methodOptions.alpha, 0.42);
  assert.equal(m.model.afwBeta, 0.55);
  assert.equal(m.model.afwRank, 6);
  assert.equal(m.data.devMode, 'first');
});

test('mmbalance train with the default preset trains Ada2I (AFW + AMW + modulation), also with ada2i.parity', () => {
  for (const parity of [false, true]) {
    const out = join(mkdtempSync(join(tmpdir(), 'mmb-ada2i-')), 'run');
    const small = [
      '--set',
      'model.hidden=12',
      '--set',
      'model.dimFeedforward=16',
      '--set',
      'model.afwRank=3',
      '--set',
      'train.batchSize=2',
    ];
    const r = runCli(
      'train',
      '--data',
      fixturePath('data', 'ada2i_iemocap_p4.pkl'),
      '--epochs',
      '2',
      '--out',
      out,
      '--quiet',
      '--set',
      `ada2i.parity=${parity}`,
      '--set',
      'methodOptions.startEpoch=1',
      ...small,
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    // Ada2I's name where a user looks; the modulation keeps its own name inside.
    assert.equal(summary.method, 'ada2i');
    assert.equal(summary.strategy, 'disparity');
    assert.equal(summary.recipe, 'ada2i');
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(lines[0].trainLossTerms.afw > 0, 'the AFW loss is part of training');
    assert.ok(lines[1].strategy.modulatedSteps > 0, 'modulation ran');
    assert.deepEqual(Object.keys(lines[1].strategy.rho).sort(), ['audio', 'text', 'visual']);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(config.ada2i.parity, parity);
  }
});

test('ada2i.loss=paper predicts with an MLP on the AMW output and adds L_modal', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'mmb-ada2i-paper-')), 'run');
  const r = runCli(
    'train',
    '--data',
    fixturePath('data', 'ada2i_iemocap_p4.pkl'),
    '--epochs',
    '1',
    '--out',
    out,
    '--quiet',
    '--set',
    'ada2i.loss=paper',
    '--set',
    'model.hidden=12',
    '--set',
    'model.dimFeedforward=16',
    '--set',
    'model.afwRank=3',
    '--set',
    'model.headHidden=10',
  );
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')[0]!);
  assert.deepEqual(Object.keys(line.trainLossTerms).sort(), ['afw', 'fused', 'modal']);
  const bad = runCli('train', '--set', 'ada2i.loss=both');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /ada2i.loss expects one of code, paper but received 'both'/);
});
