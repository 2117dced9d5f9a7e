import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualSeed, noGrad, randn, type Tensor, tensor } from '../../src/index.js';
import { AFW, AFWLayer, AFW_PRESETS } from '../../src/models/afw.js';
import { type FixtureArray, assertClose, fixtureTensor, readJsonFixture } from '../helpers.js';

type J = FixtureArray;
interface Case {
  name: string;
  parity: boolean;
  modalities: string[];
  dims: Record<string, number>;
  rank: number;
  beta: number;
  layers: number;
  state: Record<string, J>;
  inputs: Record<string, J>;
  mask: J;
  outputs: Record<string, J>;
  loss: number;
  g: Record<string, J>;
  inputGrads: Record<string, J>;
  paramGrads: Record<string, J>;
}

const fixture = readJsonFixture<{ dtype: string; cases: Case[] }>('afw', 'afw.json');

function build(c: Case): AFW {
  const model = new AFW(c.modalities, c.dims, { rank: c.rank, beta: c.beta, dropout: 0, layers: c.layers, parity: c.parity });
  model.to({ dtype: 'float64' });
  model.loadStateDict(new Map(Object.entries(c.state).map(([k, v]) => [k, fixtureTensor(v, 'float64')])));
  return model;
}

for (const c of fixture.cases) {
  test(`${c.name}: outputs, loss and gradients equal the PyTorch reference (float64)`, () => {
    const model = build(c);
    assert.deepEqual(
      model.namedParameters().map(([n]) => n),
      Object.keys(c.paramGrads),
    );
    const inputs: Record<string, Tensor> = {};
    for (const m of c.modalities) inputs[m] = fixtureTensor(c.inputs[m]!, 'float64').requiresGrad_();
    const out = model.forward(inputs, fixtureTensor(c.mask, 'float64'));
    for (const m of c.modalities) {
      assert.deepEqual(out.features[m]!.shape, c.outputs[m]!.shape);
      assert.equal(out.features[m]!.dtype, 'float64');
      assertClose(out.features[m]!, c.outputs[m]!.values, 1e-9, 1e-9, `${c.name} output ${m}`);
    }
    assert.deepEqual(out.loss.shape, []);
    assertClose([out.loss.item()], [c.loss], 1e-9, 1e-9, `${c.name} loss`);
    let total = out.loss;
    for (const m of c.modalities) total = total.add(out.features[m]!.mul(fixtureTensor(c.g[m]!, 'float64')).sum());
    total.backward();
    for (const m of c.modalities) assertClose(inputs[m]!.grad!, c.inputGrads[m]!.values, 1e-9, 1e-9, `${c.name} grad of input ${m}`);
    for (const [n, p] of model.namedParameters()) assertClose(p.grad!, c.paramGrads[n]!.values, 1e-9, 1e-9, `${c.name} grad of ${n}`);
  });
}

test('parameter names are stable and PyTorch-style', () => {
  const model = new AFW(['t', 'a'], { t: 6, a: 4 }, { rank: 3 });
  const names = model.namedParameters().map(([n]) => n);
  assert.equal(names.length, 2 * 2 * 6 * 2);
  assert.deepEqual(names.slice(0, 12), [
    'layers.0.modalities.t.wq1.weight',
    'layers.0.modalities.t.wq1.bias',
    'layers.0.modalities.t.wq2.weight',
    'layers.0.modalities.t.wq2.bias',
    'layers.0.modalities.t.wk1.weight',
    'layers.0.modalities.t.wk1.bias',
    'layers.0.modalities.t.wk2.weight',
    'layers.0.modalities.t.wk2.bias',
    'layers.0.modalities.t.att.weight',
    'layers.0.modalities.t.att.bias',
    'layers.0.modalities.t.mapping.weight',
    'layers.0.modalities.t.mapping.bias',
  ]);
  assert.ok(names.includes('layers.1.modalities.a.att.weight'));
  const sd = model.stateDict();
  assert.deepEqual(sd.get('layers.0.modalities.t.att.weight')!.shape, [6, 9]);
  assert.deepEqual(sd.get('layers.1.modalities.a.wk2.weight')!.shape, [3, 4]);
  assert.deepEqual(sd.get('layers.1.modalities.a.mapping.weight')!.shape, [4, 4]);
  const layer = new AFWLayer(['t'], { t: 2 }, { rank: 2 });
  assert.deepEqual(layer.namedParameters()[0]![0], 'modalities.t.wq1.weight');
});

