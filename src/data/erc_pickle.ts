/**
 * Readers for the emotion-recognition-in-conversation (ERC) feature pickles researchers share,
 * producing a ConversationDataset. Three layouts are known (see docs/formats.md):
 *
 * - 'ada2i': the Ada2I / CORECT dict with keys speaker, label, text, audio, visual, sentence
 *   (each dialogue id -> one entry per utterance), trainVid, testVid and optionally a dev split
 *   as validVid, valVid or devVid. CMU-MOSEI files have this layout with one more level in the
 *   labels, label[task][video id], a task per label set (2-class or 7-class sentiment); the
 *   `task` option picks one.
 * - 'dialoguernn': the DialogueRNN / DialogueGCN / MMGCN 9-tuple (videoIDs, videoSpeakers,
 *   videoLabels, videoText, videoAudio, videoVisual, videoSentence, trainVid, testVid).
 * - 'meld': MELD's `MELD_features_raw*.pkl` tuples. The layout is recognised by field types, as
 *   two variants circulate: the DialogueRNN one, 9 fields (videoIDs, videoSpeakers, videoLabels,
 *   videoText, videoAudio, videoSentence, trainVid, testVid, videoLabelsSentiment), without
 *   visual features; and the MMGCN one, 10 fields, with videoVisual after videoAudio. In both the
 *   sentiment labels come last. Dialogue ids are integers there; they become decimal strings.
 *
 * Features become float32 (float64 files lose precision beyond 7 digits, far below feature
 * noise). Speakers given as one-hot vectors become the index of their largest entry, as text.
 *
 * IEMOCAP's 6 classes can be narrowed to the 4-class protocol (hap, sad, neu, ang) with
 * `iemocapClasses: 4`, in every layout, as this acts on the dataset once it is read.
 */
import { basename } from 'node:path';
import { isNdArray, readPickle, type NdArray, type UnpickleOptions } from './pickle.js';
import { holdOutDev } from './split.js';
import type { ConversationDataset, Dialogue, SplitName } from './types.js';
import { DatasetError, validateDataset } from './validate.js';

export const IEMOCAP_CLASSES: readonly string[] = ['hap', 'sad', 'neu', 'ang', 'exc', 'fru'];
export const MELD_CLASSES: readonly string[] = ['neu', 'sup', 'fea', 'sad', 'joy', 'dis', 'ang'];
/** MELD sentiment labels in the DialogueRNN preprocessing: neutral 0, positive 1, negative 2. */
export const MELD_SENTIMENT_CLASSES: readonly string[] = ['neu', 'pos', 'neg'];
/** IEMOCAP's 4-class protocol: its labels 0..3 keep their indices. */
export const IEMOCAP_4_CLASSES: readonly string[] = ['hap', 'sad', 'neu', 'ang'];
/**
 * CMU-MOSEI binary sentiment, assuming 0 = negative and 1 = positive (in the usual binning,
 * sentiment < 0 versus >= 0, so 'pos' includes neutral). A file coded otherwise needs classNames.
 */
export const MOSEI_2_CLASSES: readonly string[] = ['neg', 'pos'];
/** CMU-MOSEI 7-class sentiment: labels 0..6 are the sentiment scores -3..+3, strongly negative to strongly positive. */
export const MOSEI_7_CLASSES: readonly string[] = ['sneg', 'neg', 'wneg', 'neu', 'wpos', 'pos', 'spos'];

export type ErcFormat = 'auto' | 'ada2i' | 'dialoguernn' | 'meld';
const SCHEMAS: readonly Exclude<ErcFormat, 'auto'>[] = ['ada2i', 'dialoguernn', 'meld'];
const ALL_MODALITIES = ['text', 'audio', 'visual'] as const;

