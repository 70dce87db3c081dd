/**
 * The `sau` recipe: SAU's dual-branch training on real + synthetic data (Li, Song, Zheng, "SAU: A
 * Dual-Branch Network to Enhance Long-Tailed Recognition via Generative Models", ICONIP 2024; official
 * code lgX1123/gm4lt).
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { SerializedComponent } from '../core/registry.js';
import { seededRng, type Rng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger, checkLabels, checkNonNegative, checkOneOf, checkPositive, checkSameSize } from '../core/validate.js';
import { cutmixView, mixupView, randomCrop, randomFlip } from '../data/augment.js';
import { ClassStats } from '../data/class-stats.js';
import { concatRealSynthetic } from '../data/labeled-data.js';
import type { LabeledData, ViewTransform } from '../data/types.js';
import { viewCrossEntropyLoss } from '../losses/classification.js';
import { sumLosses } from '../losses/combinators.js';
import { defineLoss } from '../losses/define.js';
import { logitAdjustedCrossEntropy } from '../losses/functional/logitAdjusted.js';
import type { Loss } from '../losses/types.js';
import type { EvaluationReport } from '../metrics/report.js';
import { mlpBackbone } from '../models/backbones.js';
import { dualBranch, type DualBranch } from '../models/dual-branch.js';
import type { Backbone } from '../models/types.js';
import { checkSynthesizerSpec, synthRegistry } from '../synth/registry.js';
import { checkTopUpPolicy, topUpRequest, type TopUpPolicy } from '../synth/top-up.js';
import type { Synthesizer } from '../synth/types.js';
import { trainer, type EvaluateOptions, type FitOptions, type History, type Trainer, type ViewSpec } from '../train/trainer.js';
import {
  modelInputJson,
  protocolStage,
  resolveRunSettings,
  resolveSeedAndClasses,
  resolveStage,
  stageJson,
  STAGE_OPTION_KEYS,
  trainerSettings,
  type RecipeStageOptions,
  type RunSettings,
  type StageOptions,
  withRecipeManifest,
} from './common.js';
import { NOISY_STRATEGIES, sauContrastiveLoss, type NeighborMetric, type NoisyStrategy, type SauPrototypes } from './sau-contrastive.js';
import type { RecipeRun } from './types.js';

export { NOISY_STRATEGIES, correctSyntheticLabels, sauContrastive, sauContrastiveLoss } from './sau-contrastive.js';
export type { LabelCorrectionInput, NeighborMetric, NoisyStrategy, SauContrastiveLossOptions, SauContrastiveOptions, SauContrastiveOutput, SauContrastiveSettings, SauPrototypes } from './sau-contrastive.js';

/** An augmentation of an image batch [B, H, W, C] drawing its randomness from `rng`; returns a new tensor. */
export type ImageTransform = (images: tf.Tensor4D, rng: Rng) => tf.Tensor4D;

/**
 * The views of SAU: `mix` makes the view that MixUp/CutMix mix (the official code's first crop);
 * `contrast` the two views of the contrastive branch (its second and third crops), also used for the
 * prototypes.
 */
export interface SauViews {
  readonly mix: ImageTransform;
  readonly contrast: readonly [ImageTransform, ImageTransform];
}

/**
 * What the synthetic-unaware branch mixes: MixUp and CutMix (the paper's, images only), MixUp alone (the
 * only choice for feature vectors), or nothing (plain CE on the `mix` view: an ablation).
 */
export type SauMixing = 'mixupCutmix' | 'mixup' | 'none';

/** Weights of the two branches in the total loss. */
export interface SauLossWeights {
  /** Weight of the MixUp and of the CutMix loss. @defaultValue 1 */
  readonly mix?: number;
  /** Weight of the contrastive loss. @defaultValue 1 */
  readonly contrastive?: number;
}

/**
 * Options of {@link sau}. Only `seed` and `numClasses` are required; inputs must be images or come with
 * `imageShape`; the synthetic data come from `synthetic`, from `synthesizer`, or from the `synthetic`
 * flags of the data passed to `fit`. The stage options default to the protocol's: 30 epochs, batch 256
 * (at least 2: the projection's batch norm), Adam 1e-3 with L2 5e-4, constant rate, instance sampling
 * over real + synthetic samples.
 */