/** The fixture's inputs with the padded steps of dialogue 1 (steps 2, 3) replaced by other values. */
function withOtherPadding(c: Case, scale: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const m of c.modalities) {
    const x = fixtureTensor(c.inputs[m]!, 'float64');
    const noise = randn([c.dims[m]!], { dtype: 'float64' });
    noGrad(() => {
      x.select(0, 1).narrow(0, 2, 2).add_(noise.mul(scale));
    });
    out[m] = x;
  }
  return out;
}

/** Real utterances of both dialogues (dialogue 0: 4 steps, dialogue 1: the first 2), flattened. */
function realValues(x: Tensor): number[] {
  return [...x.select(0, 0).toArray(), ...x.select(0, 1).narrow(0, 0, 2).toArray()];
}

for (const c of fixture.cases) {
  test(`${c.name}: real utterances ${c.parity ? 'depend' : 'do not depend'} on the padded steps' values`, () => {
    manualSeed(3);
    const model = build(c);
    const mask = fixtureTensor(c.mask, 'float64');
    noGrad(() => {
      const base = model.forward(Object.fromEntries(c.modalities.map((m) => [m, fixtureTensor(c.inputs[m]!, 'float64')])), mask);
      const other = model.forward(withOtherPadding(c, 5), mask);
      for (const m of c.modalities) {
        const a = realValues(base.features[m]!);
        const b = realValues(other.features[m]!);
        if (c.parity) {
          const maxDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
          assert.ok(maxDiff > 1e-6, `${m}: the code's pooled mean includes the padded steps (max diff ${maxDiff})`);
        } else {
          assertClose(b, a, 1e-12, 1e-12, `${m} real outputs`);
        }
        // Dialogue 0 is not padded and pools over itself only, in either mode.
        assertClose(other.features[m]!.select(0, 0), base.features[m]!.select(0, 0).toArray(), 1e-12, 1e-12, `${m} dialogue 0`);
      }
      if (c.parity) assert.ok(Math.abs(base.loss.item() - other.loss.item()) > 1e-6, 'parity loss averages the padded positions');
      else assert.equal(other.loss.item(), base.loss.item());
    });
  });
}

test('masked (default): a padded dialogue gives the same outputs and loss as alone; no mask = all real', () => {
  manualSeed(4);
  const dims = { t: 6, a: 4, v: 5 };
  const model = new AFW(['t', 'a', 'v'], dims, { rank: 3, beta: 0.3, dropout: 0 });
  const alone: Record<string, Tensor> = {};
  const padded: Record<string, Tensor> = {};
  for (const [m, d] of Object.entries(dims)) {
    alone[m] = randn([1, 3, d]);
    padded[m] = randn([1, 5, d]);
    noGrad(() => padded[m]!.narrow(1, 0, 3).copy_(alone[m]!));
  }
  noGrad(() => {
    const a = model.forward(alone);
    const allReal = model.forward(alone, tensor([[true, true, true]]));
    const p = model.forward(padded, tensor([[true, true, true, false, false]]));
    for (const m of Object.keys(dims)) {
      assertClose(allReal.features[m]!, a.features[m]!.toArray(), 1e-6, 1e-6, `${m} all-true mask vs none`);
      assertClose(p.features[m]!.narrow(1, 0, 3), a.features[m]!.toArray(), 1e-5, 1e-5, `${m} padded vs alone`);
    }
    assertClose([p.loss.item()], [a.loss.item()], 1e-6, 1e-6, 'loss padded vs alone');
    // A dialogue with no real step: pooled cores are zero, the loss has nothing to average.
    const none = model.forward(padded, tensor([[false, false, false, false, false]]));
    assert.equal(none.loss.item(), 0);
    for (const m of Object.keys(dims)) assert.ok(none.features[m]!.isfinite().all().item());
  });
});

test('dropout acts in training only; the loss is returned in eval mode too', () => {
  manualSeed(5);
  const model = new AFW(['t', 'a'], { t: 4, a: 3 }, { rank: 2, dropout: 0.5, layers: 1 });
  const x = { t: randn([2, 6, 4]), a: randn([2, 6, 3]) };
  noGrad(() => {
    model.eval();
    const e1 = model.forward(x);
    const e2 = model.forward(x);
    assertClose(e1.features.t!, e2.features.t!.toArray(), 0, 0, 'eval is deterministic');
    assert.ok(Number.isFinite(e1.loss.item()));
    model.train();
    const tr = model.forward(x);
    const zeros = tr.features.t!.eq(0).sum().item();
    assert.ok(zeros > 0, 'dropout zeroes some outputs in training');
    assertClose([tr.loss.item()], [e1.loss.item()], 1e-6, 1e-6, 'loss is taken before dropout');
  });
});