export interface ErcReadOptions {
  /** Which layout the file has; 'auto' (default) tries each and explains why none fitted. */
  format?: ErcFormat;
  /** Class names by label index; by default IEMOCAP's or MELD's, detected from the data. */
  classNames?: readonly string[];
  /** A subset of text, audio, visual, in the order wanted; default: every one the file has. */
  modalities?: readonly string[];
  /** For MELD files: train on the emotion labels (default) or the sentiment labels. */
  labels?: 'emotion' | 'sentiment';
  /** When the file has no dev split: the fraction of training dialogues held out (default 0.1). */
  devFraction?: number;
  /** Seed of the dev hold-out shuffle (default 0). */
  seed?: number;
  /** 'shuffle' (default) or 'first' (the first training dialogues in file order, as Ada2I does for MELD). */
  devMode?: 'shuffle' | 'first';
  /** Decoding of Python 2 strings (default 'latin1', as DialogueRNN's loaders do). */
  encoding?: UnpickleOptions['encoding'];
  /** The dataset name (default: the file name). */
  name?: string;
  /**
   * For CMU-MOSEI files (labels under label[task][video id]): the task key to take labels from,
   * as text (an integer key 7 is '7'). Optional when the file has a single task.
   */
  task?: string;
  /**
   * IEMOCAP's classes: 6 (default: hap, sad, neu, ang, exc, fru) or 4 (hap, sad, neu, ang).
   * With 4, utterances labelled exc or fru are removed from their dialogue's sequence, so the
   * dialogue context skips them, and dialogues left with no utterance are dropped.
   */
  iemocapClasses?: 6 | 4;
  /**
   * With iemocapClasses 4: relabel exc (4) as hap (0) before the filtering, as some papers do
   * (default false: exc utterances are removed like fru ones).
   */
  mergeExcitement?: boolean;
}

/** The parts every layout provides, keyed by dialogue id as text. */
interface RawErc {
  schema: Exclude<ErcFormat, 'auto'>;
  speakers: Map<string, unknown>;
  labels: Map<string, unknown>;
  features: Partial<Record<(typeof ALL_MODALITIES)[number], Map<string, unknown>>>;
  sentences?: Map<string, unknown>;
  splitIds: { train: unknown; test: unknown; dev?: unknown };
  /** The key the dev split ids came from (validVid, valVid, devVid). */
  devKey?: string;
  sentiment?: Map<string, unknown>;
  /** CMU-MOSEI: the task the labels came from and every task the file has. */
  task?: { name: string; available: string[] };
}

/** The file does not have a layout's shape (as opposed to having it with bad data). */
class SchemaMismatch extends Error {}

function mismatch(message: string): never {
  throw new SchemaMismatch(message);
}

