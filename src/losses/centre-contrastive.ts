/**
 * Contrastive losses with class centres in the contrast set: BCL (balanced contrastive learning) and
 * PaCo (parametric contrastive learning), as loss objects.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { Rng } from '../core/rng.js';
import { checkClassCounts, checkInteger, checkNonNegative, checkOneOf, checkPositive, checkRange } from '../core/validate.js';
import { checkRng } from '../models/check.js';
import type { LossObjectOptions } from './classification.js';
import type { ContrastiveFeatures, NoPositivePolicy } from './contrastive.js';
import { defineLoss } from './define.js';
import { balancedContrastive } from './functional/balancedContrastive.js';
import { parametricContrastive } from './functional/parametricContrastive.js';
import { viewMajorLabels } from './functional/supCon.js';
import { BCL_LOSS_KEYS, PACO_LOSS_KEYS } from './option-keys.js';
import type { Loss, LossInputs, LossTerm } from './types.js';
import { resolveCounts } from './validation.js';

/** Class centres for {@link bclLoss}: a [C, d] tensor (e.g. from {@link learnableCentres}), or a function returning the current one. */
export type CentresSource = tf.Tensor2D | (() => tf.Tensor2D);

/** Options of {@link bclLoss}. */
export interface BclLossOptions<F extends ContrastiveFeatures = ContrastiveFeatures> extends LossObjectOptions {
  /** @defaultValue 0.1 (BalSCL's default; its CIFAR scripts use 0.07) */
  readonly temperature?: number;
  /**
   * The class centres [C, d] (the class-complement), or a function called at every evaluation that
   * returns them (not disposed by the loss). Omitted or null: no class-complement.
   * A tensor or function cannot be serialised: the config records `'fixed'`, `'function'` or null, and
   * `lossRegistry.fromConfig` rebuilds only the centre-free loss (pass `centres` again yourself).
   * @defaultValue null
   */
  readonly centres?: CentresSource | null;
  /** @defaultValue true */
  readonly classAveraging?: boolean;
  /** `'projections'` ([N, V, d] or [N, d]) or `'embeddings'` ([N, D]). @defaultValue 'projections' */
  readonly features?: F;
  /** Anchors without a positive (possible only without centres). @defaultValue 'zero' */
  readonly noPositive?: NoPositivePolicy;
}

/** Options of {@link learnableCentres}. */
export interface LearnableCentresOptions {
  /** C ≥ 1. */
  readonly numClasses: number;
  /** d ≥ 1, the width of the features they are contrasted with. */
  readonly dim: number;
  /** Draws the initial rows. */
  readonly rng: Rng;
}

const CENTRES_KEYS: OptionKeys<LearnableCentresOptions> = { numClasses: true, dim: true, rng: true };

/**
 * A trainable [C, d] variable of class centres for {@link bclLoss} / {@link balancedContrastive}, its rows
 * drawn from N(0, I) with `rng` (directions uniform on the sphere; the loss normalizes them). Add it to the
 * trainer's `trainable` list (`trainable: [...model.trainableVariables, centres]`), or nothing updates it;
 * it is not part of the model, so checkpoints and `model.dispose()` do not cover it: the caller disposes
 * it. The official BCL computes its centres as `normalize(head_fc(fc.weight.T))`, from the classifier's
 * weights through an MLP; a free variable is the simplest equivalent with no model coupling.
 * @example
 * ```ts
 * const centres = learnableCentres({ numClasses: 10, dim: 128, rng: seededRng(0) });
 * const trainer = new Trainer({ model, loss: bclLoss({ centres }), trainable: [...model.trainableVariables, centres], ... });
 * ```
 */
export function learnableCentres(options: LearnableCentresOptions): tf.Variable<tf.Rank.R2> {
  checkOptions('learnableCentres options', options, CENTRES_KEYS);
  const numClasses = checkInteger('numClasses', options.numClasses, { min: 1 });
  const dim = checkInteger('dim', options.dim, { min: 1 });
  checkRng('rng', options.rng);
  const values = new Float32Array(numClasses * dim);
  for (let i = 0; i < values.length; i++) values[i] = options.rng.normal();
  return tf.tidy(() => tf.variable(tf.tensor2d(values, [numClasses, dim]), true));
}

function checkFeatures<F extends ContrastiveFeatures>(value: F | undefined): F {
  return checkOneOf<ContrastiveFeatures>('features', value ?? 'projections', ['projections', 'embeddings']) as F;
}

