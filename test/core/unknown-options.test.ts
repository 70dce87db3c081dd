/**
 * Sweep: every runtime function or class exported by `longtail`, `longtail/advanced` and `longtail/testing` is classified
 * here. An export that takes an options object is called with a real near-miss typo of one of its keys
 * and must throw `UNKNOWN_OPTION` naming the key and suggesting the right one, before any tensor is made.
 * A new export fails the sweep until it is classified.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import * as adv from '../../src/advanced.js';
import * as lt from '../../src/index.js';
import * as testing from '../../src/testing/index.js';

/** Tiny inputs shared by the calls (made once, disposed after the sweep). */
interface Fixtures {
  logits: tf.Tensor2D;
  labels: tf.Tensor1D;
  images: tf.Tensor4D;
  projections: tf.Tensor3D;
  features: tf.Tensor2D;
}

interface Typo {
  /** The misspelled key the call passes. */
  readonly key: string;
  /** The key the error must suggest. */
  readonly suggest: string;
  readonly call: (f: Fixtures) => unknown;
}

type Entry = { readonly typo: Typo } | { readonly noOptions: string } | { readonly pending: string };

const rng = seededRng(0);
const counts = [4, 2, 1];
const report = (): lt.EvaluationReport => lt.evaluatePredictions({ numClasses: 2, labels: [0, 1], predictions: [0, 1], trainCounts: [5, 1] });
const ce = (): lt.Loss<'logits'> => lt.crossEntropyLoss();
const anyOptions = <T>(o: Record<string, unknown> | null): T => o as T;

const POSITIONAL = 'positional scalar / array / tensor arguments only';
const VALUE = 'its object argument is a value (data, state or a component), not options';