export interface SauOptions extends RecipeStageOptions {
  /** One seed for the weights, the synthesis and every random choice of training. */
  readonly seed: number;
  /** Number of classes C; labels lie in [0, C). */
  readonly numClasses: number;
  /**
   * Per-sample shape of the inputs, e.g. [784] or [28, 28, 1]. Default: from `synthetic.x`, else
   * `backbone.inputShape`.
   */
  readonly inputShape?: readonly number[];
  /**
   * How flat inputs [D] are seen as images [H, W, C] (H·W·C = D) for CutMix and the crop/flip views.
   * Without it, flat inputs are feature vectors: the synthetic-unaware branch is MixUp alone (no CutMix,
   * which would swap runs of unrelated features) and `augmentation` must be `'none'` (its default then).
   */
  readonly imageShape?: readonly [number, number, number];
  /**
   * Synthetic samples in input space (e.g. generated images), labels in [0, C). Owned by the caller:
   * keep them alive until `fit` returns. Excludes `synthesizer`.
   */
  readonly synthetic?: LabeledData;
  /**
   * Makes the synthetic samples at `fit`: observes the real inputs flattened to [N, D], draws the
   * `topUp` request, and reshapes the draws back to the input shape. A {@link Synthesizer} instance is
   * the caller's (pass a fresh one: it observes the real data at every `fit`); a `{ kind, config }`
   * spec (`'classGaussian'`, `'latentSmote'`, ...; `config.numClasses` defaults to `numClasses`) is
   * built fresh for each `fit` and freed by the recipe.
   */
  readonly synthesizer?: Synthesizer | SerializedComponent;
  /** How many samples the synthesizer adds. @defaultValue `{ kind: 'toMax' }` (every class to n_max) */
  readonly topUp?: TopUpPolicy;
  /** @defaultValue 'drop' (the official code's default) */
  readonly noisyStrategy?: NoisyStrategy;
  /** @defaultValue 'cosine' */
  readonly neighborMetric?: NeighborMetric;
  /** SupCon temperature T. @defaultValue 0.1 */
  readonly temperature?: number;
  /** SupCon base temperature (loss scaled by T / T_base). @defaultValue the temperature */
  readonly baseTemperature?: number;
  /** λ ~ Beta(α, α) for MixUp and CutMix. @defaultValue 1 */
  readonly mixAlpha?: number;
  /** @defaultValue 'mixupCutmix' for images, 'mixup' for feature vectors (CutMix needs an image) */
  readonly mixing?: SauMixing;
  /**
   * Loss of the linear head on the mixed views. `'crossEntropy'` (the paper's) learns the prior of the
   * pool it trains on, so its arg-max favours the classes that pool over-represents; `'logitAdjusted'` is
   * the soft-target logit-adjusted loss CE(z + log π, ỹ) (Menon et al., ICLR 2021, τ = 1) with π the
   * class frequencies of that pool (real + synthetic samples), whose arg-max targets balanced error. With
   * the default top-up to n_max the pool is balanced and the two coincide; the option matters for partial
   * top-ups (`toCount`, `ratio`) and for runs without synthetic data.
   * @defaultValue 'crossEntropy'
   */
  readonly headLoss?: 'crossEntropy' | 'logitAdjusted';
  /**
   * Class prototypes as extra anchors and label-correction references in the contrastive branch (the
   * paper's); false leaves them out (an ablation). @defaultValue true
   */
  readonly prototypes?: boolean;
  /** @defaultValue `{ mix: 1, contrastive: 1 }` */
  readonly lossWeights?: SauLossWeights;
  /**
   * `'cropFlip'`: every view is a random crop with `cropPadding` zero padding and a horizontal flip
   * (p = 0.5); `'flip'`: the flip alone (cheaper); `'none'`: the views are the inputs; or your own
   * {@link SauViews}. @defaultValue 'cropFlip' for images, 'none' for feature vectors
   */
  readonly augmentation?: 'cropFlip' | 'flip' | 'none' | SauViews;
  /** @defaultValue ⌈H / 8⌉ (4 for 28 or 32 pixels) */
  readonly cropPadding?: number;
  /** The shared feature extractor; the run owns it. Default: `mlpBackbone` with `hiddenSizes` on [D] inputs. */
  readonly backbone?: Backbone;
  /** Hidden widths of the default MLP backbone. @defaultValue [256] */
  readonly hiddenSizes?: readonly number[];
  /**
   * Hidden widths of the projection MLP. @defaultValue [D, D] with D the backbone's feature width (SAU's
   * `contrast_head` is 2048-2048-128 on ResNet-50's 2048-d features: the head scales with the backbone)
   */
  readonly projectionHiddenSizes?: readonly number[];
  /** @defaultValue min(128, D) */
  readonly projectionDim?: number;
}

