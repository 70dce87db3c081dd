/** Synthesizers: latent Gaussian, SMOTE and OT synthesizers, Sinkhorn/EMD solvers and resampling. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { COVARIANCE_KINDS } from './covariance.js';
export type { CalibrationOptions, CovarianceKind } from './covariance.js';
export { emd } from './emd.js';
export type { EmdOptions, EmdResult } from './emd.js';
export { ClassGaussian } from './gaussian.js';
export type { ClassGaussianOptions, FittedGaussian, GaussianCenter, GaussianProduct } from './gaussian.js';
export type { CostMatrix, DenseMatrix, Histogram } from './ot-input.js';
export { otLoss } from './ot-loss.js';
export type { OtLossOptions } from './ot-loss.js';
export { OtDistributionMatching } from './ot-matching.js';
export type { AcceptanceEntry, MatchingResult, OtMatchingOptions } from './ot-matching.js';
export { checkSynthesizerSpec, synthRegistry } from './registry.js';
export { fitResample } from './resample.js';
export type {
  FeaturesInput,
  FitResampleOptions,
  LabelsInput,
  ResampleClassReport,
  ResampleMethod,
  ResampleReport,
  ResampleResult,
  ResampleTarget,
  SmallClassPolicy,
  SynthesizerSpec,
  UnderSamplerSpec,
} from './resample.js';
export { sinkhorn } from './sinkhorn.js';
export type { SinkhornOptions, SinkhornResult, SinkhornWarning } from './sinkhorn.js';
export { LatentSmote } from './smote.js';
export type { LatentSmoteOptions } from './smote.js';
export { checkTopUpPolicy, topUpRequest } from './top-up.js';
export type { TopUpPolicy } from './top-up.js';
export type { FeatureBatch, LabeledFeatures, SynthesisRequest, Synthesizer } from './types.js';
