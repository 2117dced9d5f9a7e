/**
 * Ada2I's training epoch against its matmul floor and against PyTorch, in one run: the preset
 * ada2i-iemocap on the built-in IEMOCAP-shaped data, and ada2i-meld on a MELD-shaped set made here
 * (1,039 training dialogues, 9,989 utterances, lengths 1 to 24 with mean 9.6, MELD's 7 classes and
 * class counts, text 768 / audio 300 / visual 342).
 *
 * Per preset: mmbalance's training epochs (modulation and its noise on from epoch 1, as
 * bench/epoch.ts), each followed or preceded by an epoch of the same model and loop in PyTorch
 * (bench/ada2i_torch.py, a child process fed the same dialogues, the same batches and the same
 * initial weights); the matmul FLOPs of every epoch (every Linear and matmul of the model, forward
 * and backward, counted from the epoch's own batches); the engine's matmul rate at those GEMMs'
 * shapes measured in the same run; the floor FLOPs / rate; and the step's time by part, timed by
 * wrapping the Trainer's calls at runtime.
 *
 * Run: npx tsc -p . && node dist/bench/ada2i_floor.js [--preset ada2i-iemocap|ada2i-meld|both]
 *   [--epochs 3] [--threads N] [--dialogues N] [--rate-rounds 3] [--python /usr/bin/python3] [--write]
 * --epochs: epochs per side, the first a warm-up (not in the means unless it is the only one).
 * --dialogues: train on the first N training dialogues only (smoke tests).
 * --ours-only: mmbalance's epochs and step breakdown alone (no PyTorch, no rates; for profiling).
 * --profile: one more epoch under libtorch's operator profiler, tabled by operator (always with --write).
 * --shapes (with --ours-only): one more profiled epoch listing every matrix product by shape and rate.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  type BalancingStrategy,
  type DisparityModulation,
  F,
  Tensor,
  TransformerConversationEncoder,
  Trainer,
  buildRunModel,
  clipGradNorm,
  data,
  getNumThreads,
  libtorchVersion,
  makeStrategy,
  type OpTime,
  manualSeed,
  profileOps,
  randn,
  scope,
  setNumThreads,
  simdLevel,
} from '../src/index.js';
import type { Phase } from '../src/balance/strategy.js';
import type { ConversationDataset, Dialogue } from '../src/data/types.js';
import { type RawTensor, serializeSafetensors, tensorToRaw } from '../src/io/safetensors.js';
import type { ConversationModel } from '../src/models/conversation_model.js';
import { ProgressBar } from '../src/train/progress.js';
import { type RunConfig, applyPreset, defaultRunConfig } from '../src/train/run_config.js';
import { packageRoot } from '../test/helpers.js';
import { writeSection } from './report.js';

// ---------------------------------------------------------------------------------------------
// Options

const args = process.argv.slice(2);
const optValue = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const intOpt = (name: string, fallback: number): number => {
  const raw = optValue(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} expects an integer >= 1, got ${raw}`);
  return v;
};
const PRESETS = ['ada2i-iemocap', 'ada2i-meld'] as const;
const presetArg = optValue('preset') ?? 'both';
if (presetArg !== 'both' && !(PRESETS as readonly string[]).includes(presetArg))
  throw new Error(`--preset expects ada2i-iemocap, ada2i-meld or both, got ${presetArg}`);
const presets: string[] = presetArg === 'both' ? [...PRESETS] : [presetArg];
const EPOCHS = intOpt('epochs', 3);
if (optValue('threads') !== undefined) setNumThreads(intOpt('threads', 1));
const THREADS = getNumThreads();
const DIALOGUES = optValue('dialogues') === undefined ? null : intOpt('dialogues', 1);
const RATE_ROUNDS = intOpt('rate-rounds', 3);
const PYTHON = optValue('python') ?? '/usr/bin/python3';
const WRITE = args.includes('--write');
const OURS_ONLY = args.includes('--ours-only');
// The operator profile: always with --write, on request with --ours-only.
const PROFILE = WRITE || args.includes('--profile');
const SHAPES = args.includes('--shapes');
if (OURS_ONLY && WRITE) throw new Error('--ours-only measures too little for --write; drop one');

// ---------------------------------------------------------------------------------------------
// Data

/** MELD's splits (dialogues, utterances, longest dialogue), class counts (train) and Ada2I's feature widths. */
const MELD = {
  splits: { train: [1039, 9989, 24], dev: [114, 1109, 24], test: [280, 2610, 33] } as Record<string, [number, number, number]>,
  classCounts: [4710, 1205, 268, 683, 1743, 271, 1109],
  dims: { text: 768, audio: 300, visual: 342 },
};

/**
 * `count` dialogue lengths in [1, max] summing to `total`: p(L) proportional to exp(-L / lambda),
 * lambda set so the mean is total / count (MELD's 9.6 over 1..24 gives lambda ~16 and about a
 * third of the dialogues of 1 to 5 utterances), counts by largest remainder, then single
 * utterances moved until the sum is exact, then shuffled.
 */
function meldLengths(count: number, total: number, max: number, rand: () => number): number[] {
  const target = total / count;
  const probs = (lam: number): number[] => {
    const w = Array.from({ length: max }, (_, i) => Math.exp(-(i + 1) / lam));
    const s = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / s);
  };
  const mean = (p: number[]): number => p.reduce((a, q, i) => a + q * (i + 1), 0);
  let lo = 0.05;
  let hi = 1e4;
  for (let i = 0; i < 100; i++) {
    const mid = Math.sqrt(lo * hi);
    if (mean(probs(mid)) < target) lo = mid;
    else hi = mid;
  }
  const p = probs(hi);
  const exact = p.map((q) => q * count);
  const n = exact.map(Math.floor);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  const missing = count - n.reduce((a, b) => a + b, 0);
  for (let r = 0; r < missing; r++) n[byRemainder[r]![1]]!++;
  const lengths = n.flatMap((k, i) => Array.from({ length: k }, () => i + 1));
  let diff = total - lengths.reduce((a, b) => a + b, 0);
  while (diff !== 0) {
    const j = Math.floor(rand() * count);
    if (diff > 0 && lengths[j]! < max) {
      lengths[j]!++;
      diff--;
    } else if (diff < 0 && lengths[j]! > 1) {
      lengths[j]!--;
      diff++;
    }
  }
  for (let i = lengths.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [lengths[i], lengths[j]] = [lengths[j]!, lengths[i]!];
  }
  return lengths;
}

/** Modality m's features of every utterance of the dialogues, in order, as one (utterances, d) buffer. */
function utteranceRows(dialogues: Dialogue[], m: string, d: number): Float32Array {
  const buf = new Float32Array(dialogues.reduce((a, dlg) => a + dlg.labels.length, 0) * d);
  let at = 0;
  for (const dlg of dialogues) {
    buf.set(dlg.features[m]!, at * d);
    at += dlg.labels.length;
  }
  return buf;
}