/** Every export, classified. `pending`: defined in a file owned elsewhere right now (lead fills these in). */
const TABLE: Readonly<Record<string, Entry>> = {

  // added after the sweep was written
  valueAndGrads: { noOptions: 'a function and a variable list' },
  evaluateLoss: { noOptions: 'a loss and its inputs (values)' },
  requireLabels: { noOptions: POSITIONAL },
  encodeCheckpoint: { noOptions: 'takes a TrainerState (a value, validated whole)' },
  decodeCheckpoint: { noOptions: 'takes bytes' },
  backboneFromConfig: { noOptions: 'takes a { kind, config } spec (its config is checked by the factory)' },
  headFromConfig: { noOptions: 'takes a { kind, config } spec (its config is checked by the factory)' },
  modelFromConfig: {
    typo: {
      key: 'hiddenSize',
      suggest: 'hiddenSizes',
      call: () => lt.modelFromConfig({ kind: 'classifier', config: { backbone: { kind: 'mlp', config: { inputDim: 2, hiddenSize: [2] } }, head: { kind: 'linear', config: { inputDim: 2, numClasses: 2 } } } }),
    },
  },
  exportModel: { noOptions: 'takes a model' },
  importModel: { noOptions: 'takes an artifact (a value)' },
  saveModel: { noOptions: 'takes a model and a path' },
  loadModel: { noOptions: 'takes a path' },
  toLayersModel: { noOptions: 'takes a model' },
  emd: { typo: { key: 'maxIteration', suggest: 'maxIterations', call: () => lt.emd([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]], anyOptions({ maxIteration: 5 })) } },
  fitResample: { typo: { key: 'smallClas', suggest: 'smallClass', call: () => lt.fitResample([[0], [1]], [0, 1], anyOptions({ method: { kind: 'randomUnder' }, smallClas: 'skip' })) } },
  selectRows: { noOptions: 'data and row indices' },
  trainValidationIndices: { typo: { key: 'validationFractoin', suggest: 'validationFraction', call: () => lt.trainValidationIndices([0, 1], anyOptions({ validationFractoin: 0.5 })) } },
  trainValidationSplit: { typo: { key: 'stratfy', suggest: 'stratify', call: (f) => lt.trainValidationSplit({ x: f.features, y: Int32Array.from([0, 1]) }, anyOptions({ validationFraction: 0.5, stratfy: true })) } },
  kNearest: { typo: { key: 'kk', suggest: 'k', call: () => adv.kNearest({ values: new Float64Array(4), rows: 2, cols: 2 } as never, anyOptions({ k: 1, kk: 1 })) } },
  hostPairwiseDistances: {
    typo: {
      key: 'metrc',
      suggest: 'metric',
      call: () => adv.hostPairwiseDistances({ values: new Float64Array(2), rows: 1, cols: 2 }, { values: new Float64Array(2), rows: 1, cols: 2 }, anyOptions({ metrc: 'cosine' })),
    },
  },
  pairwiseDistances: { typo: { key: 'metrc', suggest: 'metric', call: (f) => adv.pairwiseDistances(f.features, f.features, anyOptions({ metrc: 'cosine' })) } },
  progressLogger: { typo: { key: 'lable', suggest: 'label', call: () => lt.progressLogger(anyOptions({ mode: 'none', lable: 'x' })) } },
  fingerprintData: { noOptions: VALUE },
  trainerFromConfig: { typo: { key: 'modle', suggest: 'model', call: () => lt.trainerFromConfig(anyOptions({}), anyOptions({ modle: null })) } },
  replayManifest: {
    typo: { key: 'modle', suggest: 'model', call: () => lt.replayManifest(anyOptions({ format: 'longtail-run-manifest', version: 1, notReplayable: [] }), anyOptions({ modle: null, data: null })) },
  },
  // core
  checkOptions: { typo: { key: 'gama', suggest: 'gamma', call: () => lt.checkOptions('focalLoss options', anyOptions({ gama: 0 }), { gamma: true }) } },
  checkInteger: { typo: { key: 'mni', suggest: 'min', call: () => adv.checkInteger('n', 1, anyOptions({ mni: 0 })) } },
  checkRange: { typo: { key: 'maxExclusiv', suggest: 'maxExclusive', call: () => adv.checkRange('x', 0.5, anyOptions({ min: 0, maxExclusiv: true })) } },
  checkAllFinite: { noOptions: POSITIONAL },
  checkClassCounts: { noOptions: POSITIONAL },
  checkFinite: { noOptions: POSITIONAL },
  checkLabels: { noOptions: POSITIONAL },
  checkNonNegative: { noOptions: POSITIONAL },
  checkOneOf: { noOptions: POSITIONAL },
  checkPositive: { noOptions: POSITIONAL },
  checkRank: { noOptions: POSITIONAL },
  checkSameSize: { noOptions: POSITIONAL },
  disposeAll: { noOptions: VALUE },
  seededRng: { noOptions: POSITIONAL },
  restoreRng: { noOptions: 'takes an RngState (a value)' },
  permutation: { noOptions: POSITIONAL },
  sampleGamma: { noOptions: POSITIONAL },
  sampleBeta: { noOptions: POSITIONAL },
  toConfig: { noOptions: VALUE },
  Registry: { noOptions: POSITIONAL },
  LongTailError: { noOptions: 'code, message and a details record (not options)' },
  isLongTailError: { noOptions: POSITIONAL },

  // backends (src/backends/* is owned elsewhere)
  useBackend: { typo: { key: 'thread', suggest: 'threads', call: () => lt.useBackend(anyOptions({ name: 'wasm', thread: 1 })) } },
  capabilities: { noOptions: 'no arguments' },
  activeWasmFixes: { noOptions: 'no arguments' },
  registerWasmFixes: { noOptions: 'no arguments' },
  unregisterWasmFixes: { noOptions: 'no arguments' },

  // data
  ClassStats: { typo: { key: 'numClases', suggest: 'numClasses', call: () => lt.ClassStats.fromLabels([0, 1], anyOptions({ numClases: 2 })) } },
  giniCoefficient: { noOptions: POSITIONAL },
  topClassShare: { typo: { key: 'classFracton', suggest: 'classFraction', call: () => lt.topClassShare([3, 1], anyOptions({ classFracton: 0.5 })) } },
  classFractionHolding: { typo: { key: 'sampleShares', suggest: 'sampleShare', call: () => lt.classFractionHolding([3, 1], anyOptions({ sampleShares: 0.5 })) } },
  resolveShotThresholds: { typo: { key: 'manyAbov', suggest: 'manyAbove', call: () => lt.resolveShotThresholds(anyOptions({ manyAbov: 10 })) } },
  shotGroupOf: { noOptions: 'takes the resolved thresholds returned by resolveShotThresholds (a value)' },
  longTailCounts: {
    typo: {
      key: 'imbalanceFacter',
      suggest: 'imbalanceFactor',
      call: () => lt.longTailCounts(anyOptions({ profile: 'exponential', numClasses: 3, maxCount: 10, imbalanceFacter: 10 })),
    },
  },
  longTailIndices: { typo: { key: 'rgn', suggest: 'rng', call: () => lt.longTailIndices([0, 1], anyOptions({ counts: [1, 1], rgn: rng })) } },
  parseLongTailSplit: { noOptions: 'parses a JSON document (its own format is validated)' },
  formatLongTailSplit: { noOptions: VALUE },
  loadLongTailSplit: { noOptions: 'takes a path' },
  randomCrop: { typo: { key: 'paddng', suggest: 'padding', call: (f) => lt.randomCrop(f.images, anyOptions({ paddng: 1, rng })) } },
  randomFlip: { typo: { key: 'probabilty', suggest: 'probability', call: (f) => lt.randomFlip(f.images, anyOptions({ rng, probabilty: 0.5 })) } },
  mixup: { typo: { key: 'alpah', suggest: 'alpha', call: (f) => lt.mixup(f.images, Int32Array.from([0, 1]), anyOptions({ numClasses: 2, rng, alpah: 1 })) } },
  cutmix: {
    typo: { key: 'adjustLamda', suggest: 'adjustLambda', call: (f) => lt.cutmix(f.images, Int32Array.from([0, 1]), anyOptions({ numClasses: 2, rng, adjustLamda: false })) },
  },
  parseCsv: { typo: { key: 'labelColum', suggest: 'labelColumn', call: () => lt.parseCsv('a,b\n1,0\n', anyOptions({ labelColum: 'b' })) } },
  loadCsv: { typo: { key: 'delimter', suggest: 'delimiter', call: () => lt.loadCsv('/nonexistent.csv', anyOptions({ labelColumn: 'b', delimter: ';' })) } },
  parseIdx: { typo: { key: 'expectedRnak', suggest: 'expectedRank', call: () => lt.parseIdx(new Uint8Array(8), anyOptions({ expectedRnak: 1 })) } },
  readIdxFile: { typo: { key: 'maxByte', suggest: 'maxBytes', call: () => lt.readIdxFile('/nonexistent.idx', anyOptions({ expectedRank: 1, maxByte: 10 })) } },
  writeIdxFile: { noOptions: 'takes a path and an IdxArray (a value, validated as the reader does)' },
  readIdxImagesLabels: { typo: { key: 'label', suggest: 'labels', call: () => lt.readIdxImagesLabels(anyOptions({ images: '/x', label: '/y' })) } },
  loadFashionMnist: { typo: { key: 'splt', suggest: 'split', call: () => lt.loadFashionMnist(anyOptions({ splt: 'train' })) } },
  parseNpy: { typo: { key: 'allowNonFinit', suggest: 'allowNonFinite', call: () => lt.parseNpy(new Uint8Array(8), anyOptions({ allowNonFinit: true })) } },
  readNpyFile: { typo: { key: 'allowNonfinite', suggest: 'allowNonFinite', call: () => lt.readNpyFile('/nonexistent.npy', anyOptions({ allowNonfinite: true })) } },
  labeledArraysFromNpy: { typo: { key: 'sorce', suggest: 'source', call: () => lt.labeledArraysFromNpy(anyOptions({ shape: [1, 1], data: new Float32Array(1), dtype: 'float32' }), anyOptions({ shape: [1], data: new Int32Array(1), dtype: 'int32' }), anyOptions({ sorce: 'x' })) } },
  readNpyFeaturesLabels: { typo: { key: 'feature', suggest: 'features', call: () => lt.readNpyFeaturesLabels(anyOptions({ feature: '/x', labels: '/y' })) } },
  parseFeatureJson: { typo: { key: 'sourc', suggest: 'source', call: () => lt.parseFeatureJson('{}', anyOptions({ sourc: 'x' })) } },
  loadFeatureJson: { noOptions: 'takes a path' },
  FeatureStatsAccumulator: { typo: { key: 'epsilo', suggest: 'epsilon', call: () => new lt.FeatureStatsAccumulator(2, anyOptions({ epsilo: 1e-6 })) } },
  featureStats: { typo: { key: 'scal', suggest: 'scale', call: () => lt.featureStats({ x: new Float32Array(2), y: Int32Array.from([0, 1]), sampleShape: [1] }, anyOptions({ scal: 1 })) } },
  standardize: { noOptions: 'takes values and a FeatureStats value' },
  tukeyPowerTransform: { typo: { key: 'lamda', suggest: 'lambda', call: () => lt.tukeyPowerTransform([1], anyOptions({ lamda: 0.5 })) } },
  standardizeArrays: { noOptions: 'takes data and a FeatureStats value' },
  loadFashionMnistLTSubset: { typo: { key: 'dirr', suggest: 'dir', call: () => lt.loadFashionMnistLTSubset(anyOptions({ dirr: '/x' })) } },
  checkLabeledArrays: { noOptions: VALUE },
  fromArrays: { typo: { key: 'sacle', suggest: 'scale', call: () => lt.fromArrays({ x: new Float32Array(2), y: Int32Array.from([0, 1]), sampleShape: [1] }, anyOptions({ sacle: 1 })) } },
  withFlags: { typo: { key: 'synthetc', suggest: 'synthetic', call: (f) => lt.withFlags({ x: f.features, y: Int32Array.from([0, 1]) }, anyOptions({ synthetc: true })) } },
  gatherBatch: { noOptions: POSITIONAL },
  concatData: { noOptions: VALUE },
  concatRealSynthetic: { typo: { key: 'synthetc', suggest: 'synthetic', call: (f) => lt.concatRealSynthetic(anyOptions({ real: { x: f.features, y: Int32Array.from([0, 1]) }, synthetc: { x: f.features, y: Int32Array.from([0, 1]) } })) } },
  streamBatches: { typo: { key: 'batchSise', suggest: 'batchSize', call: async () => { for await (const b of lt.streamBatches([{ x: new Float32Array(2), y: Int32Array.from([0, 1]), sampleShape: [1] }], anyOptions({ batchSise: 2 }))) b.x.dispose(); } } },
  chunkArrays: { typo: { key: 'chunkSise', suggest: 'chunkSize', call: () => [...adv.chunkArrays({ x: new Float32Array(2), y: Int32Array.from([0, 1]), sampleShape: [1] }, anyOptions({ chunkSise: 1 }))] } },

  // samplers
  instanceSampler: { typo: { key: 'numSample', suggest: 'numSamples', call: () => lt.instanceSampler(anyOptions({ numSample: 10 })) } },
  classBalancedSampler: { typo: { key: 'numSample', suggest: 'numSamples', call: () => lt.classBalancedSampler(anyOptions({ numSample: 10 })) } },
  progressiveSampler: { typo: { key: 'numSample', suggest: 'numSamples', call: () => lt.progressiveSampler(anyOptions({ numSample: 10 })) } },
  powerSampler: { typo: { key: 'Q', suggest: 'q', call: () => lt.powerSampler(anyOptions({ Q: 0.3 })) } },
  squareRootSampler: { typo: { key: 'numSampels', suggest: 'numSamples', call: () => lt.squareRootSampler(anyOptions({ numSampels: 10 })) } },
  mPerClassSampler: { typo: { key: 'numSample', suggest: 'numSamples', call: () => lt.mPerClassSampler(anyOptions({ m: 2, numSample: 4 })) } },
  checkSamplerSpec: { typo: { key: 'numSample', suggest: 'numSamples', call: () => lt.checkSamplerSpec(anyOptions({ kind: 'classBalanced', numSample: 10 })) } },
  samplerFromConfig: { typo: { key: 'numSample', suggest: 'numSamples', call: () => lt.samplerFromConfig(anyOptions({ kind: 'classBalanced', numSample: 10 })) } },
  classSamplingProbabilities: { typo: { key: 'Q', suggest: 'q', call: () => lt.classSamplingProbabilities([1, 2], anyOptions({ Q: 1 })) } },
  progressiveProbabilities: {
    typo: { key: 'totalEpoch', suggest: 'totalEpochs', call: () => lt.progressiveProbabilities([1, 2], anyOptions({ epoch: 0, totalEpoch: 2 })) },
  },
  samplerReport: { typo: { key: 'epoch', suggest: 'epochs', call: () => lt.samplerReport(lt.classBalancedSampler(), [0, 1], anyOptions({ batchSize: 2, seed: 0, epoch: 1 })) } },
  pearsonChiSquare: { typo: { key: 'observd', suggest: 'observed', call: () => lt.pearsonChiSquare(anyOptions({ observd: [1], expected: [1] })) } },

  // metrics
  confusionMatrix: { typo: { key: 'numClass', suggest: 'numClasses', call: () => lt.confusionMatrix(anyOptions({ predictions: [0], labels: [0], numClass: 2 })) } },
  accuracy: { typo: { key: 'prediction', suggest: 'predictions', call: () => lt.accuracy(anyOptions({ prediction: [0], labels: [0], numClasses: 2 })) } },
  perClassAccuracy: { typo: { key: 'label', suggest: 'labels', call: () => lt.perClassAccuracy(anyOptions({ predictions: [0], label: [0], numClasses: 2 })) } },
  balancedAccuracy: { typo: { key: 'numClass', suggest: 'numClasses', call: () => lt.balancedAccuracy(anyOptions({ predictions: [0], labels: [0], numClass: 2 })) } },
  shotGroupAccuracy: {
    typo: {
      key: 'manyAbov',
      suggest: 'manyAbove',
      call: () => lt.shotGroupAccuracy(anyOptions({ predictions: [0, 1], labels: [0, 1], numClasses: 2, trainCounts: [5, 1], manyAbov: 3 })),
    },
  },
  groupAccuracyFromPerClass: {
    typo: { key: 'fewBelo', suggest: 'fewBelow', call: () => lt.groupAccuracyFromPerClass([1, 0], anyOptions({ trainCounts: [5, 1], fewBelo: 2 })) },
  },
  expectedCalibrationError: {
    typo: { key: 'bin', suggest: 'bins', call: () => lt.expectedCalibrationError(anyOptions({ probabilities: [0.5, 0.5], labels: [0], numClasses: 2, bin: 5 })) },
  },
  ClassificationMetrics: { typo: { key: 'bin', suggest: 'bins', call: () => new lt.ClassificationMetrics(anyOptions({ numClasses: 2, bin: 5 })) } },
  evaluatePredictions: {
    typo: { key: 'trainCount', suggest: 'trainCounts', call: () => lt.evaluatePredictions(anyOptions({ numClasses: 2, labels: [0], predictions: [0], trainCount: [1, 1] })) },
  },
  formatReport: { typo: { key: 'titel', suggest: 'title', call: () => lt.formatReport(report(), anyOptions({ titel: 'x' })) } },
  perClassAccuracySvg: { typo: { key: 'widht', suggest: 'width', call: () => lt.perClassAccuracySvg(report(), anyOptions({ widht: 100 })) } },
  writePerClassAccuracySvg: {
    typo: { key: 'widht', suggest: 'width', call: () => lt.writePerClassAccuracySvg('/nonexistent/never-written.svg', report(), anyOptions({ widht: 100 })) },
  },
  accuracyFromConfusion: { noOptions: POSITIONAL },
  perClassFromConfusion: { noOptions: POSITIONAL },
  CalibrationBins: { noOptions: POSITIONAL },

  // losses: kernels
  crossEntropy: { typo: { key: 'labelSmothing', suggest: 'labelSmoothing', call: (f) => lt.crossEntropy(f.logits, f.labels, anyOptions({ labelSmothing: 0.1 })) } },
  logitAdjustedCrossEntropy: {
    typo: { key: 'tua', suggest: 'tau', call: (f) => lt.logitAdjustedCrossEntropy(f.logits, f.labels, anyOptions({ classCounts: counts, tua: 1 })) },
  },
  balancedSoftmaxCrossEntropy: {
    typo: { key: 'labelSmothing', suggest: 'labelSmoothing', call: (f) => lt.balancedSoftmaxCrossEntropy(f.logits, f.labels, anyOptions({ classCounts: counts, labelSmothing: 0.1 })) },
  },
  postHocAdjust: { typo: { key: 'tua', suggest: 'tau', call: (f) => lt.postHocAdjust(f.logits, anyOptions({ classCounts: counts, tua: 1 })) } },
  ldamMargins: { typo: { key: 'maxMargn', suggest: 'maxMargin', call: () => lt.ldamMargins(counts, anyOptions({ maxMargn: 0.5 })) } },
  ldamCrossEntropy: { typo: { key: 'scal', suggest: 'scale', call: (f) => lt.ldamCrossEntropy(f.logits, f.labels, anyOptions({ classCounts: counts, scal: 30 })) } },
  focalCrossEntropy: { typo: { key: 'gama', suggest: 'gamma', call: (f) => lt.focalCrossEntropy(f.logits, f.labels, anyOptions({ gama: 1 })) } },
  supervisedContrastive: { typo: { key: 'temprature', suggest: 'temperature', call: (f) => lt.supervisedContrastive(f.projections, anyOptions({ temprature: 0.1 })) } },
  balancedContrastive: {
    typo: { key: 'classAveragin', suggest: 'classAveraging', call: (f) => lt.balancedContrastive(f.projections, anyOptions({ labels: f.labels, classAveragin: false })) },
  },
  parametricContrastive: { typo: { key: 'alhpa', suggest: 'alpha', call: (f) => lt.parametricContrastive(f.projections, anyOptions({ labels: f.labels, logits: f.logits, alhpa: 1 })) } },
  neighborSilencingCrossEntropy: {
    typo: { key: 'tua', suggest: 'tau', call: (f) => lt.neighborSilencingCrossEntropy(f.logits, f.labels, anyOptions({ classCounts: counts, mask: [], tua: 1 })) },
  },
  silencingMask: {
    typo: {
      key: 'auxiliaryIgnoresAuxilary',
      suggest: 'auxiliaryIgnoresAuxiliary',
      call: () => lt.silencingMask(anyOptions({ numClasses: 3, neighbors: [[2]], auxiliaryIgnoresAuxilary: true })),
    },
  },
  selectNeighborsByPrototype: {
    typo: { key: 'kmax', suggest: 'kMax', call: () => lt.selectNeighborsByPrototype([[1, 0], [0, 1], [1, 1]], anyOptions({ numTargets: 2, classCounts: [1, 1], kmax: 2 })) },
  },
  viewMajorLabels: { noOptions: POSITIONAL },
  ladeLowerBounds: {
    typo: { key: 'remineLamda', suggest: 'remineLambda', call: (f) => lt.ladeLowerBounds(f.logits, f.labels, anyOptions({ classCounts: counts, remineLamda: 0.1 })) },
  },
  pcSoftmaxLogits: { typo: { key: 'targetCount', suggest: 'targetCounts', call: (f) => lt.pcSoftmaxLogits(f.logits, anyOptions({ source: 'lade', targetCount: counts })) } },
  // losses: reducers, objects, combinators
  meanReducer: { noOptions: 'no arguments' },
  sumReducer: { noOptions: 'no arguments' },
  classWeighted: { typo: { key: 'betta', suggest: 'beta', call: () => lt.classWeighted(anyOptions({ betta: 0.9 })) } },
  effectiveNumberWeights: { typo: { key: 'betta', suggest: 'beta', call: () => lt.effectiveNumberWeights(counts, anyOptions({ betta: 0.9 })) } },
  generalizedReweighting: { typo: { key: 'rh', suggest: 'rho', call: () => lt.generalizedReweighting(anyOptions({ rh: 1 })) } },
  generalizedReweightingWeights: { typo: { key: 'roh', suggest: 'rho', call: () => lt.generalizedReweightingWeights(counts, anyOptions({ roh: 1 })) } },
  ladeLoss: { typo: { key: 'alpah', suggest: 'alpha', call: () => lt.ladeLoss(anyOptions({ alpah: 0.1 })) } },
  defineLoss: { typo: { key: 'require', suggest: 'requires', call: () => lt.defineLoss(anyOptions<lt.LossDefinition<'logits'>>({ kind: 'x', config: {}, require: ['logits'], terms: () => ({}) })) } },
  crossEntropyLoss: { typo: { key: 'labelSmothing', suggest: 'labelSmoothing', call: () => lt.crossEntropyLoss(anyOptions({ labelSmothing: 0.1 })) } },
  logitAdjustedLoss: { typo: { key: 'tua', suggest: 'tau', call: () => lt.logitAdjustedLoss(anyOptions({ tua: 1 })) } },
  balancedSoftmaxLoss: { typo: { key: 'classCount', suggest: 'classCounts', call: () => lt.balancedSoftmaxLoss(anyOptions({ classCount: counts })) } },
  ldamLoss: { typo: { key: 'maxMargn', suggest: 'maxMargin', call: () => lt.ldamLoss(anyOptions({ maxMargn: 0.5 })) } },
  focalLoss: { typo: { key: 'gama', suggest: 'gamma', call: () => lt.focalLoss(anyOptions({ gama: 0 })) } },
  neighborSilencingLoss: { typo: { key: 'tua', suggest: 'tau', call: () => lt.neighborSilencingLoss(anyOptions({ mask: [[true]], tua: 1 })) } },
  supConLoss: { typo: { key: 'temprature', suggest: 'temperature', call: () => lt.supConLoss(anyOptions<lt.SupConLossOptions>({ temprature: 0.5 })) } },
  bclLoss: { typo: { key: 'center', suggest: 'centres', call: () => lt.bclLoss(anyOptions<lt.BclLossOptions>({ center: null })) } },
  pacoLoss: { typo: { key: 'logitAdjust', suggest: 'logitAdjusted', call: () => lt.pacoLoss(anyOptions<lt.PacoLossOptions>({ logitAdjust: true })) } },
  learnableCentres: { typo: { key: 'numClass', suggest: 'numClasses', call: () => lt.learnableCentres(anyOptions({ numClass: 3, dim: 2, rng })) } },
  sumLosses: { typo: { key: 'wieght', suggest: 'weight', call: () => lt.sumLosses([anyOptions<lt.LossPart<'logits'>>({ loss: ce(), wieght: 2 })]) } },
  checkScheduleSpec: {
    typo: { key: 'afer', suggest: 'after', call: () => lt.checkScheduleSpec(anyOptions({ kind: 'switch', epoch: 1, before: 0, afer: 1 })) },
  },
  schedule: {
    typo: { key: 'afer', suggest: 'after', call: () => lt.schedule(anyOptions({ kind: 'switch', epoch: 1, before: 0, afer: 1 })) },
  },
  reducerFromConfig: {
    typo: { key: 'betta', suggest: 'beta', call: () => lt.reducerFromConfig({ reducer: { kind: 'classWeighted', config: { betta: 0.9 } } }) },
  },

  // synth
  ClassGaussian: { typo: { key: 'shrinkge', suggest: 'shrinkage', call: () => new lt.ClassGaussian(anyOptions({ numClasses: 2, shrinkge: 0.1 })) } },
  ClassMoments: { noOptions: POSITIONAL },
  calibratedMoments: {
    typo: {
      key: 'calibratMean',
      suggest: 'calibrateMean',
      call: () => adv.calibratedMoments(0, [], [], 1, anyOptions({ k: 1, alpha: 0, alphaOn: 'all', calibratMean: true })),
    },
  },
  ledoitWolfShrinkage: { noOptions: POSITIONAL },
  shrunkCovariance: { noOptions: POSITIONAL },
  unbiasedCovariance: { noOptions: POSITIONAL },
  pooledCovariance: { noOptions: POSITIONAL },
  choleskyWithRepair: { typo: { key: 'methd', suggest: 'method', call: () => adv.choleskyWithRepair(new Float64Array([1]), 1, anyOptions({ methd: 'jitter' })) } },
  topUpRequest: { typo: { key: 'cout', suggest: 'count', call: () => lt.topUpRequest([1, 2], anyOptions({ kind: 'toCount', cout: 3 })) } },
  checkTopUpPolicy: { typo: { key: 'cout', suggest: 'count', call: () => lt.checkTopUpPolicy(anyOptions({ kind: 'toCount', cout: 3 })) } },
  checkSynthesizerSpec: { typo: { key: 'numClases', suggest: 'numClasses', call: () => lt.checkSynthesizerSpec(anyOptions({ kind: 'latentSmote', config: { numClases: 2 } })) } },
  otLoss: { typo: { key: 'epsilom', suggest: 'epsilon', call: (f) => lt.otLoss(f.features, f.features, anyOptions({ epsilom: 0.1 })) } },
  sinkhorn: { typo: { key: 'epsilom', suggest: 'epsilon', call: () => lt.sinkhorn([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]], anyOptions({ epsilom: 0.1 })) } },
  normalizeByMax: { noOptions: POSITIONAL },
  OtDistributionMatching: { typo: { key: 'numClases', suggest: 'numClasses', call: () => new lt.OtDistributionMatching(anyOptions({ numClases: 2 })) } },
  LatentSmote: { typo: { key: 'numClases', suggest: 'numClasses', call: () => new lt.LatentSmote(anyOptions({ numClases: 2 })) } },

  // models
  classifier: { typo: { key: 'haed', suggest: 'head', call: () => lt.classifier(anyOptions({ backbone: null, haed: null })) } },
  dualBranch: { typo: { key: 'projectonDim', suggest: 'projectionDim', call: () => lt.dualBranch(anyOptions({ backbone: null, numClasses: 2, projectonDim: 8 })) } },
  linearHead: { typo: { key: 'bais', suggest: 'bias', call: () => lt.linearHead(anyOptions({ inputDim: 2, numClasses: 2, rng, bais: true })) } },
  cosineHead: { typo: { key: 'scal', suggest: 'scale', call: () => lt.cosineHead(anyOptions({ inputDim: 2, numClasses: 2, rng, scal: 16 })) } },
  auxiliaryHead: { typo: { key: 'numAuxiliaryClases', suggest: 'numAuxiliaryClasses', call: () => lt.auxiliaryHead(anyOptions({ head: null, numAuxiliaryClases: 2 })) } },
  identityBackbone: { typo: { key: 'inputDims', suggest: 'inputDim', call: () => lt.identityBackbone(anyOptions({ inputDims: 2 })) } },
  mlpBackbone: { typo: { key: 'dropuot', suggest: 'dropout', call: () => lt.mlpBackbone(anyOptions({ inputDim: 2, hiddenSizes: [2], rng, dropuot: 0.1 })) } },
  cnnBackbone: { typo: { key: 'kernelSzie', suggest: 'kernelSize', call: () => lt.cnnBackbone(anyOptions({ inputShape: [4, 4, 1], channels: [2], rng, kernelSzie: 3 })) } },
  layersModelBackbone: { typo: { key: 'owend', suggest: 'owned', call: () => lt.layersModelBackbone(anyOptions({ model: null, owend: true })) } },
  onnxEncoder: { typo: { key: 'poolng', suggest: 'pooling', call: () => lt.onnxEncoder(anyOptions({ model: 'tiny.onnx', poolng: 'cls' })) } },
  functionBackbone: { typo: { key: 'inputShap', suggest: 'inputShape', call: () => lt.functionBackbone(anyOptions({ fn: null, outputDim: 2, inputShap: [2] })) } },

  // train
  optimizerFromConfig: { typo: { key: 'weightDecy', suggest: 'weightDecay', call: () => lt.optimizerFromConfig(anyOptions({ kind: 'adam', learningRate: 0.1, weightDecy: 0 })) } },
  checkOptimizerSpec: { typo: { key: 'weightDecy', suggest: 'weightDecay', call: () => lt.checkOptimizerSpec(anyOptions({ kind: 'adam', learningRate: 0.1, weightDecy: 0 })) } },
  lrSchedule: { typo: { key: 'minLearnigRate', suggest: 'minLearningRate', call: () => lt.lrSchedule(anyOptions({ kind: 'cosine', minLearnigRate: 0 }), 0.1) } },
  checkLrScheduleSpec: { typo: { key: 'minLearnigRate', suggest: 'minLearningRate', call: () => lt.checkLrScheduleSpec(anyOptions({ kind: 'cosine', minLearnigRate: 0 }), 0.1) } },
  trainer: { typo: { key: 'epoch', suggest: 'epochs', call: () => lt.trainer(anyOptions({ model: null, loss: ce(), seed: 0, epoch: 1, batchSize: 2 })) } },
  earlyStopping: { typo: { key: 'patiance', suggest: 'patience', call: () => lt.earlyStopping(anyOptions({ monitor: 'loss', mode: 'min', patiance: 2 })) } },
  progressBar: { typo: { key: 'widht', suggest: 'width', call: () => lt.progressBar(anyOptions({ widht: 10 })) } },
  writeCheckpoint: { noOptions: 'takes a path and a TrainerState (a value, validated whole)' },
  readCheckpoint: { noOptions: 'takes a path' },

  // recipes
  ltls: { typo: { key: 'epoch', suggest: 'epochs', call: () => lt.ltls(anyOptions({ seed: 0, numClasses: 2, featureDim: 2, epoch: 1 })) } },
  sau: { typo: { key: 'temprature', suggest: 'temperature', call: () => lt.sau(anyOptions({ seed: 0, numClasses: 2, temprature: 0.5 })) } },
  granularity: { typo: { key: 'tua', suggest: 'tau', call: () => lt.granularity(anyOptions({ seed: 0, numClasses: 2, auxiliary: null, tua: 1 })) } },
  synLt: { typo: { key: 'refreshEvry', suggest: 'refreshEvery', call: () => lt.synLt(anyOptions({ seed: 0, numClasses: 2, inputDim: 2, refreshEvry: 1 })) } },
  decoupled: { typo: { key: 'metod', suggest: 'method', call: () => lt.decoupled(anyOptions({ seed: 0, numClasses: 2, inputDim: 2, metod: 'cRT' })) } },
  recipeFromConfig: { typo: { key: 'epoch', suggest: 'epochs', call: () => lt.recipeFromConfig({ kind: 'ltls', seed: 0, numClasses: 2, featureDim: 2, epoch: 1 }) } },
  tauNormalize: { typo: { key: 'ta', suggest: 'tau', call: (f) => lt.tauNormalize(f.features, anyOptions({ ta: 1 })) } },
  tauNormalizedLogits: { typo: { key: 'bais', suggest: 'bias', call: (f) => lt.tauNormalizedLogits(f.features, anyOptions(null), anyOptions({ tau: 1, bais: 'keep' })) } },
  tauNormalizedHead: { typo: { key: 'taus', suggest: 'tau', call: () => lt.tauNormalizedHead(anyOptions({ head: null, taus: 1 })) } },
  lwsHead: { typo: { key: 'haed', suggest: 'head', call: () => lt.lwsHead(anyOptions({ haed: null })) } },
  frozenBackbone: { typo: { key: 'backbon', suggest: 'backbone', call: () => lt.frozenBackbone(anyOptions({ backbon: null })) } },
  initFromClassMeans: {
    typo: {
      key: 'normalise',
      suggest: 'normalize',
      // Options are checked first, so a placeholder head is never touched.
      call: (f) => lt.initFromClassMeans(anyOptions({ kind: 'linear' }), { x: f.features, y: new Int32Array(f.features.shape[0] as number) }, anyOptions({ normalise: true })),
    },
  },
  initFromLinearProbe: {
    typo: {
      key: 'maxIteration',
      suggest: 'maxIterations',
      call: (f) => lt.initFromLinearProbe(anyOptions({ kind: 'linear' }), { x: f.features, y: new Int32Array(f.features.shape[0] as number) }, anyOptions({ maxIteration: 3 })),
    },
  },
  disalignCalibrate: { noOptions: 'tensors and a parameter object of tensors (values, shape-checked)' },
  marcCalibrate: { noOptions: 'tensors and a parameter object of tensors (values, shape-checked)' },
  classPrototypes: { typo: { key: 'numClases', suggest: 'numClasses', call: (f) => lt.classPrototypes(f.features, Int32Array.from([0, 1]), anyOptions({ numClases: 2 })) } },
  encode: { typo: { key: 'outptu', suggest: 'output', call: (f) => lt.encode(anyOptions(null), f.features, anyOptions<lt.EncodeOptions>({ outptu: 'logits' })) } },
  mapBatches: { typo: { key: 'batchSzie', suggest: 'batchSize', call: (f) => lt.mapBatches(f.features, (x) => x, anyOptions({ batchSzie: 4 })) } },
  splitByClasses: { noOptions: 'takes data and a GranularitySplit (a data description)' },
  viewCrossEntropyLoss: { typo: { key: 'view', suggest: 'views', call: () => lt.viewCrossEntropyLoss(anyOptions({ view: ['a'] })) } },
  mixupView: { typo: { key: 'alhpa', suggest: 'alpha', call: () => lt.mixupView(anyOptions({ numClasses: 2, alhpa: 1 })) } },
  cutmixView: { typo: { key: 'adjustLamda', suggest: 'adjustLambda', call: () => lt.cutmixView(anyOptions({ numClasses: 2, adjustLamda: true })) } },
  correctSyntheticLabels: {
    typo: {
      key: 'metrc',
      suggest: 'metric',
      call: () => lt.correctSyntheticLabels(anyOptions({ dim: 2, reference: [], referenceLabels: new Int32Array(0), candidates: [], candidateLabels: new Int32Array(0), metrc: 'cosine' })),
    },
  },
  sauContrastive: {
    typo: {
      key: 'temprature',
      suggest: 'temperature',
      call: (f) => lt.sauContrastive(f.projections, anyOptions({ labels: f.labels, synthetic: new Uint8Array(2), temprature: 0.1 })),
    },
  },
  sauContrastiveLoss: { typo: { key: 'temprature', suggest: 'temperature', call: () => lt.sauContrastiveLoss(anyOptions({ temprature: 0.1 })) } },
  extractFeatures: { typo: { key: 'batchSzie', suggest: 'batchSize', call: (f) => lt.extractFeatures(anyOptions(null), f.features, anyOptions({ batchSzie: 4 })) } },

  // longtail/testing
  expectNoLeak: { typo: { key: 'alowed', suggest: 'allowed', call: () => testing.expectNoLeak(() => 0, anyOptions({ alowed: 1 })) } },
  expectClose: { typo: { key: 'rtoll', suggest: 'rtol', call: () => testing.expectClose(1, 1, anyOptions({ rtoll: 1 })) } },
  checkLossConformance: { typo: { key: 'backend', suggest: 'backends', call: () => testing.checkLossConformance(ce(), anyOptions({ inputs: () => null, backend: ['cpu'] })) } },
  expectLossConformance: { typo: { key: 'backend', suggest: 'backends', call: () => testing.expectLossConformance(ce(), anyOptions({ inputs: () => null, backend: ['cpu'] })) } },
  defaultTolerance: { noOptions: POSITIONAL },
  backendsUnderTest: { noOptions: 'no arguments' },
};

