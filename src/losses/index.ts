/** Losses: per-sample kernels (functional), reducers, `Loss` objects, combinators and the loss registry. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { bclLoss, learnableCentres, pacoLoss } from './centre-contrastive.js';
export type { BclLossOptions, CentresSource, LearnableCentresOptions, PacoLossOptions } from './centre-contrastive.js';
export {
  balancedSoftmaxLoss,
  crossEntropyLoss,
  focalLoss,
  ldamLoss,
  logitAdjustedLoss,
  neighborSilencingLoss,
  viewCrossEntropyLoss,
} from './classification.js';
export type {
  BalancedSoftmaxLossOptions,
  CrossEntropyLossOptions,
  FocalClassWeights,
  FocalLossOptions,
  LdamLossOptions,
  LogitAdjustedLossOptions,
  LossObjectOptions,
  NeighborSilencingLossOptions,
  ViewCrossEntropyLossOptions,
} from './classification.js';
export { sumLosses } from './combinators.js';
export type { LossPart, WeightSchedule, WeightScheduleSpec } from './combinators.js';
export { supConLoss } from './contrastive.js';
export type { ContrastiveFeatures, NoPositivePolicy, SupConLossOptions, SupConMode } from './contrastive.js';
export { defineLoss } from './define.js';
export type { LossDefinition } from './define.js';
export { evaluateLoss } from './evaluate.js';
export { balancedContrastive } from './functional/balancedContrastive.js';
export type { BalancedContrastiveOptions, BalancedContrastiveOutput } from './functional/balancedContrastive.js';
export { PRIOR_EPSILON } from './functional/common.js';
export { crossEntropy } from './functional/crossEntropy.js';
export type { CrossEntropyOptions } from './functional/crossEntropy.js';
export { focalCrossEntropy } from './functional/focal.js';
export type { FocalOptions } from './functional/focal.js';
export { ladeLowerBounds, pcSoftmaxLogits } from './functional/lade.js';
export type { LadeLowerBoundOptions, PcSoftmaxOptions, PcSoftmaxSource } from './functional/lade.js';
export { ldamCrossEntropy, ldamMargins } from './functional/ldam.js';
export type { LdamMarginOptions, LdamOptions } from './functional/ldam.js';
export { balancedSoftmaxCrossEntropy, logitAdjustedCrossEntropy, postHocAdjust } from './functional/logitAdjusted.js';
export type { BalancedSoftmaxOptions, LogitAdjustedOptions, PostHocAdjustOptions } from './functional/logitAdjusted.js';
export {
  neighborSilencingCrossEntropy,
  selectNeighborsByPrototype,
  SILENCED_LOGIT,
  silencingMask,
} from './functional/neighborSilencing.js';
export type {
  NeighborSelectionOptions,
  NeighborSilencingOptions,
  SilencingMask,
  SilencingMaskOptions,
} from './functional/neighborSilencing.js';
export { PACO_PRIOR_EPSILON, parametricContrastive } from './functional/parametricContrastive.js';
export type { ParametricContrastiveOptions } from './functional/parametricContrastive.js';
export { supervisedContrastive, viewMajorLabels } from './functional/supCon.js';
export type { ContrastSet, SupConOptions, SupConOutput } from './functional/supCon.js';
export { ladeLoss } from './lade.js';
export type { LadeLossOptions } from './lade.js';
export { meanReducer, sumReducer } from './reducers/basic.js';
export { classWeighted, effectiveNumberWeights } from './reducers/classWeighted.js';
export type { ClassWeightedOptions, EffectiveNumberOptions } from './reducers/classWeighted.js';
export { generalizedReweighting, generalizedReweightingWeights } from './reducers/generalizedReweighting.js';
export type {
  GeneralizedReweightingOptions,
  GeneralizedReweightingWeightOptions,
} from './reducers/generalizedReweighting.js';
export { lossRegistry, reducerFromConfig, reducerRegistry } from './registry.js';
export type {
  Loss,
  LossContext,
  LossEvaluation,
  LossInputs,
  LossState,
  LossStateContext,
  LossStateEncodeOptions,
  LossStateSnapshot,
  LossTerm,
  LossTerms,
  ReduceContext,
  Reducer,
  ReducibleTerm,
  ViewForward,
} from './types.js';
