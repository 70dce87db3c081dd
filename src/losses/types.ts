import type * as tf from '@tensorflow/tfjs';
import type { Configurable } from '../core/registry.js';
import type { Json } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import type { Disposable } from '../core/tensors.js';
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
  /**
   * The forward passes of the trainer's named views (see `TrainerBaseConfig.views`) that the loss asks for
   * in {@link Loss.views}, keyed by view name.
   */
  readonly views?: Readonly<Record<string, ViewForward>>;
};

/**
 * One named view of the batch's input part, through the model: the outputs the loss asked for, the
 * view's soft targets when its transform made some (MixUp, CutMix), and the labels and synthetic flags
 * of the rows (the samples that went through the backbone, in batch order).
 */
export interface ViewForward extends Partial<ForwardFields> {
  readonly targets?: tf.Tensor2D;
  readonly labels: tf.Tensor1D;
  readonly labelValues: Int32Array;
  /** Per row, 1 for a synthetic sample (input-space synthesis or flagged data), else 0. */
  readonly synthetic: Uint8Array;
}

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
  | { readonly kind: 'reduced'; readonly value: tf.Scalar }
  /**
   * A count the trainer sums over each epoch and logs as `count/<name>` (e.g. SAU's rejected synthetic
   * labels). Not part of the loss: never summed into the total or differentiated.
   */
  | { readonly kind: 'count'; readonly value: tf.Scalar };

/** The terms a {@link Reducer} turns into a scalar (every kind but `count`). */
export type ReducibleTerm = Exclude<LossTerm, { readonly kind: 'count' }>;

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
  reduce(term: ReducibleTerm, rc: ReduceContext): tf.Scalar;
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
  /**
   * Named views the loss reads (`inputs.views[name]`) and the outputs it needs from each; the trainer
   * checks the names against its `views` and runs one forward pass per view. A loss that reads only
   * views and `requires` nothing skips the trainer's plain forward pass.
   */
  readonly views?: Readonly<Record<string, readonly Requirement[]>>;
  /**
   * State the loss owns (prototype banks, neighbour masks): refreshed by the trainer before every epoch
   * and saved in its checkpoints. Keys are unique within a loss.
   */
  readonly states?: readonly LossState[];
  /** Unreduced terms; inputs are not disposed. Reads its {@link states}, never writes them. */
  terms(inputs: LossInputs<R>): LossTerms;
  /** `evaluateLoss(this, inputs).total`: terms reduced and summed into one scalar the caller owns. */
  compute(inputs: LossInputs<R>): tf.Scalar;
}

/** What {@link evaluateLoss} returns: every named term reduced, and their sum. The caller owns all. */
export interface LossEvaluation {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
  /** The `count` terms, outside the total. */
  readonly counts: Readonly<Record<string, tf.Scalar>>;
}

/** What a {@link LossState} can use when the trainer refreshes it (at the start of an epoch). */
export interface LossStateContext {
  /** The epoch about to run. */
  readonly epoch: number;
  /** The state's own stream for this refresh: the run seed forked with `<key>:<epoch>`. */
  readonly rng: Rng;
  /** Labels of the rows that go through the backbone (training data, then input-space synthetic samples). */
  readonly labels: Int32Array;
  /** Per row, 1 for a synthetic sample, else 0. */
  readonly synthetic: Uint8Array;
  /** Classes the model scores in training. */
  readonly numClasses: number;
  /**
   * Batched forward passes over rows of the training inputs (eval mode unless `mode` says otherwise), one
   * tensor per entry of `views` (the untransformed inputs when `views` is absent), rows in the order of
   * `rows` (default all). View transforms draw from `rng` (default the context's), batch by batch and view
   * by view. The caller owns the results.
   */
  encode(options: LossStateEncodeOptions): tf.Tensor[];
}

/** Options of {@link LossStateContext.encode}. */
export interface LossStateEncodeOptions {
  readonly output: Requirement;
  readonly views?: readonly string[];
  readonly rows?: Int32Array;
  readonly rng?: Rng;
  readonly mode?: 'train' | 'eval';
}

/** A saved {@link LossState}: JSON plus named typed arrays. */
export interface LossStateSnapshot {
  readonly json: Json;
  readonly arrays: Readonly<Record<string, { readonly shape: readonly number[]; readonly values: Float32Array | Int32Array }>>;
}

/**
 * State a loss owns and the trainer keeps current: `refresh` before each epoch (after the synthetic pool
 * is drawn), `snapshot`/`restore` in checkpoints (a resumed run continues bit-identically). `key` names
 * the state in checkpoints and its random stream. A trainer's `dispose` calls `dispose` on its loss's
 * states: a state frees its tensors and clears, and stays usable (the next refresh rebuilds it).
 */
export interface LossState extends Disposable {
  readonly key: string;
  /** Recomputes the state from the model as it stands before `context.epoch`. */
  refresh(context: LossStateContext): void;
  /** Null before the first refresh. */
  snapshot(): LossStateSnapshot | null;
  /** Validates before it assigns; `null` clears. */
  restore(snapshot: LossStateSnapshot | null): void;
}
