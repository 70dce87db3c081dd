import * as tf from '@tensorflow/tfjs';
import { schedule } from '../../core/schedule.js';
import { LongTailError } from '../../core/errors.js';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkClassCounts, checkInteger, checkLabels, checkRange } from '../../core/validate.js';
import type { LossTerm, ReduceContext, ReducibleTerm, Reducer } from '../types.js';
import { checkTermShapes, weightedMean } from './basic.js';

/** Options of {@link effectiveNumberWeights}. */
export interface EffectiveNumberOptions {
  /** β ∈ [0, 1); 0 gives equal weights. @defaultValue 0.9999 */
  readonly beta?: number;
}

const EFFECTIVE_KEYS: OptionKeys<EffectiveNumberOptions> = { beta: true };

/**
 * Class-balanced weights from the effective number of samples (Cui et al., "Class-Balanced Loss Based
 * on Effective Number of Samples", CVPR 2019): w_j = (1 − β) / (1 − β^{n_j}), normalized so Σ_j w_j = C.
 * A zero-count class is weighted as if it had one sample (the largest finite weight): it is at least
 * as rare as any seen class, and (1 − β)/(1 − β⁰) would divide by zero.
 *
 * @returns Float64Array of length C.
 * @throws LongTailError `INVALID_OPTION` for β ∉ [0, 1) or a negative / non-finite count.
 * @example `effectiveNumberWeights([100, 10, 1], { beta: 0.99 })`
 */
export function effectiveNumberWeights(classCounts: ArrayLike<number>, options: EffectiveNumberOptions = {}): Float64Array {
  checkOptions('effectiveNumberWeights options', options, EFFECTIVE_KEYS);
  const beta = checkRange('beta', options.beta ?? 0.9999, { min: 0, max: 1, maxExclusive: true });
  const counts = checkClassCounts('classCounts', classCounts);
  const c = counts.length;
  const w = new Float64Array(c);
  let total = 0;
  for (let j = 0; j < c; j++) {
    const n = Math.max(counts[j] as number, 1);
    // 1 − β^n via expm1 keeps precision when β is close to 1.
    const effective = beta === 0 ? 1 : -Math.expm1(n * Math.log(beta));
    w[j] = (1 - beta) / effective;
    total += w[j] as number;
  }
  for (let j = 0; j < c; j++) w[j] = ((w[j] as number) * c) / total;
  return w;
}

/** Options of {@link classWeighted}. */
export interface ClassWeightedOptions extends EffectiveNumberOptions {
  /** Training count per class; default `ctx.classCounts`. */
  readonly classCounts?: ArrayLike<number>;
  /**
   * Deferred re-weighting (DRW, Cao et al. 2019): plain mean while `ctx.epoch < startEpoch`, class-weighted
   * from then on. 0 weights from the start and needs no epoch.
   * @defaultValue 0
   */
  readonly startEpoch?: number;
}

/** The keys of {@link ClassWeightedOptions} (also the keys of a classWeighted reducer's config). */
export const CLASS_WEIGHTED_KEYS: OptionKeys<ClassWeightedOptions> = { beta: true, classCounts: true, startEpoch: true };

/**
 * Class-weighted mean with effective-number weights, PyTorch semantics:
 * Σ_i w_{y_i} a_i ℓ_i / Σ_i w_{y_i} a_i, where a_i is the term's optional anchor weight. (tfjs's
 * `computeWeightedLoss` divides by the count of non-zero weights instead; it is not used.) With
 * `startEpoch` it is the DRW schedule. A `reduced` term passes through (it has no per-sample labels).
 *
 * @returns a reducer; `reduce` returns a scalar the caller owns.
 * @throws LongTailError `MISSING_INPUT` (no counts; no `ctx.epoch` while `startEpoch > 0`),
 *   `LABEL_OUT_OF_RANGE` (a label ≥ the number of counts), `INVALID_OPTION`.
 * @example
 * ```ts
 * const loss = ldamLoss({ classCounts, reducer: classWeighted({ beta: 0.9999, startEpoch: 160 }) });
 * ```
 */