/** Label-correction counts of one epoch. */
export interface LabelCorrectionStats {
  readonly epoch: number;
  /** Synthetic samples the contrastive branch saw. */
  readonly synthetic: number;
  /** Of those, the ones whose label the nearest-neighbour check rejected. */
  readonly noisy: number;
}

/** A SAU run: a {@link RecipeRun} that also exposes its prototypes and label-correction counts. */
export interface SauRun extends RecipeRun {
  readonly kind: 'sau';
  readonly model: DualBranch;
  /** Per-class prototypes [K, 2, d] of the current epoch (a copy the caller owns), or null before `fit`. */
  prototypes(): SauPrototypes | null;
  /** Label-correction counts per completed epoch of the last `fit`. */
  readonly labelCorrection: readonly LabelCorrectionStats[];
  /** Arg-max of the linear head per sample. */
  predict(x: tf.Tensor): Int32Array;
}

interface Resolved extends RunSettings {
  readonly seed: number;
  readonly numClasses: number;
  readonly inputShape: readonly number[];
  /** Null for feature vectors (no CutMix, no image views). */
  readonly imageShape: readonly [number, number, number] | null;
  readonly synthesizerSpec: SerializedComponent | null;
  readonly topUp: TopUpPolicy;
  readonly noisyStrategy: NoisyStrategy;
  readonly neighborMetric: NeighborMetric;
  readonly temperature: number;
  readonly baseTemperature: number;
  readonly mixAlpha: number;
  readonly mixing: SauMixing;
  readonly headLoss: 'crossEntropy' | 'logitAdjusted';
  readonly prototypes: boolean;
  readonly mixWeight: number;
  readonly contrastiveWeight: number;
  readonly augmentation: 'cropFlip' | 'flip' | 'none' | 'custom';
  readonly cropPadding: number;
  readonly hiddenSizes: readonly number[];
  readonly projectionHiddenSizes: readonly number[];
  readonly projectionDim: number;
  readonly stage: StageOptions;
}

/**
 * SAU as one call. Real data are joined with synthetic data (each class topped up to n_max by default)
 * whose `synthetic` flags are set; a {@link DualBranch} model (shared backbone, linear head, projection
 * MLP) trains on both with, per batch,
 *
 *   L = w_mix · (CE(g(f(MixUp(x))), ỹ_mix) + CE(g(f(CutMix(x))), ỹ_cut)) + w_con · L_SupCon,
 *
 * where the synthetic-unaware branch mixes the batch with itself (λ ~ Beta(1, 1), each with its own λ
 * and partner permutation; CutMix keeps the sampled λ for the soft targets, as the official code), and
 * the synthetic-aware branch is {@link sauContrastive} over two augmented views of the batch:
 * SupCon at T = 0.1 (T/T_base = 1) over real samples, per-class prototypes and synthetic samples whose
 * label survives the nearest-neighbour check in both views; noisy ones are dropped, kept with labels of
 * their own (`'posNeg'`) or kept as negatives only (`'negOnly'`). The prototypes are recomputed at the
 * start of every epoch (the end of the previous one) as the mean eval-mode projection of each class's
 * real samples in each view — at the first epoch from the initial model, as the official code does.
 * Prediction uses the linear head only.
 *
 * Paper: Li, Song, Zheng, "SAU: A Dual-Branch Network to Enhance Long-Tailed Recognition via Generative
 * Models" (ICONIP 2024); official code lgX1123/gm4lt.
 *
 * @throws LongTailError before any tensor is made: `INVALID_OPTION`, `MISSING_INPUT`, `SHAPE_MISMATCH`,
 *   `LABEL_OUT_OF_RANGE`, `UNKNOWN_KIND` (synthesizer spec).
 * @example
 * ```ts
 * const run = sau({
 *   seed: 0, numClasses: 10, inputShape: [784], imageShape: [28, 28, 1],
 *   synthesizer: { kind: 'latentSmote', config: {} }, projectionHiddenSizes: [256],
 * });
 * await run.fit(train);             // real data; synthetic samples are made and flagged here
 * const report = run.evaluate(test);
 * run.dispose();
 * ```
 */
export function sau(options: SauOptions): SauRun {
  const resolved = resolveOptions(options);
  const views = typeof options.augmentation === 'object' ? options.augmentation : defaultViews(resolved);
  return new SauRunImpl(resolved, views, options);
}

function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw invalid('INVALID_OPTION', `${name} to be an array of positive integers`, name, shape);
  }
  return [...(shape as number[])];
}

