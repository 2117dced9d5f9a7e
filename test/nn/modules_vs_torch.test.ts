import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nn, type Tensor } from '../../src/index.js';
import { type FixtureArray, assertClose, fixtureTensor, readJsonFixture } from '../helpers.js';

type J = FixtureArray;
interface Case {
  name: string;
  state: Record<string, J>;
  inputs: Record<string, J>;
  masks: Record<string, J>;
  output: J;
  g: J;
  inputGrads: Record<string, J>;
  paramGrads: Record<string, J>;
}

const fixture = readJsonFixture<{ cases: Case[] }>('nn', 'nn.json');

function build(name: string): { module: nn.Module; call: (x: Tensor, kpm?: Tensor) => Tensor } {
  switch (name) {
    case 'linear': {
      const m = new nn.Linear(7, 5);
      return { module: m, call: (x) => m.forward(x) };
    }
    case 'layer_norm': {
      const m = new nn.LayerNorm(6);
      return { module: m, call: (x) => m.forward(x) };
    }
    case 'mha_masked': {
      const m = new nn.MultiheadAttention(16, 4, 0, true, true);
      return { module: m, call: (x, kpm) => m.forward(x, x, x, { keyPaddingMask: kpm, needWeights: false }).output };
    }
    case 'encoder_layer': {
      const m = new nn.TransformerEncoderLayer(16, 4, { dimFeedforward: 32, dropout: 0, batchFirst: true });
      return { module: m, call: (x, kpm) => m.forward(x, { srcKeyPaddingMask: kpm }) };
    }
    case 'encoder_layer_prenorm_gelu_seqfirst': {
      const m = new nn.TransformerEncoderLayer(16, 2, { dimFeedforward: 24, dropout: 0, normFirst: true, activation: 'gelu' });
      return { module: m, call: (x, kpm) => m.forward(x, { srcKeyPaddingMask: kpm }) };
    }
    case 'encoder_2_layers': {
      const m = new nn.TransformerEncoder(
        () => new nn.TransformerEncoderLayer(16, 4, { dimFeedforward: 32, dropout: 0, batchFirst: true }),
        2,
      );
      return { module: m, call: (x, kpm) => m.forward(x, { srcKeyPaddingMask: kpm }) };
    }
    default:
      throw new Error(`no builder for ${name}`);
  }
}

for (const c of fixture.cases) {
  test(`${c.name}: forward and backward equal PyTorch's from the same weights`, () => {
    const { module, call } = build(c.name);
    // Same parameter names as PyTorch, in the same order.
    assert.deepEqual(
      module.namedParameters().map(([n]) => n),
      Object.keys(c.paramGrads),
    );
    const sd = new Map(Object.entries(c.state).map(([k, v]) => [k, fixtureTensor(v)]));
    module.loadStateDict(sd);
    const x = fixtureTensor(c.inputs.x!).requiresGrad_();
    const kpm = c.masks.kpm ? fixtureTensor(c.masks.kpm) : undefined;
    const out = call(x, kpm);
    assert.deepEqual(out.shape, c.output.shape);
    assertClose(out, c.output.values, 1e-5, 1e-5, `${c.name} output`);
    out.mul(fixtureTensor(c.g)).sum().backward();
    assertClose(x.grad!, c.inputGrads.x!.values, 1e-5, 1e-5, `${c.name} input grad`);
    for (const [n, p] of module.namedParameters()) {
      assertClose(p.grad!, c.paramGrads[n]!.values, 1e-5, 1e-5, `${c.name} grad of ${n}`);
    }
  });
}

test('loadStateDict names missing and unexpected keys, and shape mismatches', () => {
  const m = new nn.Linear(3, 2);
  const sd = m.stateDict();
  sd.delete('bias');
  sd.set('extra', fixtureTensor({ shape: [1], values: [1] }));
  assert.throws(() => m.loadStateDict(sd), /missing keys: bias; unexpected keys: extra/);
  const bad = new Map([
    ['weight', fixtureTensor({ shape: [3, 2], values: [1, 2, 3, 4, 5, 6] })],
    ['bias', fixtureTensor({ shape: [2], values: [0, 0] })],
  ]);
  assert.throws(() => m.loadStateDict(bad), /shape mismatch for weight: model \[2, 3\], file \[3, 2\]/);
});

test('train() and eval() reach every sub-module; dropout is off in eval', () => {
  const m = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.5, batchFirst: true });
  m.eval();
  for (const [, sub] of m.namedModules()) assert.equal(sub.training, false);
  const x = fixtureTensor({ shape: [1, 3, 8], values: Array.from({ length: 24 }, (_, i) => Math.sin(i)) });
  assertClose(m.forward(x), m.forward(x).toArray(), 0, 0, 'eval is deterministic');
  m.train();
  for (const [, sub] of m.namedModules()) assert.equal(sub.training, true);
});