function kindOf(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `a list/tuple of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (v instanceof Set) return `a set of ${v.size}`;
  if (isNdArray(v)) return `a numpy array of shape [${v.shape.join(', ')}]`;
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}

/** A dict keyed by dialogue id, re-keyed by the id as text (MELD's ids are integers). */
function dialogueMap(v: unknown, field: string): Map<string, unknown> {
  if (!(v instanceof Map)) mismatch(`${field} is ${kindOf(v)}, not a dict of dialogue id -> per-utterance values`);
  const out = new Map<string, unknown>();
  for (const [k, val] of v) out.set(idText(k), val);
  return out;
}

function idText(k: unknown): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (k instanceof Uint8Array) return Buffer.from(k).toString('latin1');
  throw new DatasetError(`a dialogue id is ${kindOf(k)}; ids must be text or integers`);
}

function isIdCollection(v: unknown): boolean {
  return Array.isArray(v) || v instanceof Set || (isNdArray(v) && v.shape.length === 1);
}

function firstValue(m: Map<string, unknown>): unknown {
  for (const v of m.values()) return v;
  return undefined;
}

/** True when a field's per-dialogue values are lists of text (the sentences field). */
function looksLikeSentences(m: Map<string, unknown>): boolean {
  const v = firstValue(m);
  const first = Array.isArray(v) ? v[0] : isNdArray(v) && Array.isArray(v.data) ? v.data[0] : undefined;
  return typeof first === 'string';
}

/**
 * CMU-MOSEI's label[task][video id]: the labels of the task chosen by the task option, or of the
 * only task. Task key names differ between releases, so any key is accepted.
 */
function moseiTask(label: Map<unknown, unknown>, o: ErcReadOptions): { labels: Map<string, unknown>; task: RawErc['task'] } {
  const tasks = new Map<string, unknown>();
  for (const [k, val] of label) tasks.set(idText(k), val);
  const available = [...tasks.keys()];
  const list = available.map((t) => JSON.stringify(t)).join(', ');
  for (const [t, val] of tasks)
    if (!(val instanceof Map))
      throw new DatasetError(
        `label[${JSON.stringify(t)}] is ${kindOf(val)} while other label entries are dicts: the file mixes the per-dialogue label layout with the CMU-MOSEI label[task][video id] one; keep one`,
        { field: 'label' },
      );
  let name = o.task;
  if (name === undefined) {
    if (available.length > 1)
      throw new DatasetError(
        `the labels hold ${available.length} tasks (${list}), in the CMU-MOSEI label[task][video id] layout; pass the task option (data.task) naming the one to train on`,
        { field: 'label' },
      );
    name = available[0]!;
  } else if (!tasks.has(name))
    throw new DatasetError(`the task option names ${JSON.stringify(name)}, which is not in this file; its tasks are ${list}`, {
      field: 'label',
    });
  return { labels: dialogueMap(tasks.get(name), `label[${JSON.stringify(name)}]`), task: { name, available } };
}

function fromAda2i(v: unknown, o: ErcReadOptions): RawErc {
  if (!(v instanceof Map)) mismatch(`the top-level value is ${kindOf(v)}, not a dict`);
  const keys = [...v.keys()].map(String);
  const missing = ['speaker', 'label', 'trainVid', 'testVid'].filter((k) => !v.has(k));
  if (missing.length) mismatch(`the dict lacks key(s) ${missing.join(', ')} (it has ${keys.slice(0, 12).join(', ')})`);
  const features: RawErc['features'] = {};
  for (const m of ALL_MODALITIES) if (v.has(m)) features[m] = dialogueMap(v.get(m), m);
  if (Object.keys(features).length === 0) mismatch('the dict has none of the feature keys text, audio, visual');
  const label = v.get('label');
  // Dicts one level down mean label[task][video id] (CMU-MOSEI), not label[dialogue id].
  const mosei = label instanceof Map && [...label.values()].some((x) => x instanceof Map) ? moseiTask(label, o) : undefined;
  const devKey = ['validVid', 'valVid', 'devVid'].find((k) => v.has(k));
  return {
    schema: 'ada2i',
    speakers: dialogueMap(v.get('speaker'), 'speaker'),
    labels: mosei?.labels ?? dialogueMap(label, 'label'),
    features,
    sentences: v.has('sentence') ? dialogueMap(v.get('sentence'), 'sentence') : undefined,
    splitIds: { train: v.get('trainVid'), test: v.get('testVid'), dev: devKey === undefined ? undefined : v.get(devKey) },
    ...(devKey === undefined ? {} : { devKey }),
    ...(mosei === undefined ? {} : { task: mosei.task }),
  };
}

function tupleOf(v: unknown): unknown[] {
  if (!Array.isArray(v)) mismatch(`the top-level value is ${kindOf(v)}, not a tuple`);
  return v;
}

function fromDialogueRnn(v: unknown): RawErc {
  const t = tupleOf(v);
  if (t.length !== 9) mismatch(`the tuple has ${t.length} fields, not 9`);
  const names = ['videoIDs', 'videoSpeakers', 'videoLabels', 'videoText', 'videoAudio', 'videoVisual', 'videoSentence'];
  const maps = names.map((n, i) => dialogueMap(t[i], `field ${i} (${n})`));
  if (looksLikeSentences(maps[5]!))
    mismatch('field 5 holds text, so this is not (…, videoVisual, videoSentence, trainVid, testVid); the MELD layout has sentences there');
  if (!isIdCollection(t[7]) || !isIdCollection(t[8]))
    mismatch(`fields 7 and 8 (trainVid, testVid) are ${kindOf(t[7])} and ${kindOf(t[8])}, not id lists or sets`);
  return {
    schema: 'dialoguernn',
    speakers: maps[1]!,
    labels: maps[2]!,
    features: { text: maps[3]!, audio: maps[4]!, visual: maps[5]! },
    sentences: maps[6]!,
    splitIds: { train: t[7], test: t[8] },
  };
}

function fromMeld(v: unknown): RawErc {
  const t = tupleOf(v);
  if (t.length !== 9 && t.length !== 10) mismatch(`the tuple has ${t.length} fields, not 9 or 10`);
  const visual = t.length === 10;
  const s = visual ? 6 : 5;
  const sentences = dialogueMap(t[s], `field ${s} (videoSentence)`);
  if (!looksLikeSentences(sentences))
    mismatch(`field ${s} does not hold sentences (lists of text), as videoSentence does in MELD_features_raw files`);
  if (!isIdCollection(t[s + 1]) || !isIdCollection(t[s + 2]))
    mismatch(`fields ${s + 1} and ${s + 2} (trainVid, testVid) are ${kindOf(t[s + 1])} and ${kindOf(t[s + 2])}, not id lists or sets`);
  const features: RawErc['features'] = { text: dialogueMap(t[3], 'field 3 (videoText)'), audio: dialogueMap(t[4], 'field 4 (videoAudio)') };
  if (visual) features.visual = dialogueMap(t[5], 'field 5 (videoVisual)');
  return {
    schema: 'meld',
    speakers: dialogueMap(t[1], 'field 1 (videoSpeakers)'),
    labels: dialogueMap(t[2], 'field 2 (videoLabels)'),
    features,
    sentences,
    splitIds: { train: t[s + 1], test: t[s + 2] },
    sentiment: dialogueMap(t[t.length - 1], `field ${t.length - 1} (videoLabelsSentiment)`),
  };
}

const READERS: Record<Exclude<ErcFormat, 'auto'>, (v: unknown, o: ErcReadOptions) => RawErc> = {
  ada2i: fromAda2i,
  dialoguernn: fromDialogueRnn,
  meld: fromMeld,
};

// ---------------------------------------------------------------------------------------------
// Per-utterance conversion

/** The per-utterance entries of one dialogue field: a list, a 1-D array, or the rows of a 2-D array. */
function entries(v: unknown, where: () => string): unknown[] {
  if (Array.isArray(v)) return v;
  if (isNdArray(v)) {
    if (v.shape.length === 1) return Array.from(v.data as ArrayLike<unknown>);
    if (v.shape.length === 2) {
      const [n, d] = v.shape as [number, number];
      const rows: unknown[] = [];
      const data = v.data;
      for (let i = 0; i < n; i++) {
        const row = Array.isArray(data) ? data.slice(i * d, (i + 1) * d) : (data as Float32Array).subarray(i * d, (i + 1) * d);
        rows.push({ ...v, shape: [d], data: row } as NdArray);
      }
      return rows;
    }
  }
  throw new DatasetError(`${where()} is ${kindOf(v)}; expected one entry per utterance (a list or a numpy array)`);
}

function toNumber(x: unknown): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  if (typeof x === 'boolean') return x ? 1 : 0;
  return NaN;
}

function vectorOf(v: unknown): ArrayLike<number | bigint> | null {
  if (isNdArray(v)) return Array.isArray(v.data) ? null : (v.data as ArrayLike<number | bigint>);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean'))
    return v.map((x) => (typeof x === 'boolean' ? (x ? 1 : 0) : x));
  return null;
}

interface Matrix {
  rows: number;
  dim: number;
  data: Float32Array;
}

function featureMatrix(v: unknown, at: (u?: number) => DatasetError['location'], field: string): Matrix {
  const loc = (u?: number): string => `${field} of dialogue ${JSON.stringify(at().dialogue)}${u === undefined ? '' : ` utterance ${u}`}`;
  // A 2-D array converts in one pass.
  if (isNdArray(v) && v.shape.length === 2 && !Array.isArray(v.data)) {
    const [rows, dim] = v.shape as [number, number];
    const data = new Float32Array(rows * dim);
    const src = v.data as ArrayLike<number | bigint>;
    for (let i = 0; i < data.length; i++) data[i] = Number(src[i]!);
    return { rows, dim, data };
  }
  const list = entries(v, () => loc());
  let dim = -1;
  const vectors: ArrayLike<number | bigint>[] = [];
  list.forEach((e, u) => {
    const vec = vectorOf(e);
    if (vec === null)
      throw new DatasetError(`is ${kindOf(e)}, not a vector of numbers; every utterance needs one feature vector`, { ...at(u), field });
    if (dim >= 0 && vec.length !== dim)
      throw new DatasetError(
        `has ${vec.length} values but the dialogue's earlier ${field} vectors have ${dim}: the feature dimension differs; every ${field} vector must have the same length`,
        { ...at(u), field },
      );
    dim = vec.length;
    vectors.push(vec);
  });
  const data = new Float32Array(vectors.length * Math.max(dim, 0));
  vectors.forEach((vec, u) => {
    for (let j = 0; j < dim; j++) data[u * dim + j] = Number(vec[j]!);
  });
  return { rows: vectors.length, dim: Math.max(dim, 0), data };
}

