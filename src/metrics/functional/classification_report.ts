import { invalid } from '../../engine/errors.js';
import type { LabelsInput, PredsInput } from '../inputs.js';
import { accuracyFromCounts } from './accuracy.js';
import { classCounts, confusionOf, type Confusion, type ConfusionOptions } from './confusion_matrix.js';
import { perClassScores, scoreFromConfusion } from './precision_recall_f1.js';

export interface ReportScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ReportRow extends ReportScores {
  name: string;
}

/** sklearn's classification_report(output_dict=True), for all numClasses classes. */
export interface ClassificationReport {
  classes: ReportRow[];
  accuracy: number;
  /** Macro average over the classes present in the target or the predictions. */
  macro: ReportScores;
  weighted: ReportScores;
}

export interface ReportOptions extends ConfusionOptions {
  /** One name per class (e.g. IEMOCAP's 'hap', 'sad', ...); default the class index. */
  classNames?: readonly string[];
}

/** The report of a confusion state. */
export function reportFromConfusion(conf: Confusion, classNames?: readonly string[]): ClassificationReport {
  const c = conf.numClasses;
  if (
    classNames !== undefined &&
    (!Array.isArray(classNames) || classNames.length !== c || !classNames.every((s) => typeof s === 'string'))
  ) {
    throw invalid('classNames', `${c} class names (one per class)`, classNames);
  }
  const { tp, support } = classCounts(conf);
  const p = perClassScores('precision', conf);
  const r = perClassScores('recall', conf);
  const f = perClassScores('f1', conf);
  let total = 0;
  let correct = 0;
  for (let k = 0; k < c; k++) {
    total += support[k]!;
    correct += tp[k]!;
  }
  const averaged = (average: 'macro' | 'weighted'): ReportScores => ({
    precision: scoreFromConfusion('precision', conf, average),
    recall: scoreFromConfusion('recall', conf, average),
    f1: scoreFromConfusion('f1', conf, average),
    support: total,
  });
  return {
    classes: Array.from({ length: c }, (_, k) => ({
      name: classNames?.[k] ?? String(k),
      precision: p[k]!,
      recall: r[k]!,
      f1: f[k]!,
      support: support[k]!,
    })),
    accuracy: accuracyFromCounts({ correct, total }),
    macro: averaged('macro'),
    weighted: averaged('weighted'),
  };
}

/** Per-class precision, recall, F1 and support with class names, plus accuracy and the averages. */
export function classificationReport(preds: PredsInput, target: LabelsInput, options: ReportOptions = {}): ClassificationReport {
  return reportFromConfusion(confusionOf(preds, target, options.numClasses), options.classNames);
}

/** The report as sklearn prints it. */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const names = [...report.classes.map((r) => r.name), 'weighted avg'];
  const w = Math.max(...names.map((s) => s.length), digits);
  const num = (v: number): string => v.toFixed(digits).padStart(10);
  const cnt = (v: number): string => String(v).padStart(10);
  const line = (name: string, s: ReportScores): string =>
    `${name.padStart(w)} ${num(s.precision)}${num(s.recall)}${num(s.f1)}${cnt(s.support)}`;
  const head = `${''.padStart(w)} ${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1-score'.padStart(10)}${'support'.padStart(10)}`;
  const rows = report.classes.map((r) => line(r.name, r));
  const acc = `${'accuracy'.padStart(w)} ${''.padStart(20)}${num(report.accuracy)}${cnt(report.weighted.support)}`;
  return [head, '', ...rows, '', acc, line('macro avg', report.macro), line('weighted avg', report.weighted), ''].join('\n');
}
