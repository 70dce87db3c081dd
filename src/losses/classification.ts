/** Loss objects over logits: each pairs a functional kernel with a reducer (default `meanReducer()`). */
import type * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkClassCounts, checkFinite, checkInteger, checkNonNegative, checkPositive, checkRange } from '../core/validate.js';
import { defineLoss } from './define.js';
import { crossEntropy } from './functional/crossEntropy.js';
import { focalCrossEntropy } from './functional/focal.js';
import { ldamCrossEntropy } from './functional/ldam.js';
import { logitAdjustedCrossEntropy } from './functional/logitAdjusted.js';
import { checkSilencingMask, neighborSilencingCrossEntropy } from './functional/neighborSilencing.js';
import { BALANCED_SOFTMAX_LOSS_KEYS, CROSS_ENTROPY_LOSS_KEYS, FOCAL_LOSS_KEYS, LDAM_LOSS_KEYS, LOGIT_ADJUSTED_LOSS_KEYS, NEIGHBOR_SILENCING_LOSS_KEYS } from './option-keys.js';
import { effectiveNumberWeights } from './reducers/classWeighted.js';
import { requireLabels, resolveCounts } from './validation.js';
import type { Loss, LossContext, Reducer } from './types.js';

/** Options every loss object accepts. */
export interface LossObjectOptions {
  /** How per-sample values become a scalar. @defaultValue meanReducer() */
  readonly reducer?: Reducer;
  /** Check label values on every call (one `dataSync` of the labels). @defaultValue true */
  readonly validate?: boolean;
}

/** Options of {@link crossEntropyLoss}. */
export interface CrossEntropyLossOptions extends LossObjectOptions {
  /** Label smoothing ε ∈ [0, 1). @defaultValue 0 */
  readonly labelSmoothing?: number;
}

/**
 * Softmax cross-entropy loss object (hard labels, or `inputs.targets` when present; label smoothing).
 * @see {@link crossEntropy} for the formula.
 * @example
 * ```ts
 * const loss = crossEntropyLoss({ labelSmoothing: 0.1 });
 * const value = loss.compute({ logits, labels }); // tf.Scalar
 * ```
 */
export function crossEntropyLoss(options: CrossEntropyLossOptions = {}): Loss<'logits'> {
  checkOptions('crossEntropyLoss options', options, CROSS_ENTROPY_LOSS_KEYS);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const validate = options.validate ?? true;
  return defineLoss({
    kind: 'crossEntropy',
    config: { labelSmoothing, validate },
    requires: ['logits'],
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: ({ logits, labels, labelValues, targets }) => ({
      crossEntropy: {
        kind: 'perSample',
        values: crossEntropy(logits, labels, { labelSmoothing, validate, ...hostLabels(labelValues), ...(targets === undefined ? {} : { targets }) }),
      },
    }),
  });
}

/** Options of {@link viewCrossEntropyLoss}. */
export interface ViewCrossEntropyLossOptions extends LossObjectOptions {
  /** The trainer views (`TrainerBaseConfig.views`) whose logits are scored, one term per view. */
  readonly views: readonly string[];
  /** Check logits and labels (finite, in range) on every call. @defaultValue true */
  readonly validate?: boolean;
}

const VIEW_CE_KEYS: OptionKeys<ViewCrossEntropyLossOptions> = { views: true, validate: true, reducer: true };

/**
 * Cross-entropy on named views of the batch (MixUp, CutMix, crops): for each view v, the per-sample
 *   ℓ_i = −Σ_j t_ij log softmax(z^v_i)_j,
 * with t the view's soft targets when its transform made some (MixUp/CutMix), else one-hot labels; one
 * term per view, each reduced (default mean). It reads only `inputs.views`, so the trainer runs no plain
 * forward pass for it. SAU's synthetic-unaware branch is `viewCrossEntropyLoss({ views: ['mixup', 'cutmix'] })`.
 *
 * @example
 * ```ts
 * trainer({ model, seed: 0, epochs: 30, batchSize: 256,
 *   views: { mixup: mixupView({ numClasses: 10 }) }, loss: viewCrossEntropyLoss({ views: ['mixup'] }) });
 * ```
 */
