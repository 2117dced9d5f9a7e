/**
 * A run as the command line and sweeps make it: data from a configuration, the model from its
 * recipe, the method from its registry, and a run directory that a user can trust (validated
 * before anything is written, locked while in use, resumable, with provenance in summary.json).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeStrategy } from '../balance/index.js';
import { ClipData, holdOutClipDev } from '../data/clip/dataset.js';
import { datasetFileKind, loadClips } from '../data/clip/format.js';
import { readClipFolder } from '../data/clip/folder.js';
import type { ClipDataset } from '../data/clip/types.js';
import { ConversationData } from '../data/conversation/dataset.js';
import type { MultimodalDataset } from '../data/dataset.js';
import { loadDataset, readErcPickle, synthConversations } from '../data/index.js';
import { holdOutDev } from '../data/split.js';
import type { ConversationDataset } from '../data/types.js';
import { libtorchVersion } from '../engine/runtime.js';
import type { MultimodalModel } from '../models/model.js';
import { buildModel } from '../models/recipes.js';
import { hasCheckpoint, removePartial } from './checkpoint.js';
import { ConsoleLogger, JsonlLogger } from './loggers.js';
import { type RunConfig, ConfigError, validateRunConfig } from './run_config.js';
import { acquireRunLock } from './run_lock.js';
import { type FitResult, Trainer } from './trainer.js';
import { probeWritable } from '../io/dirs.js';
import { type WorkerEnv, joinProcessGroup, workerDevice } from './parallel.js';
import type { ProcessGroup } from '../engine/dist.js';

export const MMBALANCE_VERSION = '0.1.0';

/** The raw conversations a configuration names: the built-in generator, an mmbalance file, or a pickle. */
export function loadConversations(c: RunConfig): ConversationDataset {
  let ds: ConversationDataset;
  const path = c.data.path;
  if (path === null) {
    ds = synthConversations({ seed: c.train.seed, devFraction: c.data.devFraction, ...c.data.synth });
  } else {
    if (!existsSync(path)) throw new ConfigError(`the data file ${path} does not exist (--data)`);
    if (path.endsWith('.safetensors') || c.data.format === 'mmbalance') ds = loadDataset(path);
    else
      ds = readErcPickle(path, {
        format: c.data.format as never,
        devFraction: c.data.devFraction,
        devMode: c.data.devMode,
        seed: c.train.seed,
        ...(c.data.task !== null ? { task: c.data.task } : {}),
        ...(c.data.classes !== 6 ? { iemocapClasses: c.data.classes } : {}),
        ...(c.data.mergeExcitement ? { mergeExcitement: true } : {}),
      });
  }
  if (ds.splits.dev.length === 0) ds = holdOutDev(ds, { fraction: c.data.devFraction, seed: c.train.seed, mode: c.data.devMode });
  return ds;
}

/** The clips a configuration names: an mmbalance clip file, or a folder of per-modality features. */
export function loadClipData(c: RunConfig): ClipDataset {
  const path = c.data.path!;
  let ds = statSync(path).isDirectory() ? readClipFolder(path, { devFraction: c.data.devFraction, seed: c.train.seed }) : loadClips(path);
  if (ds.splits.dev.labels.length === 0) ds = holdOutClipDev(ds, { fraction: c.data.devFraction, seed: c.train.seed });
  return ds;
}

/** Every modality of the configured data behind the sample-generic contract. */
export function loadFullData(c: RunConfig): MultimodalDataset {
  const path = c.data.path;
  if (path !== null) {
    if (!existsSync(path)) throw new ConfigError(`the data ${path} does not exist (--data)`);
    if (statSync(path).isDirectory() || datasetFileKind(path) === 'clips') return new ClipData(loadClipData(c));
  }
  return new ConversationData(loadConversations(c));
}

/** The same data limited to (and ordered as) the given modalities. */
export function selectModalities(data: MultimodalDataset, modalities: readonly string[]): MultimodalDataset {
  for (const m of modalities)
    if (!data.modalities.includes(m)) throw new ConfigError(`the data has no '${m}' modality (it has ${data.modalities.join(', ')})`);
  if (data instanceof ConversationData) return new ConversationData(data.raw, modalities);
  if (data instanceof ClipData) return new ClipData(data.raw, modalities);
  if (modalities.join() === data.modalities.join()) return data;
  throw new ConfigError(`cannot choose modalities of a ${data.kind} data set`);
}

/** The run's data limited to the configured modalities (all of them when none are configured). */
export function loadRunData(c: RunConfig, full: MultimodalDataset = loadFullData(c)): MultimodalDataset {
  return selectModalities(full, c.modalities.length > 0 ? c.modalities : full.modalities);
}

/** The configured recipe's model for this data; weights start from the run's seed. */
export function buildRunModel(c: RunConfig, data: MultimodalDataset): MultimodalModel {
  return buildModel(c.recipe, data, { model: c.model, ada2i: c.ada2i, seed: c.train.seed });
}