function callableExports(mod: Record<string, unknown>): string[] {
  return Object.entries(mod)
    .filter(([, v]) => typeof v === 'function')
    .map(([k]) => k);
}

/** Runs `call` (sync or async) and returns what it threw or rejected with. */
async function caught(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  return undefined;
}

async function expectUnknown(call: () => unknown, key: string, suggest: string, where?: string): Promise<void> {
  const before = tf.memory().numTensors;
  const e = await caught(call);
  expect(e, `expected UNKNOWN_OPTION for ${key}`).toBeInstanceOf(LongTailError);
  expect((e as LongTailError).code).toBe('UNKNOWN_OPTION');
  expect((e as LongTailError).message).toContain(`Received: ${key} (did you mean ${suggest}?)`);
  if (where !== undefined) expect((e as LongTailError).message).toContain(`expected ${where} to be among `);
  expect(tf.memory().numTensors).toBe(before);
}

let f: Fixtures;

beforeAll(() => {
  f = {
    logits: tf.tensor2d([[1, 0, -1], [0, 2, 1]]),
    labels: tf.tensor1d([0, 2], 'int32'),
    images: tf.zeros([2, 4, 4, 1]),
    projections: tf.randomNormal([2, 2, 3], 0, 1, 'float32', 1),
    features: tf.tensor2d([[1, 0, 0], [0, 1, 0]]),
  };
});