/** `scoresHint` adds to the error for real-valued labels (what such scores are and what to do). */
function labelsOf(v: unknown, at: (u?: number) => DatasetError['location'], field: string, scoresHint = ''): Int32Array {
  const list = entries(v, () => `${field} of dialogue ${JSON.stringify(at().dialogue)}`);
  const out = new Int32Array(list.length);
  list.forEach((x, u) => {
    const n = toNumber(isNdArray(x) && x.shape.length === 0 ? (x.data as ArrayLike<unknown>)[0] : x);
    if (Number.isFinite(n) && !Number.isInteger(n))
      throw new DatasetError(`is ${n}, a real number: labels must be integer class indices (0, 1, ...), not scores${scoresHint}`, {
        ...at(u),
        field,
      });
    if (!Number.isInteger(n) || Math.abs(n) > 2 ** 31 - 1)
      throw new DatasetError(`is ${typeof x === 'string' ? JSON.stringify(x) : kindOf(x)}, not an integer class index`, {
        ...at(u),
        field,
      });
    out[u] = n;
  });
  return out;
}

function speakerOf(x: unknown): string | null {
  if (typeof x === 'string') return x;
  if (x instanceof Uint8Array) return Buffer.from(x).toString('latin1');
  if (typeof x === 'number' || typeof x === 'bigint') return String(x);
  const vec = vectorOf(x);
  if (vec === null || vec.length === 0) return null;
  // One-hot: the index of the largest entry.
  let best = 0;
  for (let i = 1; i < vec.length; i++) if (Number(vec[i]!) > Number(vec[best]!)) best = i;
  return String(best);
}

