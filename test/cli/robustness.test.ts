/** mmbalance robustness end to end: a tiny clip run and a tiny conversation run, through the command line. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { robustnessCommand } from '../../src/cli/robustness.js';
import { saveClips } from '../../src/data/clip/format.js';
import { saveDataset, synthConversations } from '../../src/data/index.js';
import { setNumThreads } from '../../src/engine/runtime.js';
import { runCli } from '../helpers.js';
import { tinyClips } from '../tiny_clips.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-robust-'));
// In-process commands run on one thread, as runCli's do, so scores match the CLI's to the bit.
setNumThreads(1);

/** robustnessCommand in this process (a command line costs seconds of start-up); its output. */
function cli(...argv: string[]): string {
  const lines: string[] = [];
  const status = robustnessCommand(argv, (l) => lines.push(l));
  assert.equal(status, 0);
  return lines.join('\n');
}

/** Tiny clips whose sequence and vector both carry the label, so corruptions have something to break. */
function writeClips(path: string): void {
  const ds = tinyClips(3, { train: 90, dev: 30, test: 40 });
  for (const sp of Object.values(ds.splits)) {
    const lengths = sp.lengths.seq!;
    let step = 0;
    const vec = sp.features.vec!;
    const seq = sp.features.seq!;
    sp.labels.forEach((y, k) => {
      vec[k * 5 + y] = vec[k * 5 + y]! + 2;
      for (let t = 0; t < lengths[k]!; t++, step++) seq[step * 3 + y] = seq[step * 3 + y]! + 1.5;
    });
  }
  saveClips(ds, path);
}

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

