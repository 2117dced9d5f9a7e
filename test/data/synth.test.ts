import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArgumentError } from '../../src/engine/errors.js';
import { linearProbe } from '../../src/data/probe.js';
import { IEMOCAP_CLASS_NAMES, fillNormal, normalSampler, resolveSynthOptions, synthConversations } from '../../src/data/synth.js';
import { mulberry32 } from '../../src/data/split.js';
import { type ConversationDataset, type Dialogue, SPLITS, splitUtteranceCount } from '../../src/data/types.js';

const SMALL = { dialogues: 12, modalities: { text: 24, audio: 16, visual: 32 } };

function allDialogues(ds: ConversationDataset): Dialogue[] {
  return SPLITS.flatMap((s) => ds.splits[s]);
}

function sameData(a: ConversationDataset, b: ConversationDataset): boolean {
  const da = allDialogues(a);
  const db = allDialogues(b);
  if (da.length !== db.length) return false;
  return da.every((d, i) => {
    const e = db[i]!;
    if (d.id !== e.id || d.labels.length !== e.labels.length || !d.labels.every((v, j) => v === e.labels[j])) return false;
    if (d.speakers.join() !== e.speakers.join()) return false;
    return a.modalities.every((m) => {
      const x = d.features[m]!;
      const y = e.features[m]!;
      return x.length === y.length && x.every((v, j) => v === y[j]);
    });
  });
}