/** SHA-256 of a file, read in chunks. */
export function fileChecksum(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    let n: number;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Where a run directory stands. */
export type RunDirState =
  | 'absent'
  /** Exists with nothing of a run in it. */
  | 'empty'
  /** Has a config but no finished epoch: a run that failed or was killed early, safe to start again. */
  | 'unstarted'
  /** Has a checkpoint but no summary: continue it with --resume. */
  | 'resumable'
  | 'finished';

export function runDirState(dir: string): RunDirState {
  if (!existsSync(dir)) return 'absent';
  if (existsSync(join(dir, 'summary.json'))) return 'finished';
  if (hasCheckpoint(dir)) return 'resumable';
  if (existsSync(join(dir, 'config.json'))) return 'unstarted';
  return 'empty';
}

/**
 * Proves files can be written in `dir` (making it when `keep`, else leaving nothing behind), so a
 * bad --out fails in a moment, before data is loaded, not after an epoch.
 */
export function ensureWritableDir(dir: string, keep = true): void {
  try {
    probeWritable(dir, keep);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(`cannot write to ${dir} (${err.code ?? err.message}); choose another --out`);
  }
}

export interface RunOptions {
  resume?: boolean;
  /** No per-epoch lines and no progress bar. */
  quiet?: boolean;
  log: (line: string) => void;
  /** Progress bar on stderr (default: when it is a terminal, unless quiet). */
  progress?: boolean;
  /** Data-parallel training: this process's place among the workers (train --nproc sets it). */
  worker?: WorkerEnv | null;
}

/**
 * Trains one configuration on loaded data into a run directory. Everything that can be checked
 * (the configuration, the method's options, the model) is checked before the directory is
 * touched; the directory is locked while the run holds it.
 */
export function runTraining(c: RunConfig, data: MultimodalDataset, out: string, o: RunOptions): FitResult {
  validateRunConfig(c);
  const strategy = makeStrategy(c.method, c.methodOptions);
  const model = buildRunModel(c, data);
  const worker = o.worker ?? null;
  const device = workerDevice(c.train.device, worker);
  const trainer = new Trainer(model, data, strategy, { ...c.train, device });
  if (worker !== null && worker.worldSize > 1) {
    if (c.method === 'gmm' && c.methodOptions.gaps === 'epoch')
      throw new ConfigError(
        "methodOptions.gaps='epoch' keeps each worker's own gaps only; with several workers use gaps='pass' (the default)",
      );
    if (worker.rank > 0) {
      // Rank 0 checks, locks and writes the run directory before it joins the group, so the
      // rendezvous orders every other worker's reads after its writes.
      const group = joinProcessGroup(worker, device);
      try {
        trainer.setProcessGroup(group);
        return trainer.fit({ outDir: out, resume: Boolean(o.resume), progress: false, method: c.method });
      } finally {
        group.destroy();
      }
    }
  }
  const checkState = (): void => {
    const state = runDirState(out);
    if (o.resume && state !== 'resumable' && state !== 'finished') throw new ConfigError(`nothing to resume in ${out} (no finished epoch)`);
    if (!o.resume && (state === 'resumable' || state === 'finished'))
      throw new ConfigError(`${out} already holds a run; use --resume to continue it, or another --out`);
  };
  checkState();
  ensureWritableDir(out);
  const release = acquireRunLock(out);
  try {
    // Another process may have started (or finished) a run here while this one was loading.
    checkState();
    const removed = removePartial(out);
    if (removed.length > 0) o.log(`mmbalance: removed what an interrupted run left half-written: ${removed.join(', ')}`);
    if (!o.resume) {
      // A run that never finished an epoch starts again from nothing.
      for (const f of readdirSync(out))
        if (['metrics.jsonl', 'best.safetensors', 'predictions.safetensors'].includes(f)) rmSync(join(out, f));
    }
    writeFileSync(join(out, 'config.json'), JSON.stringify(c, null, 2) + '\n');
    const loggers = [new JsonlLogger(join(out, 'metrics.jsonl'), !o.resume), ...(o.quiet ? [] : [new ConsoleLogger(o.log)])];
    const sizes = `${data.size('train')}/${data.size('dev')}/${data.size('test')}`;
    o.log(
      `mmbalance: ${c.method} on ${data.name} (${data.modalities.join('+')}), ${sizes} train/dev/test samples, run directory ${out}` +
        `\n(Ctrl-C stops it; 'mmbalance train --out ${out} --resume' continues from the last finished epoch)`,
    );
    const dataPath = c.data.path === null ? null : resolve(c.data.path);
    const group = worker !== null && worker.worldSize > 1 ? joinProcessGroup(worker, device) : null;
    if (group !== null) {
      trainer.setProcessGroup(group);
      o.log(`mmbalance: data-parallel over ${group.worldSize} workers (c10d ${group.backend}); this is rank 0`);
    }
    const summary: Record<string, unknown> = {
      preset: c.preset,
      recipe: c.recipe,
      versions: { mmbalance: MMBALANCE_VERSION, libtorch: libtorchVersion(), node: process.version },
      data: {
        name: data.name,
        kind: data.kind,
        path: dataPath,
        sha256: dataPath === null || statSync(dataPath).isDirectory() ? null : fileChecksum(dataPath),
        generator: c.data.path === null ? { seed: c.train.seed, ...c.data.synth } : null,
        sizes: { train: data.size('train'), dev: data.size('dev'), test: data.size('test') },
        devSource: data.devSource,
      },
    };
    // Read when summary.json is written, after training: rank 0's time in collectives by then.
    if (group !== null) Object.defineProperty(summary, 'parallel', { get: () => parallelSummary(group), enumerable: true });
    try {
      return trainer.fit({
        outDir: out,
        resume: Boolean(o.resume),
        loggers,
        method: c.method,
        progress: o.quiet ? false : o.progress,
        summary,
      });
    } finally {
      group?.destroy();
    }
  } finally {
    release();
  }
}

/** summary.json's `parallel`: rank 0's view of the workers and its time in collectives. */
function parallelSummary(group: ProcessGroup): Record<string, unknown> {
  return { workers: group.worldSize, backend: group.backend, collectives: group.collectives, communicationSeconds: group.commSeconds };
}