export function viewCrossEntropyLoss(options: ViewCrossEntropyLossOptions): Loss<never> {
  checkOptions('viewCrossEntropyLoss options', options, VIEW_CE_KEYS);
  const views = options?.views as unknown;
  if (!Array.isArray(views) || views.length === 0 || views.some((v) => typeof v !== 'string') || new Set(views).size !== views.length) {
    throw invalid('INVALID_OPTION', 'views to be a non-empty list of distinct view names', 'views', views);
  }
  const names = [...(views as string[])];
  const validate = options.validate ?? true;
  return defineLoss<never>({
    kind: 'viewCrossEntropy',
    config: { views: names, validate },
    requires: [],
    views: Object.fromEntries(names.map((v) => [v, ['logits']])),
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: (inputs) => {
      const out: Record<string, { kind: 'perSample'; values: tf.Tensor1D }> = {};
      for (const name of names) {
        const view = inputs.views?.[name];
        if (view?.logits === undefined) {
          throw new LongTailError('MISSING_INPUT', `expected inputs.views.${name}.logits (a trainer view of that name). Received: views=[${Object.keys(inputs.views ?? {}).join(', ')}]`, { name: `views.${name}` });
        }
        out[name] = {
          kind: 'perSample',
          values: crossEntropy(view.logits, view.labels, { validate, ...hostLabels(view.labelValues), ...(view.targets === undefined ? {} : { targets: view.targets }) }),
        };
      }
      return out;
    },
  });
}

/** Options of {@link logitAdjustedLoss}. */
export interface LogitAdjustedLossOptions extends LossObjectOptions {
  /** Training count per class; default `ctx.classCounts` at each call. */
  readonly classCounts?: ArrayLike<number>;
  /** @defaultValue 1 */
  readonly tau?: number;
  /** @defaultValue 0 */
  readonly labelSmoothing?: number;
}

function countsOption(counts: ArrayLike<number> | undefined): { counts: Float64Array | undefined; json: { classCounts?: number[] } } {
  if (counts === undefined) return { counts: undefined, json: {} };
  const c = checkClassCounts('classCounts', counts);
  return { counts: c, json: { classCounts: Array.from(c) } };
}

function withReducer(options: LossObjectOptions): { reducer?: Reducer } {
  return options.reducer === undefined ? {} : { reducer: options.reducer };
}

/** The host labels for a kernel, when the caller has them (they save a read-back of the tensor). */
function hostLabels(labelValues: Int32Array | undefined): { labelValues?: Int32Array } {
  return labelValues === undefined ? {} : { labelValues };
}

function withTargets(targets: tf.Tensor2D | undefined): { targets?: tf.Tensor2D } {
  return targets === undefined ? {} : { targets };
}

/**
 * Logit-adjusted loss object (Menon et al. 2021), CE(z + τ·log(π + 1e-12), y).
 * @see {@link logitAdjustedCrossEntropy}
 * @example
 * ```ts
 * const loss = logitAdjustedLoss({ classCounts: [500, 50, 5], tau: 1 });
 * ```
 */
export function logitAdjustedLoss(options: LogitAdjustedLossOptions = {}): Loss<'logits'> {
  checkOptions('logitAdjustedLoss options', options, LOGIT_ADJUSTED_LOSS_KEYS);
  const tau = checkFinite('tau', options.tau ?? 1);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const validate = options.validate ?? true;
  const { counts, json } = countsOption(options.classCounts);
  return defineLoss({
    kind: 'logitAdjusted',
    config: { tau, labelSmoothing, validate, ...json },
    requires: ['logits'],
    ...withReducer(options),
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms: ({ logits, labels, labelValues, targets, ctx }) => ({
      logitAdjusted: {
        kind: 'perSample',
        values: logitAdjustedCrossEntropy(logits, labels, {
          classCounts: resolveCounts(counts, ctx, 'logitAdjusted'),
          tau,
          labelSmoothing,
          validate,
          ...hostLabels(labelValues),
          ...withTargets(targets),
        }),
      },
    }),
  });
}

/** Options of {@link balancedSoftmaxLoss}. */
export interface BalancedSoftmaxLossOptions extends LossObjectOptions {
  /** Training count per class; default `ctx.classCounts`. */
  readonly classCounts?: ArrayLike<number>;
  /** @defaultValue 0 */
  readonly labelSmoothing?: number;
}

/**
 * Balanced softmax loss object (Ren et al. 2020), CE(z + log n, y) = the logit-adjusted loss at τ = 1.
 * @see {@link balancedSoftmaxCrossEntropy}
 */
export function balancedSoftmaxLoss(options: BalancedSoftmaxLossOptions = {}): Loss<'logits'> {
  checkOptions('balancedSoftmaxLoss options', options, BALANCED_SOFTMAX_LOSS_KEYS);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const validate = options.validate ?? true;
  const { counts, json } = countsOption(options.classCounts);
  return defineLoss({
    kind: 'balancedSoftmax',
    config: { labelSmoothing, validate, ...json },
    requires: ['logits'],
    ...withReducer(options),
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms: ({ logits, labels, labelValues, targets, ctx }) => ({
      balancedSoftmax: {
        kind: 'perSample',
        values: logitAdjustedCrossEntropy(logits, labels, {
          classCounts: resolveCounts(counts, ctx, 'balancedSoftmax'),
          tau: 1,
          labelSmoothing,
          validate,
          ...hostLabels(labelValues),
          ...withTargets(targets),
        }),
      },
    }),
  });
}