/**
 * A MELD-shaped set: the built-in generator's utterances (MELD's classes, class prior and feature
 * widths), whose dialogue lengths (a log-normal around the mean) cannot take MELD's shape through
 * its options, re-cut in order into dialogues of MELD-like lengths per split.
 */
function meldShaped(seed: number): ConversationDataset {
  const splits = Object.entries(MELD.splits);
  const dialogues = splits.reduce((a, [, s]) => a + s[0], 0);
  const utterances = splits.reduce((a, [, s]) => a + s[1], 0);
  const ds = data.synthConversations({
    seed,
    name: 'synthetic-meld',
    dialogues,
    testDialogues: MELD.splits.test![0],
    utterances,
    minLength: 1,
    maxLength: 33,
    devFraction: 0,
    classNames: [...data.MELD_CLASSES],
    classPrior: MELD.classCounts,
    modalities: MELD.dims,
  });
  const stream = [...ds.splits.train, ...ds.splits.dev, ...ds.splits.test];
  const feats: Record<string, Float32Array> = {};
  for (const m of ds.modalities) feats[m] = utteranceRows(stream, m, ds.dims[m]!);
  const labels = new Int32Array(utterances);
  const speakers: string[] = [];
  let at = 0;
  for (const dlg of stream) {
    labels.set(dlg.labels, at);
    speakers.push(...dlg.speakers);
    at += dlg.labels.length;
  }
  const rand = data.mulberry32((seed ^ 0x5eed) >>> 0);
  at = 0;
  const out: Record<string, Dialogue[]> = {};
  for (const [split, [count, total, max]] of splits) {
    out[split] = meldLengths(count, total, max, rand).map((n, i) => {
      const dlg: Dialogue = {
        id: `meld-${split}-${i}`,
        features: Object.fromEntries(ds.modalities.map((m) => [m, feats[m]!.subarray(at * ds.dims[m]!, (at + n) * ds.dims[m]!)])),
        labels: labels.subarray(at, at + n),
        speakers: speakers.slice(at, at + n),
      };
      at += n;
      return dlg;
    });
  }
  return {
    ...ds,
    splits: { train: out.train!, dev: out.dev!, test: out.test! },
    devSource: 'file',
    meta: { ...ds.meta, lengths: 'MELD-shaped (bench/ada2i_floor.ts)' },
  };
}

// ---------------------------------------------------------------------------------------------
// Matmul work

interface Arch {
  mods: { m: string; d: number; heads: number }[];
  layers: number;
  ff: number;
  hidden: number;
  afwLayers: number;
  rank: number;
  classes: number;
}

/** One matrix product: a (logical [.., m, k]) @ b (logical [.., k, n]); t: stored transposed (a view). */
interface Spec {
  a: number[];
  b: number[];
  ta?: boolean;
  tb?: boolean;
}

interface Gemm {
  part: string;
  pass: 'forward' | 'backward';
  name: string;
  spec: Spec;
}

/** A batch's sizes: B dialogues padded to T steps, N real utterances, P = B x T positions. */
interface Sizes {
  B: number;
  T: number;
  N: number;
  P: number;
}

function specFlops(s: Spec): number {
  let batch = 1;
  for (let i = 0; i < s.a.length - 2; i++) batch *= Math.max(s.a[i]!, s.b[i] ?? 1);
  return 2 * batch * s.a.at(-2)! * s.a.at(-1)! * s.b.at(-1)!;
}

const specText = (s: Spec): string => `[${s.a.join(', ')}]${s.ta ? 'ᵀ' : ''} @ [${s.b.join(', ')}]${s.tb ? 'ᵀ' : ''}`;

/** A Linear (in -> out) on `rows` rows: y = x W^T; backward dW = dY^T x and, when x needs one, dX = dY W. */
function linear(part: string, name: string, rows: number, inF: number, outF: number, inputGrad: boolean): Gemm[] {
  const g: Gemm[] = [
    { part, pass: 'forward', name: `${name} x Wᵀ`, spec: { a: [rows, inF], b: [inF, outF], tb: true } },
    { part, pass: 'backward', name: `${name} dW`, spec: { a: [outF, rows], ta: true, b: [rows, inF] } },
  ];
  if (inputGrad) g.push({ part, pass: 'backward', name: `${name} dX`, spec: { a: [rows, outF], b: [outF, inF] } });
  return g;
}

/**
 * Every matrix product of one training step on a batch of these sizes, in a fixed order (the same
 * list, index by index, for any sizes). Encoder Linears run on the N real utterances (packed),
 * attention on the padded (B, T) layout, AFW on all P = B x T positions, the head on N.
 */
function stepGemms(a: Arch, s: Sizes): Gemm[] {
  const g: Gemm[] = [];
  for (const { m, d, heads } of a.mods) {
    const part = `encoder ${m}`;
    const dh = d / heads;
    const bh = s.B * heads;
    for (let l = 0; l < a.layers; l++) {
      // The first layer's input is the data: no gradient for it.
      g.push(...linear(part, 'in_proj', s.N, d, 3 * d, l > 0));
      g.push({ part, pass: 'forward', name: 'q kᵀ', spec: { a: [bh, s.T, dh], b: [bh, dh, s.T], tb: true } });
      g.push({ part, pass: 'forward', name: 'attn v', spec: { a: [bh, s.T, s.T], b: [bh, s.T, dh] } });
      g.push({ part, pass: 'backward', name: 'dq = dS k', spec: { a: [bh, s.T, s.T], b: [bh, s.T, dh] } });
      g.push({ part, pass: 'backward', name: 'dk = dSᵀ q', spec: { a: [bh, s.T, s.T], ta: true, b: [bh, s.T, dh] } });
      g.push({ part, pass: 'backward', name: 'dattn = dO vᵀ', spec: { a: [bh, s.T, dh], b: [bh, dh, s.T], tb: true } });
      g.push({ part, pass: 'backward', name: 'dv = attnᵀ dO', spec: { a: [bh, s.T, s.T], ta: true, b: [bh, s.T, dh] } });
      g.push(...linear(part, 'out_proj', s.N, d, d, true));
      g.push(...linear(part, 'linear1', s.N, d, a.ff, true));
      g.push(...linear(part, 'linear2', s.N, a.ff, d, true));
    }
    g.push(...linear(part, 'proj', s.N, d, a.hidden, true));
  }
  const h = a.hidden;
  const r = a.rank;
  const t = Math.max(1, Math.round(s.P / s.B));
  for (let l = 0; l < a.afwLayers; l++) {
    for (let i = 0; i < a.mods.length; i++) {
      // The four rank projections, as one product with 4R outputs.
      g.push(...linear('AFW', 'wq1|wq2|wk1|wk2', s.P, h, 4 * r, true));
      // C_m = G_m A_l1 A_l2: per other modality one (T R, R) @ (R, R) product per dialogue.
      for (let k = 0; k < a.mods.length - 1; k++) {
        g.push({ part: 'AFW', pass: 'forward', name: 'G A', spec: { a: [s.B, t * r, r], b: [s.B, r, r] } });
        g.push({ part: 'AFW', pass: 'backward', name: 'dG = dC Aᵀ', spec: { a: [s.B, t * r, r], b: [s.B, r, r], tb: true } });
        g.push({ part: 'AFW', pass: 'backward', name: 'dA = Gᵀ dC', spec: { a: [s.B, r, t * r], ta: true, b: [s.B, t * r, r] } });
      }
      g.push(...linear('AFW', 'att', s.P, r * r, h, true));
      g.push(...linear('AFW', 'mapping', s.P, h, h, true));
    }
  }
  for (let i = 0; i < a.mods.length; i++) {
    g.push(...linear('AMW head', 'fused term', s.N, h, a.classes, true));
    // The unimodal slices feed only the modulation's scores: forward only.
    g.push({ part: 'AMW head', pass: 'forward', name: 'unimodal slice', spec: { a: [s.N, h], b: [h, a.classes], tb: true } });
  }
  return g;
}