const SAU_KEYS: OptionKeys<SauOptions> = {
  seed: true,
  numClasses: true,
  inputShape: true,
  imageShape: true,
  synthetic: true,
  synthesizer: true,
  topUp: true,
  noisyStrategy: true,
  neighborMetric: true,
  temperature: true,
  baseTemperature: true,
  mixAlpha: true,
  mixing: true,
  headLoss: true,
  prototypes: true,
  lossWeights: true,
  augmentation: true,
  cropPadding: true,
  backbone: true,
  hiddenSizes: true,
  projectionHiddenSizes: true,
  projectionDim: true,
  ...STAGE_OPTION_KEYS,
};
const LOSS_WEIGHT_KEYS: OptionKeys<SauLossWeights> = { mix: true, contrastive: true };
const VIEW_KEYS: OptionKeys<SauViews> = { mix: true, contrast: true };
const SPEC_KEYS: OptionKeys<SerializedComponent> = { kind: true, config: true };

function resolveOptions(options: SauOptions): Resolved {
  checkOptions('sau options', options, SAU_KEYS);
  const { seed, numClasses } = resolveSeedAndClasses(options);
  const syn = options.synthetic;
  if (syn !== undefined && options.synthesizer !== undefined) {
    throw invalid('INVALID_OPTION', 'either synthetic or synthesizer, not both', 'synthesizer', (options.synthesizer as { kind?: unknown })?.kind);
  }
  if (syn !== undefined) {
    if (syn === null || typeof syn !== 'object' || !(syn.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', 'synthetic as { x: Tensor, y: Int32Array }', 'synthetic', syn);
    checkSameSize('synthetic.y.length = synthetic.x.shape[0]', syn.x.shape[0] ?? 0, 'synthetic.y.length', syn.y?.length ?? -1);
    checkLabels('synthetic.y', syn.y, numClasses);
  }
  const backbone = options.backbone;
  if (backbone !== undefined) {
    if (backbone === null || typeof backbone.apply !== 'function') throw invalid('INVALID_OPTION', 'backbone to be a Backbone (mlpBackbone, cnnBackbone, ...)', 'backbone', typeof backbone);
    if (options.hiddenSizes !== undefined) throw invalid('INVALID_OPTION', 'either backbone or hiddenSizes, not both', 'hiddenSizes', options.hiddenSizes);
  }
  const inputShape = checkShape(
    'inputShape',
    options.inputShape ?? syn?.x.shape.slice(1) ?? backbone?.inputShape ?? missing('inputShape (or synthetic data, or a backbone with an input shape)', 'inputShape'),
  );
  if (syn !== undefined) checkSampleShape('synthetic', syn.x.shape.slice(1), inputShape);
  if (backbone !== undefined && backbone.inputShape !== null) checkSampleShape('backbone input', backbone.inputShape, inputShape);
  if (backbone === undefined && inputShape.length !== 1) {
    throw new LongTailError(
      'SHAPE_MISMATCH',
      `expected inputShape [D] for the default MLP (flatten images, or pass a backbone). Received: inputShape=[${inputShape.join(', ')}]`,
      { received: inputShape },
    );
  }
  const imageShape = resolveImageShape(options.imageShape, inputShape);
  if (imageShape === null && typeof options.augmentation === 'object' && options.augmentation !== null) {
    throw invalid('MISSING_INPUT', 'imageShape [H, W, C] for custom image views', 'imageShape', undefined);
  }
  const hiddenSizes = options.hiddenSizes ?? [256];
  if (!Array.isArray(hiddenSizes) || hiddenSizes.length === 0 || hiddenSizes.some((h) => !Number.isInteger(h) || h < 1)) {
    throw invalid('INVALID_OPTION', 'hiddenSizes to be a non-empty array of positive integers', 'hiddenSizes', hiddenSizes);
  }
  // The projection head scales with the backbone: SAU's 2048-2048-128 is [D, D] → 128 for D = 2048.
  const featureDim = backbone !== undefined ? backbone.outputDim : (hiddenSizes[hiddenSizes.length - 1] as number);
  const projectionHiddenSizes = options.projectionHiddenSizes ?? [featureDim, featureDim];
  if (!Array.isArray(projectionHiddenSizes) || projectionHiddenSizes.some((h) => !Number.isInteger(h) || h < 1)) {
    throw invalid('INVALID_OPTION', 'projectionHiddenSizes to be an array of positive integers', 'projectionHiddenSizes', projectionHiddenSizes);
  }
  const projectionDim = checkInteger('projectionDim', options.projectionDim ?? Math.min(128, featureDim), { min: 1 });
  const synthesizerSpec = resolveSynthesizer(options.synthesizer, numClasses);
  const topUp = checkTopUpPolicy(options.topUp ?? { kind: 'toMax' }, 'sau options.topUp');
  const noisyStrategy = checkOneOf('noisyStrategy', options.noisyStrategy ?? 'drop', NOISY_STRATEGIES);
  const neighborMetric = checkOneOf('neighborMetric', options.neighborMetric ?? 'cosine', ['cosine', 'euclidean']);
  const temperature = checkPositive('temperature', options.temperature ?? 0.1);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? temperature);
  const mixAlpha = checkPositive('mixAlpha', options.mixAlpha ?? 1);
  const mixing = checkOneOf('mixing', options.mixing ?? (imageShape === null ? 'mixup' : 'mixupCutmix'), ['mixupCutmix', 'mixup', 'none']);
  if (imageShape === null && mixing === 'mixupCutmix') {
    throw invalid('INVALID_OPTION', `mixing 'mixup' or 'none' for feature vectors (CutMix pastes image patches; pass imageShape for images)`, 'mixing', mixing);
  }
  const headLoss = checkOneOf('headLoss', options.headLoss ?? 'crossEntropy', ['crossEntropy', 'logitAdjusted']);
  const prototypes = options.prototypes ?? true;
  if (typeof prototypes !== 'boolean') throw invalid('INVALID_OPTION', 'prototypes to be a boolean', 'prototypes', prototypes);
  const weights = options.lossWeights ?? {};
  checkOptions('sau options.lossWeights', weights, LOSS_WEIGHT_KEYS);
  const mixWeight = checkNonNegative('lossWeights.mix', weights.mix ?? 1);
  const contrastiveWeight = checkNonNegative('lossWeights.contrastive', weights.contrastive ?? 1);
  const aug = options.augmentation ?? (imageShape === null ? 'none' : 'cropFlip');
  let augmentation: Resolved['augmentation'];
  if (typeof aug === 'object' && aug !== null) {
    checkOptions('sau options.augmentation', aug, VIEW_KEYS);
    const ok = typeof aug.mix === 'function' && Array.isArray(aug.contrast) && aug.contrast.length === 2 && aug.contrast.every((f) => typeof f === 'function');
    if (!ok) throw invalid('INVALID_OPTION', 'augmentation { mix, contrast: [view, view] } of functions', 'augmentation', Object.keys(aug));
    augmentation = 'custom';
  } else {
    augmentation = checkOneOf('augmentation', aug, ['cropFlip', 'flip', 'none']);
    if (imageShape === null && augmentation !== 'none') {
      throw invalid('INVALID_OPTION', `augmentation 'none' for feature vectors (crops and flips are image operations; pass imageShape for images)`, 'augmentation', augmentation);
    }
  }
  const cropPadding = checkInteger('cropPadding', options.cropPadding ?? (imageShape === null ? 0 : Math.ceil(imageShape[0] / 8)));
  const stage = resolveStage(options, protocolStage(), { where: 'sau options', minBatchSize: 2 });
  return {
    ...resolveRunSettings(options, 'sau options'),
    seed,
    numClasses,
    inputShape,
    imageShape,
    synthesizerSpec,
    topUp,
    noisyStrategy,
    neighborMetric,
    temperature,
    baseTemperature,
    mixAlpha,
    mixing,
    headLoss,
    prototypes,
    mixWeight,
    contrastiveWeight,
    augmentation,
    cropPadding,
    hiddenSizes,
    projectionHiddenSizes,
    projectionDim,
    stage,
  };
}

function missing(expected: string, name: string): never {
  throw invalid('MISSING_INPUT', expected, name, undefined);
}

function checkSampleShape(name: string, shape: readonly number[], inputShape: readonly number[]): void {
  if (shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i])) {
    throw new LongTailError('SHAPE_MISMATCH', `expected ${name} samples of shape [${inputShape.join(', ')}]. Received: ${name} shape=[${shape.join(', ')}]`, {
      expected: [...inputShape],
      received: [...shape],
    });
  }
}