/** Options of {@link ldamLoss}. */
export interface LdamLossOptions extends LossObjectOptions {
  /** Training count per class; default `ctx.classCounts`. */
  readonly classCounts?: ArrayLike<number>;
  /** @defaultValue 0.5 */
  readonly maxMargin?: number;
  /** @defaultValue 30 */
  readonly scale?: number;
}

/**
 * LDAM loss object (Cao et al. 2019). For LDAM-DRW pass
 * `reducer: classWeighted({ beta: 0.9999, startEpoch: 160 })`.
 * @see {@link ldamCrossEntropy}
 * @example
 * ```ts
 * const loss = ldamLoss({ classCounts, reducer: classWeighted({ beta: 0.9999, startEpoch: 160 }) });
 * loss.compute({ logits, labels, ctx: { epoch: 170 } });
 * ```
 */
export function ldamLoss(options: LdamLossOptions = {}): Loss<'logits'> {
  checkOptions('ldamLoss options', options, LDAM_LOSS_KEYS);
  const maxMargin = checkPositive('maxMargin', options.maxMargin ?? 0.5);
  const scale = checkPositive('scale', options.scale ?? 30);
  const validate = options.validate ?? true;
  const { counts, json } = countsOption(options.classCounts);
  return defineLoss({
    kind: 'ldam',
    config: { maxMargin, scale, validate, ...json },
    requires: ['logits'],
    ...withReducer(options),
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms: ({ logits, labels, labelValues, ctx }) => ({
      ldam: {
        kind: 'perSample',
        values: ldamCrossEntropy(logits, requireLabels(labels, 'ldamLoss'), { classCounts: resolveCounts(counts, ctx, 'ldam'), maxMargin, scale, validate, ...hostLabels(labelValues) }),
      },
    }),
  });
}

/**
 * LDAM-DRW's focal weighting ({@link FocalLossOptions.classWeights}): explicit per-class weights, or
 * effective-number weights (Cui et al. 2019) of the class counts with β, switched on at `startEpoch`
 * (the DRW schedule; before it every weight is 1, as LDAM-DRW's β = 0 stage).
 */
export type FocalClassWeights = ArrayLike<number> | { readonly beta?: number; readonly startEpoch?: number };

/** Options of {@link focalLoss}. */
export interface FocalLossOptions extends LossObjectOptions {
  /** γ ≥ 0. @defaultValue 2 */
  readonly gamma?: number;
  /**
   * Class weights inside the focal term, as LDAM-DRW's `FocalLoss(weight=w)` (kaidic/LDAM-DRW `losses.py`):
   * ℓ_i = (1 − e^{−w_{y_i}·CE_i})^γ · w_{y_i}·CE_i, averaged over samples with the plain mean (keep the
   * default reducer). This is not `reducer: classWeighted(...)`, which weights the focal values and
   * divides by Σ w. Effective-number weights read `classCounts` (or `ctx.classCounts`), and `ctx.epoch`
   * when `startEpoch > 0`. @defaultValue none (γ-focal loss without class weights)
   */
  readonly classWeights?: FocalClassWeights;
  /** Training count per class for effective-number `classWeights`; default `ctx.classCounts`. */
  readonly classCounts?: ArrayLike<number>;
}

/** The focal class weights at one call: explicit, from counts (DRW schedule), or none. */
function focalWeightsAt(
  spec: Float64Array | { beta: number; startEpoch: number } | undefined,
  counts: Float64Array | undefined,
  ctx: LossContext | undefined,
): Float64Array | undefined {
  if (spec === undefined || spec instanceof Float64Array) return spec;
  if (spec.startEpoch > 0) {
    const epoch = ctx?.epoch;
    if (epoch === undefined) {
      throw new LongTailError('MISSING_INPUT', `expected ctx.epoch for focal class weights with startEpoch=${spec.startEpoch}. Received: ctx.epoch=undefined`, {
        name: 'ctx.epoch',
      });
    }
    if (epoch < spec.startEpoch) return undefined;
  }
  return effectiveNumberWeights(resolveCounts(counts, ctx, 'focalLoss'), { beta: spec.beta });
}

/**
 * Focal loss object (Lin et al. 2017), −(1 − p_y)^γ log p_y; with `classWeights`, LDAM-DRW's weighted
 * focal loss.
 * @see {@link focalCrossEntropy}
 * @example
 * ```ts
 * focalLoss({ gamma: 2 });
 * // LDAM-DRW's FocalLoss(weight=per_cls_weights) with its DRW schedule (β = 0.9999 from epoch 160):
 * focalLoss({ gamma: 1, classCounts, classWeights: { beta: 0.9999, startEpoch: 160 } });
 * ```
 */