function speakersOf(v: unknown, at: (u?: number) => DatasetError['location']): string[] {
  return entries(v, () => `speakers of dialogue ${JSON.stringify(at().dialogue)}`).map((x, u) => {
    const s = speakerOf(x);
    if (s === null)
      throw new DatasetError(`is ${kindOf(x)}; a speaker must be a name, an index or a one-hot vector`, { ...at(u), field: 'speakers' });
    return s;
  });
}

function sentencesOf(v: unknown, at: (u?: number) => DatasetError['location']): string[] {
  return entries(v, () => `sentences of dialogue ${JSON.stringify(at().dialogue)}`).map((x, u) => {
    if (typeof x === 'string') return x;
    if (x instanceof Uint8Array) return Buffer.from(x).toString('latin1');
    throw new DatasetError(`is ${kindOf(x)}, not text`, { ...at(u), field: 'sentences' });
  });
}

function idList(v: unknown, splitField: string): string[] {
  const items = v instanceof Set ? [...v] : Array.isArray(v) ? v : isNdArray(v) ? Array.from(v.data as ArrayLike<unknown>) : null;
  if (items === null) throw new DatasetError(`${splitField} is ${kindOf(v)}; expected a list or set of dialogue ids`);
  return items.map(idText);
}

// ---------------------------------------------------------------------------------------------

function detectClassNames(
  raw: RawErc,
  o: ErcReadOptions,
  dims: Record<string, number>,
  maxLabel: number,
): { names: string[]; from: string } {
  if (o.classNames !== undefined) return { names: [...o.classNames], from: 'option' };
  if (raw.task !== undefined) {
    const t = JSON.stringify(raw.task.name);
    if (maxLabel <= 1) return { names: [...MOSEI_2_CLASSES], from: `2 label values (CMU-MOSEI task ${t})` };
    if (maxLabel === MOSEI_7_CLASSES.length - 1) return { names: [...MOSEI_7_CLASSES], from: `7 label values (CMU-MOSEI task ${t})` };
    throw new DatasetError(
      `the CMU-MOSEI task ${t} has labels 0..${maxLabel}, neither 2-class (0..1) nor 7-class (0..6) sentiment; pass classNames (one name per label index)`,
      { field: 'labels' },
    );
  }
  if (o.labels === 'sentiment') return { names: [...MELD_SENTIMENT_CLASSES], from: 'MELD sentiment' };
  if (raw.schema === 'meld') return { names: [...MELD_CLASSES], from: 'MELD layout' };
  // Ada2I's MELD features: audio 300, visual 342 (IEMOCAP's are 512 and 1024).
  if (dims.audio === 300 && dims.visual === 342) return { names: [...MELD_CLASSES], from: 'MELD feature dimensions' };
  if (maxLabel === MELD_CLASSES.length - 1) return { names: [...MELD_CLASSES], from: '7 label values (MELD)' };
  if (maxLabel < IEMOCAP_CLASSES.length) return { names: [...IEMOCAP_CLASSES], from: 'at most 6 label values (IEMOCAP)' };
  throw new DatasetError(
    `labels go up to ${maxLabel}, more than IEMOCAP's 6 or MELD's 7 classes; pass classNames (one name per label index)`,
    {
      field: 'labels',
    },
  );
}