function fails(r: { status: number | null; stderr: string }, pattern: RegExp, what: string): void {
  assert.notEqual(r.status, 0, what);
  assert.match(r.stderr, pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace: ${what}`);
}

interface Result {
  format: string;
  run: string;
  method: string;
  modalities: string[];
  split: string;
  seed: number;
  clean: { accuracy: number; weightedF1: number };
  curves: { modality: string; corruption: string; levelName: string; levels: { level: number; accuracy: number; weightedF1: number }[] }[];
}

function assertSchema(r: Result): void {
  assert.deepEqual(Object.keys(r), ['format', 'run', 'method', 'modalities', 'split', 'seed', 'clean', 'curves']);
  assert.equal(r.format, 'mmbalance.robustness.v1');
  assert.equal(typeof r.run, 'string');
  assert.equal(typeof r.method, 'string');
  assert.ok(r.modalities.every((m) => typeof m === 'string'));
  assert.equal(r.split, 'test');
  assert.equal(typeof r.seed, 'number');
  assert.deepEqual(Object.keys(r.clean), ['accuracy', 'weightedF1']);
  for (const c of r.curves) {
    assert.deepEqual(Object.keys(c), ['modality', 'corruption', 'levelName', 'levels']);
    assert.ok(['gaussian', 'freqmask', 'zero'].includes(c.corruption));
    assert.ok(r.modalities.includes(c.modality));
    for (const p of c.levels) {
      assert.deepEqual(Object.keys(p), ['level', 'accuracy', 'weightedF1']);
      assert.ok(Number.isFinite(p.level) && p.accuracy >= 0 && p.accuracy <= 1 && p.weightedF1 >= 0 && p.weightedF1 <= 1);
    }
  }
}

const read = (path: string): Result => JSON.parse(readFileSync(path, 'utf8')) as Result;
const curveKeys = (r: Result): string[] => r.curves.map((c) => `${c.modality}/${c.corruption}`).sort();

test('robustness of a clip run: clean matches the run, level 0 is clean, reruns are identical, curves merge', () => {
  const data = join(dir, 'clips.safetensors');
  writeClips(data);
  const run = join(dir, 'clip-run');
  ok(
    runCli(
      'train',
      '--preset',
      'clip-joint',
      '--data',
      data,
      '--modalities',
      'seq+vec',
      '--epochs',
      '3',
      '--out',
      run,
      '--quiet',
      '--set',
      'model.hidden=8',
      '--set',
      'model.layers=1',
      '--set',
      'model.dimFeedforward=16',
      '--set',
      'train.lr=0.01',
    ),
    'train',
  );
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as { test: { accuracy: number; weightedF1: number } };
  const file = join(run, 'robustness.json');

  // Through the command line once; the rest in this process (one thread, as the CLI runs here).
  const g = ok(runCli('robustness', '--run', run, '--corruption', 'gaussian', '--quiet'), 'gaussian');
  assert.match(g, /seq, gaussian:\n\s+SNR \(dB\)\s+accuracy\s+weighted F1/);
  const first = readFileSync(file, 'utf8');
  const r1 = read(file);
  assertSchema(r1);
  assert.equal(r1.clean.accuracy, summary.test.accuracy, 'the clean score is the run test score');
  assert.equal(r1.clean.weightedF1, summary.test.weightedF1);
  assert.deepEqual(curveKeys(r1), ['seq/gaussian', 'vec/gaussian']);
  assert.deepEqual(
    r1.curves[0]!.levels.map((p) => p.level),
    [20, 10, 5, 0, -5],
  );
  assert.equal(r1.curves[0]!.levelName, 'SNR (dB)');
  assert.ok(summary.test.accuracy > 0.6, `the run learned (${summary.test.accuracy})`);
  const worst = Math.min(...r1.curves.map((c) => c.levels.at(-1)!.accuracy));
  assert.ok(worst < r1.clean.accuracy, 'noise at -5 dB costs accuracy');

  // The same command again: the same file, byte for byte.
  cli('--run', run, '--corruption', 'gaussian', '--quiet');
  assert.equal(readFileSync(file, 'utf8'), first, 'a rerun writes identical curves');

  // Two more invocations add their curves and keep the gaussian ones.
  cli('--run', run, '--corruption', 'freqmask', '--quiet');
  cli('--run', run, '--corruption', 'zero', '--modality', 'vec', '--levels', '0,0.5,1', '--quiet');
  const merged = read(file);
  assertSchema(merged);
  assert.deepEqual(curveKeys(merged), ['seq/freqmask', 'seq/gaussian', 'vec/freqmask', 'vec/gaussian', 'vec/zero']);
  assert.deepEqual(
    merged.curves.filter((c) => c.corruption === 'gaussian'),
    r1.curves,
    'earlier curves are kept as they were',
  );
  for (const c of merged.curves)
    if (c.corruption !== 'gaussian') {
      const zeroLevel = c.levels.find((p) => p.level === 0)!;
      assert.equal(zeroLevel.accuracy, merged.clean.accuracy, `${c.modality}/${c.corruption} at level 0 is clean`);
      assert.equal(zeroLevel.weightedF1, merged.clean.weightedF1);
    }
  const seqMask = merged.curves.find((c) => c.modality === 'seq' && c.corruption === 'freqmask')!;
  assert.deepEqual(
    seqMask.levels.map((p) => p.level),
    [0, 3],
    'default mask factors are capped at the 3 bins',
  );
  const zero = merged.curves.find((c) => c.corruption === 'zero')!;
  assert.deepEqual(
    zero.levels.map((p) => p.level),
    [0, 0.5, 1],
  );

  // --out elsewhere; the run directory's file is not touched.
  const elsewhere = join(dir, 'out', 'r.json');
  cli('--run', run, '--corruption', 'zero', '--modality', 'seq', '--levels', '0,1', '--quiet', '--out', elsewhere);
  assert.deepEqual(curveKeys(read(elsewhere)), ['seq/zero']);
  assert.deepEqual(curveKeys(read(file)), curveKeys(merged));

  // Errors that name the problem and the way out: through the command line once (status 2, no stack), then here.
  fails(runCli('robustness', '--run', run, '--modality', 'sq'), /no modality 'sq' \(it has seq, vec\); did you mean 'seq'\?/, 'modality');
  const refuses = (pattern: RegExp, ...argv: string[]): void => assert.throws(() => cli(...argv), pattern, argv.join(' '));
  refuses(/--run DIR is required/);
  refuses(/does not exist/, '--run', join(dir, 'nothing'));
  const unfinished = join(dir, 'unfinished');
  mkdirSync(unfinished);
  writeFileSync(join(unfinished, 'config.json'), readFileSync(join(run, 'config.json')));
  refuses(/no best weights.*train it first or --resume it/, '--run', unfinished);
  refuses(/unknown corruption 'gausian'; did you mean 'gaussian'\?/, '--run', run, '--corruption', 'gausian');
  refuses(/--levels expects numbers.*'ten'/, '--run', run, '--corruption', 'gaussian', '--levels', '20,ten');
  refuses(/fraction of samples from 0 to 1, not 1\.5/, '--run', run, '--corruption', 'zero', '--levels', '0.5,1.5');
  refuses(/whole number of bins from 0 to 3.*not -1/, '--run', run, '--corruption', 'freqmask', '--levels', '-1');
  refuses(/from 0 to 3/, '--run', run, '--corruption', 'freqmask', '--levels', '4', '--modality', 'seq');
  refuses(/--levels needs one --corruption/, '--run', run, '--levels', '1');
  // A run whose data moved: the error names the path it expected and --data; --data finds it.
  const moved = join(dir, 'moved-run');
  cpSync(run, moved, { recursive: true });
  const config = JSON.parse(readFileSync(join(moved, 'config.json'), 'utf8')) as { data: { path: string } };
  config.data.path = join(dir, 'gone', 'clips.safetensors');
  writeFileSync(join(moved, 'config.json'), JSON.stringify(config));
  refuses(
    /data .*gone\/clips\.safetensors \(data\.path in .*config\.json\) is not there any more; point at where it is now with --data PATH/,
    '--run',
    moved,
    '--corruption',
    'zero',
  );
  cli('--run', moved, '--corruption', 'zero', '--modality', 'vec', '--levels', '0', '--data', data, '--quiet');
  assert.equal(read(join(moved, 'robustness.json')).clean.accuracy, summary.test.accuracy);
  assert.match(cli('--help'), /Examples:[\s\S]*--corruption gaussian --levels/);
});

test('robustness of a conversation run: one gaussian curve per modality', () => {
  const data = join(dir, 'conv.safetensors');
  const modalities = { text: 6, audio: 5, visual: 4 };
  saveDataset(synthConversations({ seed: 12, dialogues: 16, utterances: 160, minLength: 4, maxLength: 16, modalities }), data);
  const run = join(dir, 'conv-run');
  const small = ['--preset', 'joint', '--set', 'model.encoder=mlp', '--set', 'model.hidden=8', '--set', 'train.batchSize=4', '--quiet'];
  ok(runCli('train', '--data', data, '--epochs', '1', '--out', run, ...small), 'train');
  const out = cli('--run', run, '--corruption', 'gaussian', '--levels', '10,-10');
  assert.match(out, /clean: accuracy/, 'per-level lines without --quiet');
  const r = read(join(run, 'robustness.json'));
  assertSchema(r);
  assert.deepEqual(curveKeys(r), ['audio/gaussian', 'text/gaussian', 'visual/gaussian']);
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as { test: { accuracy: number } };
  assert.equal(r.clean.accuracy, summary.test.accuracy);
  assert.ok(existsSync(join(run, 'robustness.json')));
});
