import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sweepMarkdown, sweepTable } from '../../src/cli/sweep.js';
import { fixturePath, runCli } from '../helpers.js';

test('sweepTable: mean, sample std and the gap to the all-modality combination', () => {
  const rows = sweepTable(
    [
      { modalities: ['text', 'audio', 'visual'], weightedF1: 0.6, accuracy: 0.61 },
      { modalities: ['text', 'audio', 'visual'], weightedF1: 0.7, accuracy: 0.69 },
      { modalities: ['text', 'audio'], weightedF1: 0.5, accuracy: 0.5 },
      { modalities: ['text', 'audio'], weightedF1: 0.6, accuracy: 0.52 },
    ],
    ['text', 'audio', 'visual'],
  );
  assert.equal(rows.length, 2);
  assert.ok(Math.abs(rows[0]!.weightedF1.mean - 0.65) < 1e-12);
  assert.ok(Math.abs(rows[0]!.weightedF1.std - Math.sqrt(0.005)) < 1e-12);
  assert.ok(Math.abs(rows[1]!.gapToAll! - 0.1) < 1e-12);
  assert.equal(rows[0]!.gapToAll, 0);
  assert.match(sweepMarkdown(rows, 't'), /\| text\+audio \| 55\.00 ± 7\.07 \| 51\.00 ± 1\.41 \| 10\.00 \| 2 \|/);
});

test('mmbalance sweep trains every combination and seed and writes the table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmb-sweep-'));
  const r = runCli(
    'sweep',
    '--data',
    fixturePath('data', 'ada2i_iemocap_p4.pkl'),
    '--modalities',
    'tav,ta',
    '--seeds',
    '2',
    '--epochs',
    '1',
    '--out',
    dir,
    '--quiet',
    '--preset',
    'joint',
    '--set',
    'model.encoder=mlp',
    '--set',
    'model.hidden=8',
  );
  assert.equal(r.status, 0, r.stderr);
  for (const combo of ['text+audio+visual', 'text+audio'])
    for (const s of [12, 13]) assert.ok(existsSync(join(dir, combo, `seed-${s}`, 'summary.json')), `${combo} ${s}`);
  const sweep = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
  assert.equal(sweep.results.length, 4);
  assert.equal(sweep.rows.length, 2);
  assert.match(readFileSync(join(dir, 'sweep.md'), 'utf8'), /\| text\+audio \|/);
});

test('sweep --methods runs every method through the one loop and tabulates score, unimodal accuracy, ECE and agreement', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmb-methods-'));
  const methods = 'joint,ogm-ge,mmcosine,multi-loss,mlb,gmm,ada2i-modulation';
  const args = [
    'sweep',
    '--data',
    fixturePath('data', 'ada2i_iemocap_p4.pkl'),
    '--modalities',
    'ta',
    '--seeds',
    '1',
    '--epochs',
    '1',
    '--out',
    dir,
    '--quiet',
    '--preset',
    'joint',
    '--set',
    'model.encoder=mlp',
    '--set',
    'model.hidden=8',
    '--methods',
    methods,
  ];
  const bad = runCli(...args.slice(0, -1), 'joint,mbl');
  assert.match(bad.stderr, /unknown method 'mbl' in --methods; did you mean 'mlb'\?/);
  const r = runCli(...args);
  assert.equal(r.status, 0, r.stderr);
  const sweep = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
  assert.deepEqual(
    sweep.rows.map((row: { method: string }) => row.method),
    methods.split(','),
  );
  for (const row of sweep.rows) {
    assert.ok(row.ece >= 0 && row.ece <= 1, `${row.method} ECE`);
    assert.equal(
      row.agreement.reduce((a: number, x: { count: number }) => a + x.count, 0),
      JSON.parse(readFileSync(join(dir, row.method, 'text+audio', 'seed-12', 'summary.json'), 'utf8')).data.sizes.test,
    );
    assert.deepEqual(Object.keys(row.unimodalAccuracy).sort(), ['audio', 'text']);
  }
  assert.equal(JSON.parse(readFileSync(join(dir, 'mlb', 'text+audio', 'seed-12', 'summary.json'), 'utf8')).strategy, 'mlb');
  assert.match(readFileSync(join(dir, 'sweep.md'), 'utf8'), /\| gmm \| text\+audio \|/);
  // Rerun with --robustness: the finished runs are kept and each gets its corruption curves.
  const again = runCli(...args, '--robustness');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /mlb text\+audio seed 12: finished before, kept/);
  for (const m of methods.split(',')) {
    const rob = JSON.parse(readFileSync(join(dir, m, 'text+audio', 'seed-12', 'robustness.json'), 'utf8'));
    assert.equal(rob.format, 'mmbalance.robustness.v1');
    assert.deepEqual(rob.curves.map((c: { modality: string; corruption: string }) => `${c.modality}/${c.corruption}`).sort(), [
      'audio/freqmask',
      'audio/gaussian',
      'audio/zero',
      'text/freqmask',
      'text/gaussian',
      'text/zero',
    ]);
  }
});
