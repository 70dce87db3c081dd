/** Metrics: functional and streaming long-tail classification metrics, reports and plots. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export {
  accuracy,
  accuracyFromConfusion,
  balancedAccuracy,
  CalibrationBins,
  confusionMatrix,
  expectedCalibrationError,
  groupAccuracyFromPerClass,
  perClassAccuracy,
  perClassFromConfusion,
  shotGroupAccuracy,
} from './classification.js';
export type { PredictionInputs, ProbabilityInputs, ShotGroupOptions, ShotGroupResult } from './classification.js';
export { ClassificationMetrics, evaluatePredictions, formatReport } from './report.js';
export type { EvaluationReport, FormatReportOptions, MetricsBatch, MetricsOptions } from './report.js';
export { perClassAccuracySvg, writePerClassAccuracySvg } from './svg.js';
export type { PerClassSvgOptions } from './svg.js';