const batchSizes = (lengths: number[]): Sizes => {
  const T = Math.max(...lengths);
  return { B: lengths.length, T, N: lengths.reduce((x, y) => x + y, 0), P: lengths.length * T };
};

/** FLOPs of each GEMM (stepGemms order) summed over an epoch's batches. */
function epochFlops(a: Arch, batches: number[][], lengthOf: (i: number) => number): number[] {
  let sums: number[] | null = null;
  for (const b of batches) {
    const f = stepGemms(a, batchSizes(b.map(lengthOf))).map((g) => specFlops(g.spec));
    sums = sums === null ? f : sums.map((x, i) => x + f[i]!);
  }
  return sums ?? [];
}

/** GFLOP/s of one product through the engine: the best of `rounds` rounds of >= 20 ms, after warm-up. */
function measureRate(s: Spec, rounds: number): number {
  return scope(() => {
    const make = (shape: number[], t?: boolean): Tensor =>
      t ? randn([...shape.slice(0, -2), shape.at(-1)!, shape.at(-2)!]).transpose(-2, -1) : randn(shape);
    const x = make(s.a, s.ta);
    const y = make(s.b, s.tb);
    const call = (): void => scope(() => void x.matmul(y));
    call();
    call();
    let t0 = performance.now();
    call();
    const reps = Math.max(1, Math.ceil(20 / Math.max(1e-3, performance.now() - t0)));
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      t0 = performance.now();
      for (let i = 0; i < reps; i++) call();
      best = Math.min(best, (performance.now() - t0) / reps);
    }
    return specFlops(s) / (best / 1e3) / 1e9;
  });
}

// ---------------------------------------------------------------------------------------------
// Step timing by part (wrappers installed at runtime; src/ untouched)

/** Where the wrappers add their time: the running preset's epoch, or nowhere. */
let parts: Map<string, number> | null = null;
let backwardEnd = 0;
const addPart = (name: string, ms: number): void => {
  if (parts) parts.set(name, (parts.get(name) ?? 0) + ms);
};

function timeMethod(obj: object, key: string, name: string, after?: (t0: number, t1: number) => void): void {
  const o = obj as Record<string, (...a: unknown[]) => unknown>;
  const orig = o[key]!;
  o[key] = function (this: unknown, ...a: unknown[]): unknown {
    const t0 = performance.now();
    try {
      return orig.apply(this, a);
    } finally {
      const t1 = performance.now();
      addPart(name, t1 - t0);
      after?.(t0, t1);
    }
  };
}

// Only the trainer's loss.backward() runs while parts is set.
timeMethod(Tensor.prototype, 'backward', 'backward', (_t0, t1) => (backwardEnd = t1));

function instrument(trainer: Trainer, model: ConversationModel, conversations: data.ConversationData): void {
  timeMethod(trainer, 'step', 'step');
  timeMethod(model, 'forward', 'forward');
  for (const m of model.modalities) timeMethod(model.encoders.get(m), 'forward', `forward: encoder ${m}`);
  if (model.afw) timeMethod(model.afw, 'forward', 'forward: AFW');
  timeMethod(model.head, 'forward', 'forward: AMW head');
  timeMethod(trainer.strategy, 'loss', 'loss');
  // Clipping runs between the end of backward and the strategy's hook (one process: no gradient reduction).
  timeMethod(trainer.strategy, 'afterBackward', 'afterBackward', (t0) => addPart('clip', t0 - backwardEnd));
  timeMethod(trainer.strategy, 'measure', 'afterBackward: scores');
  timeMethod(trainer.optimizer, 'zeroGrad', 'optimizer');
  timeMethod(trainer.optimizer, 'step', 'optimizer');
  const batches = conversations.batches.bind(conversations);
  conversations.batches = function* (split, o) {
    const it = batches(split, o)[Symbol.iterator]();
    for (;;) {
      const t0 = performance.now();
      const r = it.next();
      addPart('batch building', performance.now() - t0);
      if (r.done) return;
      yield r.value;
    }
  };
}

/** The parts as reported: nested timings turned into exclusive ones, the rest named. */
function exclusiveParts(raw: Map<string, number>, epochMs: number, mods: string[], hasAfw: boolean): Map<string, number> {
  const get = (k: string): number => raw.get(k) ?? 0;
  const fwdNames = [...mods.map((m) => `forward: encoder ${m}`), ...(hasAfw ? ['forward: AFW'] : []), 'forward: AMW head'];
  const out = new Map<string, number>();
  out.set('batch building', get('batch building'));
  for (const k of fwdNames) out.set(k, get(k));
  out.set('forward: other', get('forward') - fwdNames.reduce((a, k) => a + get(k), 0));
  for (const k of ['loss', 'backward', 'clip', 'afterBackward: scores']) out.set(k, get(k));
  out.set('afterBackward: scale + noise', get('afterBackward') - get('afterBackward: scores'));
  out.set('optimizer', get('optimizer'));
  const inStep = ['forward', 'loss', 'backward', 'clip', 'afterBackward', 'optimizer'].reduce((a, k) => a + get(k), 0);
  out.set('step: other', get('step') - inStep);
  out.set('outside step', epochMs - get('step') - get('batch building'));
  return out;
}