export function classWeighted(options: ClassWeightedOptions = {}): Reducer {
  checkOptions('classWeighted options', options, CLASS_WEIGHTED_KEYS);
  const beta = checkRange('beta', options.beta ?? 0.9999, { min: 0, max: 1, maxExclusive: true });
  const startEpoch = checkInteger('startEpoch', options.startEpoch ?? 0);
  // DRW is the shared switch schedule: class weights off (0) before startEpoch, on (1) from it.
  const drw = schedule({ kind: 'switch', epoch: startEpoch, before: 0, after: 1 }, { name: 'startEpoch' });
  const fixed = options.classCounts === undefined ? undefined : effectiveNumberWeights(options.classCounts, { beta });
  const config = {
    beta,
    startEpoch,
    ...(options.classCounts === undefined ? {} : { classCounts: Array.from(options.classCounts) }),
  };
  return {
    kind: 'classWeighted',
    config,
    reduce(term: ReducibleTerm, rc: ReduceContext): tf.Scalar {
      if (term.kind === 'reduced') return tf.tidy(() => tf.clone(term.value));
      checkTermShapes(term);
      if (startEpoch > 0) {
        const epoch = rc.ctx?.epoch;
        if (epoch === undefined) {
          throw new LongTailError('MISSING_INPUT', `expected ctx.epoch for a DRW schedule (startEpoch=${startEpoch}). Received: ctx.epoch=undefined`, {
            name: 'ctx.epoch',
          });
        }
        if (drw({ epoch, epochFloat: epoch, step: rc.ctx?.step ?? 0, totalEpochs: rc.ctx?.totalEpochs ?? epoch + 1 }) === 0) {
          return tf.tidy(() => weightedMean(term.values, term.weights));
        }
      }
      let weights = fixed;
      if (weights === undefined) {
        const fromCtx = rc.ctx?.classCounts;
        if (fromCtx === undefined) {
          throw new LongTailError('MISSING_INPUT', 'expected classCounts in the classWeighted options or in ctx.classCounts. Received: classCounts=undefined', {
            name: 'classCounts',
          });
        }
        weights = effectiveNumberWeights(fromCtx, { beta });
      }
      return classWeightedMean(term, rc, weights, 'classWeighted');
    },
  };
}

/**
 * Σ_i w_{y_i} a_i ℓ_i / Σ_i w_{y_i} a_i for a per-sample term, with the term's own labels (else the
 * batch's) and its anchor weights a_i: the one class-weighted mean every class-weighting reducer uses.
 * Checks the labels (host copy when given) before any tensor is made. Internal.
 *
 * @throws LongTailError `MISSING_INPUT` (no labels), `SHAPE_MISMATCH`, `LABEL_OUT_OF_RANGE`.
 */
export function classWeightedMean(term: Extract<LossTerm, { kind: 'perSample' }>, rc: ReduceContext, weights: ArrayLike<number>, owner: string): tf.Scalar {
  const labels = term.labels ?? rc.labels;
  if (labels === undefined) {
    throw new LongTailError('MISSING_INPUT', `expected labels for the ${owner} reducer (it weights samples by class). Received: labels=undefined`, {
      name: 'labels',
    });
  }
  if (labels.shape[0] !== term.values.shape[0]) {
    throw new LongTailError('SHAPE_MISMATCH', `expected labels.shape[0] = ${term.values.shape[0]} (one label per anchor). Received: labels.shape[0]=${labels.shape[0]}`, {
      name: 'labels',
    });
  }
  // Host copies of the labels come with the term (its own anchors) or the context (the batch).
  const host = term.labels !== undefined ? term.labelValues : rc.labelValues;
  checkLabels('labels', host !== undefined && host.length === labels.shape[0] ? host : (labels.dataSync() as Int32Array), weights.length);
  const table = Float32Array.from(weights);
  return tf.tidy(() => {
    const w = tf.gather(tf.tensor1d(table), labels) as tf.Tensor1D;
    return weightedMean(term.values, term.weights === undefined ? w : (tf.mul(w, term.weights) as tf.Tensor1D));
  });
}
