/**
 * mmbalance diagnose on data whose answer is known: one modality carries the label, the other is
 * noise. Conversations from the built-in generator (separation 0 makes a modality pure noise),
 * clips written here.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { diagnoseCommand } from '../../src/cli/diagnose.js';
import { saveClips } from '../../src/data/clip/format.js';
import type { ClipDataset, ClipSplit } from '../../src/data/clip/types.js';
import { mulberry32 } from '../../src/data/split.js';
import { setNumThreads } from '../../src/engine/runtime.js';
import { type DiagnoseSummary, DIAGNOSE_RULE, gapHistogram, judgeBalance } from '../../src/train/diagnose.js';
import { runCli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-diagnose-'));
// Most cases run in this process (one libtorch start-up): on one thread, as runCli's.
setNumThreads(1);

/** diagnoseCommand in this process: its exit status and printed lines. */
async function diagnoseHere(...argv: string[]): Promise<{ status: number; stdout: string }> {
  const lines: string[] = [];
  const status = await diagnoseCommand(argv, (l) => lines.push(l));
  return { status, stdout: lines.join('\n') };
}

/** Clips of 3 classes: 'image' [1, 16, 16] shows a class pattern under noise, 'noise' [8] is noise alone. */
function signalAndNoiseClips(): ClipDataset {
  const rand = mulberry32(7);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const patterns = Array.from({ length: 3 }, () => Array.from({ length: 256 }, gauss));
  const split = (name: string, n: number): ClipSplit => {
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const image = new Float32Array(n * 256);
    for (let i = 0; i < n; i++) for (let j = 0; j < 256; j++) image[i * 256 + j] = 1.5 * patterns[labels[i]!]![j]! + gauss();
    return {
      ids: Array.from({ length: n }, (_, i) => `${name}-${i}`),
      labels,
      features: { image, noise: Float32Array.from({ length: n * 8 }, gauss) },
      lengths: {},
    };
  };
  return {
    name: 'signal-and-noise',
    modalities: ['image', 'noise'],
    shapes: { image: [1, 16, 16], noise: [8] },
    classNames: ['a', 'b', 'c'],
    splits: { train: split('tr', 240), dev: split('dv', 90), test: split('te', 90) },
    devSource: 'file',
  };
}

const CONVERSATIONS = join(dir, 'conversations.safetensors');
const CLIPS = join(dir, 'clips.safetensors');
const CONV_FAST = ['--set', 'model.encoder=mlp', '--set', 'model.hidden=16', '--set', 'train.batchSize=4', '--set', 'train.lr=0.01'];
const CLIP_FAST = ['--set', 'model.hidden=16', '--set', 'train.lr=0.01'];

function makeConversations(): void {
  if (existsSync(CONVERSATIONS)) return;
  const r = runCli(
    'data',
    'synth',
    CONVERSATIONS,
    ...['--set', 'dialogues=40', '--set', 'utterances=600', '--set', 'minLength=6', '--set', 'maxLength=24', '--set', 'devFraction=0.25'],
    ...['--set', 'modalities={"text":16,"audio":12}', '--set', 'separation={"text":3,"audio":0}', '--set', 'contextOffset=0'],
    ...['--set', 'classNames=["a","b","c"]', '--set', 'classPrior=[1,1,1]', '--set', 'persistence=0.2'],
  );
  assert.equal(r.status, 0, r.stderr);
}

function makeClips(): void {
  if (!existsSync(CLIPS)) saveClips(signalAndNoiseClips(), CLIPS);
}