/** PyTorch's laps as reported: the same names, the unlapped remainder of the epoch outside the step. */
function torchParts(raw: Record<string, number>, epochMs: number, mods: string[]): Map<string, number> {
  const names = [
    'batch building',
    ...mods.map((m) => `forward: encoder ${m}`),
    'forward: AFW',
    'forward: AMW head',
    'forward: other',
    'loss',
    'backward',
    'clip',
    'afterBackward: scores',
    'afterBackward: scale + noise',
    'optimizer',
    'step: other',
  ];
  const out = new Map<string, number>(names.map((k) => [k, raw[k] ?? 0]));
  out.set('outside step', epochMs - names.reduce((a, k) => a + (raw[k] ?? 0), 0));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The PyTorch side

interface TorchEpoch {
  epoch: number;
  seconds: number;
  steps: number;
  loss: number;
  partsMs: Record<string, number>;
}

class PythonSide {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: string[] = [];
  private waiter: { resolve: (l: string) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(file: string, threads: number) {
    this.child = spawn(PYTHON, [join(packageRoot(), 'bench', 'ada2i_torch.py'), file, '--threads', String(threads)], {
      // The engine has set OMP_WAIT_POLICY, OPENBLAS_THREAD_TIMEOUT and OPENBLAS_CORETYPE in this
      // environment before loading libtorch; PyTorch's OpenBLAS gets the same.
      env: process.env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout }).on('line', (l) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(l);
      } else this.lines.push(l);
    });
    this.child.on('exit', (code, signal) => {
      this.ended = new Error(`the PyTorch side (bench/ada2i_torch.py) exited (${signal ?? code}); its errors are above`);
      this.waiter?.reject(this.ended);
      this.waiter = null;
    });
  }

  private next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  async read<T>(): Promise<T> {
    return JSON.parse(await this.next()) as T;
  }

  async request<T>(req: Record<string, unknown>): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const r = await this.read<T & { error?: string }>();
    if (r.error) throw new Error(`PyTorch side: ${r.error}`);
    return r;
  }

  async close(): Promise<void> {
    if (this.ended) return;
    const done = new Promise<void>((resolve) => this.child.on('exit', () => resolve()));
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await done;
  }
}

// ---------------------------------------------------------------------------------------------
// One preset

/** The strategy's epoch context for the trainer's first phase, as fit() would give it. */
function epochContext(trainer: Trainer, model: ConversationModel) {
  const phase = trainer.phases[0]!;
  return (epoch: number) => ({
    epoch,
    phase,
    model,
    optimizer: trainer.optimizer,
    predict: (): never => {
      throw new Error('not used');
    },
  });
}

