/** Classification metrics, calibration and the modality-imbalance diagnostics, as functions and as batch-accumulating classes. */
export type { LabelsInput, ScoresInput, PredsInput } from './inputs.js';
export { type Metric, StatefulMetric } from './metric.js';
export { Accuracy } from './accuracy.js';
export { Precision, Recall, F1Score } from './precision_recall_f1.js';
export { ConfusionMatrix, ConfusionMetric } from './confusion_matrix.js';
export { CalibrationError } from './calibration_error.js';
export { MetricCollection } from './collection.js';
export { createMetric, METRIC_NAMES, type MetricName, type MetricOptions } from './registry.js';
export * from './functional/index.js';
