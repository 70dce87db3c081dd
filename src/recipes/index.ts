/** Recipes: complete long-tail methods (decoupled, LTLS, synLt, SAU, granularity) built on the trainer. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export type { RecipeCheckpoint, RecipeStage, RecipeStageOptions } from './common.js';
export { recipeFromConfig } from './config.js';
export type { RecipeKind, RecipeOverrides } from './config.js';
export { decoupled, DEFAULT_TAU_GRID, disalignCalibrate, marcCalibrate } from './decoupled.js';
export type {
  DecoupledMethod,
  DecoupledModel,
  DecoupledOptions,
  DecoupledRun,
  DecoupledStage2Options,
  DisAlignParameters,
  DisAlignVariables,
  GrwOptions,
  MarcParameters,
  MarcVariables,
  TauCandidate,
} from './decoupled.js';
export { extractFeatures } from './features.js';
export type { ExtractFeaturesOptions, FeatureEncoder } from './features.js';
export { FASHION_MNIST_GRANULARITY_SPLIT, granularity, splitByClasses } from './granularity.js';
export type {
  GranularityOptions,
  GranularityRun,
  GranularitySplit,
  NamedClass,
  NeighborSelection,
  PrototypeEncoder,
  SplitArrays,
} from './granularity.js';
export { ltls } from './ltls.js';
export type { LtlsFeatureTransform, LtlsGaussianOptions, LtlsHeadInit, LtlsHeadLoss, LtlsHeadPrior, LtlsOptions, LtlsRun } from './ltls.js';
export { correctSyntheticLabels, NOISY_STRATEGIES, sauContrastive, sauContrastiveLoss } from './sau-contrastive.js';
export type {
  LabelCorrectionInput,
  NeighborMetric,
  NoisyStrategy,
  SauContrastiveLossOptions,
  SauContrastiveOptions,
  SauContrastiveOutput,
  SauContrastiveSettings,
  SauPrototypes,
} from './sau-contrastive.js';
export { sau } from './sau.js';
export type { ImageTransform, LabelCorrectionStats, SauLossWeights, SauMixing, SauOptions, SauRun, SauViews } from './sau.js';
export { synLt } from './synlt.js';
export type { SynLtMatchingOptions, SynLtOptions, SynLtRound, SynLtRun } from './synlt.js';
export type { RecipeRun } from './types.js';