afterAll(() => {
  tf.dispose(Object.values(f));
});

describe('unknown option keys (sweep over every export)', () => {
  it('classifies every function and class exported by longtail, longtail/advanced and longtail/testing', () => {
    const names = [lt, adv, testing].flatMap((m) => callableExports(m as unknown as Record<string, unknown>));
    const missing = names.filter((n) => !(n in TABLE));
    expect(missing, 'exports without an entry in TABLE: classify them').toEqual([]);
    const stale = Object.keys(TABLE).filter((n) => !names.includes(n));
    expect(stale, 'TABLE entries that are not exported any more').toEqual([]);
  });

  for (const [name, entry] of Object.entries(TABLE)) {
    if (!('typo' in entry)) continue;
    it(`${name}: a misspelled key is UNKNOWN_OPTION with a suggestion, before any tensor is made`, async () => {
      await expectUnknown(() => entry.typo.call(f), entry.typo.key, entry.typo.suggest);
    });
  }

  it('names the call in the message (focalLoss options, ltls options)', async () => {
    await expectUnknown(() => lt.focalLoss(anyOptions({ gama: 0 })), 'gama', 'gamma', 'focalLoss options');
    const e = (await caught(() => lt.focalLoss(anyOptions({ gama: 0 })))) as LongTailError;
    expect(e.message).toBe('expected focalLoss options to be among reducer, validate, gamma, classWeights, classCounts. Received: gama (did you mean gamma?)');
    expect(e.details).toMatchObject({ key: 'gama', suggestion: 'gamma' });
    await expectUnknown(() => lt.ltls(anyOptions({ seed: 0, numClasses: 2, featureDim: 2, epoch: 1 })), 'epoch', 'epochs', 'ltls options');
  });
});

