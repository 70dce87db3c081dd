export type * from './types.js';
export { crossEntropy, type CrossEntropyOptions } from './functional/crossEntropy.js';
export {
  logitAdjustedCrossEntropy,
  balancedSoftmaxCrossEntropy,
  postHocAdjust,
  type LogitAdjustedOptions,
  type BalancedSoftmaxOptions,
  type PostHocAdjustOptions,
} from './functional/logitAdjusted.js';
export { ldamCrossEntropy, ldamMargins, type LdamOptions, type LdamMarginOptions } from './functional/ldam.js';
export { focalCrossEntropy, type FocalOptions } from './functional/focal.js';
export { balancedContrastive, type BalancedContrastiveOptions, type BalancedContrastiveOutput } from './functional/balancedContrastive.js';
export { parametricContrastive, PACO_PRIOR_EPSILON, type ParametricContrastiveOptions } from './functional/parametricContrastive.js';
export { supervisedContrastive, viewMajorLabels, type SupConOptions, type SupConOutput, type ContrastSet } from './functional/supCon.js';
export {
  neighborSilencingCrossEntropy,
  silencingMask,
  selectNeighborsByPrototype,
  SILENCED_LOGIT,
  type SilencingMask,
  type NeighborSilencingOptions,
  type SilencingMaskOptions,
  type NeighborSelectionOptions,
} from './functional/neighborSilencing.js';
export {
  ladeLowerBounds,
  pcSoftmaxLogits,
  type LadeLowerBoundOptions,
  type PcSoftmaxOptions,
  type PcSoftmaxSource,
} from './functional/lade.js';
export { PRIOR_EPSILON } from './functional/common.js';
export { meanReducer, sumReducer } from './reducers/basic.js';
export { classWeighted, effectiveNumberWeights, type ClassWeightedOptions, type EffectiveNumberOptions } from './reducers/classWeighted.js';
export {
  generalizedReweighting,
  generalizedReweightingWeights,
  type GeneralizedReweightingOptions,
  type GeneralizedReweightingWeightOptions,
} from './reducers/generalizedReweighting.js';
export { defineLoss, type LossDefinition } from './define.js';
export { evaluateLoss } from './evaluate.js';
export * from './classification.js';
export * from './contrastive.js';
export * from './centre-contrastive.js';
export { ladeLoss, type LadeLossOptions } from './lade.js';
export * from './combinators.js';
export { lossRegistry, reducerRegistry, reducerFromConfig } from './registry.js';
export { requireLabels, type ValidateOption } from './validation.js';
