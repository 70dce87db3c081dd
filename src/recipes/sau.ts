/**
 * The `sau` recipe: SAU's dual-branch training on real + synthetic data (Li, Song, Zheng, "SAU: A
 * Dual-Branch Network to Enhance Long-Tailed Recognition via Generative Models", ICONIP 2024; official
 * code lgX1123/gm4lt).
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, checkSpec, type OptionKeys } from '../core/options.js';
import type { SerializedComponent } from '../core/registry.js';
import { createRng, type Rng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger, checkLabels, checkNonNegative, checkOneOf, checkPositive, checkSameSize } from '../core/validate.js';
import { cutmix, mixup, randomCrop, randomFlip } from '../data/augment.js';
import { concatRealSynthetic } from '../data/labeled-data.js';
import type { LabeledData } from '../data/types.js';
import { crossEntropy } from '../losses/functional/crossEntropy.js';
import type { EvaluationReport } from '../metrics/report.js';
import { mlpBackbone } from '../models/backbones.js';
import { createDualBranch, type DualBranch } from '../models/dual-branch.js';
import type { Backbone } from '../models/types.js';
import { checkSynthesizerSpec, synthRegistry } from '../synth/registry.js';
import { checkTopUpPolicy, topUpRequest, type TopUpPolicy } from '../synth/top-up.js';
import type { Synthesizer } from '../synth/types.js';
import type { Callback } from '../train/callbacks.js';
import { createTrainer, type EvaluateOptions, type FitOptions, type History, type ObjectiveInputs, type Trainer } from '../train/trainer.js';
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
import { NOISY_STRATEGIES, sauContrastive, type NeighborMetric, type NoisyStrategy, type SauPrototypes } from './sau-contrastive.js';
import type { RecipeRun } from './types.js';

export { NOISY_STRATEGIES, correctSyntheticLabels, sauContrastive, sauContrastiveLoss } from './sau-contrastive.js';
export type { LabelCorrectionInput, NeighborMetric, NoisyStrategy, SauContrastiveLossOptions, SauContrastiveOptions, SauContrastiveOutput, SauContrastiveSettings, SauPrototypes } from './sau-contrastive.js';

/** An augmentation of an image batch [B, H, W, C] drawing its randomness from `rng`; returns a new tensor. */
export type ViewTransform = (images: tf.Tensor4D, rng: Rng) => tf.Tensor4D;

/**
 * The views of SAU: `mix` makes the view that MixUp/CutMix mix (the official code's first crop);
 * `contrast` the two views of the contrastive branch (its second and third crops), also used for the
 * prototypes.
 */