/** Images keep their shape; flat inputs are images with `imageShape`, else feature vectors (null). */
function resolveImageShape(imageShape: readonly number[] | undefined, inputShape: readonly number[]): [number, number, number] | null {
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (imageShape === undefined) {
    if (inputShape.length === 3) return [inputShape[0] as number, inputShape[1] as number, inputShape[2] as number];
    return null;
  }
  const s = checkShape('imageShape', imageShape);
  if (s.length !== 3) throw invalid('INVALID_OPTION', 'imageShape [H, W, C]', 'imageShape', imageShape);
  checkSameSize(`imageShape H·W·C = input size ${size}`, size, 'imageShape product', s.reduce((a, b) => a * b, 1));
  return s as [number, number, number];
}

function resolveSynthesizer(spec: SauOptions['synthesizer'], numClasses: number): SerializedComponent | null {
  if (spec === undefined) return null;
  if (spec === null || typeof spec !== 'object') throw invalid('INVALID_OPTION', 'synthesizer to be a Synthesizer or a { kind, config } spec', 'synthesizer', spec);
  if (isSynthesizer(spec)) {
    checkSameSize('synthesizer.numClasses = numClasses', numClasses, 'synthesizer.numClasses', spec.numClasses);
    return null;
  }
  checkOptions('sau options.synthesizer', spec, SPEC_KEYS);
  const resolved: SerializedComponent = { kind: spec.kind, config: { numClasses, ...(spec.config ?? {}) } };
  const config = checkSynthesizerSpec(resolved, 'sau options.synthesizer');
  if (config['numClasses'] !== undefined) checkSameSize('synthesizer config numClasses = numClasses', numClasses, 'synthesizer.config.numClasses', config['numClasses'] as number);
  return resolved;
}

