import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions } from '../../src/cli/args.js';
import { ConfigError, applySet, defaultRunConfig, parseModalities } from '../../src/train/run_config.js';
import { TRAIN_OPTIONS } from '../../src/cli/commands.js';

test('--set writes typed values into the config and refuses unknown keys with a suggestion', () => {
  const c = defaultRunConfig();
  applySet(c, 'train.lr=0.001');
  applySet(c, 'model.head=mlp');
  applySet(c, 'model.maskPadding=false');
  applySet(c, 'methodOptions.alpha=0.5');
  assert.equal(c.train.lr, 0.001);
  assert.equal(c.model.head, 'mlp');
  assert.equal(c.model.maskPadding, false);
  assert.equal(c.methodOptions.alpha, 0.5);
  assert.throws(() => applySet(c, 'train.lrr=1'), /unknown config key 'train.lrr'; did you mean 'train.lr'\?/);
  assert.throws(() => applySet(c, 'trian.lr=1'), /did you mean 'train'\?/);
  assert.throws(() => applySet(c, 'novalue'), ConfigError);
});

test('options: unknown ones suggest the near one; lists repeat', () => {
  assert.throws(() => parseOptions(['--epoch', '3'], TRAIN_OPTIONS), /unknown option --epoch; did you mean --epochs\?/);
  const o = parseOptions(['--set', 'a=1', '--set=b=2', '--epochs', '3', '--resume'], TRAIN_OPTIONS);
  assert.deepEqual(o.set, ['a=1', 'b=2']);
  assert.equal(o.epochs, 3);
  assert.equal(o.resume, true);
  assert.throws(() => parseOptions(['--epochs', 'many'], TRAIN_OPTIONS), /expects a number but received 'many'/);
});

test('modalities: letters of tav or names, checked against the data', () => {
  assert.deepEqual(parseModalities('tv', ['text', 'audio', 'visual']), ['text', 'visual']);
  assert.deepEqual(parseModalities('a,b', ['a', 'b']), ['a', 'b']);
  assert.throws(() => parseModalities('tx', ['text', 'audio', 'visual']), /modality 'tx' is not in the data/);
  assert.throws(() => parseModalities('tt', ['text', 'audio', 'visual']), /listed twice/);
});