describe('synthConversations', () => {
  test('defaults are shaped like IEMOCAP', () => {
    const t0 = performance.now();
    const ds = synthConversations();
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `default generation took ${ms.toFixed(0)} ms`);
    assert.equal(ds.name, 'synthetic-iemocap');
    assert.deepEqual(ds.modalities, ['text', 'audio', 'visual']);
    assert.deepEqual({ ...ds.dims }, { text: 768, audio: 512, visual: 1024 });
    assert.deepEqual(ds.classNames, ['hap', 'sad', 'neu', 'ang', 'exc', 'fru']);
    assert.equal(ds.devSource, 'train-split');
    assert.equal(ds.splits.train.length + ds.splits.dev.length, 120);
    assert.equal(ds.splits.dev.length, 12);
    assert.equal(ds.splits.test.length, 31);
    const all = allDialogues(ds);
    assert.equal(all.length, 151);
    assert.equal(new Set(all.map((d) => d.id)).size, 151);
    assert.equal(
      SPLITS.reduce((a, s) => a + splitUtteranceCount(ds, s), 0),
      7433,
    );
    const counts = new Array<number>(6).fill(0);
    for (const d of all) {
      assert.ok(d.labels.length >= 8 && d.labels.length <= 110, `dialogue ${d.id} has ${d.labels.length} utterances`);
      assert.ok(d.speakers.every((s) => s === 'M' || s === 'F'));
      for (const m of ds.modalities) assert.equal(d.features[m]!.length, d.labels.length * ds.dims[m]!);
      for (const y of d.labels) counts[y]!++;
    }
    // Imbalanced as IEMOCAP: hap the rarest, neu and fru the most frequent classes.
    const shares = counts.map((c) => c / 7433);
    assert.ok(shares[0]! < 0.13, `hap share ${shares[0]}`);
    assert.ok(shares[2]! > 0.16 && shares[5]! > 0.16, `neu/fru shares ${shares[2]} ${shares[5]}`);
    assert.ok(Math.max(...shares) / Math.min(...shares) > 1.8, `class shares ${shares.join(', ')}`);
    // Both speakers, alternating most of the time.
    let switches = 0;
    let pairs = 0;
    for (const d of all) {
      for (let i = 1; i < d.speakers.length; i++, pairs++) if (d.speakers[i] !== d.speakers[i - 1]) switches++;
    }
    assert.ok(switches / pairs > 0.7 && switches / pairs < 0.95, `speaker switch rate ${switches / pairs}`);
    assert.equal(JSON.parse(ds.meta!.options!).seed, 0);
  });

  test('the same seed gives identical data, another seed different data', () => {
    const a = synthConversations({ ...SMALL, seed: 7 });
    const b = synthConversations({ ...SMALL, seed: 7 });
    const c = synthConversations({ ...SMALL, seed: 8 });
    assert.ok(sameData(a, b));
    assert.ok(!sameData(a, c));
    assert.notDeepEqual(
      allDialogues(a).map((d) => d.labels.length),
      allDialogues(c).map((d) => d.labels.length),
    );
    // Labels and lengths do not depend on the modalities; each modality has its own stream.
    const d = synthConversations({ ...SMALL, seed: 7, modalities: { text: 24, extra: 5 } });
    assert.deepEqual(
      allDialogues(d).map((x) => Array.from(x.labels)),
      allDialogues(a).map((x) => Array.from(x.labels)),
    );
    assert.deepEqual(allDialogues(d)[0]!.features.text, allDialogues(a)[0]!.features.text);
  });

  test('options shape the counts, lengths, dims, classes and speakers', () => {
    const ds = synthConversations({
      seed: 3,
      dialogues: 20,
      testDialogues: 5,
      utterances: 400,
      minLength: 10,
      maxLength: 30,
      devFraction: 0.2,
      classNames: ['pos', 'neg', 'neutral'],
      modalities: { a: 40, v: 60 },
      speakers: ['A', 'B', 'C'],
      name: 'toy',
    });
    assert.equal(ds.name, 'toy');
    assert.deepEqual(ds.modalities, ['a', 'v']);
    assert.deepEqual(ds.dims, { a: 40, v: 60 });
    assert.deepEqual(ds.classNames, ['pos', 'neg', 'neutral']);
    assert.equal(ds.splits.test.length, 5);
    assert.equal(ds.splits.dev.length, 3);
    assert.equal(ds.splits.train.length, 12);
    const all = allDialogues(ds);
    assert.equal(
      all.reduce((a, d) => a + d.labels.length, 0),
      400,
    );
    const speakers = new Set<string>();
    for (const d of all) {
      assert.ok(d.labels.length >= 10 && d.labels.length <= 30);
      assert.ok(d.labels.every((y) => y >= 0 && y < 3));
      assert.equal(d.features.a!.length, d.labels.length * 40);
      assert.equal(d.features.v!.length, d.labels.length * 60);
      assert.deepEqual(Object.keys(d.features), ['a', 'v']);
      assert.ok(d.features.a!.every(Number.isFinite));
      d.speakers.forEach((s) => speakers.add(s));
    }
    assert.deepEqual([...speakers].sort(), ['A', 'B', 'C']);

    const noDev = synthConversations({ ...SMALL, devFraction: 0 });
    assert.equal(noDev.devSource, 'file');
    assert.equal(noDev.splits.dev.length, 0);
    assert.equal(noDev.splits.train.length + noDev.splits.test.length, 12);
    // Defaults that follow the number of dialogues.
    const r = resolveSynthOptions({ dialogues: 40 });
    assert.equal(r.testDialogues, 8);
    assert.equal(r.utterances, Math.round((40 * 7433) / 151));
    assert.deepEqual(r.classNames, [...IEMOCAP_CLASS_NAMES]);
  });

  test('emotions persist within a dialogue', () => {
    const ds = synthConversations({ seed: 1, modalities: { text: 4 } });
    const all = allDialogues(ds);
    let same = 0;
    let pairs = 0;
    const counts = new Array<number>(6).fill(0);
    let n = 0;
    for (const d of all) {
      for (let i = 0; i < d.labels.length; i++, n++) {
        counts[d.labels[i]!]!++;
        if (i > 0) {
          pairs++;
          if (d.labels[i] === d.labels[i - 1]) same++;
        }
      }
    }
    const chance = counts.reduce((a, c) => a + (c / n) ** 2, 0);
    const rate = same / pairs;
    assert.ok(rate > 2 * chance && rate > 0.45, `adjacent same-label rate ${rate.toFixed(3)} vs chance ${chance.toFixed(3)}`);
    // Persistence 0 and no theme: close to chance.
    const flat = synthConversations({ seed: 1, modalities: { text: 4 }, persistence: 0, contagion: 0, themeWeight: 0 });
    let same0 = 0;
    let pairs0 = 0;
    for (const d of allDialogues(flat)) {
      for (let i = 1; i < d.labels.length; i++, pairs0++) if (d.labels[i] === d.labels[i - 1]) same0++;
    }
    assert.ok(Math.abs(same0 / pairs0 - chance) < 0.03, `rate without persistence ${same0 / pairs0}`);
  });

  test('invalid options throw ArgumentError naming the option', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ seed: -1 }, /seed/],
      [{ seed: 1.5 }, /seed/],
      [{ dialogues: 1 }, /dialogues/],
      [{ dialogues: 10, testDialogues: 10 }, /testDialogues/],
      [{ minLength: 0 }, /minLength/],
      [{ minLength: 20, maxLength: 10 }, /maxLength/],
      [{ dialogues: 10, utterances: 50 }, /utterances/],
      [{ dialogues: 10, maxLength: 20, utterances: 201 }, /utterances/],
      [{ devFraction: 1 }, /devFraction/],
      [{ dialogues: 2, testDialogues: 1 }, /devFraction/],
      [{ classNames: ['a'] }, /classNames/],
      [{ classNames: ['a', 'a'] }, /classNames/],
      [{ classPrior: [1, 2] }, /classPrior/],
      [{ classPrior: [1, 1, 1, 1, 1, -1] }, /classPrior/],
      [{ modalities: {} }, /modalities/],
      [{ modalities: { text: 0 } }, /modalities\.text/],
      [{ modalities: { text: 12.5 } }, /modalities\.text/],
      [{ separation: { sound: 1 } }, /separation/],
      [{ separation: { text: -1 } }, /separation\.text/],
      [{ latentDim: 0 }, /latentDim/],
      [{ persistence: 1.5 }, /persistence/],
      [{ intensitySpread: 2 }, /intensitySpread/],
      [{ speakers: [] }, /speakers/],
      [{ name: '' }, /name/],
      [{ dialogs: 10 }, /dialogs/],
    ];
    for (const [options, re] of bad) {
      assert.throws(
        () => synthConversations(options as never),
        (e: unknown) => e instanceof ArgumentError && re.test(e.message),
        JSON.stringify(options),
      );
    }
  });
});

