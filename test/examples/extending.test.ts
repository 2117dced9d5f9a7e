/**
 * The README's extension example (examples/extending/): a data set, a model recipe and a method,
 * each one file against the contract, trained by the one loop with no change to it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfidenceWeighted } from '../../examples/extending/confidence_weighted.js';
import { VectorDataset, type VectorSplit } from '../../examples/extending/vector_dataset.js';
import '../../examples/extending/late_fusion_model.js';
import { Trainer, buildModel, data, defaultRunConfig, makeStrategy } from '../../src/index.js';

/** Two modalities: 'x' tells the class clearly, 'y' barely. */
function vectors(n: number, seed: number): VectorSplit {
  const rand = data.mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const labels = Int32Array.from({ length: n }, () => Math.floor(rand() * 3));
  const make = (d: number, strength: number): Float32Array =>
    Float32Array.from({ length: n * d }, (_, k) => (k % d === labels[Math.floor(k / d)]! ? strength : 0) + gauss());
  return { labels, features: { x: make(4, 3), y: make(3, 0.3) } };
}

test('a vector data set, a late-fusion recipe and a sample-weighting method train through the one loop', () => {
  const ds = new VectorDataset(
    'toy',
    ['c0', 'c1', 'c2'],
    { x: 4, y: 3 },
    { train: vectors(240, 1), dev: vectors(60, 2), test: vectors(60, 3) },
  );
  const c = defaultRunConfig();
  c.model.hidden = 8;
  const model = buildModel('late-fusion', ds, { model: c.model, ada2i: c.ada2i, seed: 1 });
  const strategy = makeStrategy('confidence-weighted');
  assert.ok(strategy instanceof ConfidenceWeighted);
  const out = mkdtempSync(join(tmpdir(), 'mmb-ext-'));
  const r = new Trainer(model, ds, strategy, { epochs: 4, batchSize: 16, lr: 0.01, patience: 0, scheduler: 'none' }).fit({ outDir: out });
  assert.deepEqual(
    r.history.map((h) => h.phase),
    ['warmup', 'weighted', 'weighted', 'weighted'],
  );
  assert.deepEqual(Object.keys(r.history[1]!.trainLossTerms), ['weighted']);
  assert.ok(r.test.accuracy > 0.7, `test accuracy ${r.test.accuracy}`);
  assert.ok(r.test.unimodalAccuracy.x! > r.test.unimodalAccuracy.y!, 'the strong modality is ahead');
  assert.ok(r.history.at(-1)!.probeAccuracy!.x! > 0.7, 'the probe sees the strong modality');
  // Branch parameters: the encoder plus the modality's slice of the head's shared weight.
  const branch = model.modalityParameters('branch');
  const slice = branch.y!.at(-1)!;
  assert.deepEqual(slice.slice, { dim: 1, start: 8, length: 8 });
  for (const f of ['summary.json', 'predictions.safetensors', 'best.safetensors']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).method, 'confidence-weighted');
  assert.throws(
    () =>
      buildModel('late-fusion', new data.ConversationData(data.synthConversations({ dialogues: 6, utterances: 60 })), {
        model: c.model,
        ada2i: c.ada2i,
        seed: 1,
      }),
    /builds models for vectors data, not conversation data/,
  );
});
