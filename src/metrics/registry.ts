import { checkOneOf } from '../engine/errors.js';
import { Accuracy } from './accuracy.js';
import { CalibrationError } from './calibration_error.js';
import { ConfusionMatrix } from './confusion_matrix.js';
import type { AccuracyOptions } from './functional/accuracy.js';
import type { CalibrationOptions } from './functional/calibration_error.js';
import type { ConfusionOptions } from './functional/confusion_matrix.js';
import type { AverageOptions } from './functional/precision_recall_f1.js';
import { F1Score, Precision, Recall } from './precision_recall_f1.js';

type Named<O> = O & { name?: string };

/** Every metric that can be made by name (from a config file, say), with its options. */
const FACTORIES = {
  accuracy: (o: Named<AccuracyOptions> = {}) => new Accuracy(o),
  precision: (o: Named<AverageOptions> = {}) => new Precision(o),
  recall: (o: Named<AverageOptions> = {}) => new Recall(o),
  f1: (o: Named<AverageOptions> = {}) => new F1Score(o),
  confusion_matrix: (o: Named<ConfusionOptions> = {}) => new ConfusionMatrix(o),
  calibration_error: (o: Named<CalibrationOptions> = {}) => new CalibrationError(o),
} as const;

export type MetricName = keyof typeof FACTORIES;
export type MetricOptions<N extends MetricName> = NonNullable<Parameters<(typeof FACTORIES)[N]>[0]>;
export const METRIC_NAMES = Object.keys(FACTORIES) as readonly MetricName[];

/** Makes a metric by name; an unknown name errors and lists the known ones. */
export function createMetric<N extends MetricName>(name: N, options?: MetricOptions<N>): ReturnType<(typeof FACTORIES)[N]> {
  const key = checkOneOf('metric name', name, METRIC_NAMES);
  const make = FACTORIES[key] as (o?: unknown) => ReturnType<(typeof FACTORIES)[N]>;
  return make(options);
}