function isSynthesizer(s: Synthesizer | SerializedComponent): s is Synthesizer {
  return typeof (s as Synthesizer).observe === 'function' && typeof (s as Synthesizer).sample === 'function';
}

/** Crop + flip views (the official first crop; its heavier policies for the other two views are not reproduced). */
function defaultViews(o: Resolved): SauViews {
  if (o.augmentation === 'none') {
    const same: ImageTransform = (images) => tf.clone(images);
    return { mix: same, contrast: [same, same] };
  }
  const padding = o.augmentation === 'flip' ? 0 : o.cropPadding;
  const cropFlip: ImageTransform = (images, rng) =>
    tf.tidy(() => {
      const cropped = padding > 0 ? randomCrop(images, { padding, rng }) : images;
      return randomFlip(cropped, { rng });
    });
  return { mix: cropFlip, contrast: [cropFlip, cropFlip] };
}

/** The views the linear head is trained on. */
function headViews(mixing: SauMixing): string[] {
  if (mixing === 'mixupCutmix') return ['mixup', 'cutmix'];
  return mixing === 'mixup' ? ['mixup'] : ['mix'];
}

/**
 * Soft-target logit-adjusted CE on named views, CE(z^v + log π, t^v) per view (one term each, like
 * `viewCrossEntropyLoss`), with π read from `counts()` at every call: the counts of the recipe's
 * training pool, known only at `fit` (a synthesizer's top-up is not in the data the trainer counts).
 */
function viewLogitAdjustedLoss(views: readonly string[], counts: () => Float64Array | null): Loss<never> {
  return defineLoss<never>({
    kind: 'sauViewLogitAdjusted',
    config: { views: [...views], tau: 1 },
    requires: [],
    views: Object.fromEntries(views.map((v) => [v, ['logits']])),
    terms: (inputs) => {
      const classCounts = counts();
      if (classCounts === null) throw new LongTailError('MISSING_INPUT', "expected the training pool counts (set by the sau run's fit). Received: classCounts=null", { name: 'classCounts' });
      const out: Record<string, { kind: 'perSample'; values: tf.Tensor1D }> = {};
      for (const name of views) {
        const view = inputs.views?.[name];
        if (view?.logits === undefined) throw new LongTailError('MISSING_INPUT', `expected inputs.views.${name}.logits. Received: views=[${Object.keys(inputs.views ?? {}).join(', ')}]`, { name: `views.${name}` });
        out[name] = {
          kind: 'perSample',
          values: logitAdjustedCrossEntropy(view.logits, view.labels, {
            classCounts,
            tau: 1,
            validate: false,
            ...(view.labelValues === undefined ? {} : { labelValues: view.labelValues }),
            ...(view.targets === undefined ? {} : { targets: view.targets }),
          }),
        };
      }
      return out;
    },
  });
}

