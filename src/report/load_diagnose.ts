import { join } from 'node:path';
import type { DiagnoseDoc, DiagnoseInput } from './inputs.js';
import { expectField, isNumber, isRecord, isStringArray, readJsonObject } from './json_file.js';

export const DIAGNOSE_FORMAT = 'mmbalance.diagnose.v1';

/** Reads diagnose.json from a diagnosis directory: probes, a joint run's per-epoch view, the gap and the verdict. */
export function loadDiagnose(dir: string, file = join(dir, 'diagnose.json')): DiagnoseInput {
  const doc = readJsonObject(file, `a dataset diagnosis (format ${DIAGNOSE_FORMAT})`);
  expectField(doc.format === DIAGNOSE_FORMAT, file, 'format', `'${DIAGNOSE_FORMAT}'`);
  expectField(isRecord(doc.data) && typeof doc.data.name === 'string', file, 'data', '{name, kind, path, sizes}');
  expectField(isStringArray(doc.modalities), file, 'modalities', 'a list of modality names');
  expectField(doc.score === 'accuracy' || doc.score === 'weightedF1', file, 'score', "'accuracy' or 'weightedF1'");
  expectField(isRecord(doc.probes), file, 'probes', 'per modality {dev, test}');
  const joint = doc.joint;
  expectField(isRecord(joint) && Array.isArray(joint.perEpoch), file, 'joint.perEpoch', 'a list of epochs');
  (joint as { perEpoch: unknown[] }).perEpoch.forEach((e, i) =>
    expectField(isRecord(e) && isNumber(e.epoch) && isNumber(e.devScore), file, `joint.perEpoch[${i}]`, 'an epoch {epoch, devScore, ...}'),
  );
  const gap = doc.gap;
  expectField(
    isRecord(gap) && isRecord(gap.histogram) && Array.isArray(gap.histogram.edges) && Array.isArray(gap.histogram.counts),
    file,
    'gap.histogram',
    '{edges, counts}',
  );
  const h = (gap as { histogram: { edges: unknown[]; counts: unknown[] } }).histogram;
  expectField(h.edges.length === h.counts.length + 1, file, 'gap.histogram', 'one more edge than counts');
  const v = doc.verdict;
  expectField(
    isRecord(v) && typeof v.imbalanced === 'boolean' && typeof v.rule === 'string',
    file,
    'verdict',
    '{imbalanced, dominant, weak, rule, reasons}',
  );
  const d = doc as unknown as DiagnoseDoc;
  return { kind: 'diagnose', dir, label: d.data.name, doc: d, files: [file] };
}