export interface SauViews {
  readonly mix: ViewTransform;
  readonly contrast: readonly [ViewTransform, ViewTransform];
}

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
  /** How flat inputs [D] are seen as images [H, W, C] (H·W·C = D) for CutMix and the crop/flip views. */
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
  /** @defaultValue `{ mix: 1, contrastive: 1 }` */
  readonly lossWeights?: SauLossWeights;
  /**
   * `'cropFlip'`: every view is a random crop with `cropPadding` zero padding and a horizontal flip
   * (p = 0.5); `'flip'`: the flip alone (cheaper); `'none'`: the views are the inputs; or your own
   * {@link SauViews}. @defaultValue 'cropFlip'
   */
  readonly augmentation?: 'cropFlip' | 'flip' | 'none' | SauViews;
  /** @defaultValue ⌈H / 8⌉ (4 for 28 or 32 pixels) */
  readonly cropPadding?: number;
  /** The shared feature extractor; the run owns it. Default: `mlpBackbone` with `hiddenSizes` on [D] inputs. */
  readonly backbone?: Backbone;
  /** Hidden widths of the default MLP backbone. @defaultValue [256] */
  readonly hiddenSizes?: readonly number[];
  /** Hidden widths of the projection MLP. @defaultValue [2048, 2048] (SAU's `contrast_head`) */
  readonly projectionHiddenSizes?: readonly number[];
  /** @defaultValue 128 */
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
  readonly imageShape: readonly [number, number, number];
  readonly synthesizerSpec: SerializedComponent | null;
  readonly topUp: TopUpPolicy;
  readonly noisyStrategy: NoisyStrategy;
  readonly neighborMetric: NeighborMetric;
  readonly temperature: number;
  readonly baseTemperature: number;
  readonly mixAlpha: number;
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
const MIX_KEYS: OptionKeys<SauMixOptions> = { images: true, labels: true, numClasses: true, rng: true, logitsOf: true, alpha: true };

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
  const hiddenSizes = options.hiddenSizes ?? [256];
  if (!Array.isArray(hiddenSizes) || hiddenSizes.length === 0 || hiddenSizes.some((h) => !Number.isInteger(h) || h < 1)) {
    throw invalid('INVALID_OPTION', 'hiddenSizes to be a non-empty array of positive integers', 'hiddenSizes', hiddenSizes);
  }
  const projectionHiddenSizes = options.projectionHiddenSizes ?? [2048, 2048];
  if (!Array.isArray(projectionHiddenSizes) || projectionHiddenSizes.some((h) => !Number.isInteger(h) || h < 1)) {
    throw invalid('INVALID_OPTION', 'projectionHiddenSizes to be an array of positive integers', 'projectionHiddenSizes', projectionHiddenSizes);
  }
  const projectionDim = checkInteger('projectionDim', options.projectionDim ?? 128, { min: 1 });
  const synthesizerSpec = resolveSynthesizer(options.synthesizer, numClasses);
  const topUp = checkTopUpPolicy(options.topUp ?? { kind: 'toMax' }, 'sau options.topUp');
  const noisyStrategy = checkOneOf('noisyStrategy', options.noisyStrategy ?? 'drop', NOISY_STRATEGIES);
  const neighborMetric = checkOneOf('neighborMetric', options.neighborMetric ?? 'cosine', ['cosine', 'euclidean']);
  const temperature = checkPositive('temperature', options.temperature ?? 0.1);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? temperature);
  const mixAlpha = checkPositive('mixAlpha', options.mixAlpha ?? 1);
  const weights = options.lossWeights ?? {};
  checkOptions('sau options.lossWeights', weights, LOSS_WEIGHT_KEYS);
  const mixWeight = checkNonNegative('lossWeights.mix', weights.mix ?? 1);
  const contrastiveWeight = checkNonNegative('lossWeights.contrastive', weights.contrastive ?? 1);
  const aug = options.augmentation ?? 'cropFlip';
  let augmentation: Resolved['augmentation'];
  if (typeof aug === 'object' && aug !== null) {
    checkOptions('sau options.augmentation', aug, VIEW_KEYS);
    const ok = typeof aug.mix === 'function' && Array.isArray(aug.contrast) && aug.contrast.length === 2 && aug.contrast.every((f) => typeof f === 'function');
    if (!ok) throw invalid('INVALID_OPTION', 'augmentation { mix, contrast: [view, view] } of functions', 'augmentation', Object.keys(aug));
    augmentation = 'custom';
  } else {
    augmentation = checkOneOf('augmentation', aug, ['cropFlip', 'flip', 'none']);
  }
  const cropPadding = checkInteger('cropPadding', options.cropPadding ?? Math.ceil(imageShape[0] / 8));
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

/** Images keep their shape; flat inputs need `imageShape` (CutMix and crops are image operations). */
function resolveImageShape(imageShape: readonly number[] | undefined, inputShape: readonly number[]): [number, number, number] {
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (imageShape === undefined) {
    if (inputShape.length === 3) return [inputShape[0] as number, inputShape[1] as number, inputShape[2] as number];
    throw invalid('MISSING_INPUT', 'imageShape [H, W, C] for inputs that are not images (CutMix and the crop/flip views work on images)', 'imageShape', undefined);
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
    const same: ViewTransform = (images) => tf.clone(images);
    return { mix: same, contrast: [same, same] };
  }
  const padding = o.augmentation === 'flip' ? 0 : o.cropPadding;
  const cropFlip: ViewTransform = (images, rng) =>
    tf.tidy(() => {
      const cropped = padding > 0 ? randomCrop(images, { padding, rng }) : images;
      return randomFlip(cropped, { rng });
    });
  return { mix: cropFlip, contrast: [cropFlip, cropFlip] };
}

/** Options of {@link sauMixLoss}. */
export interface SauMixOptions {
  /** The batch as images [B, H, W, C]. */
  readonly images: tf.Tensor4D;
  readonly labels: Int32Array;
  readonly numClasses: number;
  /** Draws MixUp's λ and partners, then CutMix's λ, partners and box, in that order. */
  readonly rng: Rng;
  /** Logits [B, C] of a mixed batch (the linear head in training mode). */
  readonly logitsOf: (images: tf.Tensor4D) => tf.Tensor2D;
  /** λ ~ Beta(α, α). @defaultValue 1 */
  readonly alpha?: number;
}