describe('samplers', () => {
  test('the normal samplers have mean 0 and variance 1', () => {
    const n = 200_000;
    const zig = fillNormal(new Float64Array(n), mulberry32(5));
    const bm = normalSampler(mulberry32(6));
    const bmDraws = Float64Array.from({ length: n }, () => bm());
    for (const [name, x] of [
      ['ziggurat', zig],
      ['box-muller', bmDraws],
    ] as const) {
      let m = 0;
      let v = 0;
      let tail = 0;
      for (const a of x) {
        m += a;
        v += a * a;
        if (Math.abs(a) > 2) tail++;
      }
      assert.ok(Math.abs(m / n) < 0.01, `${name} mean ${m / n}`);
      assert.ok(Math.abs(v / n - 1) < 0.02, `${name} variance ${v / n}`);
      assert.ok(Math.abs(tail / n - 0.0455) < 0.003, `${name} P(|x| > 2) = ${tail / n}`);
    }
  });
});

describe('linearProbe', () => {
  test('orders the modalities by informativeness (text > audio > visual)', () => {
    const ds = synthConversations({ seed: 11, dialogues: 60, modalities: { text: 96, audio: 64, visual: 128 } });
    const scores = Object.fromEntries(ds.modalities.map((m) => [m, linearProbe(ds, m, { epochs: 20, seed: 0 })]));
    const [t, a, v] = [scores.text!, scores.audio!, scores.visual!];
    assert.ok(t.weightedF1 > a.weightedF1 && a.weightedF1 > v.weightedF1, JSON.stringify(scores));
    assert.ok(v.weightedF1 > 0.2 && t.weightedF1 < 0.85, JSON.stringify(scores));
    // Same seed, same result.
    assert.deepEqual(linearProbe(ds, 'audio', { epochs: 20, seed: 0 }), a);
    // A pure-noise modality is near chance.
    const noise = synthConversations({ seed: 11, dialogues: 60, modalities: { x: 32 }, separation: { x: 0 } });
    assert.ok(linearProbe(noise, 'x', { epochs: 10 }).accuracy < 0.32);
    assert.throws(() => linearProbe(ds, 'sound'), ArgumentError);
  });
});
