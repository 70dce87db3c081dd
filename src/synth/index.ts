export type * from './types.js';
export { ClassGaussian } from './gaussian.js';
export type { ClassGaussianOptions, FittedGaussian, GaussianProduct } from './gaussian.js';
export {
  COVARIANCE_KINDS,
  calibratedMoments,
  ledoitWolfShrinkage,
  pooledCovariance,
  shrunkCovariance,
  unbiasedCovariance,
} from './covariance.js';
export type { CalibrationOptions, CovarianceKind } from './covariance.js';
export { ClassMoments, batchMoments, mergeInto } from './moments.js';
export type { ClassMomentState } from './moments.js';
export { cholesky, choleskyWithRepair, eigenFloor } from './linalg.js';
export type { PsdRepair, RepairOptions, RepairedFactor } from './linalg.js';
export { checkTopUpPolicy, topUpRequest } from './top-up.js';
export type { TopUpPolicy } from './top-up.js';
export { sinkhorn, squaredEuclidean, cosine, normalizeByMax } from './sinkhorn.js';
export type { CostMatrix, DenseMatrix, Histogram, SinkhornOptions, SinkhornResult, SinkhornWarning } from './sinkhorn.js';
export { emd } from './emd.js';
export type { EmdOptions, EmdResult } from './emd.js';
export { otLoss, pairwiseCost } from './ot-loss.js';
export type { OtLossOptions } from './ot-loss.js';
export { OtDistributionMatching, seedClassWeights } from './ot-matching.js';
export type { AcceptanceEntry, MatchingResult, OtMatchingOptions } from './ot-matching.js';
export { LatentSmote } from './smote.js';
export type { LatentSmoteOptions } from './smote.js';
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
