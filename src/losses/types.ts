import type * as tf from '@tensorflow/tfjs';
import type { Configurable } from '../core/registry.js';
import type { ForwardFields, Requirement } from '../models/types.js';

/**
 * Training-time context a loss or reducer may read. Everything is optional so a loss can be called on
 * bare tensors; a loss that needs a field it does not get throws `MISSING_INPUT`.
 */
export interface LossContext {
  /** Training count per class (length C). Losses that take `classCounts` as an option prefer the option. */
  readonly classCounts?: ArrayLike<number>;
  /** 0-based epoch. */
  readonly epoch?: number;
  /** 0-based global step. */
  readonly step?: number;
  readonly totalEpochs?: number;
}

/** What a loss receives: the model outputs it requires, integer labels, optional soft targets, context. */
export type LossInputs<R extends Requirement = Requirement> = Pick<ForwardFields, R> & {
  /**
   * int32 class labels, shape [N]. Optional only for losses that need no classes: SimCLR mode of
   * {@link supConLoss}, and cross-entropy on soft `targets`; every other loss throws `MISSING_INPUT` without them.
   */
  readonly labels?: tf.Tensor1D | undefined;
  /**
   * The same labels as host integers. The trainer always passes them, so no kernel, mask or reducer has to
   * read `labels` back with `dataSync` inside a gradient tape; {@link evaluateLoss} reads them once when a
   * caller leaves them out.
   */
  readonly labelValues?: Int32Array;
  /** Optional soft targets [N, C] (MixUp/CutMix, label smoothing); rows sum to 1. */
  readonly targets?: tf.Tensor2D;
  /**
   * Per sample, 1 where it is synthetic (e.g. a generated image), else 0. Read by SAU's contrastive loss
   * (`sauContrastiveLoss`); absent means every sample is real.
   */
  readonly synthetic?: ArrayLike<number>;
  readonly ctx?: LossContext;
};

/**
 * An unreduced loss term (pytorch-metric-learning's loss dict, typed).
 * - `perSample`: one value per anchor. `labels` (when the anchors are not the batch samples, e.g. SupCon's
 *   N·V view-major anchors) and `weights` (0 excludes an anchor, e.g. no positive) are optional.
 * - `reduced`: already a scalar.
 */
export type LossTerm =
  | {
      readonly kind: 'perSample';
      readonly values: tf.Tensor1D;
      readonly labels?: tf.Tensor1D;
      /** Host copy of `labels`, when the kernel has it (reducers then need no read-back). */
      readonly labelValues?: Int32Array;
      readonly weights?: tf.Tensor1D;
    }
  | { readonly kind: 'reduced'; readonly value: tf.Scalar };

/** Named terms; the trainer logs each separately and sums them. */
export type LossTerms = Readonly<Record<string, LossTerm>>;

/** What a reducer sees besides the term. */
export interface ReduceContext {
  /** The batch labels; absent only for label-free losses (SimCLR, soft-target CE). */
  readonly labels?: tf.Tensor1D | undefined;
  /** Host copy of `labels` (always given by {@link evaluateLoss}). */
  readonly labelValues?: Int32Array;
  readonly ctx?: LossContext;
}

/** Turns an unreduced term into a scalar (mean, sum, class-weighted mean, ...). */
export interface Reducer extends Configurable {
  /** One scalar from an unreduced term (the caller owns it; runs inside the caller's tidy). */
  reduce(term: LossTerm, rc: ReduceContext): tf.Scalar;
}

/**
 * A loss object: a per-sample kernel plus a reducer. `requires` names the model outputs it needs; the
 * trainer checks them against the model's `provides` at construction and never switches on `kind`.
 */
export interface Loss<R extends Requirement = Requirement> extends Configurable {
  readonly requires: readonly R[];
  readonly reducer: Reducer;
  /**
   * The loss's own class counts, when it was given some: {@link evaluateLoss} puts them in `ctx.classCounts`
   * (taking precedence over the caller's) for the terms and the reducer alike.
   */
  readonly classCounts?: Float64Array;
  /** Pure: unreduced terms, no hidden state, inputs are not disposed. */
  terms(inputs: LossInputs<R>): LossTerms;
  /** `evaluateLoss(this, inputs).total`: terms reduced and summed into one scalar the caller owns. */
  compute(inputs: LossInputs<R>): tf.Scalar;
}

/** What {@link evaluateLoss} returns: every named term reduced, and their sum. The caller owns all. */
export interface LossEvaluation {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
}
