/**
 * Data-parallel training on c10d (Gloo over loopback): N workers equal one process on the same
 * global batches, and a worker that dies or hangs ends the run cleanly.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { saveClips } from '../../src/data/clip/format.js';
import { shardUnits } from '../../src/data/dataset.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { packageRoot, runCli } from '../helpers.js';
import { tinyClips } from '../tiny_clips.js';

const dir = mkdtempSync(join(tmpdir(), 'mmb-parallel-'));
const clips = join(dir, 'clips.safetensors');
const dialogues = join(dir, 'dialogues.safetensors');
// 145 training clips in batches of 16: nine batches split between the workers, then one clip,
// which both workers get whole (a replicated batch).
saveClips(tinyClips(3, { train: 145, dev: 20, test: 20 }), clips);
const CLIP = [
  '--preset',
  'clip-joint',
  '--data',
  clips,
  '--modalities',
  'seq+vec',
  '--set',
  'train.batchSize=16',
  '--set',
  'model.hidden=16',
];
const QUIET = ['--quiet', '--set', 'train.probes=false'];
// SGD with momentum for the equivalence: Adam divides each gradient by its own running scale, so
// the attention's key bias, whose exact gradient is zero (softmax ignores a shift shared by every
// key), moves by +-lr on pure rounding noise, and any other summation order shows there (1e-4
// after 20 steps, while every other parameter agrees to 1e-7). A small rate, too: at lr 0.05 with
// momentum 0.9 the small transformer's training is chaotic, and float32 rounding differences of
// 1e-9 in the first steps grow tenfold every two steps.
const SGD = ['--set', 'train.optimizer=sgd', '--set', 'train.lr=0.01', '--set', 'train.momentum=0.9'];

function weightsDiff(a: string, b: string): number {
  const x = readSafetensors(join(a, 'last.safetensors')).tensors;
  const y = readSafetensors(join(b, 'last.safetensors')).tensors;
  assert.deepEqual([...x.keys()].sort(), [...y.keys()].sort());
  let worst = 0;
  for (const [k, t] of x) {
    const u = y.get(k)!.toArray();
    t.toArray().forEach((v, i) => (worst = Math.max(worst, Math.abs(v - u[i]!))));
  }
  return worst;
}

function trainLosses(out: string): number[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { trainLoss: number }).trainLoss);
}

test('shards: contiguous, sizes within one, in rank order the batch; fewer units than workers: every worker gets it whole', () => {
  const units = Array.from({ length: 10 }, (_, i) => i);
  const parts = [0, 1, 2].map((rank) => shardUnits(units, { rank, count: 3 }));
  assert.deepEqual(
    parts.map((p) => p.units),
    [
      [0, 1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ],
  );
  assert.ok(parts.every((p) => p.replicas === 1));
  assert.deepEqual(shardUnits([7], { rank: 1, count: 2 }), { units: [7], replicas: 2 });
  assert.deepEqual(shardUnits(units, undefined), { units, replicas: 1 });
});

for (const method of ['joint', 'ogm-ge', 'mlb']) {
  test(`${method}: 2 workers give one process's weights after 20 steps (and a replicated last batch)`, () => {
    const extra = method === 'joint' ? [] : ['--method', method, ...(method === 'mlb' ? ['--set', 'model.head=multi'] : [])];
    const one = join(dir, `${method}-one`);
    const two = join(dir, `${method}-two`);
    let r = runCli('train', ...CLIP, ...QUIET, ...SGD, ...extra, '--epochs', '2', '--out', one);
    assert.equal(r.status, 0, r.stderr);
    r = runCli('train', ...CLIP, ...QUIET, ...SGD, ...extra, '--epochs', '2', '--out', two, '--nproc', '2');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /data-parallel over 2 workers \(c10d gloo\)/);
    const diff = weightsDiff(one, two);
    assert.ok(diff < 1e-5, `largest weight difference ${diff}`);
    const [a, b] = [trainLosses(one), trainLosses(two)];
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5, `epoch ${i + 1} train loss ${v} vs ${b[i]}`));
    // Only rank 0 wrote: one metrics line per epoch, one summary naming the workers.
    assert.equal(b.length, 2);
    const summary = JSON.parse(readFileSync(join(two, 'summary.json'), 'utf8')) as { parallel?: { workers: number } };
    assert.equal(summary.parallel?.workers, 2);
  });
}

test('conversations: workers shard whole dialogues and equal one process', () => {
  const SYNTH = ['--set', 'dialogues=20', '--set', 'utterances=200', '--set', 'minLength=3', '--set', 'maxLength=14'];
  let r = runCli('data', 'synth', dialogues, ...SYNTH, '--set', 'modalities={"text":6,"audio":5,"visual":4}');
  assert.equal(r.status, 0, r.stderr);
  const common = [
    '--preset',
    'joint',
    '--data',
    dialogues,
    '--set',
    'model.dropout=0',
    '--set',
    'train.batchSize=3',
    '--epochs',
    '2',
    ...QUIET,
    ...SGD,
  ];
  const one = join(dir, 'conv-one');
  const two = join(dir, 'conv-two');
  r = runCli('train', ...common, '--out', one);
  assert.equal(r.status, 0, r.stderr);
  r = runCli('train', ...common, '--out', two, '--nproc', '2');
  assert.equal(r.status, 0, r.stderr);
  const diff = weightsDiff(one, two);
  assert.ok(diff < 1e-5, `largest weight difference ${diff}`);
});

test('launch options are checked before any worker starts', () => {
  const out = join(dir, 'bad-launch');
  for (const [args, pattern] of [
    [['--nproc', '0'], /--nproc expects an integer from 1 to 1024, got 0/],
    [['--nproc', '1.5'], /--nproc expects an integer/],
    [['--nproc', '2', '--nnodes', '2'], /--nnodes > 1 needs --master-addr/],
    [['--nproc', '2', '--node-rank', '1'], /--node-rank expects an integer from 0 to 0/],
    [['--nproc', '2', '--set', 'train.lr=-1'], /train\.lr/],
  ] as const) {
    const r = runCli('train', ...CLIP, ...QUIET, '--out', out, ...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stdout, /worker \d pid/, 'no worker was started');
  }
  assert.ok(!existsSync(out));
});

/** Starts a long data-parallel run; resolves with the launcher, its output so far and the workers' pids. */
function launch(out: string, ...more: string[]) {
  const p = spawn(
    process.execPath,
    [join(packageRoot(), 'bin', 'mmbalance.js'), 'train', ...CLIP, ...QUIET, '--epochs', '400', '--out', out, '--nproc', '2', ...more],
    { env: { ...process.env, MMBALANCE_NUM_THREADS: '1' } },
  );
  const io = { stdout: '', stderr: '' };
  p.stdout.on('data', (d) => (io.stdout += String(d)));
  p.stderr.on('data', (d) => (io.stderr += String(d)));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => p.on('exit', (code) => resolve({ code, at: Date.now() })));
  return { p, io, exited };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function workerPids(stdout: string): number[] {
  return [...stdout.matchAll(/worker (\d+) pid (\d+)/g)].map((m) => Number(m[2]));
}

