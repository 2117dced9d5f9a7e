import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOptimizerState, optim, saveOptimizerState, saveSafetensors, tensor, type Tensor } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-optstate-'));

function train(p: Tensor, opt: optim.Optimizer<{ lr: number }>, steps: number): void {
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    p.mul(p).sum().add(p.sum().mul(3)).backward();
    opt.step();
  }
}

test('optimizer state saved to a file resumes training exactly', () => {
  const straight = tensor([1, -2, 3], { dtype: 'float64', requiresGrad: true });
  const o1 = new optim.Adam([straight], { lr: 0.05, amsgrad: true });
  train(straight, o1, 8);

  const p = tensor([1, -2, 3], { dtype: 'float64', requiresGrad: true });
  const o2 = new optim.Adam([p], { lr: 0.05, amsgrad: true });
  train(p, o2, 4);
  const file = join(dir, 'adam.safetensors');
  saveOptimizerState(file, o2);
  const resumed = p.detach().clone().requiresGrad_();
  const o3 = new optim.Adam([resumed], { lr: 999, amsgrad: true });
  loadOptimizerState(file, o3);
  assert.equal(o3.paramGroups[0]!.lr, 0.05, 'hyperparameters come back too');
  train(resumed, o3, 4);
  assert.deepEqual(resumed.toArray(), straight.toArray());
});

test('loading refuses files that are not optimizer state, or another optimizer', () => {
  const p = tensor([1.5], { requiresGrad: true });
  const sgd = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
  train(p, sgd, 2);
  const file = join(dir, 'sgd.safetensors');
  saveOptimizerState(file, sgd);
  assert.throws(() => loadOptimizerState(file, new optim.Adam([p])), /holds SGD state; it cannot be loaded into Adam/);
  const other = join(dir, 'weights.safetensors');
  saveSafetensors(other, { w: tensor([1]) });
  assert.throws(() => loadOptimizerState(other, sgd), /is not an mmbalance optimizer state file/);
});