describe('unknown keys inside discriminated specs and nested options', () => {
  it('checks a sampler spec per kind (samplerFromConfig)', async () => {
    await expectUnknown(() => lt.samplerFromConfig(anyOptions({ kind: 'classBalanced', numSample: 10 })), 'numSample', 'numSamples', 'sampler { kind: "classBalanced" }');
    // `q` belongs to squareRoot only; no key of classBalanced is near it, so there is no suggestion.
    const e = (await caught(() => lt.samplerFromConfig(anyOptions({ kind: 'classBalanced', q: 0.5 })))) as LongTailError;
    expect(e.code).toBe('UNKNOWN_OPTION');
    expect(e.message).toBe('expected sampler { kind: "classBalanced" } to be among kind, numSamples. Received: q');
    expect(lt.samplerFromConfig({ kind: 'power', q: 0.25 }).config).toEqual({ q: 0.25 });
  });

  it('names the option path of a recipe: synthesizer spec, stage2 sampler, gaussian, optimizer', async () => {
    await expectUnknown(
      () => lt.sau(anyOptions({ seed: 0, numClasses: 2, inputShape: [4], imageShape: [2, 2, 1], synthesizer: { kind: 'classGaussian', config: { shrinkge: 0.1 } } })),
      'shrinkge',
      'shrinkage',
      'sau options.synthesizer { kind: "classGaussian" }.config',
    );
    await expectUnknown(() => lt.sau(anyOptions({ seed: 0, numClasses: 2, inputShape: [4], imageShape: [2, 2, 1], synthesizer: { kind: 'classGaussian', confg: {} } })), 'confg', 'config', 'sau options.synthesizer');
    await expectUnknown(
      () => lt.decoupled(anyOptions({ seed: 0, numClasses: 2, inputDim: 2, stage2: { sampler: { kind: 'classBalanced', numSample: 4 } } })),
      'numSample',
      'numSamples',
      'decoupled options.stage2.sampler { kind: "classBalanced" }',
    );
    await expectUnknown(() => lt.decoupled(anyOptions({ seed: 0, numClasses: 2, inputDim: 2, stage2: { epoch: 4 } })), 'epoch', 'epochs', 'decoupled options.stage2');
    await expectUnknown(() => lt.ltls(anyOptions({ seed: 0, numClasses: 2, featureDim: 2, gaussian: { shrinkge: 0.2 } })), 'shrinkge', 'shrinkage', 'ltls options.gaussian');
    await expectUnknown(
      () => lt.ltls(anyOptions({ seed: 0, numClasses: 2, featureDim: 2, optimizer: { kind: 'sgd', learningRate: 0.1, momentun: 0.9 } })),
      'momentun',
      'momentum',
      'ltls options.optimizer { kind: "sgd" }',
    );
    await expectUnknown(() => lt.ltls(anyOptions({ seed: 0, numClasses: 2, featureDim: 2, topUp: { kind: 'ratio', ration: 1 } })), 'ration', 'ratio', 'ltls options.topUp { kind: "ratio" }');
  });

  it('rejects an unknown key in a registered component config (fromConfig)', async () => {
    await expectUnknown(() => lt.lossRegistry.fromConfig({ kind: 'focal', config: { gama: 0 } }), 'gama', 'gamma', 'loss { kind: "focal" } config');
    await expectUnknown(() => lt.samplerRegistry.fromConfig({ kind: 'mPerClass', config: { m: 2, numSample: 4 } }), 'numSample', 'numSamples', 'sampler { kind: "mPerClass" }');
    await expectUnknown(
      () => lt.synthRegistry.fromConfig({ kind: 'classGaussian', config: { numClasses: 2, shrinkge: 0.1 } }),
      'shrinkge',
      'shrinkage',
      'synthesizer { kind: "classGaussian" } config',
    );
    await expectUnknown(
      () => lt.lossRegistry.fromConfig({ kind: 'sum', config: { parts: [{ loss: lt.toConfig(lt.focalLoss()), wieght: 1 }] } as never }),
      'wieght',
      'weight',
      'loss { kind: "sum" } config.parts[0]',
    );
    // A valid config still round-trips.
    const loss = lt.ldamLoss({ classCounts: [5, 1], reducer: lt.classWeighted({ beta: 0.9, startEpoch: 2 }) });
    expect(lt.toConfig(lt.lossRegistry.fromConfig(lt.toConfig(loss)))).toEqual(lt.toConfig(loss));
  });
});