test('options and presets', () => {
  const model = new AFW(['t', 'a', 'v'], { t: 3, a: 3, v: 3 });
  assert.deepEqual(model.options, { rank: 11, beta: 0.012, dropout: 0.5, layers: 2, parity: false, order: ['t', 'a', 'v'] });
  assert.equal(model.layers.length, 2);
  const meld = new AFW(['t', 'a', 'v'], { t: 3, a: 3, v: 3 }, { ...AFW_PRESETS.meld, parity: true });
  assert.equal(meld.layers.items[0]!.rank, 6);
  assert.equal(meld.layers.items[1]!.beta, 0.55);
  assert.equal(meld.layers.items[1]!.parity, true);
});

test('the contraction order: a model listing modalities as a, t, v equals one told order a, t, v; the order matters', () => {
  const dims = { t: 4, a: 3, v: 5 };
  manualSeed(21);
  const tav = new AFW(['t', 'a', 'v'], dims, { rank: 3, layers: 2, dropout: 0 });
  const ordered = new AFW(['t', 'a', 'v'], dims, { rank: 3, layers: 2, dropout: 0, order: ['a', 't', 'v'] });
  const atv = new AFW(['a', 't', 'v'], dims, { rank: 3, layers: 2, dropout: 0 });
  const weights = tav.stateDict();
  ordered.loadStateDict(weights);
  atv.loadStateDict(weights);
  const z = Object.fromEntries(Object.entries(dims).map(([m, d]) => [m, randn([2, 4, d])]));
  const mask = tensor([
    [true, true, true, false],
    [true, true, true, true],
  ]);
  noGrad(() => {
    const a = ordered.forward(z, mask);
    const b = atv.forward(z, mask);
    const c = tav.forward(z, mask);
    let differs = false;
    for (const m of Object.keys(dims)) {
      assertClose(a.features[m]!, b.features[m]!.toArray(), 1e-6, 1e-6, `${m}: order option vs modality order`);
      // Only v's contraction changes (t then a, or a then t); t's and a's multiply the same pair in the same order.
      if (m === 'v') differs ||= a.features[m]!.sub(c.features[m]!).abs().max().item() > 1e-6;
    }
    assertClose([a.loss.item()], [b.loss.item()], 1e-6, 1e-6, 'loss');
    assert.ok(differs, 'a different order gives different features');
  });
});

test('bad options and inputs are rejected with clear messages', () => {
  const dims = { t: 4, a: 3 };
  const mk = (o: object) => () => new AFW(['t', 'a'], dims, o);
  assert.throws(mk({ rank: 0 }), /Expected integer >= 1 for rank but received 0/);
  assert.throws(mk({ rank: 2.5 }), /for rank/);
  assert.throws(mk({ beta: 1.5 }), /Expected number between 0 and 1 for beta but received 1.5/);
  assert.throws(mk({ beta: -0.1 }), /for beta/);
  assert.throws(mk({ dropout: 1.2 }), /for dropout/);
  assert.throws(mk({ layers: 0 }), /for layers/);
  assert.throws(mk({ parity: 'yes' }), /Expected a boolean for parity/);
  assert.throws(mk({ order: ['a'] }), /a permutation of the modalities \(t, a\) for order/);
  assert.throws(mk({ order: ['a', 'x'] }), /for order/);
  assert.throws(mk({ order: ['a', 'a'] }), /for order/);
  assert.throws(() => new AFW([], {}), /for modalities/);
  assert.throws(() => new AFW(['t', 't'], dims), /distinct non-empty names/);
  assert.throws(() => new AFW(['t.x'], { 't.x': 2 }), /without dots/);
  assert.throws(() => new AFW(['t', 'v'], dims), /for dims\.v but received undefined/);
  assert.throws(() => new AFW(['t', 'a'], { t: 4, a: 0 }), /for dims\.a/);

  const model = new AFW(['t', 'a'], dims, { rank: 2, dropout: 0 });
  const ok = { t: randn([2, 3, 4]), a: randn([2, 3, 3]) };
  assert.throws(() => model.forward({ t: ok.t }), /for features\.a/);
  assert.throws(() => model.forward({ ...ok, v: randn([2, 3, 2]) }), /only the modalities t, a/);
  assert.throws(() => model.forward({ t: ok.t, a: randn([2, 3, 5]) }), /Expected \[B, T, 3\] for features\.a\.shape/);
  assert.throws(() => model.forward({ t: ok.t, a: randn([2, 4, 3]) }), /\[2, 3, 3\] \(the same B, T as t\)/);
  assert.throws(() => model.forward({ t: randn([6, 4]), a: ok.a }), /features\.t\.shape/);
  assert.throws(() => model.forward(ok, tensor([[1, 1, 0]])), /for mask\.dtype/);
  assert.throws(() => model.forward(ok, tensor([[true, true, false]])), /Expected \[2, 3\] for mask\.shape/);
});