/**
 * IEMOCAP's 4-class protocol: keeps the utterances labelled hap, sad, neu or ang (exc counting as
 * hap when merging). The others leave the sequence, so the dialogue context goes straight from
 * the utterance before to the one after; dialogues with nothing left are dropped, as a dialogue
 * needs utterances. Labels 0..3 keep their indices.
 */
function narrowToIemocap4(ds: ConversationDataset, merge: boolean): { ds: ConversationDataset; utterances: number; dialogues: number } {
  let utterances = 0;
  let dialogues = 0;
  const splits: Record<SplitName, Dialogue[]> = { train: [], dev: [], test: [] };
  for (const split of ['train', 'dev', 'test'] as const)
    for (const d of ds.splits[split]) {
      const labels = merge ? d.labels.map((y) => (y === 4 ? 0 : y)) : d.labels;
      const keep: number[] = [];
      labels.forEach((y, i) => {
        if (y < IEMOCAP_4_CLASSES.length) keep.push(i);
      });
      utterances += labels.length - keep.length;
      if (keep.length === 0) {
        dialogues++;
        continue;
      }
      if (keep.length === labels.length) {
        splits[split].push({ ...d, labels });
        continue;
      }
      const features: Record<string, Float32Array> = {};
      for (const m of ds.modalities) {
        const dim = ds.dims[m]!;
        const src = d.features[m]!;
        const out = new Float32Array(keep.length * dim);
        keep.forEach((i, k) => out.set(src.subarray(i * dim, (i + 1) * dim), k * dim));
        features[m] = out;
      }
      const kept: Dialogue = {
        id: d.id,
        features,
        labels: Int32Array.from(keep, (i) => labels[i]!),
        speakers: keep.map((i) => d.speakers[i]!),
      };
      if (d.sentences !== undefined) kept.sentences = keep.map((i) => d.sentences![i]!);
      splits[split].push(kept);
    }
  for (const split of ['train', 'test'] as const)
    if (splits[split].length === 0)
      throw new DatasetError(
        `no ${split} dialogue keeps an utterance labelled hap, sad, neu or ang, so the 4-class data has no ${split} split; use iemocapClasses 6, or check the labels`,
        { split },
      );
  return { ds: { ...ds, classNames: [...IEMOCAP_4_CLASSES], splits }, utterances, dialogues };
}

/**
 * Builds a ConversationDataset from an unpickled ERC value (see readErcPickle). Exposed for data
 * already in memory; `name` defaults to 'erc'.
 */