function featuresOf<F extends ContrastiveFeatures>(inputs: LossInputs<F>, features: F, owner: string): tf.Tensor2D | tf.Tensor3D {
  const x = (inputs as unknown as Record<ContrastiveFeatures, tf.Tensor2D | tf.Tensor3D | undefined>)[features];
  if (x === undefined) {
    throw new LongTailError('MISSING_INPUT', `expected ${features} for ${owner}({ features: '${features}' }). Received: ${features}=undefined`, { name: features });
  }
  return x;
}

function labelsOf(labels: tf.Tensor1D | undefined, owner: string): tf.Tensor1D {
  if (labels === undefined) throw new LongTailError('MISSING_INPUT', `expected labels (int32 [N]) for ${owner}. Received: labels=undefined`, { name: 'labels' });
  return labels;
}

/** `values` repeated `views` times (host twin of viewMajorLabels). */
function tileHost(values: Int32Array, views: number): Int32Array {
  const out = new Int32Array(values.length * views);
  for (let v = 0; v < views; v++) out.set(values, v * values.length);
  return out;
}

/**
 * Balanced contrastive loss object (Zhu et al., CVPR 2022; official `BalSCL`) over the model output named
 * by `features`: class-averaged denominators and, with `centres`, the class-complement (see
 * {@link balancedContrastive}). Its term has one value per view-major anchor with the anchor labels, so
 * `meanReducer()` gives BalSCL's mean over all anchors.
 * @see {@link balancedContrastive}
 * @example
 * ```ts
 * const centres = learnableCentres({ numClasses: 10, dim: 128, rng: seededRng(0) });
 * bclLoss({ temperature: 0.07, centres }).compute({ projections, labels }); // BalSCL(cls_num_list, 0.07)
 * sumLosses([{ loss: logitAdjustedLoss({ classCounts }), weight: alpha }, { loss: bclLoss({ centres }), weight: beta }]); // BCL's CE + SCL
 * ```
 */
export function bclLoss<F extends ContrastiveFeatures = 'projections'>(options: BclLossOptions<F> = {}): Loss<F> {
  checkOptions('bclLoss options', options, BCL_LOSS_KEYS);
  const temperature = checkPositive('temperature', options.temperature ?? 0.1);
  const classAveraging = options.classAveraging ?? true;
  if (typeof classAveraging !== 'boolean') throw invalid('INVALID_OPTION', 'classAveraging to be a boolean', 'classAveraging', classAveraging);
  const features = checkFeatures(options.features);
  const noPositive = checkOneOf('noPositive', options.noPositive ?? 'zero', ['zero', 'exclude']);
  const validate = options.validate ?? true;
  const source = options.centres ?? null;
  if (source !== null && typeof source !== 'function' && !(source instanceof tf.Tensor)) {
    throw invalid('INVALID_OPTION', 'centres to be a [C, d] tensor, a function returning one, or null', 'centres', source);
  }
  return defineLoss<F>({
    kind: 'bcl',
    config: { temperature, classAveraging, features, noPositive, validate, centres: source === null ? null : typeof source === 'function' ? 'function' : 'fixed' },
    requires: [features],
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: (inputs: LossInputs<F>) => {
      const x = featuresOf(inputs, features, 'bclLoss');
      const labels = labelsOf(inputs.labels, 'bclLoss');
      const centres = typeof source === 'function' ? source() : source;
      const { labelValues } = inputs;
      const { values, weights } = balancedContrastive(x, {
        labels,
        temperature,
        classAveraging,
        validate,
        ...(centres === null ? {} : { centres }),
        ...(labelValues === undefined ? {} : { labelValues }),
      });
      const views = x.shape.length === 3 ? (x.shape[1] as number) : 1;
      const term: LossTerm = {
        kind: 'perSample',
        values,
        ...(noPositive === 'exclude' ? { weights } : {}),
        labels: viewMajorLabels(labels, views),
        ...(labelValues === undefined ? {} : { labelValues: tileHost(labelValues, views) }),
      };
      return { bcl: term };
    },
  });
}

