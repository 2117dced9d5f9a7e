import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClipData } from '../../src/data/clip/dataset.js';
import { manualSeed, noGrad } from '../../src/index.js';
import { ClipModel, defaultClipEncoder } from '../../src/models/clip_model.js';
import { DEFAULT_MODEL_CONFIG } from '../../src/models/conversation_model.js';
import { buildModel } from '../../src/models/recipes.js';
import { defaultRunConfig } from '../../src/train/run_config.js';
import { assertClose } from '../helpers.js';
import { tinyClips } from '../tiny_clips.js';

const ds = tinyClips(4);
const config = { ...DEFAULT_MODEL_CONFIG, hidden: 8, layers: 1, dimFeedforward: 16, dropout: 0, nhead: 1 };

test('the clip recipe picks an encoder per sample shape; the concat head slices per modality', () => {
  assert.equal(defaultClipEncoder([1, 28, 28]), 'lenet');
  assert.equal(defaultClipEncoder([-1, 40]), 'transformer');
  assert.equal(defaultClipEncoder([5]), 'mlp');
  const c = defaultRunConfig();
  c.model = { ...config, encoders: { image: 'mlp' } };
  assert.throws(() => buildModel('clip', new ClipData(ds), { model: c.model, ada2i: c.ada2i, seed: 1 }), /shape|\[1, 4, 4\]/);
  c.model = { ...config, encoders: {} };
  const data = new ClipData(ds, ['seq', 'vec']);
  const model = buildModel('clip', data, { model: c.model, ada2i: c.ada2i, seed: 1 }) as ClipModel;
  assert.deepEqual(model.encoderKinds, { seq: 'transformer', vec: 'mlp' });
  const batch = data.makeBatch('train', [0, 1, 2, 3]);
  model.eval();
  noGrad(() => {
    const out = model.forward(batch);
    assert.deepEqual(out.fused.shape, [4, 3]);
    // Concat head: the unimodal slices add up to the fused logits.
    assertClose(out.unimodal.seq!.add(out.unimodal.vec!), out.fused.toArray(), 1e-5, 1e-5, 'slices');
  });
  const branch = model.modalityParameters('branch');
  assert.deepEqual(branch.vec!.at(-1)!.slice, { dim: 1, start: 8, length: 8 });
  assert.equal(branch.seq!.length, model.modalityParameters().seq!.length + 1);
});

test('a padded sequence gives the same output as the same sequence alone (padding is masked)', () => {
  const data = new ClipData(ds, ['seq']);
  manualSeed(3);
  const model = new ClipModel(['seq'], data.shapes, 3, config);
  model.eval();
  const lengths = ds.splits.train.lengths.seq!;
  const short = Array.from(lengths).findIndex((t) => t < Math.max(...lengths));
  const long = Array.from(lengths).indexOf(Math.max(...lengths));
  noGrad(() => {
    const alone = model.forward(data.makeBatch('train', [short])).fused.toArray();
    const padded = model
      .forward(data.makeBatch('train', [short, long]))
      .fused.toArray()
      .slice(0, 3);
    assertClose(padded, alone, 1e-5, 1e-5, 'padded vs alone');
  });
});
