import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../../core/errors.js';
import { checkOptions, type OptionKeys } from '../../core/options.js';
import { checkClassCounts, checkNonNegative } from '../../core/validate.js';
import type { LossTerm, ReduceContext, ReducibleTerm, Reducer } from '../types.js';
import { checkTermShapes } from './basic.js';
import { classWeightedMean } from './classWeighted.js';

/** Options of {@link generalizedReweightingWeights}. */
export interface GeneralizedReweightingWeightOptions {
  /** ρ ≥ 0: 0 gives equal weights, 1 inverse-frequency weights. DisAlign uses 1.2 on ImageNet-LT. */
  readonly rho: number;
}

const GRW_WEIGHT_KEYS: OptionKeys<GeneralizedReweightingWeightOptions> = { rho: true };

/**
 * Generalised re-weighting (GRW) class weights (Zhang et al., "Distribution Alignment: A Unified
 * Framework for Long-tail Visual Recognition", CVPR 2021; official `cvpods` `GRWCrossEntropyLoss`, the
 * loss DisAlign builds): w_c = (1/r_c)^ρ with r_c = n_c / Σn, normalized so Σ_c w_c = C (mean weight 1).
 * A zero-count class is weighted as if it had one sample (the official (1/0)^ρ is infinite), as
 * {@link effectiveNumberWeights} does.
 *
 * @returns Float64Array of length C.
 * @throws LongTailError `INVALID_OPTION` for ρ < 0 (or not finite) and negative / non-finite counts or a
 *   zero total.
 * @example `generalizedReweightingWeights([500, 50, 5], { rho: 1.2 })`
 */
export function generalizedReweightingWeights(classCounts: ArrayLike<number>, options: GeneralizedReweightingWeightOptions): Float64Array {
  const { rho } = checkOptions('generalizedReweightingWeights options', options, GRW_WEIGHT_KEYS);
  checkNonNegative('rho', rho);
  return grwWeights(checkClassCounts('classCounts', classCounts), rho);
}

function grwWeights(counts: Float64Array, rho: number): Float64Array {
  let total = 0;
  for (const n of counts) total += Math.max(n, 1);
  const c = counts.length;
  const w = Float64Array.from(counts, (n) => Math.pow(total / Math.max(n, 1), rho));
  let sum = 0;
  for (const v of w) sum += v;
  for (let j = 0; j < c; j++) w[j] = ((w[j] as number) * c) / sum;
  return w;
}

/** Options of {@link generalizedReweighting}. */
export interface GeneralizedReweightingOptions extends GeneralizedReweightingWeightOptions {
  /** Training count per class; default `ctx.classCounts` at each call. */
  readonly classCounts?: ArrayLike<number>;
}

/** The keys of {@link GeneralizedReweightingOptions} (also the keys of its reducer's config). */
export const GENERALIZED_REWEIGHTING_KEYS: OptionKeys<GeneralizedReweightingOptions> = { rho: true, classCounts: true };

/**
 * Generalised re-weighting reducer (GRW; Zhang et al., CVPR 2021, DisAlign): the class-weighted mean
 * Σ_i w_{y_i} a_i ℓ_i / Σ_i w_{y_i} a_i with w = {@link generalizedReweightingWeights}(counts, { rho }),
 * i.e. PyTorch's `F.cross_entropy(weight=w)` on a cross-entropy term (a_i: the term's anchor weights).
 * ρ = 0 is the plain mean, ρ = 1 inverse-frequency weighting. A `reduced` term passes through.
 *
 * @returns a reducer; `reduce` returns a scalar the caller owns.
 * @throws LongTailError `INVALID_OPTION` (ρ, counts), `MISSING_INPUT` (no counts here or in
 *   `ctx.classCounts`; no labels), `LABEL_OUT_OF_RANGE`.
 * @example
 * ```ts
 * const loss = crossEntropyLoss({ reducer: generalizedReweighting({ rho: 1.2, classCounts }) });
 * ```
 */
export function generalizedReweighting(options: GeneralizedReweightingOptions): Reducer {
  const o = checkOptions('generalizedReweighting options', options, GENERALIZED_REWEIGHTING_KEYS);
  const rho = checkNonNegative('rho', o.rho);
  const counts = o.classCounts === undefined ? undefined : checkClassCounts('classCounts', o.classCounts);
  const fixed = counts === undefined ? undefined : grwWeights(counts, rho);
  return {
    kind: 'generalizedReweighting',
    config: { rho, ...(counts === undefined ? {} : { classCounts: Array.from(counts) }) },
    reduce(term: ReducibleTerm, rc: ReduceContext): tf.Scalar {
      if (term.kind === 'reduced') return tf.tidy(() => tf.clone(term.value));
      checkTermShapes(term);
      let weights = fixed;
      if (weights === undefined) {
        const fromCtx = rc.ctx?.classCounts;
        if (fromCtx === undefined) {
          throw new LongTailError('MISSING_INPUT', 'expected classCounts in the generalizedReweighting options or in ctx.classCounts. Received: classCounts=undefined', {
            name: 'classCounts',
          });
        }
        weights = grwWeights(checkClassCounts('ctx.classCounts', fromCtx), rho);
      }
      return classWeightedMean(term, rc, weights, 'generalizedReweighting');
    },
  };
}
