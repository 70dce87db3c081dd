/**
 * `longtail/advanced`: the building blocks for writing components that behave like the library's own
 * (validators with the library's error messages, unknown-option checks, gradients, tensor disposal),
 * distances and k-nearest neighbours, seeded draws, covariance estimators and linear algebra, and the
 * wasm training-kernel fixes. Stable like the root entry, but closer to the implementation. See
 * docs/architecture.md (Public API).
 * @packageDocumentation
 */
export {
  activeWasmFixes,
  registerWasmFixes,
  SUPPORTED_TFJS,
  unregisterWasmFixes,
  WASM_FIXES,
} from './backends/wasm-fixes.js';
export type { WasmFixName } from './backends/wasm-fixes.js';
export { MAX_WASM_THREADS } from './backends/wasm-threads.js';
export { hostPairwiseDistances, kNearest, pairwiseDistances } from './core/neighbors.js';
export type {
  DistanceMetric,
  HostRows,
  KNearestOptions,
  NeighborResult,
  PairwiseDistanceOptions,
} from './core/neighbors.js';
export { sampleBeta, sampleGamma } from './core/rng.js';
export { valueAndGrads } from './core/tensors.js';
export {
  checkAllFinite,
  checkClassCounts,
  checkFinite,
  checkInteger,
  checkLabels,
  checkNonNegative,
  checkOneOf,
  checkPositive,
  checkRange,
  checkRank,
  checkSameSize,
} from './core/validate.js';
export type { RangeOptions } from './core/validate.js';
export { checkLabeledArrays, chunkArrays } from './data/labeled-data.js';
export { requireLabels } from './losses/validation.js';
export type { ValidateOption } from './losses/validation.js';
export {
  calibratedMoments,
  ledoitWolfShrinkage,
  pooledCovariance,
  shrunkCovariance,
  unbiasedCovariance,
} from './synth/covariance.js';
export { choleskyWithRepair } from './synth/linalg.js';
export type { PsdRepair, RepairedFactor, RepairOptions } from './synth/linalg.js';
export { ClassMoments } from './synth/moments.js';
export type { ClassMomentState } from './synth/moments.js';
export { normalizeByMax } from './synth/sinkhorn.js';
