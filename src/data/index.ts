/** Data: labeled arrays and tensors, loaders (IDX, CSV, .npy), long-tail subsets, class statistics, preprocessing and augmentation. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { cutmix, cutmixView, mixup, mixupView, randomCrop, randomFlip } from './augment.js';
export type {
  CutMixOptions,
  CutMixResult,
  CutMixViewOptions,
  MixOptions,
  MixResult,
  MixViewOptions,
  RandomCropOptions,
  RandomFlipOptions,
} from './augment.js';
export {
  classFractionHolding,
  ClassStats,
  giniCoefficient,
  resolveShotThresholds,
  SHOT_GROUPS,
  shotGroupOf,
  topClassShare,
} from './class-stats.js';
export type {
  ClassFractionHoldingOptions,
  ClassStatsOptions,
  ShotGroup,
  ShotThresholds,
  TopClassShareOptions,
} from './class-stats.js';
export { loadCsv, parseCsv } from './csv.js';
export type { CsvColumn, CsvData, CsvLabelEncoding, CsvOptions } from './csv.js';
export {
  FASHION_MNIST_CLASSES,
  IDX_MAX_BYTES,
  loadFashionMnist,
  parseIdx,
  readIdxFile,
  readIdxImagesLabels,
  writeIdxFile,
} from './idx.js';
export type { IdxArray, IdxPairPaths, LoadMnistOptions, ParseIdxOptions, ReadIdxOptions } from './idx.js';
export {
  concatData,
  concatRealSynthetic,
  fromArrays,
  gatherBatch,
  selectRows,
  streamBatches,
  trainValidationIndices,
  trainValidationSplit,
  withFlags,
} from './labeled-data.js';
export type {
  FlagOptions,
  FromArraysOptions,
  LabeledArrays,
  RealSyntheticOptions,
  SampleValues,
  SplitIndices,
  StreamBatchesOptions,
  TrainValidationOptions,
  TrainValidationSplit,
} from './labeled-data.js';
export {
  formatLongTailSplit,
  loadLongTailSplit,
  longTailCounts,
  longTailIndices,
  parseLongTailSplit,
} from './long-tail.js';
export type {
  LongTailCountsOptions,
  LongTailIndicesOptions,
  LongTailProfile,
  LongTailSplit,
  ParseSplitOptions,
} from './long-tail.js';
export {
  labeledArraysFromNpy,
  loadFeatureJson,
  parseFeatureJson,
  parseNpy,
  readNpyFeaturesLabels,
  readNpyFile,
} from './npy.js';
export type {
  FeatureJsonOptions,
  NpyArray,
  NpyDtype,
  NpyPairOptions,
  NpyPairPaths,
  NpyValues,
  ParseNpyOptions,
  ReadNpyOptions,
} from './npy.js';
export { featureStats, FeatureStatsAccumulator, standardize, standardizeArrays, tukeyPowerTransform } from './preprocess.js';
export type { FeatureStats, FeatureStatsOptions, TukeyPowerOptions } from './preprocess.js';
export { FASHION_MNIST_LT_SUBSET_DIR, loadFashionMnistLTSubset } from './shipped.js';
export type { FashionMnistLTSubset } from './shipped.js';
export type { LabeledData, ViewBatch, ViewTransform } from './types.js';
