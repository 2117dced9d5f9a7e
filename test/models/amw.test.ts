import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgumentError } from '../../src/engine/errors.js';
import { fromTypedArray, manualSeed, noGrad, randn, type Tensor } from '../../src/index.js';
import { AMWHead, type AMWMode } from '../../src/models/amw.js';
import { ConcatHead, FusionHead } from '../../src/models/fusion.js';
import { type FixtureArray, assertClose, fixtureTensor, readJsonFixture } from '../helpers.js';

type J = FixtureArray;
interface ModeCase {
  fused: J;
  unimodal: Record<string, J>;
  cosine: Record<string, J>;
  featureGrads: Record<string, J>;
  paramGrads: Record<string, J>;
}
interface Fixture {
  modalities: string[];
  dims: Record<string, number>;
  numClasses: number;
  scale: number;
  state: Record<string, J>;
  features: Record<string, J>;
  g: J;
  g2: Record<string, J>;
  concatFused: J;
  classWeightNorms: Record<string, number[]>;
  modes: Record<AMWMode, ModeCase>;
}

const fx = readJsonFixture<Fixture>('amw', 'amw.json');
const M = fx.modalities;

type Precision = 'float32' | 'float64';

function build(mode: AMWMode, dtype: Precision): AMWHead {
  const head = new AMWHead(M, fx.dims, fx.numClasses, mode === 'mmcosine' ? { mode, scale: fx.scale } : { mode });
  if (dtype === 'float64') head.to({ dtype: 'float64' });
  head.loadStateDict(Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k, fixtureTensor(v, dtype)])));
  return head;
}

function features(dtype: Precision, grad = false): Record<string, Tensor> {
  return Object.fromEntries(
    M.map((m) => [m, grad ? fixtureTensor(fx.features[m]!, dtype).requiresGrad_() : fixtureTensor(fx.features[m]!, dtype)]),
  );
}

const TOL: Record<Precision, number> = { float32: 1e-5, float64: 1e-10 };

test('parameters are a concat head: fc.weight (C x sum d_m) and fc.bias (C), PyTorch names', () => {
  const head = new AMWHead(M, fx.dims, fx.numClasses);
  assert.ok(head instanceof FusionHead);
  assert.equal(head.unimodalProbes, false);
  assert.equal(head.mode, 'ada2i');
  assert.deepEqual(
    head.namedParameters().map(([n, p]) => [n, p.shape]),
    [
      ['fc.weight', [6, 15]],
      ['fc.bias', [6]],
    ],
  );
  // The same state dict loads into a concat head and back.
  const concat = new ConcatHead(M, fx.dims, fx.numClasses);
  concat.loadStateDict(head.stateDict());
  assert.equal(new AMWHead(M, fx.dims, fx.numClasses, { mode: 'mmcosine' }).scale, 10);
});

for (const mode of ['ada2i', 'mmcosine'] as const) {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`${mode} (${dtype}): fused, unimodal and cosine logits and all gradients equal PyTorch's`, () => {
      const tol = TOL[dtype];
      const c = fx.modes[mode];
      const head = build(mode, dtype);
      const h = features(dtype, true);
      const out = head.forward(h);
      assert.equal(out.fused.dtype, dtype);
      assert.deepEqual(out.fused.shape, [7, 6]);
      assertClose(out.fused, c.fused.values, tol, tol, `${mode} fused`);
      assert.deepEqual(Object.keys(out.unimodal), M);
      for (const m of M) assertClose(out.unimodal[m]!, c.unimodal[m]!.values, tol, tol, `${mode} unimodal.${m}`);
      const terms = head.cosine(h);
      for (const m of M) assertClose(terms[m]!, c.cosine[m]!.values, tol, tol, `${mode} cosine.${m}`);

      let loss = out.fused.mul(fixtureTensor(fx.g, dtype)).sum();
      for (const m of M) loss = loss.add(out.unimodal[m]!.mul(fixtureTensor(fx.g2[m]!, dtype)).sum());
      loss.backward();
      for (const m of M) assertClose(h[m]!.grad!, c.featureGrads[m]!.values, tol, tol, `${mode} grad h.${m}`);
      const params = new Map(head.namedParameters());
      for (const [name, g] of Object.entries(c.paramGrads))
        assertClose(params.get(name)!.grad!, g.values, tol, tol, `${mode} grad ${name}`);
    });
  }
}

