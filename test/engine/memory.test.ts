import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, nn, optim, randint, randn, scope } from '../../src/index.js';

function mlp(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(32, 64), new nn.ReLU(), new nn.Linear(64, 10));
}

function trainSteps(n: number, useScope: boolean, onCheckpoint: (step: number) => void): void {
  const model = mlp();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = randn([16, 32]);
  const y = randint(0, 10, [16]);
  x.kept = true;
  y.kept = true;
  const step = (): void => {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
  };
  for (let i = 1; i <= n; i++) {
    if (useScope) scope(step);
    else step();
    if (i % 1000 === 0) onCheckpoint(i);
  }
}

function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

test('20,000 training steps inside scope() keep resident memory flat', (t) => {
  const samples: number[] = [];
  trainSteps(20_000, true, () => samples.push(rssMiB()));
  const warm = samples[1]!; // after 2,000 steps
  const end = samples[samples.length - 1]!;
  const growth = (end - warm) / warm;
  t.diagnostic(`rss after 2,000 steps ${warm.toFixed(1)} MiB, after 20,000 ${end.toFixed(1)} MiB (${(growth * 100).toFixed(1)}%)`);
  assert.ok(growth < 0.1, `resident memory grew ${(growth * 100).toFixed(1)}% (from ${warm.toFixed(1)} to ${end.toFixed(1)} MiB)`);
});

test('without scope(), the finalizer and V8 external-memory accounting still bound memory', (t) => {
  const samples: number[] = [];
  trainSteps(20_000, false, () => samples.push(rssMiB()));
  const warm = samples[1]!;
  const end = samples[samples.length - 1]!;
  t.diagnostic(`rss after 2,000 steps ${warm.toFixed(1)} MiB, after 20,000 ${end.toFixed(1)} MiB`);
  // The garbage collector runs on its own schedule, so allow more slack than with scopes,
  // but a leak (about 30 KB a step here) would add hundreds of MiB.
  assert.ok(end - warm < 150, `resident memory grew from ${warm.toFixed(1)} to ${end.toFixed(1)} MiB`);
});
