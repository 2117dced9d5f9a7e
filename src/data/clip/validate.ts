import { SPLITS } from '../dataset.js';
import { DatasetError } from '../validate.js';
import { type ClipDataset, isVariableSequence, rowSize } from './types.js';

const MAX_PROBLEMS = 100;

/**
 * Every problem of a clip dataset (up to 100), each naming split, sample and field: shapes that
 * do not fit, lengths that do not add up, empty sequences, NaN/Inf values, labels that name no
 * class, duplicate ids. An empty list means the dataset is usable.
 */
export function findClipProblems(ds: ClipDataset): DatasetError[] {
  const out: DatasetError[] = [];
  const add = (message: string, location: DatasetError['location'] = {}): boolean => {
    out.push(new DatasetError(message, location));
    return out.length >= MAX_PROBLEMS;
  };
  if (ds.modalities.length === 0) add('the dataset has no modality');
  if (ds.classNames.length < 2) add(`a classifier needs at least 2 classes, the dataset has ${ds.classNames.length}`);
  for (const m of ds.modalities) {
    const s = ds.shapes[m];
    if (
      !Array.isArray(s) ||
      s.length === 0 ||
      s.length > 3 ||
      s.some((d, i) => !(Number.isInteger(d) && (d >= 1 || (d === -1 && i === 0 && s.length === 2))))
    )
      if (add(`shape ${JSON.stringify(s)} is not [d], [T, d], [-1, d] or [C, H, W]`, { field: m })) return out;
  }
  if (out.length > 0) return out;
  for (const split of SPLITS) {
    const sp = ds.splits[split];
    const n = sp.labels.length;
    if (sp.ids.length !== n) if (add(`${sp.ids.length} ids for ${n} labels`, { split })) return out;
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const id = sp.ids[i] ?? String(i);
      if (seen.has(id)) if (add('the id appears twice in the split; ids must be unique', { split, sample: id })) return out;
      seen.add(id);
      const y = sp.labels[i]!;
      if (!(y >= 0 && y < ds.classNames.length))
        if (
          add(`label ${y} names no class (there are ${ds.classNames.length}: 0 to ${ds.classNames.length - 1})`, {
            split,
            sample: id,
            field: 'label',
          })
        )
          return out;
    }
    for (const m of ds.modalities) {
      const shape = ds.shapes[m]!;
      const f = sp.features[m];
      if (f === undefined) {
        if (add('no features for this modality', { split, field: m })) return out;
        continue;
      }
      const row = rowSize(shape);
      let expected = n * row;
      if (isVariableSequence(shape)) {
        const lengths = sp.lengths[m];
        if (lengths === undefined || lengths.length !== n) {
          if (add(`a variable-length modality needs one length per sample (${n}), got ${lengths?.length ?? 'none'}`, { split, field: m }))
            return out;
          continue;
        }
        expected = 0;
        for (let i = 0; i < n; i++) {
          const t = lengths[i]!;
          if (!(Number.isInteger(t) && t >= 1))
            if (add(`sequence length ${t}: a sequence needs at least one step`, { split, sample: sp.ids[i], field: m })) return out;
          expected += Math.max(0, t) * row;
        }
      }
      if (f.length !== expected) {
        if (add(`${f.length} values, expected ${expected} (${n} samples of shape [${shape.join(', ')}])`, { split, field: m })) return out;
        continue;
      }
      // Name the first sample holding a non-finite value.
      let offset = 0;
      for (let i = 0; i < n; i++) {
        const len = isVariableSequence(shape) ? sp.lengths[m]![i]! * row : row;
        for (let k = offset; k < offset + len; k++) {
          if (!Number.isFinite(f[k]!)) {
            if (
              add(`value ${f[k]} at element ${k - offset}; replace NaN/Inf (impute, or drop the sample)`, {
                split,
                sample: sp.ids[i],
                field: m,
              })
            )
              return out;
            break;
          }
        }
        offset += len;
      }
    }
  }
  if (ds.splits.train.labels.length === 0) add('the training split has no samples');
  if (ds.splits.test.labels.length === 0) add('the test split has no samples');
  return out;
}

/** Throws the first problem (with the count of the others) when the dataset is not usable. */
export function validateClips(ds: ClipDataset): void {
  const problems = findClipProblems(ds);
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1}${problems.length >= MAX_PROBLEMS ? '+' : ''} more problems)` : '';
  const first = problems[0]!;
  first.message += more;
  throw first;
}