test('the normalised terms add up to the fused logits; the unimodal logits add up to the concat head W h + b', () => {
  for (const mode of ['ada2i', 'mmcosine'] as const) {
    const head = build(mode, 'float64');
    const concat = new ConcatHead(M, fx.dims, fx.numClasses).to({ dtype: 'float64' });
    concat.loadStateDict(head.stateDict());
    noGrad(() => {
      const h = features('float64');
      const out = head.forward(h);
      const uSum = M.map((m) => out.unimodal[m]!).reduce((a, b) => a.add(b));
      assertClose(uSum, fx.concatFused.values, 1e-10, 1e-10, `${mode}: sum_m u_m vs W h + b`);
      assertClose(uSum, concat.forward(h).fused.toArray(), 1e-10, 1e-10, `${mode}: sum_m u_m vs ConcatHead`);
      for (const m of M) assertClose(out.unimodal[m]!, concat.forward(h).unimodal[m]!.toArray(), 1e-10, 1e-10, `${mode}: u_${m}`);
      const terms = head.cosine(h);
      const tSum = M.map((m) => terms[m]!).reduce((a, b) => a.add(b));
      assertClose(tSum, out.fused.toArray(), 1e-10, 1e-10, `${mode}: sum of cosine terms vs fused`);
    });
  }
});

test('fused logits do not depend on the norms of the features or of the weight columns/rows', () => {
  noGrad(() => {
    for (const mode of ['ada2i', 'mmcosine'] as const) {
      const head = build(mode, 'float64');
      const h = features('float64');
      const base = head.forward(h).fused.toArray();
      // Rescale one modality's features per sample: the fused logits stay the same.
      const scaled = { ...h, a: h.a!.mul(37.5) };
      assertClose(head.forward(scaled).fused, base, 1e-10, 1e-10, `${mode}: feature scale`);
      // Rescale modality v's block of W: its normalised version, hence the fused logits, stay the same.
      const w = head.fc.weight;
      w.narrow(1, 9, 6).mul_(4);
      assertClose(head.forward(h).fused, base, 1e-10, 1e-10, `${mode}: weight-block scale`);
    }
  });
});

test('the normalisation axis: ada2i normalises W_m per feature column, mmcosine per class row', () => {
  noGrad(() => {
    const h = features('float64');
    for (const mode of ['ada2i', 'mmcosine'] as const) {
      const head = build(mode, 'float64');
      const base = head.forward(h).fused.toArray();
      // Scale one feature column of W_t: ada2i normalises it away, mmcosine does not.
      head.fc.weight.narrow(1, 2, 1).mul_(5);
      const col = head.forward(h).fused.toArray();
      assert.equal(
        col.every((v, i) => Math.abs(v - base[i]!) < 1e-10),
        mode === 'ada2i',
        `${mode}: column`,
      );
      // Scale one class row of W_t (after undoing the column): mmcosine normalises it away, ada2i does not.
      head.fc.weight.narrow(1, 2, 1).div_(5);
      head.fc.weight.narrow(0, 1, 1).narrow(1, 0, 5).mul_(5);
      const row = head.forward(h).fused.toArray();
      assert.equal(
        row.every((v, i) => Math.abs(v - base[i]!) < 1e-10),
        mode === 'mmcosine',
        `${mode}: row`,
      );
    }
  });
});

test('classWeightNorms: per modality the L2 norm of each class row of W_m', () => {
  const head = build('ada2i', 'float32');
  const norms = head.classWeightNorms();
  assert.deepEqual(Object.keys(norms), M);
  for (const m of M) {
    assert.equal(norms[m]!.length, fx.numClasses);
    assertClose(norms[m]!, fx.classWeightNorms[m]!, 1e-6, 1e-6, `norms.${m}`);
  }
  // Plain numbers, no autograd graph: the parameters' grads are untouched.
  assert.equal(head.fc.weight.grad, null);
});

