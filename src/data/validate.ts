/**
 * Checks a ConversationDataset before anything trains on it. A feature file with one bad
 * utterance otherwise fails deep inside a batch (or, for NaN, silently ruins the run), far from
 * the line of data that caused it; every problem here names the split, dialogue, utterance and
 * field, and says how to fix it.
 */
import { SPLITS, type ConversationDataset, type SplitName } from './types.js';

/** Where a problem is, as precisely as it is known. */
export interface DatasetLocation {
  split?: SplitName;
  dialogue?: string;
  /** A clip's id (clip datasets). */
  sample?: string;
  utterance?: number;
  field?: string;
}

/** A dataset that cannot be used as it is; `location` says where, the message also how to fix it. */
export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(
    message: string,
    readonly location: DatasetLocation = {},
  ) {
    super(`${where(location)}${message}`);
  }
}

function where(l: DatasetLocation): string {
  const parts: string[] = [];
  if (l.split !== undefined) parts.push(`${l.split} split`);
  if (l.dialogue !== undefined) parts.push(`dialogue ${JSON.stringify(l.dialogue)}`);
  if (l.sample !== undefined) parts.push(`sample ${JSON.stringify(l.sample)}`);
  if (l.utterance !== undefined) parts.push(`utterance ${l.utterance}`);
  if (l.field !== undefined) parts.push(`field ${l.field}`);
  return parts.length ? `${parts.join(', ')}: ` : '';
}

const MAX_PROBLEMS = 100;

/**
 * Lists every problem found (up to 100), in dataset order. An empty list means the dataset is
 * usable: every dialogue has utterances, all its fields agree on their count, every feature row
 * has its modality's dimension and finite values, and every label names a class.
 */
export function findDatasetProblems(ds: ConversationDataset): DatasetError[] {
  const out: DatasetError[] = [];
  const add = (message: string, location: DatasetLocation = {}): boolean => {
    out.push(new DatasetError(message, location));
    return out.length >= MAX_PROBLEMS;
  };

  if (!Array.isArray(ds.modalities) || ds.modalities.length === 0) {
    add('the dataset has no modalities; name at least one (e.g. text) with its feature dimension in dims');
    return out;
  }
  if (new Set(ds.modalities).size !== ds.modalities.length)
    add(`modalities ${JSON.stringify(ds.modalities)} repeat a name; list each once`);
  for (const m of ds.modalities) {
    const d = ds.dims[m];
    if (d === undefined || !Number.isSafeInteger(d) || d < 1)
      add(`modality ${JSON.stringify(m)} has dimension ${String(d)}; dims must give every modality a positive integer`, {
        field: `dims.${m}`,
      });
  }
  if (!Array.isArray(ds.classNames) || ds.classNames.length < 2)
    add(`the dataset names ${ds.classNames?.length ?? 0} classes; classification needs at least 2 (pass classNames)`, {
      field: 'classNames',
    });
  else if (new Set(ds.classNames).size !== ds.classNames.length)
    add(`classNames ${JSON.stringify(ds.classNames)} repeat a name`, { field: 'classNames' });
  if (out.length) return out;

  const numClasses = ds.classNames.length;
  const seen = new Map<string, SplitName>();
  for (const split of SPLITS) {
    const dialogues = ds.splits[split];
    if (!Array.isArray(dialogues)) {
      if (add(`the ${split} split is missing; give it a (possibly empty) list of dialogues`, { split })) return out;
      continue;
    }
    if (dialogues.length === 0 && split !== 'dev')
      if (
        add(
          `the ${split} split has no dialogues; a dataset needs training and test dialogues (check the split id lists in the source file)`,
          { split },
        )
      )
        return out;
    for (const d of dialogues) {
      const at = (extra: DatasetLocation = {}): DatasetLocation => ({ split, dialogue: d.id, ...extra });
      const other = seen.get(d.id);
      if (other !== undefined) {
        if (
          add(
            `dialogue id also appears in the ${other} split; each dialogue must be in exactly one split (remove it from one of the id lists)`,
            at(),
          )
        )
          return out;
      }
      seen.set(d.id, split);
      const n = d.labels?.length ?? 0;
      if (!(d.labels instanceof Int32Array)) {
        if (add('labels must be an Int32Array of class indices', at({ field: 'labels' }))) return out;
        continue;
      }
      if (n === 0) {
        if (add('the dialogue has no utterances; drop it from the data and the split lists', at())) return out;
        continue;
      }
      if (!Array.isArray(d.speakers) || d.speakers.length !== n)
        if (
          add(
            `speakers has ${d.speakers?.length ?? 0} entries but labels has ${n}; every utterance needs a speaker`,
            at({ field: 'speakers' }),
          )
        )
          return out;
      if (d.sentences !== undefined && d.sentences.length !== n)
        if (
          add(
            `sentences has ${d.sentences.length} entries but labels has ${n}; give one sentence per utterance or none`,
            at({ field: 'sentences' }),
          )
        )
          return out;
      for (let i = 0; i < n; i++) {
        const y = d.labels[i]!;
        if (y < 0 || y >= numClasses) {
          if (
            add(
              `label ${y} is outside the ${numClasses} classes [${ds.classNames.join(', ')}]; fix the label or pass the right classNames`,
              at({ utterance: i, field: 'labels' }),
            )
          )
            return out;
        }
      }
      for (const m of Object.keys(d.features ?? {}))
        if (!ds.modalities.includes(m))
          if (
            add(`features has modality ${JSON.stringify(m)}, which the dataset does not list in modalities`, at({ field: `features.${m}` }))
          )
            return out;
      for (const m of ds.modalities) {
        const dim = ds.dims[m]!;
        const f = d.features?.[m];
        const field = `features.${m}`;
        if (!(f instanceof Float32Array)) {
          if (add(`the ${m} features are missing (or not a Float32Array); every dialogue needs every modality`, at({ field }))) return out;
          continue;
        }
        if (f.length !== n * dim) {
          const msg =
            f.length % dim === 0
              ? `holds ${f.length / dim} utterances of dimension ${dim} but labels has ${n}: the utterance counts of the fields disagree; fix the source so every field has one entry per utterance`
              : `holds ${f.length} values, not a multiple of the ${m} dimension ${dim}: a feature vector has the wrong dimension; every ${m} vector must have ${dim} values`;
          if (add(msg, at({ field }))) return out;
          continue;
        }
        for (let j = 0; j < f.length; j++) {
          const v = f[j]!;
          if (!Number.isFinite(v)) {
            const u = Math.floor(j / dim);
            if (
              add(
                `value ${v} at position ${j - u * dim} of the ${m} vector is not finite; replace NaN/Inf (e.g. with 0, or drop the utterance) before training`,
                at({ utterance: u, field }),
              )
            )
              return out;
            // One report per vector is enough to locate it.
            j = (u + 1) * dim - 1;
          }
        }
      }
    }
  }
  return out;
}

/** Throws the first problem findDatasetProblems finds (its message counts the others). */
export function validateDataset(ds: ConversationDataset): void {
  const problems = findDatasetProblems(ds);
  const first = problems[0];
  if (first === undefined) return;
  if (problems.length === 1) throw first;
  const more = problems.length >= MAX_PROBLEMS ? `at least ${problems.length - 1}` : String(problems.length - 1);
  const e = new DatasetError('', first.location);
  e.message = `${first.message} (and ${more} more problem(s), e.g. ${problems[1]!.message})`;
  throw e;
}
