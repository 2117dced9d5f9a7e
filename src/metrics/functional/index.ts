export { accuracy, accuracyFromCounts, countCorrect, type AccuracyCounts, type AccuracyOptions } from './accuracy.js';
export {
  confusionMatrix,
  support,
  confusionOf,
  addToConfusion,
  emptyConfusion,
  confusionToMatrix,
  classCounts,
  type Confusion,
  type ClassCounts,
  type ConfusionOptions,
} from './confusion_matrix.js';
export {
  precision,
  recall,
  f1Score,
  precisionRecallFscoreSupport,
  scoreFromConfusion,
  perClassScores,
  AVERAGES,
  type Average,
  type AverageOptions,
  type ClassScore,
  type PrecisionRecallFscoreSupport,
} from './precision_recall_f1.js';
export {
  classificationReport,
  reportFromConfusion,
  formatClassificationReport,
  type ClassificationReport,
  type ReportRow,
  type ReportScores,
  type ReportOptions,
} from './classification_report.js';
export {
  calibrationError,
  addToBins,
  emptyBins,
  eceFromBins,
  binIndex,
  type CalibrationBins,
  type CalibrationOptions,
  type ScoreKind,
} from './calibration_error.js';
export { unimodalScores, disparityRatios } from './unimodal_scores.js';
export { unimodalMetrics, type UnimodalResult } from './unimodal_metrics.js';
export { agreementTable, type AgreementTable, type AgreementRow, type AgreementOptions } from './agreement.js';