test('one modality, and a head built with a seed, work end to end', () => {
  manualSeed(3);
  const head = new AMWHead(['x'], { x: 3 }, 4, { mode: 'mmcosine', scale: 15 });
  const h = { x: fromTypedArray(Float32Array.from([1, 2, 3, -1, 0, 2]), [2, 3]) };
  const out = head.forward(h);
  assert.deepEqual(out.fused.shape, [2, 4]);
  // One modality: |cos| <= 1, so |logit| <= s.
  for (const v of out.fused.toArray()) assert.ok(Math.abs(v) <= 15 + 1e-5, String(v));
});

test('bad options and inputs are rejected with ArgumentError', () => {
  const bad: [string, () => unknown][] = [
    ['mode', () => new AMWHead(M, fx.dims, 6, { mode: 'cosine' as AMWMode })],
    ['scale with ada2i', () => new AMWHead(M, fx.dims, 6, { scale: 10 })],
    ['scale 0', () => new AMWHead(M, fx.dims, 6, { mode: 'mmcosine', scale: 0 })],
    ['scale negative', () => new AMWHead(M, fx.dims, 6, { mode: 'mmcosine', scale: -1 })],
    ['scale NaN', () => new AMWHead(M, fx.dims, 6, { mode: 'mmcosine', scale: NaN })],
    ['scale Infinity', () => new AMWHead(M, fx.dims, 6, { mode: 'mmcosine', scale: Infinity })],
    ['scale string', () => new AMWHead(M, fx.dims, 6, { mode: 'mmcosine', scale: '10' as unknown as number })],
    ['numClasses', () => new AMWHead(M, fx.dims, 1)],
    ['dims', () => new AMWHead(M, { t: 5, a: 4 }, 6)],
    ['dims zero', () => new AMWHead(M, { t: 5, a: 0, v: 6 }, 6)],
    ['no modalities', () => new AMWHead([], fx.dims, 6)],
    ['repeated modality', () => new AMWHead(['t', 't'], fx.dims, 6)],
  ];
  for (const [what, fn] of bad) assert.throws(fn, ArgumentError, what);
  const head = new AMWHead(M, fx.dims, 6);
  const h = features('float32');
  assert.throws(() => head.forward({ t: h.t!, a: h.a! }), /h\.v/);
  assert.throws(() => head.forward({ ...h, a: h.t! }), /h\.a/);
  assert.throws(() => head.weightSlice('z'), ArgumentError);
});

test("mlpHidden adds the paper's MLP classifier: the AMW output becomes an auxiliary logit", () => {
  manualSeed(4);
  const plain = new AMWHead(['t', 'a'], { t: 5, a: 4 }, 6);
  const withMlp = new AMWHead(['t', 'a'], { t: 5, a: 4 }, 6, { mlpHidden: 7 });
  withMlp.loadStateDict(new Map([...withMlp.stateDict()].map(([k, v]) => [k, plain.stateDict().get(k) ?? v])));
  assert.deepEqual(
    withMlp.namedParameters().map(([n]) => n),
    ['fc.weight', 'fc.bias', 'mlp.0.weight', 'mlp.0.bias', 'mlp.2.weight', 'mlp.2.bias'],
  );
  const h = { t: randn([3, 5]), a: randn([3, 4]) };
  const a = plain.forward(h);
  const b = withMlp.forward(h);
  assert.equal(a.auxLogits, undefined);
  assertClose(b.auxLogits!.modal!, a.fused.toArray(), 1e-6, 1e-6, 'L_modal logits are the AMW output');
  assert.deepEqual(b.fused.shape, [3, 6]);
  assert.throws(() => new AMWHead(['t'], { t: 5 }, 6, { mlpHidden: -1 }), /Expected integer >= 0 for mlpHidden/);
});