/**
 * SAU's synthetic-unaware branch (official `MixLoss`): soft-target cross-entropy of the classifier on a
 * MixUp batch and on a CutMix batch of the same inputs,
 *
 *   L_mixup = −(1/B) Σ_i Σ_j ỹ_ij log softmax(z_i)_j,  x̃ = λx + (1−λ)x_π, ỹ = λe_y + (1−λ)e_{y_π},
 *
 * and likewise for CutMix (box of side √(1−λ), soft targets with the sampled λ — no area adjustment, as
 * in the official code). Each draws its own λ ~ Beta(α, α) and partner permutation from `rng`
 * ({@link mixup}, {@link cutmix}). Runs in `tf.tidy`; the caller owns both scalars.
 *
 * @example
 * ```ts
 * const { mixup, cutmix } = sauMixLoss({ images, labels, numClasses: 10, rng, logitsOf: (x) => model.forward(x, 'train').logits });
 * ```
 */
export function sauMixLoss(options: SauMixOptions): { readonly mixup: tf.Scalar; readonly cutmix: tf.Scalar } {
  checkOptions('sauMixLoss options', options, MIX_KEYS);
  const { images, labels, numClasses, rng, logitsOf } = options;
  const alpha = options.alpha ?? 1;
  return tf.tidy(() => {
    const mixed = mixup(images, labels, { numClasses, rng, alpha });
    const cut = cutmix(images, labels, { numClasses, rng, alpha, adjustLambda: false });
    const y = tf.tensor1d(labels, 'int32');
    const softCe = (x: tf.Tensor4D, targets: tf.Tensor2D): tf.Scalar => tf.mean(crossEntropy(logitsOf(x), y, { targets, validate: false }));
    return { mixup: softCe(mixed.images, mixed.targets), cutmix: softCe(cut.images, cut.targets) };
  });
}

class SauRunImpl implements SauRun {
  readonly kind = 'sau' as const;
  readonly model: DualBranch;
  readonly trainer: Trainer;
  private readonly guard = new DisposeGuard('sau run');
  private protoFeatures: tf.Tensor3D | null = null;
  private protoLabels: Int32Array | null = null;
  /** The training set of the running `fit` (real + synthetic, flagged), for the prototype callback. */
  private fitting: LabeledData | null = null;
  private realCounts: Float64Array | null = null;
  private stats: LabelCorrectionStats[] = [];
  private epochSynthetic = 0;
  private epochNoisy = 0;
  private readonly synthetic: LabeledData | undefined;
  private readonly userBackbone: boolean;
  private readonly synthesizer: Synthesizer | undefined;

  constructor(
    private readonly o: Resolved,
    private readonly views: SauViews,
    options: SauOptions,
  ) {
    this.synthetic = options.synthetic;
    this.userBackbone = options.backbone !== undefined;
    this.synthesizer = options.synthesizer !== undefined && isSynthesizer(options.synthesizer) ? options.synthesizer : undefined;
    const rng = createRng(o.seed).fork('sau:model');
    const inputDim = o.inputShape[0] as number;
    const backbone = options.backbone ?? mlpBackbone({ inputDim, hiddenSizes: o.hiddenSizes, rng: rng.fork('backbone') });
    this.model = createDualBranch({
      backbone,
      numClasses: o.numClasses,
      projectionHiddenSizes: o.projectionHiddenSizes,
      projectionDim: o.projectionDim,
      rng: rng.fork('heads'),
    });
    const callbacks: Callback[] = [
      {
        onEpochBegin: (epoch) => this.beginEpoch(epoch),
        onEpochEnd: (epoch) => {
          this.stats.push({ epoch, synthetic: this.epochSynthetic, noisy: this.epochNoisy });
        },
      },
    ];
    this.trainer = createTrainer({
      model: this.model,
      objective: (inputs) => this.objective(inputs),
      seed: o.seed,
      ...o.stage,
      ...trainerSettings(o, { index: 1, count: 1, own: callbacks }),
    });
  }