/** Options of {@link pacoLoss}. */
export interface PacoLossOptions<F extends ContrastiveFeatures = ContrastiveFeatures> extends LossObjectOptions {
  /** α ≥ 0, weight of the sample–sample positives. @defaultValue 0.05 (ImageNet-LT/iNaturalist scripts; CIFAR: 0.01) */
  readonly alpha?: number;
  /** β > 0, weight of the centre positive. @defaultValue 1 */
  readonly beta?: number;
  /** γ ≥ 0, weight of the samples in the denominator. @defaultValue 1 */
  readonly gamma?: number;
  /** T of the sample similarities (`--moco-t`). @defaultValue 0.2 (ImageNet-LT; CIFAR: 0.05) */
  readonly temperature?: number;
  /** @defaultValue the temperature */
  readonly baseTemperature?: number;
  /** PaCo's `supt`, dividing the centre logits. @defaultValue 1 */
  readonly logitTemperature?: number;
  /**
   * Add log(π + 1e-9) to the centre logits (PaCo/LT's and GPaCo's balanced variant; PaCo/LT's training
   * scripts always use it). Needs `classCounts` or `ctx.classCounts`. @defaultValue false
   */
  readonly logitAdjusted?: boolean;
  /** Training count per class for `logitAdjusted`; default `ctx.classCounts` at each call. */
  readonly classCounts?: ArrayLike<number>;
  /** GPaCo's `smooth` ε on the centre target. @defaultValue 0 */
  readonly labelSmoothing?: number;
  /** The contrasted output: `'projections'` or `'embeddings'`. @defaultValue 'projections' */
  readonly features?: F;
}

/**
 * Parametric contrastive loss object (Cui et al., ICCV 2021; official `PaCoLoss` without its MoCo queue):
 * needs `logits` (the similarities to the learnable class centres, i.e. the classifier's output) and the
 * contrasted features (view 0 are the anchors). See {@link parametricContrastive}. One value per sample,
 * so `meanReducer()` gives `PaCoLoss`'s mean; PaCo trains with this loss alone (no separate CE).
 * @see {@link parametricContrastive}
 * @example
 * ```ts
 * pacoLoss({ alpha: 0.05, temperature: 0.2, logitAdjusted: true, classCounts }); // PaCo/LT, ImageNet-LT R50
 * pacoLoss({ alpha: 0.01, temperature: 0.05, logitAdjusted: true });              // CIFAR, counts from ctx
 * ```
 */
export function pacoLoss<F extends ContrastiveFeatures = 'projections'>(options: PacoLossOptions<F> = {}): Loss<'logits' | F> {
  checkOptions('pacoLoss options', options, PACO_LOSS_KEYS);
  const alpha = checkNonNegative('alpha', options.alpha ?? 0.05);
  const beta = checkPositive('beta', options.beta ?? 1);
  const gamma = checkNonNegative('gamma', options.gamma ?? 1);
  const temperature = checkPositive('temperature', options.temperature ?? 0.2);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? temperature);
  const logitTemperature = checkPositive('logitTemperature', options.logitTemperature ?? 1);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const logitAdjusted = options.logitAdjusted ?? false;
  if (typeof logitAdjusted !== 'boolean') throw invalid('INVALID_OPTION', 'logitAdjusted to be a boolean', 'logitAdjusted', logitAdjusted);
  const features = checkFeatures(options.features);
  const validate = options.validate ?? true;
  const counts = options.classCounts === undefined ? undefined : checkClassCounts('classCounts', options.classCounts);
  if (counts !== undefined && !logitAdjusted) {
    throw invalid('INVALID_OPTION', 'classCounts only with logitAdjusted: true (they are not used otherwise)', 'logitAdjusted', logitAdjusted);
  }
  return defineLoss<'logits' | F>({
    kind: 'paco',
    config: {
      alpha,
      beta,
      gamma,
      temperature,
      baseTemperature,
      logitTemperature,
      logitAdjusted,
      labelSmoothing,
      features,
      validate,
      ...(counts === undefined ? {} : { classCounts: Array.from(counts) }),
    },
    requires: ['logits', features],
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms: (inputs: LossInputs<'logits' | F>) => {
      const x = featuresOf(inputs as LossInputs<F>, features, 'pacoLoss');
      const labels = labelsOf(inputs.labels, 'pacoLoss');
      const { logits, labelValues, ctx } = inputs;
      if (logits === undefined) throw new LongTailError('MISSING_INPUT', 'expected logits for pacoLoss. Received: logits=undefined', { name: 'logits' });
      const values = parametricContrastive(x, {
        labels,
        logits,
        alpha,
        beta,
        gamma,
        temperature,
        baseTemperature,
        logitTemperature,
        labelSmoothing,
        validate,
        ...(logitAdjusted ? { classCounts: resolveCounts(counts, ctx, 'pacoLoss') } : {}),
        ...(labelValues === undefined ? {} : { labelValues }),
      });
      return { paco: { kind: 'perSample', values, labels, ...(labelValues === undefined ? {} : { labelValues }) } };
    },
  });
}
