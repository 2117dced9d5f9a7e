import { basename, dirname } from 'node:path';
import type { RobustnessDoc, RobustnessInput } from './inputs.js';
import { expectField, isNumber, isRecord, isStringArray, readJsonObject } from './json_file.js';

export const ROBUSTNESS_FORMAT = 'mmbalance.robustness.v1';

/** Reads robustness.json: a run's scores under corrupted inputs, per modality and corruption. */
export function loadRobustness(file: string): RobustnessInput {
  const doc = readJsonObject(file, `a robustness test (format ${ROBUSTNESS_FORMAT})`);
  expectField(doc.format === ROBUSTNESS_FORMAT, file, 'format', `'${ROBUSTNESS_FORMAT}'`);
  expectField(typeof doc.method === 'string', file, 'method', "the run's method");
  expectField(isStringArray(doc.modalities), file, 'modalities', 'a list of modality names');
  expectField(
    isRecord(doc.clean) && isNumber(doc.clean.accuracy) && isNumber(doc.clean.weightedF1),
    file,
    'clean',
    '{accuracy, weightedF1}',
  );
  expectField(Array.isArray(doc.curves), file, 'curves', 'a list of curves');
  (doc.curves as unknown[]).forEach((c, i) =>
    expectField(
      isRecord(c) &&
        typeof c.modality === 'string' &&
        typeof c.corruption === 'string' &&
        typeof c.levelName === 'string' &&
        Array.isArray(c.levels) &&
        c.levels.every((l) => isRecord(l) && isNumber(l.level) && isNumber(l.accuracy) && isNumber(l.weightedF1)),
      file,
      `curves[${i}]`,
      'a curve {modality, corruption, levelName, levels: [{level, accuracy, weightedF1}]}',
    ),
  );
  const d = doc as unknown as RobustnessDoc;
  const where = basename(file) === 'robustness.json' ? basename(dirname(file)) : basename(file);
  return { kind: 'robustness', file, label: `${d.method} ${d.modalities.join('+')} (${where})`, doc: d, files: [file] };
}