export function focalLoss(options: FocalLossOptions = {}): Loss<'logits'> {
  checkOptions('focalLoss options', options, FOCAL_LOSS_KEYS);
  const gamma = checkNonNegative('gamma', options.gamma ?? 2);
  const validate = options.validate ?? true;
  const { counts, json } = countsOption(options.classCounts);
  const { spec, specJson } = focalWeightsOption(options.classWeights);
  return defineLoss({
    kind: 'focal',
    config: { gamma, validate, ...specJson, ...json },
    requires: ['logits'],
    ...withReducer(options),
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms: ({ logits, labels, labelValues, ctx }) => {
      const classWeights = focalWeightsAt(spec, counts, ctx);
      return {
        focal: {
          kind: 'perSample',
          values: focalCrossEntropy(logits, requireLabels(labels, 'focalLoss'), {
            gamma,
            validate,
            ...hostLabels(labelValues),
            ...(classWeights === undefined ? {} : { classWeights }),
          }),
        },
      };
    },
  });
}

function focalWeightsOption(w: FocalClassWeights | undefined): {
  spec: Float64Array | { beta: number; startEpoch: number } | undefined;
  specJson: { classWeights?: number[] | { beta: number; startEpoch: number } };
} {
  if (w === undefined) return { spec: undefined, specJson: {} };
  if (w !== null && typeof w === 'object' && !('length' in w)) {
    checkOptions('focalLoss options.classWeights', w, FOCAL_SCHEDULE_KEYS);
    const beta = checkRange('classWeights.beta', w.beta ?? 0.9999, { min: 0, max: 1, maxExclusive: true });
    const startEpoch = checkInteger('classWeights.startEpoch', w.startEpoch ?? 0, { min: 0 });
    return { spec: { beta, startEpoch }, specJson: { classWeights: { beta, startEpoch } } };
  }
  // Same rules as counts: finite, ≥ 0, one per class (the kernel checks the length).
  const weights = checkClassCounts('classWeights', w);
  return { spec: weights, specJson: { classWeights: Array.from(weights) } };
}

const FOCAL_SCHEDULE_KEYS: OptionKeys<{ readonly beta?: number; readonly startEpoch?: number }> = { beta: true, startEpoch: true };

/** Options of {@link neighborSilencingLoss}. */
export interface NeighborSilencingLossOptions extends LossObjectOptions {
  /** C×C competition mask (see `silencingMask`). */
  readonly mask: readonly (readonly (boolean | number)[])[];
  /** Counts over target + auxiliary classes; default `ctx.classCounts`. */
  readonly classCounts?: ArrayLike<number>;
  /** @defaultValue 1 */
  readonly tau?: number;
  /**
   * Label smoothing ε ∈ [0, 1), applied before the silencing mask as Gran_LT does (timm's smoothed
   * targets times the mask row): q = M[y] ⊙ ((1 − ε)·q₀ + ε/C), not renormalized. Gran_LT's recipe uses 0.1.
   * @defaultValue 0
   */
  readonly labelSmoothing?: number;
}

/**
 * Neighbor-silencing balanced CE loss object (Zhao et al., Gran_LT `Bal_CE_loss`); soft
 * `inputs.targets` (and label smoothing) are zeroed on silenced classes.
 * @see {@link neighborSilencingCrossEntropy}
 */
export function neighborSilencingLoss(options: NeighborSilencingLossOptions): Loss<'logits'> {
  checkOptions('neighborSilencingLoss options', options, NEIGHBOR_SILENCING_LOSS_KEYS);
  const tau = checkFinite('tau', options.tau ?? 1);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const validate = options.validate ?? true;
  const mask = checkSilencingMask(options.mask, Array.isArray(options.mask) ? options.mask.length : 0);
  const { counts, json } = countsOption(options.classCounts);
  return defineLoss({
    kind: 'neighborSilencing',
    config: { tau, labelSmoothing, validate, mask, ...json },
    requires: ['logits'],
    ...withReducer(options),
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms: ({ logits, labels, labelValues, targets, ctx }) => ({
      neighborSilencing: {
        kind: 'perSample',
        values: neighborSilencingCrossEntropy(logits, requireLabels(labels, 'neighborSilencingLoss'), {
          classCounts: resolveCounts(counts, ctx, 'neighborSilencing'),
          mask,
          tau,
          labelSmoothing,
          validate,
          ...hostLabels(labelValues),
          ...withTargets(targets),
        }),
      },
    }),
  });
}
