import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../../core/errors.js';
import type { LossTerm, ReduceContext, ReducibleTerm, Reducer } from '../types.js';

/**
 * Σ w·v / Σ w, or 0 when Σ w = 0 (e.g. no SupCon anchor has a positive). The zero guard adds
 * [Σw = 0] to the denominator, a constant for the gradient, so no 0/0 appears in either pass.
 * Must run inside a tidy.
 */
export function weightedMean(values: tf.Tensor1D, weights: tf.Tensor1D | undefined): tf.Scalar {
  if (values.size === 0) return tf.scalar(0);
  if (weights === undefined) return tf.mean(values);
  const total = tf.sum(weights);
  const safe = tf.add(total, tf.cast(tf.equal(total, 0), 'float32'));
  return tf.div(tf.sum(tf.mul(values, weights)), safe);
}

/** Checks that optional per-anchor tensors of a term match its values. */
export function checkTermShapes(term: Extract<LossTerm, { kind: 'perSample' }>): void {
  const n = term.values.shape[0];
  for (const [name, t] of [
    ['labels', term.labels],
    ['weights', term.weights],
  ] as const) {
    if (t !== undefined && t.shape[0] !== n) {
      throw new LongTailError('SHAPE_MISMATCH', `expected term.${name}.shape[0] = ${n} (term.values.shape[0]). Received: term.${name}.shape[0]=${t.shape[0]}`, {
        name: `term.${name}`,
      });
    }
  }
}

/**
 * Mean over anchors, honouring the term's `weights` (weight 0 excludes an anchor from numerator and
 * denominator): Σ w_i ℓ_i / Σ w_i; 0 when every weight is 0. A `reduced` term passes through.
 *
 * @returns a reducer; `reduce` returns a scalar the caller owns.
 * @example `crossEntropyLoss({ reducer: meanReducer() })`
 */
export function meanReducer(): Reducer {
  return {
    kind: 'mean',
    config: {},
    reduce(term: ReducibleTerm, _rc: ReduceContext): tf.Scalar {
      return tf.tidy(() => {
        if (term.kind === 'reduced') return tf.clone(term.value);
        checkTermShapes(term);
        return weightedMean(term.values, term.weights);
      });
    },
  };
}

/**
 * Sum over anchors, honouring `weights`: Σ w_i ℓ_i. A `reduced` term passes through.
 *
 * @returns a reducer; `reduce` returns a scalar the caller owns.
 */
export function sumReducer(): Reducer {
  return {
    kind: 'sum',
    config: {},
    reduce(term: ReducibleTerm, _rc: ReduceContext): tf.Scalar {
      return tf.tidy(() => {
        if (term.kind === 'reduced') return tf.clone(term.value);
        checkTermShapes(term);
        return term.weights === undefined ? tf.sum(term.values) : tf.sum(tf.mul(term.values, term.weights));
      });
    },
  };
}