async function afterFirstEpoch(out: string, io: { stdout: string }, p: ChildProcess): Promise<number[]> {
  await until(
    'the first epoch',
    () => existsSync(join(out, 'metrics.jsonl')) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').includes('\n'),
  );
  assert.equal(p.exitCode, null, 'still running');
  return workerPids(io.stdout);
}

test('a worker killed mid-run: the others stop at once, no worker outlives the run, --resume continues with another N', async () => {
  const out = join(dir, 'killed');
  const { p, io, exited } = launch(out);
  const pids = await afterFirstEpoch(out, io, p);
  assert.equal(pids.length, 2);
  const t0 = Date.now();
  process.kill(pids[1]!, 'SIGKILL');
  const { code, at } = await exited;
  assert.notEqual(code, 0);
  assert.ok(at - t0 < 15_000, `the launcher took ${at - t0} ms to fail`);
  assert.match(
    io.stdout,
    /worker 1 \(pid \d+\) was killed by SIGKILL; the other workers were stopped\. .* keeps the last finished epoch: 'mmbalance train --out .* --resume'/,
  );
  await until('every worker gone', () => pids.every((pid) => !alive(pid)), 10_000);
  // Resume in one process; it continues from the last finished epoch and finishes.
  const done = trainLosses(out).length;
  assert.ok(done >= 1);
  const r = runCli('train', '--out', out, '--resume', '--epochs', String(done + 2), '--quiet');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(trainLosses(out).length, done + 2);
});

test('a worker that hangs: the others fail after --dist-timeout, and the launcher stops it', async () => {
  const out = join(dir, 'hung');
  const { p, io, exited } = launch(out, '--dist-timeout', '3');
  const pids = await afterFirstEpoch(out, io, p);
  const t0 = Date.now();
  process.kill(pids[1]!, 'SIGSTOP');
  const { code, at } = await exited;
  assert.notEqual(code, 0);
  assert.ok(at - t0 < 25_000, `the launcher took ${at - t0} ms to fail`);
  assert.match(io.stderr, /failed on rank 0/);
  assert.match(io.stdout, /worker 0 \(pid \d+\) exited with code \d+; the other workers were stopped/);
  await until('every worker gone', () => pids.every((pid) => !alive(pid)), 10_000);
});