interface TrainerInternals {
  position: { epoch: number; phase: Phase; step: number };
  trainEpoch(epoch: number, bar: ProgressBar, callbacks: unknown[]): { loss: number };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (x: number, digits = 1): string => x.toFixed(digits);

// ---------------------------------------------------------------------------------------------
// The step by operator (libtorch's profiler over one more epoch)

/** What each operator is, for the grouped table; the first matching rule names it. */
const OP_GROUPS: [string, RegExp][] = [
  ['matmul (forward and backward)', /^aten::(mm|addmm|bmm|baddbmm|addbmm|matmul|linear)$/],
  ['gradient noise and its scaling (addon)', /^mmb::scale_noise$/],
  ['gradient moments (addon: clipping norm, noise std)', /^mmb::moments$/],
  ['Adam (addon)', /^mmb::adam_step$/],
  ['dropout masks (addon)', /^mmb::dropout_mask$/],
  ['softmax and its backward', /softmax/],
  ['layer norm and its backward', /layer_norm/],
  [
    'gathers, scatters, concatenation (packing, AFW, attention layout)',
    /^aten::(index_select|index|index_add_|index_put_|gather|scatter|scatter_add_|cat|stack|masked_fill_?|where|embedding.*|narrow_copy)$/,
  ],
  ['copies and dtype casts', /^aten::(copy_|_to_copy|to|clone|contiguous)$/],
  ['allocation', /^aten::(empty|empty_strided|empty_like|zeros|zeros_like|ones|full|new_zeros|new_empty|fill_|zero_)$/],
  ['reductions (sum, mean, std, norm)', /^aten::(sum|mean|std|var|norm|std_mean|var_mean|linalg_vector_norm|amax|max|logsumexp)$/],
  [
    'views and shape (no data moved)',
    /^aten::(view|reshape|_reshape_alias|as_strided|transpose|t|permute|expand|squeeze|unsqueeze|select|slice|split|chunk|unbind|detach|alias|unsafe_view|_unsafe_view|flatten|numpy_T|resize_)$/,
  ],
  ['autograd bookkeeping (backward nodes, accumulation)', /(Backward|backward|AccumulateGrad|autograd::)/],
  ['element-wise arithmetic and activations', /^aten::/],
];

function groupOf(name: string): string {
  for (const [g, re] of OP_GROUPS) if (re.test(name)) return g;
  return 'other';
}

interface EpochProfile {
  wallMs: number;
  steps: number;
  ops: OpTime[];
}

/** One more training epoch under the operator profiler. */
function profileEpoch(trainer: Trainer, epoch: number, seed: number, steps: number): EpochProfile {
  const inner = trainer as unknown as TrainerInternals;
  inner.position = { epoch, phase: trainer.phases[0]!, step: 0 };
  manualSeed(seed * 1000 + epoch);
  const t0 = performance.now();
  const { ops } = profileOps(() => inner.trainEpoch(epoch, new ProgressBar(1, 'profile', false), []));
  return { wallMs: performance.now() - t0, steps, ops };
}

/** The profile as two tables: by group, and the operators with the most self time. */
function profileTables(p: EpochProfile, unprofiledMs: number): string[] {
  const per = (ms: number): string => fmt(ms / p.steps, 2);
  const inOps = p.ops.reduce((a, o) => a + o.selfMs, 0);
  const groups = new Map<string, { ms: number; calls: number }>();
  for (const o of p.ops) {
    const g = groups.get(groupOf(o.name)) ?? { ms: 0, calls: 0 };
    g.ms += o.selfMs;
    g.calls += o.calls;
    groups.set(groupOf(o.name), g);
  }
  const rows = [...groups].sort((a, b) => b[1].ms - a[1].ms);
  return [
    `The step by operator: one more epoch under libtorch's operator profiler (self time of every ATen operator, autograd node and addon kernel run on the training thread; the profiler's own cost makes this epoch ${fmt(p.wallMs / 1000, 2)} s against ${fmt(unprofiledMs / 1000, 2)} s unprofiled). "Outside any operator" is the rest of the epoch's wall time: JavaScript, crossings into the addon, handle bookkeeping, and the profiler.`,
    '',
    '| group | ms / step | share | operator calls / step |',
    '|---|---|---|---|',
    ...rows.map(([g, v]) => `| ${g} | ${per(v.ms)} | ${fmt((100 * v.ms) / p.wallMs, 1)}% | ${fmt(v.calls / p.steps, 0)} |`),
    `| outside any operator | ${per(p.wallMs - inOps)} | ${fmt((100 * (p.wallMs - inOps)) / p.wallMs, 1)}% | |`,
    `| **epoch** | **${per(p.wallMs)}** | 100% | ${fmt(p.ops.reduce((a, o) => a + o.calls, 0) / p.steps, 0)} |`,
    '',
    'The operators with the most self time:',
    '',
    '| operator | group | calls / step | self ms / step | ms per call |',
    '|---|---|---|---|---|',
    ...p.ops
      .slice(0, 25)
      .map((o) => `| ${o.name} | ${groupOf(o.name)} | ${fmt(o.calls / p.steps, 0)} | ${per(o.selfMs)} | ${fmt(o.selfMs / o.calls, 3)} |`),
  ];
}

/** The data, model and loop the PyTorch script mirrors: fail loudly if a preset moves away from them. */
function checkMirrored(c: RunConfig, strategy: BalancingStrategy): void {
  const o = (strategy as DisparityModulation).options;
  const m = c.model;
  const ok =
    c.method === 'ada2i' &&
    c.recipe === 'ada2i' &&
    !c.ada2i.parity &&
    c.ada2i.loss === 'code' &&
    m.encoder === 'transformer' &&
    m.head === 'amw' &&
    m.amwMode === 'ada2i' &&
    m.amwMlpHidden === 0 &&
    m.afw &&
    !m.parity &&
    m.packed &&
    m.maskPadding &&
    c.train.optimizer === 'adam' &&
    c.train.clipGradNorm > 0 &&
    o?.noise === true &&
    o.noiseStd === 'scaled' &&
    o.params === 'all' &&
    o.apply === 'grad';
  if (!ok) throw new Error(`${c.preset}: the preset no longer matches what bench/ada2i_torch.py mirrors; update both`);
}

async function runPreset(preset: string): Promise<string> {
  const c = applyPreset(defaultRunConfig(), preset);
  c.methodOptions = { ...c.methodOptions, startEpoch: 1 };
  const t0 = performance.now();
  const ds = preset === 'ada2i-meld' ? meldShaped(c.train.seed) : data.synthConversations({ seed: c.train.seed });
  const genSeconds = (performance.now() - t0) / 1000;
  if (DIALOGUES !== null) ds.splits.train = ds.splits.train.slice(0, DIALOGUES);
  const conversations = new data.ConversationData(ds);
  const model = buildRunModel(c, conversations) as ConversationModel;
  const strategy = makeStrategy(c.method, c.methodOptions);
  checkMirrored(c, strategy);
  const trainer = new Trainer(model, conversations, strategy, { ...c.train, epochs: EPOCHS, patience: 0 });
  const train = ds.splits.train;
  const lengths = train.map((d) => d.labels.length);
  const utterances = lengths.reduce((a, b) => a + b, 0);
  const mods = [...model.modalities];
  const arch: Arch = {
    mods: mods.map((m) => ({
      m,
      d: ds.dims[m]!,
      heads: (model.encoders.get(m) as TransformerConversationEncoder).transformer.layers.items[0]!.selfAttn.numHeads,
    })),
    layers: c.model.layers,
    ff: c.model.dimFeedforward,
    hidden: c.model.hidden,
    afwLayers: model.afw!.options.layers,
    rank: model.afw!.options.rank,
    classes: ds.classNames.length,
  };
  const config = {
    preset,
    modalities: mods,
    dims: Object.fromEntries(mods.map((m) => [m, ds.dims[m]!])),
    heads: Object.fromEntries(arch.mods.map((x) => [x.m, x.heads])),
    hidden: c.model.hidden,
    layers: c.model.layers,
    dimFeedforward: c.model.dimFeedforward,
    dropout: c.model.dropout,
    afwLayers: model.afw!.options.layers,
    afwRank: model.afw!.options.rank,
    afwBeta: model.afw!.options.beta,
    afwDropout: model.afw!.options.dropout,
    afwOrder: model.afw!.options.order,
    classNames: ds.classNames,
    alpha: (strategy as DisparityModulation).options.alpha,
    lr: c.train.lr,
    weightDecay: c.train.weightDecay,
    clipGradNorm: c.train.clipGradNorm,
    batchSize: c.train.batchSize,
    seed: c.train.seed,
  };

  // The training dialogues and the initial weights, for the PyTorch side.
  const dir = mkdtempSync(join(tmpdir(), 'ada2i-floor-'));
  const file = join(dir, `${preset}.safetensors`);
  const tensors = new Map<string, RawTensor>();
  for (const m of mods) {
    const d = ds.dims[m]!;
    const buf = utteranceRows(train, m, d);
    tensors.set(`x.${m}`, { dtype: 'F32', shape: [utterances, d], data: new Uint8Array(buf.buffer) });
  }
  const i64 = (xs: ArrayLike<number>): Uint8Array => new Uint8Array(BigInt64Array.from(Array.from(xs), (x) => BigInt(x)).buffer);
  tensors.set('lengths', { dtype: 'I64', shape: [lengths.length], data: i64(lengths) });
  tensors.set('labels', { dtype: 'I64', shape: [utterances], data: i64(train.flatMap((d) => Array.from(d.labels))) });
  scope(() => {
    for (const [k, t] of model.stateDict()) tensors.set(`w.${k}`, tensorToRaw(t));
  });
  writeFileSync(file, serializeSafetensors(tensors, { config: JSON.stringify(config) }));
  tensors.clear();

  if (OURS_ONLY)
    try {
      return oursOnly(preset, trainer, model, conversations, c.train.seed, mods, train.length, c.train.batchSize);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  const py = new PythonSide(file, THREADS);
  try {
    const info = await py.read<{ torch: string; threads: number; parameters: number }>();
    const parameters = model.parameters().reduce((a, p) => a + p.numel(), 0);
    const orders = Array.from({ length: EPOCHS }, (_, e) =>
      data.dialogueBatches(
        train.map((_, i) => i),
        { batchSize: c.train.batchSize, shuffleSeed: c.train.seed * 7919 + e + 1 },
      ),
    );

    // Same weights, same batch, eval mode (no dropout): both sides must give the same loss and gradient.
    const first = orders[0]![0]!;
    model.eval();
    const ours = scope(() => {
      const batch = data.makeBatch(
        first.map((i) => train[i]!),
        mods,
        ds.dims,
      );
      const out = model.forward(batch);
      const loss = Object.values(out.losses ?? {}).reduce((a, t) => a.add(t), F.crossEntropy(out.fused, batch.labels));
      const value = loss.item();
      loss.backward();
      const norm = clipGradNorm(model.parameters(), Number.MAX_VALUE);
      trainer.optimizer.zeroGrad();
      return { loss: value, gradNorm: norm };
    });
    model.train();
    const theirs = await py.request<{ loss: number; gradNorm: number }>({ cmd: 'check', batch: first });
    const rel = (a: number, b: number): string => (Math.abs(a - b) / Math.max(Math.abs(b), 1e-30)).toExponential(1);
    const check =
      `Same-model check (initial weights shared, first batch, eval mode): loss ${ours.loss.toFixed(6)} (mmbalance) vs ${theirs.loss.toFixed(6)} (PyTorch), relative difference ${rel(ours.loss, theirs.loss)}; ` +
      `gradient norm ${ours.gradNorm.toFixed(6)} vs ${theirs.gradNorm.toFixed(6)} (${rel(ours.gradNorm, theirs.gradNorm)}); ` +
      `parameters ${parameters.toLocaleString('en-US')} vs ${info.parameters.toLocaleString('en-US')}.`;
    console.log(`${preset}: ${check}`);

    // Matmul work per epoch and the engine's rate at representative shapes (the epochs' mean sizes),
    // measured before and after the epochs and from PyTorch; the fastest counts (the lower floor), so a
    // slow spell of a shared machine during one measurement does not flatter the ratio.
    const flops = orders.map((order) => epochFlops(arch, order, (i) => lengths[i]!));
    const all = orders.flat().map((b) => batchSizes(b.map((i) => lengths[i]!)));
    const B = mean(all.map((s) => s.B));
    const rep: Sizes = {
      B: Math.round(B),
      T: Math.round(Math.sqrt(mean(all.map((s) => s.B * s.T * s.T)) / B)),
      N: Math.round(mean(all.map((s) => s.N))),
      P: Math.round(mean(all.map((s) => s.P))),
    };
    const repGemms = stepGemms(arch, rep);
    const rateBySpec = new Map<string, number>();
    let rateSeconds = 0;
    const measureRates = (): void => {
      const r0 = performance.now();
      const done = new Set<string>();
      for (const g of repGemms) {
        const k = specText(g.spec) + (g.spec.ta ? 'ta' : '') + (g.spec.tb ? 'tb' : '');
        if (done.has(k)) continue;
        done.add(k);
        rateBySpec.set(k, Math.max(rateBySpec.get(k) ?? 0, measureRate(g.spec, RATE_ROUNDS)));
      }
      rateSeconds += (performance.now() - r0) / 1000;
    };
    measureRates();

    // The epochs, alternating sides (odd epochs mmbalance first, even epochs PyTorch first).
    instrument(trainer, model, conversations);
    const inner = trainer as unknown as TrainerInternals;
    const phase = trainer.phases[0]!;
    const ctx = epochContext(trainer, model);
    trainer.strategy.onPhaseStart(ctx(1));
    const rows: { ours: number; theirs: number; ourParts: Map<string, number>; theirParts: Map<string, number>; steps: number }[] = [];
    for (let e = 1; e <= EPOCHS; e++) {
      const runOurs = (): { seconds: number; parts: Map<string, number> } => {
        inner.position = { epoch: e, phase, step: 0 };
        manualSeed(c.train.seed * 1000 + e);
        trainer.strategy.onEpochStart(ctx(e));
        parts = new Map();
        const bar = new ProgressBar(1, preset, false);
        const s0 = performance.now();
        inner.trainEpoch(e, bar, []);
        const ms = performance.now() - s0;
        const raw = parts;
        parts = null;
        return { seconds: ms / 1000, parts: exclusiveParts(raw, ms, mods, model.afw !== null) };
      };
      const runTheirs = (): Promise<TorchEpoch> => py.request<TorchEpoch>({ cmd: 'epoch', epoch: e, batches: orders[e - 1] });
      let o: { seconds: number; parts: Map<string, number> };
      let t: TorchEpoch;
      if (e % 2 === 1) {
        o = runOurs();
        t = await runTheirs();
      } else {
        t = await runTheirs();
        o = runOurs();
      }
      rows.push({
        ours: o.seconds,
        theirs: t.seconds,
        ourParts: o.parts,
        theirParts: torchParts(t.partsMs, t.seconds * 1000, mods),
        steps: orders[e - 1]!.length,
      });
      console.log(`${preset} epoch ${e}: mmbalance ${fmt(o.seconds, 2)} s, PyTorch ${fmt(t.seconds, 2)} s (loss ${t.loss.toFixed(4)})`);
    }

    let profile: EpochProfile | null = null;
    if (PROFILE) {
      trainer.strategy.onEpochStart(ctx(EPOCHS + 1));
      profile = profileEpoch(trainer, EPOCHS + 1, c.train.seed, orders[0]!.length);
      console.log(`${preset}: profiled epoch ${fmt(profile.wallMs / 1000, 2)} s`);
    }
    measureRates();
    // The same shapes from PyTorch in its own process: where it runs a product faster, its rate counts.
    const keys = [...rateBySpec.keys()];
    const specOf = new Map(repGemms.map((g) => [specText(g.spec) + (g.spec.ta ? 'ta' : '') + (g.spec.tb ? 'tb' : ''), g.spec]));
    const t0r = performance.now();
    const torchRates = (
      await py.request<{ rates: number[] }>({ cmd: 'rates', specs: keys.map((k) => specOf.get(k)!), rounds: RATE_ROUNDS })
    ).rates;
    rateSeconds += (performance.now() - t0r) / 1000;
    let torchFaster = 0;
    keys.forEach((k, i) => {
      if (torchRates[i]! > rateBySpec.get(k)!) {
        torchFaster++;
        rateBySpec.set(k, torchRates[i]!);
      }
    });

    const rates = repGemms.map((g) => rateBySpec.get(specText(g.spec) + (g.spec.ta ? 'ta' : '') + (g.spec.tb ? 'tb' : ''))!);
    const floorOf = (f: number[]): number => f.reduce((a, x, i) => a + x / (rates[i]! * 1e9), 0);
    const floors = flops.map(floorOf);
    const gflop = flops.map((f) => f.reduce((a, b) => a + b, 0) / 1e9);

    // Epoch table; the means leave the warm-up epoch out when there is more than one.
    const measured = EPOCHS > 1 ? rows.map((_, i) => i).slice(1) : [0];
    const pick = <T>(xs: T[]): T[] => measured.map((i) => xs[i]!);
    const mOurs = mean(pick(rows.map((r) => r.ours)));
    const mTheirs = mean(pick(rows.map((r) => r.theirs)));
    const mFloor = mean(pick(floors));
    const mGflop = mean(pick(gflop));
    const meanLabel = EPOCHS > 1 ? `mean of epochs 2-${EPOCHS}` : 'epoch 1 (warm-up only)';
    const epochRows = rows.map(
      (r, i) =>
        `| ${i + 1}${i === 0 && EPOCHS > 1 ? ' (warm-up)' : ''} | ${fmt(r.ours, 2)} | ${fmt(r.theirs, 2)} | ${fmt(r.ours / r.theirs, 2)} | ` +
        `${fmt(gflop[i]!, 0)} | ${fmt(floors[i]!, 2)} | ${fmt(r.ours / floors[i]!, 2)} | ${fmt(r.theirs / floors[i]!, 2)} |`,
    );

    // Work by part (mean over the measured epochs).
    const partNames = [...new Set(repGemms.map((g) => g.part))];
    const flopMean = repGemms.map((_, i) => mean(pick(flops.map((f) => f[i]!))));
    const partRows = partNames.map((p) => {
      const idx = repGemms.map((g, i) => (g.part === p ? i : -1)).filter((i) => i >= 0);
      const fw = idx.filter((i) => repGemms[i]!.pass === 'forward').reduce((a, i) => a + flopMean[i]!, 0);
      const bw = idx.filter((i) => repGemms[i]!.pass === 'backward').reduce((a, i) => a + flopMean[i]!, 0);
      const fl = idx.reduce((a, i) => a + flopMean[i]! / (rates[i]! * 1e9), 0);
      return `| ${p} | ${fmt(fw / 1e9, 1)} | ${fmt(bw / 1e9, 1)} | ${fmt(fl, 3)} | ${fmt((fw + bw) / 1e9 / fl, 0)} |`;
    });
    const totalF = flopMean.reduce((a, b) => a + b, 0);
    const totalFloor = flopMean.reduce((a, x, i) => a + x / (rates[i]! * 1e9), 0);
    // The largest GEMM classes (same name and shape summed over layers and modalities).
    const classes = new Map<string, { part: string; name: string; spec: Spec; flop: number; rate: number }>();
    repGemms.forEach((g, i) => {
      const k = `${g.part}|${g.name}|${specText(g.spec)}`;
      const e = classes.get(k) ?? { part: g.part, name: g.name, spec: g.spec, flop: 0, rate: rates[i]! };
      e.flop += flopMean[i]!;
      classes.set(k, e);
    });
    const top = [...classes.values()].sort((a, b) => b.flop - a.flop).slice(0, 10);
    const rateValues = [...rateBySpec.values()];

    // Step breakdown (mean over the measured epochs), ms per step and share of the epoch.
    const steps = mean(pick(rows.map((r) => r.steps)));
    const names = [...rows[0]!.ourParts.keys()];
    const partMean = (side: 'ourParts' | 'theirParts', k: string): number => mean(pick(rows.map((r) => r[side].get(k) ?? 0)));
    const oursMs = mOurs * 1000;
    const theirsMs = mTheirs * 1000;
    const breakdown = names.map((k) => {
      const o = partMean('ourParts', k);
      const t = partMean('theirParts', k);
      return `| ${k} | ${fmt(o / steps, 2)} | ${fmt((100 * o) / oursMs, 1)}% | ${fmt(t / steps, 2)} | ${fmt((100 * t) / theirsMs, 1)}% |`;
    });

    const short = lengths.filter((n) => n <= 5).length;
    const command = ['node dist/bench/ada2i_floor.js', ...args].join(' ');
    const body = [
      `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${THREADS} threads; libtorch ${libtorchVersion()}, the addon's loops built for ${simdLevel()}; PyTorch ${info.torch} (${info.threads} threads). Command: \`${command}\`.`,
      '',
      `Preset ${preset}: encoders ${c.model.encoder} (${c.model.layers} layers, feed-forward ${c.model.dimFeedforward}, heads ${arch.mods.map((x) => `${x.m} ${x.d}/${x.heads}`).join(', ')}, hidden ${c.model.hidden}), ` +
        `AFW ${arch.afwLayers} layers rank ${arch.rank}, AMW head, dropout ${c.model.dropout}, Adam lr ${c.train.lr}, clipping ${c.train.clipGradNorm}, batches of ${c.train.batchSize} dialogues; ` +
        `modulation (alpha ${config.alpha}) and its gradient noise on from epoch 1. ` +
        `Data: ${ds.name}, ${train.length} training dialogues${DIALOGUES !== null ? ` (the first ${DIALOGUES})` : ''}, ${utterances} utterances, ` +
        `lengths ${Math.min(...lengths)}-${Math.max(...lengths)} (mean ${fmt(utterances / train.length)}, ${short} of 1-5); generated in ${fmt(genSeconds, 2)} s. ` +
        `Per batch on average ${fmt(mean(all.map((s) => s.N)), 0)} real utterances in ${fmt(mean(all.map((s) => s.P)), 0)} padded positions.`,
      '',
      check,
      '',
      `Epochs alternate between the sides (odd epochs mmbalance first); both train on the same batches in the same order. mmbalance's time is its Trainer's training loop (batches built per step; dev evaluation not run), PyTorch's the same loop in bench/ada2i_torch.py.`,
      '',
      '| epoch | mmbalance s | PyTorch s | mmbalance / PyTorch | matmul GFLOP | floor s | mmbalance / floor | PyTorch / floor |',
      '|---|---|---|---|---|---|---|---|',
      ...epochRows,
      `| **${meanLabel}** | **${fmt(mOurs, 2)}** | **${fmt(mTheirs, 2)}** | **${fmt(mOurs / mTheirs, 2)}** | ${fmt(mGflop, 0)} | ${fmt(mFloor, 2)} | **${fmt(mOurs / mFloor, 2)}** | ${fmt(mTheirs / mFloor, 2)} |`,
      '',
      `Matmul work per epoch (${meanLabel}) and its floor at the measured rates. Rates: every distinct product timed through the engine (\`Tensor.matmul\`, ${THREADS} threads, best of ${RATE_ROUNDS} rounds of >= 20 ms, measured before and after the epochs, and the same shapes from PyTorch in its process; the fastest of the three kept, PyTorch's for ${torchFaster} of ${keys.length} shapes) at the epochs' mean batch: ` +
        `B ${rep.B}, N ${rep.N} real rows for the encoders' Linears and the head, P ${rep.P} padded rows for AFW, T ${rep.T} for attention (the T with the mean B x T^2); ` +
        `${rateBySpec.size} shapes, twice, in ${fmt(rateSeconds, 1)} s, ${fmt(Math.min(...rateValues), 1)} to ${fmt(Math.max(...rateValues), 1)} GFLOP/s.`,
      '',
      '| part | forward GFLOP | backward GFLOP | floor s | GFLOP/s at the floor |',
      '|---|---|---|---|---|',
      ...partRows,
      `| **all** | ${fmt(flopMean.filter((_, i) => repGemms[i]!.pass === 'forward').reduce((a, b) => a + b, 0) / 1e9, 1)} | ${fmt(flopMean.filter((_, i) => repGemms[i]!.pass === 'backward').reduce((a, b) => a + b, 0) / 1e9, 1)} | **${fmt(totalFloor, 3)}** | **${fmt(totalF / 1e9 / totalFloor, 0)}** |`,
      '',
      'The largest products (summed over layers and modalities):',
      '',
      '| part | product | shape at the mean batch | GFLOP / epoch | GFLOP/s |',
      '|---|---|---|---|---|',
      ...top.map((x) => `| ${x.part} | ${x.name} | ${specText(x.spec)} | ${fmt(x.flop / 1e9, 1)} | ${fmt(x.rate, 1)} |`),
      '',
      `Time per training step by part (${meanLabel}; ${fmt(steps, 0)} steps per epoch). mmbalance: wall time of its calls, wrapped at runtime (the encoders', AFW's and the head's forward, the strategy's loss, \`Tensor.backward\`, ` +
        "clipping = from the end of backward to the strategy's afterBackward, its scores (measure) and the rest of the hook (scaling and noise), the optimizer's zeroGrad and step, the batch iterator); " +
        '"step: other" is the rest of Trainer.step (summing the terms, reading the loss back), "outside step" the rest of the epoch (releasing the step\'s tensors, the loop). PyTorch: the same laps in its loop.',
      '',
      '| part | mmbalance ms / step | share | PyTorch ms / step | share |',
      '|---|---|---|---|---|',
      ...breakdown,
      `| **epoch** | **${fmt(oursMs / steps, 2)}** | 100% | **${fmt(theirsMs / steps, 2)}** | 100% |`,
      '',
      ...(profile ? [...profileTables(profile, oursMs), ''] : []),
      'FLOPs: 2 m k n per product, every Linear and matmul of the model: per encoder layer in_proj (no input gradient in the first layer: its input is the data), q kᵀ and attn v on the padded (B, H, T, T) layout, out_proj, linear1, linear2; the projection; ' +
        "AFW's four rank projections (one product with 4R outputs), the contractions with the other modalities' pooled matrices (one (T R, R) @ (R, R) product per dialogue), att and mapping on all B x T positions; the AMW head's normalised products (and the unimodal slices, forward only). " +
        'Backward: the weight gradient and, where the input needs one, the input gradient, each as many FLOPs as the forward. Element-wise work, softmax, layer norm, dropout, the optimizer and the modulation are not counted: the floor is for matmuls alone.',
    ].join('\n');
    return body;
  } finally {
    await py.close();
    rmSync(dir, { recursive: true, force: true });
    trainer.optimizer.resetState();
    for (const p of model.parameters()) p.dispose();
  }
}

/** --ours-only: mmbalance's epochs alone, with the step's parts per step. */
function oursOnly(
  preset: string,
  trainer: Trainer,
  model: ConversationModel,
  conversations: data.ConversationData,
  seed: number,
  mods: string[],
  dialogues: number,
  batchSize: number,
): string {
  instrument(trainer, model, conversations);
  const inner = trainer as unknown as TrainerInternals;
  const phase = trainer.phases[0]!;
  const ctx = epochContext(trainer, model);
  trainer.strategy.onPhaseStart(ctx(1));
  const steps = Math.ceil(dialogues / batchSize);
  const lines: string[] = [];
  const acc = new Map<string, number>();
  for (let e = 1; e <= EPOCHS; e++) {
    inner.position = { epoch: e, phase, step: 0 };
    manualSeed(seed * 1000 + e);
    trainer.strategy.onEpochStart(ctx(e));
    parts = new Map();
    const s0 = performance.now();
    inner.trainEpoch(e, new ProgressBar(1, preset, false), []);
    const ms = performance.now() - s0;
    const p = exclusiveParts(parts, ms, mods, model.afw !== null);
    parts = null;
    lines.push(`${preset} epoch ${e}: ${fmt(ms / 1000, 2)} s`);
    if (e > 1 || EPOCHS === 1) for (const [k, v] of p) acc.set(k, (acc.get(k) ?? 0) + v / steps / Math.max(1, EPOCHS - 1));
  }
  lines.push(...[...acc].map(([k, v]) => `  ${k.padEnd(32)} ${fmt(v, 2).padStart(8)} ms / step`));
  const stepMs = [...acc.values()].reduce((a, b) => a + b, 0);
  lines.push(`  ${'step'.padEnd(32)} ${fmt(stepMs, 2).padStart(8)} ms`);
  if (PROFILE) {
    trainer.strategy.onEpochStart(ctx(EPOCHS + 1));
    lines.push('', ...profileTables(profileEpoch(trainer, EPOCHS + 1, seed, steps), stepMs * steps));
  }
  if (SHAPES) {
    // Every matrix product by shape, with the rate it ran at inside the step.
    trainer.strategy.onEpochStart(ctx(EPOCHS + 2));
    const inner2 = trainer as unknown as TrainerInternals;
    inner2.position = { epoch: EPOCHS + 2, phase, step: 0 };
    const { ops } = profileOps(() => inner2.trainEpoch(EPOCHS + 2, new ProgressBar(1, 'shapes', false), []), { shapes: true });
    const mm = ops
      .map((o) => {
        const m = /^aten::(mm|addmm|bmm|baddbmm) (.*)$/.exec(o.name);
        if (!m) return null;
        const dims = [...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!.split(', ').map(Number));
        const [a, b] = m[1] === 'addmm' || m[1] === 'baddbmm' ? dims.slice(-2) : dims;
        if (!a || !b) return null;
        const batch = a.length === 3 ? a[0]! : 1;
        const flop = 2 * batch * a.at(-2)! * a.at(-1)! * b.at(-1)! * o.calls;
        return { name: o.name, calls: o.calls, ms: o.selfMs, gflops: flop / (o.selfMs / 1e3) / 1e9, flop };
      })
      .filter((x) => x !== null)
      .sort((x, y) => y.ms - x.ms);
    const flop = mm.reduce((x, y) => x + y.flop, 0);
    const ms = mm.reduce((x, y) => x + y.ms, 0);
    lines.push(
      '',
      `matrix products: ${fmt(flop / 1e9 / steps, 1)} GFLOP/step in ${fmt(ms / steps, 1)} ms/step (${fmt(flop / ms / 1e6, 0)} GFLOP/s)`,
    );
    for (const x of mm.slice(0, 30))
      lines.push(
        `  ${x.name.padEnd(60)} ${fmt(x.calls / steps, 1).padStart(6)}/step ${fmt(x.ms / steps, 2).padStart(8)} ms ${fmt(x.gflops, 0).padStart(5)} GFLOP/s`,
      );
  }
  return lines.join('\n');
}

for (const preset of presets) {
  const body = await runPreset(preset);
  console.log(`\n${body}\n`);
  if (WRITE)
    console.log(`wrote ${writeSection(`ada2i-floor-${preset}`, `Ada2I epoch against its matmul floor and PyTorch: ${preset}`, body)}`);
}