/** The trainer views of SAU: the mix view and its MixUp/CutMix views, then the two contrastive views. */
function trainerViews(o: Resolved, views: SauViews): Record<string, ViewSpec> {
  const shape = o.imageShape;
  // Image transforms see [B, H, W, C]; the model sees the inputs' own shape.
  const onImages =
    (f: ImageTransform): ViewTransform =>
    ({ x, rng }) => {
      if (shape === null) return { x: tf.clone(x) };
      const images = tf.reshape(x, [x.shape[0] ?? 0, ...shape]) as tf.Tensor4D;
      return { x: tf.reshape(f(images, rng), x.shape) };
    };
  return {
    mix: onImages(views.mix),
    ...(o.mixing === 'none' ? {} : { mixup: { from: 'mix', transform: mixupView({ numClasses: o.numClasses, alpha: o.mixAlpha }) } }),
    ...(o.mixing !== 'mixupCutmix' || shape === null
      ? {}
      : { cutmix: { from: 'mix', transform: cutmixView({ numClasses: o.numClasses, alpha: o.mixAlpha, imageShape: shape, adjustLambda: false }) } }),
    contrast1: onImages(views.contrast[0]),
    contrast2: onImages(views.contrast[1]),
  };
}

class SauRunImpl implements SauRun {
  readonly kind = 'sau' as const;
  readonly model: DualBranch;
  readonly trainer: Trainer;
  private readonly guard = new DisposeGuard('sau run');
  private readonly loss: Loss;
  private realCounts: Float64Array | null = null;
  /** Class counts of the pool the head trains on (real + synthetic), set at `fit`. */
  private poolCounts: Float64Array | null = null;
  private readonly synthetic: LabeledData | undefined;
  private readonly userBackbone: boolean;
  /** The run's synthesizer: the caller's instance, or one built from the spec (then the run's to free). */
  private readonly synthesizer: Synthesizer | undefined;
  private readonly ownsSynthesizer: boolean;

  constructor(
    private readonly o: Resolved,
    views: SauViews,
    options: SauOptions,
  ) {
    this.synthetic = options.synthetic;
    this.userBackbone = options.backbone !== undefined;
    const given = options.synthesizer !== undefined && isSynthesizer(options.synthesizer) ? options.synthesizer : undefined;
    this.synthesizer = given ?? (o.synthesizerSpec === null ? undefined : synthRegistry.fromConfig(o.synthesizerSpec));
    this.ownsSynthesizer = given === undefined && this.synthesizer !== undefined;
    const rng = seededRng(o.seed).fork('sau:model');
    const inputDim = o.inputShape[0] as number;
    const backbone = options.backbone ?? mlpBackbone({ inputDim, hiddenSizes: o.hiddenSizes, rng: rng.fork('backbone') });
    this.model = dualBranch({
      backbone,
      numClasses: o.numClasses,
      projectionHiddenSizes: o.projectionHiddenSizes,
      projectionDim: o.projectionDim,
      rng: rng.fork('heads'),
    });
    const scored = headViews(o.mixing);
    const head = o.headLoss === 'crossEntropy' ? viewCrossEntropyLoss({ views: scored, validate: false }) : viewLogitAdjustedLoss(scored, () => this.poolCounts);
    this.loss = sumLosses([
      { loss: head, weight: o.mixWeight, name: 'mix' },
      {
        loss: sauContrastiveLoss({
          views: ['contrast1', 'contrast2'],
          prototypes: o.prototypes ? 'perEpoch' : null,
          strategy: o.noisyStrategy,
          metric: o.neighborMetric,
          temperature: o.temperature,
          baseTemperature: o.baseTemperature,
        }),
        weight: o.contrastiveWeight,
        name: 'contrastive',
      },
    ]);
    this.trainer = trainer({
      model: this.model,
      loss: this.loss,
      views: trainerViews(o, views),
      seed: o.seed,
      ...o.stage,
      ...(this.synthesizer === undefined ? {} : { synthesis: { synthesizer: this.synthesizer, space: 'input', topUp: o.topUp } }),
      ...trainerSettings(o, { index: 1, count: 1, own: [] }),
    });
  }