function fails(r: { status: number | null; stderr: string }, pattern: RegExp, what: string): void {
  assert.equal(r.status, 2, `${what}: exit status`);
  assert.match(r.stderr, pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace: ${what}`);
}

function readSummary(out: string): DiagnoseSummary {
  return JSON.parse(readFileSync(join(out, 'diagnose.json'), 'utf8')) as DiagnoseSummary;
}

function keys(o: unknown): string[] {
  return Object.keys(o as object).sort();
}

/** Every number anywhere in a JSON value. */
function numbers(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.flatMap(numbers);
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(numbers);
  return [];
}

/** diagnose.json against the schema the report reads: every key there, nothing else, numbers finite. */
function checkSchema(j: Record<string, unknown>, modalities: string[], kind: 'conversation' | 'clip'): void {
  assert.deepEqual(keys(j), ['data', 'format', 'gap', 'joint', 'modalities', 'probes', 'score', 'verdict']);
  assert.equal(j.format, 'mmbalance.diagnose.v1');
  const data = j.data as Record<string, unknown>;
  assert.deepEqual(keys(data), ['kind', 'name', 'path', 'sizes']);
  assert.equal(data.kind, kind);
  assert.equal(typeof data.name, 'string');
  assert.ok(typeof data.path === 'string' && existsSync(data.path), 'data.path is the data file');
  assert.deepEqual(keys(data.sizes), ['dev', 'test', 'train']);
  assert.deepEqual(j.modalities, modalities);
  assert.equal(j.score, kind === 'conversation' ? 'weightedF1' : 'accuracy');
  const probes = j.probes as Record<string, unknown>;
  assert.deepEqual(keys(probes), [...modalities].sort());
  for (const m of modalities) assert.deepEqual(keys(probes[m]), ['dev', 'test']);
  const joint = j.joint as { epochs: number; runDir: string; perEpoch: Record<string, unknown>[]; final: Record<string, unknown> };
  assert.deepEqual(keys(joint), ['epochs', 'final', 'perEpoch', 'runDir']);
  assert.equal(joint.epochs, 3);
  assert.ok(existsSync(join(joint.runDir, 'summary.json')), 'joint.runDir is a finished run');
  assert.equal(joint.perEpoch.length, 3);
  joint.perEpoch.forEach((e, i) => {
    assert.deepEqual(keys(e), ['devScore', 'disparityRatio', 'epoch', 'probeAccuracy', 'unimodalAccuracy']);
    assert.equal(e.epoch, i + 1);
    for (const k of ['unimodalAccuracy', 'probeAccuracy', 'disparityRatio']) assert.deepEqual(keys(e[k]), [...modalities].sort(), k);
  });
  assert.deepEqual(keys(joint.final), ['devScore', 'disparityRatio', 'unimodalAccuracy']);
  const gap = j.gap as { pair: string[]; definition: string; histogram: { edges: number[]; counts: number[] } };
  assert.deepEqual(keys(gap), ['definition', 'histogram', 'mean', 'pair', 'std']);
  assert.equal(gap.pair.length, 2);
  assert.match(gap.definition, /dev/);
  assert.deepEqual(keys(gap.histogram), ['counts', 'edges']);
  assert.equal(gap.histogram.edges.length, 41);
  assert.equal(gap.histogram.edges[0], -1);
  assert.equal(gap.histogram.edges[40], 1);
  assert.equal(gap.histogram.counts.length, 40);
  assert.equal(
    gap.histogram.counts.reduce((a, b) => a + b, 0),
    (data.sizes as { dev: number }).dev,
    'the histogram counts every dev sample',
  );
  const verdict = j.verdict as Record<string, unknown>;
  assert.deepEqual(keys(verdict), ['dominant', 'imbalanced', 'reasons', 'rule', 'weak']);
  assert.equal(verdict.rule, DIAGNOSE_RULE);
  assert.ok((verdict.reasons as string[]).length > 0, 'the verdict gives its reasons');
  for (const x of numbers(j)) assert.ok(Number.isFinite(x), `a number that is not finite: ${x}`);
}

test('the verdict rule: suppression, disparity, an uninformative modality, an undertrained model', () => {
  const base = { modalities: ['a', 'b'], chance: 0.34 };
  // b alone reaches 70%, but under joint training 36%; a keeps what its probe shows.
  const suppressed = judgeBalance({
    ...base,
    probeDev: { a: 0.8, b: 0.7 },
    unimodalAccuracy: { a: 0.78, b: 0.36 },
    disparityRatio: { a: 1.3, b: 1 },
  });
  assert.deepEqual([suppressed.imbalanced, suppressed.dominant, suppressed.weak], [true, 'a', ['b']]);
  assert.match(suppressed.reasons[0]!, /b: its standalone probe reaches 70\.0%/);
  // Both close to their probes and ratios near 1: balanced, no dominant.
  const balanced = judgeBalance({
    ...base,
    probeDev: { a: 0.8, b: 0.7 },
    unimodalAccuracy: { a: 0.77, b: 0.66 },
    disparityRatio: { a: 1.1, b: 1 },
  });
  assert.deepEqual([balanced.imbalanced, balanced.dominant, balanced.weak], [false, null, []]);
  // b is noise: its slice under chance is no shortfall, but the ratio names a as dominant and b's probe is flagged.
  const noise = judgeBalance({
    ...base,
    probeDev: { a: 0.9, b: 0.33 },
    unimodalAccuracy: { a: 0.88, b: 0.1 },
    disparityRatio: { a: 2.5, b: 1 },
  });
  assert.deepEqual([noise.imbalanced, noise.dominant, noise.weak], [true, 'a', ['b']]);
  assert.equal(noise.reasons.length, 2);
  assert.match(noise.reasons[1]!, /may carry little about the label/);
  // Every modality far below its probe and no ratio: undertrained, not suppressed.
  const early = judgeBalance({
    ...base,
    probeDev: { a: 0.9, b: 0.8 },
    unimodalAccuracy: { a: 0.5, b: 0.36 },
    disparityRatio: { a: 1.2, b: 1 },
  });
  assert.equal(early.imbalanced, false);
  assert.match(early.reasons[0]!, /undertrained, not suppressed/);
});

test('gapHistogram: 40 bins on [-1, 1], the last one closed; mean and population std', () => {
  const h = gapHistogram([-1, -0.999, 0, 0.5, 1]);
  assert.equal(h.edges.length, 41);
  assert.equal(h.counts[0], 2);
  assert.equal(h.counts[20], 1);
  assert.equal(h.counts[30], 1);
  assert.equal(h.counts[39], 1);
  assert.ok(Math.abs(h.mean - (-1 - 0.999 + 0 + 0.5 + 1) / 5) < 1e-12);
  const two = gapHistogram([0.2, 0.4]);
  assert.ok(Math.abs(two.std - 0.1) < 1e-12);
});

test('diagnose on conversations: the informative modality leads the probes and dominates', () => {
  makeConversations();
  const out = join(dir, 'conv');
  const r = runCli('diagnose', '--data', CONVERSATIONS, '--out', out, ...CONV_FAST, '--no-report');
  assert.equal(r.status, 0, r.stderr);
  const j = readSummary(out);
  checkSchema(j as unknown as Record<string, unknown>, ['text', 'audio'], 'conversation');
  assert.ok(j.probes.text!.dev > j.probes.audio!.dev + 0.3, `probes: text ${j.probes.text!.dev}, audio ${j.probes.audio!.dev}`);
  assert.ok(j.probes.text!.test > j.probes.audio!.test + 0.3);
  assert.equal(j.verdict.imbalanced, true);
  assert.equal(j.verdict.dominant, 'text');
  assert.deepEqual(j.verdict.weak, ['audio']);
  assert.deepEqual(j.gap.pair, ['text', 'audio']);
  assert.ok(j.gap.mean > 0, 'the informative modality gives the true class more probability');
  // The stages, the summary with the verdict and its rule, and the report hint last.
  assert.match(r.stdout, /diagnose 1\/3: .*\n[\s\S]*diagnose 2\/3: [\s\S]*diagnose 3\/3: /);
  assert.match(r.stdout, /verdict: imbalanced; dominant text, weak audio/);
  assert.match(r.stdout, /\nrule: imbalanced if/);
  assert.equal(r.stdout.trimEnd().split('\n').at(-1), `report: mmbalance report ${out}`);
});

test('diagnose on clips: probes order the modalities, the verdict names the image; --force and an interrupted diagnosis', async () => {
  makeClips();
  const out = join(dir, 'clips');
  const r = await diagnoseHere('--data', CLIPS, '--out', out, ...CLIP_FAST, '--quiet');
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stdout, /diagnose 1\/3/, '--quiet drops the stage lines');
  const j = readSummary(out);
  checkSchema(j as unknown as Record<string, unknown>, ['image', 'noise'], 'clip');
  assert.ok(j.probes.image!.dev > 0.9, `image probe ${j.probes.image!.dev}`);
  assert.ok(j.probes.noise!.dev < 0.55, `noise probe ${j.probes.noise!.dev}`);
  assert.equal(j.verdict.dominant, 'image');
  assert.deepEqual(j.verdict.weak, ['noise']);
  assert.equal(r.stdout.trimEnd().split('\n').at(-1), `report: mmbalance report ${out}`);
  // The page is drawn when the report module is built, and said so; either way the command succeeds.
  assert.equal(existsSync(join(out, 'report.html')), /wrote the report /.test(r.stdout));

  assert.throws(
    () => diagnoseCommand(['--data', CLIPS, '--out', out], () => {}),
    /holds a finished diagnosis \(diagnose\.json\); pass --force/,
  );
  // Stopped after the joint run, before diagnose.json: the next call starts it again.
  rmSync(join(out, 'diagnose.json'));
  const again = await diagnoseHere('--data', CLIPS, '--out', out, ...CLIP_FAST, '--no-report');
  assert.equal(again.status, 0);
  assert.match(again.stdout, /did not finish; starting it again/);
  const redo = readSummary(out);
  assert.deepEqual(redo.probes, j.probes, 'the same probes');
  assert.deepEqual(redo.joint.final, j.joint.final, 'a seeded joint run repeats');
  assert.equal((await diagnoseHere('--data', CLIPS, '--out', out, ...CLIP_FAST, '--force', '--quiet', '--no-report')).status, 0);
});

test('diagnose refuses, before creating anything: a missing file, one modality, a mistyped modality', () => {
  makeConversations();
  makeClips();
  const out = join(dir, 'never');
  // Through the command line once: exit status 2 and a message without a stack trace.
  fails(
    runCli('diagnose', '--data', join(dir, 'nope.safetensors'), '--out', out),
    /nope\.safetensors does not exist \(--data\)/,
    'bad path',
  );
  const refuses = (argv: string[], pattern: RegExp): void =>
    assert.throws(() => diagnoseCommand([...argv, '--out', out], () => {}), pattern);
  refuses(['--data', CONVERSATIONS, '--modalities', 'text'], /diagnose compares modalities; choose at least two/);
  refuses(['--data', CLIPS, '--modalities', 'image'], /diagnose compares modalities; choose at least two/);
  refuses(['--data', CONVERSATIONS, '--modalities', 'text,audoi'], /modality 'audoi' is not in the data/);
  refuses(['--data', CONVERSATIONS, '--epoch', '2'], /unknown option --epoch; did you mean --epochs\?/);
  refuses(['--data', CONVERSATIONS, '--preset', 'clip-joint'], /cannot be built for this data: .*not conversation data/);
  assert.ok(!existsSync(out), 'nothing was created');
  const help: string[] = [];
  void diagnoseCommand(['--help'], (l) => help.push(l));
  assert.match(help.join('\n'), /Examples:\n {2}mmbalance diagnose/);
  assert.match(help.join('\n'), /--force/);
});