  get config(): JsonObject {
    const o = this.o;
    const external: string[] = [];
    if (this.synthetic !== undefined) external.push('synthetic');
    if (this.synthesizer !== undefined) external.push('synthesizer');
    if (o.augmentation === 'custom') external.push('augmentation');
    const input = { inputDim: null, hiddenSizes: o.hiddenSizes };
    return {
      kind: 'sau',
      seed: o.seed,
      numClasses: o.numClasses,
      inputShape: [...o.inputShape],
      imageShape: [...o.imageShape],
      ...(o.synthesizerSpec === null ? {} : { synthesizer: o.synthesizerSpec as unknown as JsonObject }),
      topUp: o.topUp as unknown as JsonObject,
      noisyStrategy: o.noisyStrategy,
      neighborMetric: o.neighborMetric,
      temperature: o.temperature,
      baseTemperature: o.baseTemperature,
      mixAlpha: o.mixAlpha,
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


  get labelCorrection(): readonly LabelCorrectionStats[] {
    return this.stats.map((s) => ({ ...s }));
  }

  prototypes(): SauPrototypes | null {
    this.guard.check();
    if (this.protoFeatures === null || this.protoLabels === null) return null;
    return { features: this.protoFeatures.clone(), labels: Int32Array.from(this.protoLabels) };
  }

  private toImages(x: tf.Tensor): tf.Tensor4D {
    return tf.reshape(x, [x.shape[0] ?? 0, ...this.o.imageShape]) as tf.Tensor4D;
  }

  private fromImages(images: tf.Tensor4D): tf.Tensor {
    return tf.reshape(images, [images.shape[0], ...this.o.inputShape]);
  }

  /** One step of both branches (inside the trainer's tape and tidy). */
  private objective(inputs: ObjectiveInputs): Record<string, tf.Scalar> {
    const { x, labelValues, syntheticFlags, rng } = inputs;
    if (x === null) throw new LongTailError('MISSING_INPUT', 'expected a batch of inputs. Received: x=null (sau does not use the trainer latent synthesis)');
    const model = this.model;
    const o = this.o;
    const images = this.toImages(x);
    const base = this.views.mix(images, rng);
    const { mixup: mixupLoss, cutmix: cutmixLoss } = sauMixLoss({
      images: base,
      labels: labelValues,
      numClasses: o.numClasses,
      rng,
      alpha: o.mixAlpha,
      logitsOf: (im) => model.head(model.embed(this.fromImages(im), 'train'), 'train'),
    });
    const projections = tf.stack(
      this.views.contrast.map((view) => model.project(model.embed(this.fromImages(view(images, rng)), 'train'), 'train')),
      1,
    ) as tf.Tensor3D;
    const prototypes = this.protoFeatures === null || this.protoLabels === null ? null : { features: this.protoFeatures, labels: this.protoLabels };
    const con = sauContrastive(projections, {
      labels: inputs.labels,
      labelValues,
      synthetic: syntheticFlags,
      prototypes,
      strategy: o.noisyStrategy,
      metric: o.neighborMetric,
      temperature: o.temperature,
      baseTemperature: o.baseTemperature,
    });
    for (let i = 0; i < syntheticFlags.length; i++) {
      if (syntheticFlags[i] === 1) this.epochSynthetic++;
      if (con.noisy[i] === 1) this.epochNoisy++;
    }
    return {
      mixup: tf.mul(mixupLoss, o.mixWeight),
      cutmix: tf.mul(cutmixLoss, o.mixWeight),
      contrastive: tf.mul(con.loss, o.contrastiveWeight),
    };
  }

  private beginEpoch(epoch: number): void {
    this.epochSynthetic = 0;
    this.epochNoisy = 0;
    if (this.fitting !== null) this.updatePrototypes(this.fitting, epoch);
  }

  /**
   * Prototypes of the current model: per class and contrastive view, the mean eval-mode projection of the
   * class's real samples (the official `get_prototypes`, run before each epoch). Means are not
   * re-normalised. Classes without real samples get no prototype.
   */
  private updatePrototypes(data: LabeledData, epoch: number): void {
    const rng = createRng(this.o.seed).fork(`sau:prototypes:${epoch}`);
    const real: number[] = [];
    for (let i = 0; i < data.y.length; i++) if (data.synthetic?.[i] !== 1) real.push(i);
    const c = this.o.numClasses;
    const d = this.model.projectionDim;
    const sums = [new Float64Array(c * d), new Float64Array(c * d)];
    const counts = new Float64Array(c);
    for (const i of real) counts[data.y[i] as number] = (counts[data.y[i] as number] as number) + 1;
    const step = this.o.evalBatchSize;
    for (let start = 0; start < real.length; start += step) {
      const rows = real.slice(start, start + step);
      const perView = tf.tidy(() => {
        const images = this.toImages(tf.gather(data.x, tf.tensor1d(rows, 'int32')));
        return this.views.contrast.map((view) => this.model.project(this.model.embed(this.fromImages(view(images, rng)), 'eval'), 'eval'));
      });
      perView.forEach((z, v) => {
        const values = z.dataSync() as Float32Array;
        z.dispose();
        const sum = sums[v] as Float64Array;
        rows.forEach((i, r) => {
          const off = (data.y[i] as number) * d;
          for (let t = 0; t < d; t++) sum[off + t] = (sum[off + t] as number) + (values[r * d + t] as number);
        });
      });
    }
    const present: number[] = [];
    for (let k = 0; k < c; k++) if ((counts[k] as number) > 0) present.push(k);
    const out = new Float32Array(present.length * 2 * d);
    present.forEach((k, p) => {
      for (let v = 0; v < 2; v++) {
        const sum = sums[v] as Float64Array;
        for (let t = 0; t < d; t++) out[(p * 2 + v) * d + t] = (sum[k * d + t] as number) / (counts[k] as number);
      }
    });
    this.protoFeatures?.dispose();
    this.protoFeatures = tf.tensor3d(out, [present.length, 2, d]);
    this.protoLabels = Int32Array.from(present);
  }

  async fit(train: LabeledData, options: FitOptions = {}): Promise<History> {
    this.guard.check();
    checkData(train, this.o.numClasses, this.o.inputShape, 'train');
    if (this.synthetic !== undefined && this.synthetic.x.isDisposed) {
      throw new LongTailError('DISPOSED', 'expected synthetic.x alive until fit returns. Received: a disposed tensor', { name: 'synthetic.x' });
    }
    const made = this.synthesize(train);
    const source = this.synthetic ?? made;
    const all = source === undefined ? null : concatRealSynthetic({ real: train, synthetic: source });
    made?.x.dispose();
    const data = all ?? train;
    try {
      const n = data.y.length;
      // The projection's batch norm cannot train on a final batch of one sample.
      if (n % this.o.stage.batchSize === 1) {
        throw invalid('INVALID_OPTION', `a batch size that leaves no final batch of 1 sample (${n} training samples)`, 'batchSize', this.o.stage.batchSize);
      }
      const realCounts = new Float64Array(this.o.numClasses);
      for (let i = 0; i < n; i++) if (data.synthetic?.[i] !== 1) realCounts[data.y[i] as number] = (realCounts[data.y[i] as number] as number) + 1;
      this.realCounts = realCounts;
      this.stats = [];
      this.fitting = data;
      return withRecipeManifest(await this.trainer.fit(data, options), this);
    } finally {
      this.fitting = null;
      all?.x.dispose();
    }
  }

  /** Input-space synthesis: flatten, observe, top up, reshape. Returns new data the caller owns. */
  private synthesize(train: LabeledData): LabeledData | undefined {
    const spec = this.o.synthesizerSpec;
    if (this.synthesizer === undefined && spec === null) return undefined;
    const synth = this.synthesizer ?? synthRegistry.fromConfig(spec as SerializedComponent);
    try {
      const n = train.y.length;
      const flat = tf.reshape(train.x, [n, -1]) as tf.Tensor2D;
      const labels = tf.tensor1d(train.y, 'int32');
      try {
        synth.observe({ features: flat, labels });
      } finally {
        flat.dispose();
        labels.dispose();
      }
      const perClass = topUpRequest(synth.observedCounts(), this.o.topUp);
      const drawn = synth.sample({ perClass }, createRng(this.o.seed).fork('sau:synthesis'));
      const y = Int32Array.from(drawn.labels.dataSync());
      drawn.labels.dispose();
      const x = tf.reshape(drawn.features, [y.length, ...this.o.inputShape]);
      drawn.features.dispose();
      return { x, y };
    } finally {
      if (this.synthesizer === undefined) synth.dispose();
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
    this.protoFeatures?.dispose();
    this.protoFeatures = null;
  }
}

/** Labels in [0, C) and samples of the recipe's input shape. */
function checkData(data: LabeledData, numClasses: number, inputShape: readonly number[], name: string): void {
  if (data === null || typeof data !== 'object' || !(data.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} as { x: Tensor, y: Int32Array }`, name, data);
  checkSampleShape(name, data.x.shape.slice(1), inputShape);
  checkSameSize(`${name}.y.length = ${name}.x.shape[0]`, data.x.shape[0] ?? 0, `${name}.y.length`, data.y.length);
  checkLabels(`${name}.y`, data.y, numClasses);
}