export function ercDatasetFromValue(value: unknown, o: ErcReadOptions = {}): ConversationDataset {
  const format = o.format ?? 'auto';
  if (format !== 'auto' && !SCHEMAS.includes(format))
    throw new DatasetError(`unknown format ${JSON.stringify(format)}; use one of auto, ${SCHEMAS.join(', ')}`);
  const iemocap4 = o.iemocapClasses === 4;
  if (o.iemocapClasses !== undefined && o.iemocapClasses !== 6 && !iemocap4)
    throw new DatasetError(
      `iemocapClasses is ${JSON.stringify(o.iemocapClasses)}; use 6 (hap, sad, neu, ang, exc, fru) or 4 (hap, sad, neu, ang)`,
    );
  if (o.mergeExcitement && !iemocap4)
    throw new DatasetError('mergeExcitement relabels exc as hap for the 4-class protocol; it needs iemocapClasses 4');
  if (iemocap4 && o.classNames !== undefined)
    throw new DatasetError('iemocapClasses 4 names the classes (hap, sad, neu, ang); pass it or classNames, not both');
  let raw: RawErc | undefined;
  const tried: string[] = [];
  for (const schema of format === 'auto' ? SCHEMAS : [format]) {
    try {
      raw = READERS[schema](value, o);
      break;
    } catch (e) {
      if (!(e instanceof SchemaMismatch)) throw e;
      tried.push(`${schema}: ${e.message}`);
    }
  }
  if (raw === undefined)
    throw new DatasetError(
      `the pickle matches no known ERC layout. Tried ${tried.join('; ')}. Pass format explicitly, or convert the data to one of these layouts (docs/formats.md)`,
    );

  const available = ALL_MODALITIES.filter((m) => raw.features[m] !== undefined);
  const modalities = o.modalities === undefined ? [...available] : [...o.modalities];
  for (const m of modalities)
    if (!(available as readonly string[]).includes(m))
      throw new DatasetError(`modality ${JSON.stringify(m)} is not in this ${raw.schema} file, which has ${available.join(', ')}`, {
        field: 'modalities',
      });
  if (modalities.length === 0) throw new DatasetError('modalities is empty; pick at least one of ' + available.join(', '));
  if (o.task !== undefined && raw.task === undefined)
    throw new DatasetError(
      `the task option (${JSON.stringify(o.task)}) picks a label set in CMU-MOSEI files (label[task][video id]); this ${raw.schema} file has one label per utterance, so drop the option`,
      { field: 'labels' },
    );
  if (o.labels === 'sentiment' && raw.task !== undefined)
    throw new DatasetError(
      'the labels option (sentiment) is for MELD files; in this CMU-MOSEI file the labels come from a task, chosen with the task option (data.task)',
      { field: 'labels' },
    );
  if (o.labels === 'sentiment' && raw.sentiment === undefined)
    throw new DatasetError(`sentiment labels exist only in the MELD layout; this is a ${raw.schema} file`, { field: 'labels' });
  const labelMap = o.labels === 'sentiment' ? raw.sentiment! : raw.labels;
  const labelField = o.labels === 'sentiment' ? 'sentiment' : 'labels';

  const dims: Record<string, number> = {};
  const splits: Record<SplitName, Dialogue[]> = { train: [], dev: [], test: [] };
  const owner = new Map<string, SplitName>();
  let maxLabel = -1;
  let minLabel = 0;
  const scoresHint =
    raw.task === undefined ? '' : ' (raw CMU-MOSEI sentiment scores in [-3, 3] must be binned into the 2-class or 7-class labels first)';
  const splitFields: [SplitName, unknown, string][] = [
    ['train', raw.splitIds.train, 'trainVid'],
    ['test', raw.splitIds.test, 'testVid'],
  ];
  if (raw.splitIds.dev !== undefined) splitFields.push(['dev', raw.splitIds.dev, raw.devKey ?? 'the dev split ids']);
  for (const [split, ids, splitField] of splitFields) {
    for (const id of idList(ids, splitField)) {
      const at = (u?: number): DatasetError['location'] => ({ split, dialogue: id, ...(u === undefined ? {} : { utterance: u }) });
      const prior = owner.get(id);
      if (prior !== undefined)
        throw new DatasetError(
          `is listed in both the ${prior} and the ${split} split ids; each dialogue must be in exactly one (fix ${splitField})`,
          at(),
        );
      owner.set(id, split);
      const need = (m: Map<string, unknown> | undefined, field: string): unknown => {
        const v = m?.get(id);
        if (v === undefined)
          throw new DatasetError(
            `${splitField} lists this dialogue but the ${field} field has no entry for it (split ids with no data); remove the id or add its data`,
            { ...at(), field },
          );
        return v;
      };
      const labels = labelsOf(need(labelMap, labelField), at, labelField, scoresHint);
      for (const y of labels) {
        maxLabel = Math.max(maxLabel, y);
        minLabel = Math.min(minLabel, y);
      }
      const features: Record<string, Float32Array> = {};
      for (const m of modalities) {
        const mat = featureMatrix(need(raw.features[m as (typeof ALL_MODALITIES)[number]], m), at, m);
        if (mat.rows > 0) {
          const d = dims[m];
          if (d === undefined) dims[m] = mat.dim;
          else if (d !== mat.dim)
            throw new DatasetError(
              `the ${m} vectors have ${mat.dim} values but earlier dialogues' have ${d}: the feature dimension differs; every ${m} vector must have ${d} values`,
              { ...at(0), field: m },
            );
        }
        features[m] = mat.data;
      }
      const d: Dialogue = { id, features, labels, speakers: speakersOf(need(raw.speakers, 'speakers'), at) };
      if (raw.sentences !== undefined) d.sentences = sentencesOf(need(raw.sentences, 'sentences'), at);
      splits[split].push(d);
    }
  }
  for (const m of modalities) if (dims[m] === undefined) dims[m] = 0;

  if (raw.task !== undefined && minLabel < 0)
    throw new DatasetError(
      `the labels of CMU-MOSEI task ${JSON.stringify(raw.task.name)} go down to ${minLabel}: they look like sentiment scores (-3..+3), not class indices 0..K-1; shift them (the 7-class labels are score + 3) or pick another task`,
      { field: 'labels' },
    );
  const classes = detectClassNames(raw, o, dims, maxLabel);
  if (iemocap4 && classes.names.join() !== IEMOCAP_CLASSES.join())
    throw new DatasetError(
      `iemocapClasses 4 narrows IEMOCAP's 6 classes, but this file's classes are ${classes.names.join(', ')} (${classes.from}); drop the option`,
      { field: 'labels' },
    );
  let ds: ConversationDataset = {
    name: o.name ?? 'erc',
    modalities,
    dims,
    classNames: classes.names,
    splits,
    devSource: 'file',
    meta: {
      reader: 'erc_pickle',
      schema: raw.schema,
      classNamesFrom: classes.from,
      labels: raw.task === undefined ? (o.labels ?? 'emotion') : 'task',
      ...(raw.task === undefined ? {} : { task: raw.task.name, tasks: JSON.stringify(raw.task.available) }),
      ...(raw.devKey === undefined ? {} : { devSplitKey: raw.devKey }),
      ...(o.iemocapClasses === undefined ? {} : { iemocapClasses: String(o.iemocapClasses) }),
    },
  };
  // Validate before the hold-out and the class narrowing, so problems are reported against the
  // file's own splits and utterances.
  validateDataset(ds);
  if (iemocap4) {
    const merge = o.mergeExcitement ?? false;
    const narrowed = narrowToIemocap4(ds, merge);
    ds = narrowed.ds;
    ds.meta = {
      ...ds.meta,
      classNamesFrom: 'IEMOCAP 4-class protocol (iemocapClasses 4)',
      mergeExcitement: String(merge),
      droppedUtterances: String(narrowed.utterances),
      droppedDialogues: String(narrowed.dialogues),
    };
  }
  if (ds.splits.dev.length === 0) {
    const devFraction = o.devFraction ?? 0.1;
    const seed = o.seed ?? 0;
    try {
      ds = holdOutDev(ds, { fraction: devFraction, seed, mode: o.devMode ?? 'shuffle' });
    } catch (e) {
      throw new DatasetError(`the file has no dev split and ${(e as Error).message}`, { split: 'train' });
    }
    ds.meta = { ...ds.meta, devFraction: String(devFraction), devSeed: String(seed), devMode: o.devMode ?? 'shuffle' };
  }
  return ds;
}

/**
 * Reads an ERC feature pickle (Ada2I/CORECT dict, DialogueRNN tuple or MELD tuple) safely: no
 * code in the file runs (see pickle.ts). The dataset is validated; when the file has no dev split
 * one is held out of the training dialogues (devFraction, seed, devMode).
 */
export function readErcPickle(path: string, o: ErcReadOptions = {}): ConversationDataset {
  const value = readPickle(path, { encoding: o.encoding ?? 'latin1' });
  try {
    const ds = ercDatasetFromValue(value, { ...o, name: o.name ?? basename(path) });
    ds.meta = { ...ds.meta, source: path };
    return ds;
  } catch (e) {
    if (e instanceof DatasetError) {
      const wrapped = new DatasetError('', e.location);
      wrapped.message = `${path}: ${e.message}`;
      throw wrapped;
    }
    throw e;
  }
}