  get config(): JsonObject {
    const o = this.o;
    const external: string[] = [];
    if (this.synthetic !== undefined) external.push('synthetic');
    if (this.synthesizer !== undefined && !this.ownsSynthesizer) external.push('synthesizer');
    if (o.augmentation === 'custom') external.push('augmentation');
    const input = { inputDim: null, hiddenSizes: o.hiddenSizes };
    return {
      kind: 'sau',
      seed: o.seed,
      numClasses: o.numClasses,
      inputShape: [...o.inputShape],
      ...(o.imageShape === null ? {} : { imageShape: [...o.imageShape] }),
      ...(o.synthesizerSpec === null ? {} : { synthesizer: o.synthesizerSpec as unknown as JsonObject }),
      topUp: o.topUp as unknown as JsonObject,
      noisyStrategy: o.noisyStrategy,
      neighborMetric: o.neighborMetric,
      temperature: o.temperature,
      baseTemperature: o.baseTemperature,
      mixAlpha: o.mixAlpha,
      mixing: o.mixing,
      headLoss: o.headLoss,
      prototypes: o.prototypes,
      lossWeights: { mix: o.mixWeight, contrastive: o.contrastiveWeight },
      ...(o.augmentation === 'custom' ? {} : { augmentation: o.augmentation }),
      cropPadding: o.cropPadding,
      ...(this.userBackbone ? modelInputJson(input, this.model.backbone, external) : { hiddenSizes: [...o.hiddenSizes] }),
      projectionHiddenSizes: [...o.projectionHiddenSizes],
      projectionDim: o.projectionDim,
      ...stageJson(o.stage),
      evalBatchSize: o.evalBatchSize,
      external,
    };
  }

  /** Per completed epoch: the synthetic samples the contrastive branch saw and those it rejected (from the history). */
  get labelCorrection(): readonly LabelCorrectionStats[] {
    return this.trainer.history.map((logs) => ({ epoch: logs['epoch'] as number, synthetic: logs['count/synthetic'] ?? 0, noisy: logs['count/noisy'] ?? 0 }));
  }

  prototypes(): SauPrototypes | null {
    this.guard.check();
    const snap = this.loss.states?.[0]?.snapshot() ?? null;
    const f = snap?.arrays['features'];
    const l = snap?.arrays['labels'];
    if (f === undefined || l === undefined) return null;
    return { features: tf.tensor3d(f.values as Float32Array, [...f.shape] as [number, number, number]), labels: Int32Array.from(l.values) };
  }

  async fit(train: LabeledData, options: FitOptions = {}): Promise<History> {
    this.guard.check();
    checkData(train, this.o.numClasses, this.o.inputShape, 'train');
    if (this.synthetic !== undefined && this.synthetic.x.isDisposed) {
      throw new LongTailError('DISPOSED', 'expected synthetic.x alive until fit returns. Received: a disposed tensor', { name: 'synthetic.x' });
    }
    // Given synthetic samples join the data, flagged; a synthesizer tops classes up in the trainer's pool.
    const all = this.synthetic === undefined ? null : concatRealSynthetic({ real: train, synthetic: this.synthetic });
    const data = all ?? train;
    try {
      const realCounts = new Float64Array(this.o.numClasses);
      for (let i = 0; i < data.y.length; i++) if (data.synthetic?.[i] !== 1) realCounts[data.y[i] as number] = (realCounts[data.y[i] as number] as number) + 1;
      this.realCounts = realCounts;
      const all = ClassStats.fromLabels(data.y, { numClasses: this.o.numClasses }).counts;
      const added = this.synthesizer === undefined ? null : topUpRequest(all, this.o.topUp);
      this.poolCounts = Float64Array.from(all, (n, c) => n + (added?.[c] ?? 0));
      return withRecipeManifest(await this.trainer.fit(data, options), this);
    } finally {
      all?.x.dispose();
    }
  }

  evaluate(test: LabeledData, options: EvaluateOptions = {}): EvaluationReport {
    this.guard.check();
    checkData(test, this.o.numClasses, this.o.inputShape, 'test');
    // Many/medium/few groups follow the real training counts, not the topped-up ones.
    const trainCounts = options.trainCounts ?? this.realCounts ?? undefined;
    return this.trainer.evaluate(test, { ...options, ...(trainCounts === undefined ? {} : { trainCounts }) });
  }

  predict(x: tf.Tensor): Int32Array {
    this.guard.check();
    return this.trainer.predict(x);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.trainer.dispose();
    this.model.dispose();
    if (this.ownsSynthesizer) this.synthesizer?.dispose();
  }
}

/** Labels in [0, C) and samples of the recipe's input shape. */
function checkData(data: LabeledData, numClasses: number, inputShape: readonly number[], name: string): void {
  if (data === null || typeof data !== 'object' || !(data.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} as { x: Tensor, y: Int32Array }`, name, data);
  checkSampleShape(name, data.x.shape.slice(1), inputShape);
  checkSameSize(`${name}.y.length = ${name}.x.shape[0]`, data.x.shape[0] ?? 0, `${name}.y.length`, data.y.length);
  checkLabels(`${name}.y`, data.y, numClasses);
}
