/** A differentiable entropic OT loss between two point sets, for distribution matching. */
import * as tf from '@tensorflow/tfjs';
import { invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger, checkNonNegative, checkOneOf, checkPositive, checkRank, checkSameSize } from '../core/validate.js';
import { sinkhorn, type SinkhornWarning } from './sinkhorn.js';
import { pairwiseDistances } from '../core/neighbors.js';

/** Options of {@link otLoss}. */
export interface OtLossOptions {
  /** ε of the Sinkhorn plan. @defaultValue 0.1 */
  readonly epsilon?: number;
  /** Sinkhorn iterations. @defaultValue 200 */
  readonly iterations?: number;
  /** @defaultValue 1e-9 */
  readonly tolerance?: number;
  /** Sinkhorn's iteration (see {@link sinkhorn}). @defaultValue 'log' */
  readonly method?: 'auto' | 'plain' | 'log';
  /** @defaultValue 'squaredEuclidean' */
  readonly cost?: 'squaredEuclidean' | 'cosine';
  /** Divide the cost by its (detached) maximum, so ε is relative to the cost scale. @defaultValue true */
  readonly normalize?: boolean;
  /** Called when the inner Sinkhorn run does not converge. */
  readonly onWarning?: (warning: SinkhornWarning) => void;
}

const KEYS: OptionKeys<OtLossOptions> = {
  epsilon: true,
  iterations: true,
  tolerance: true,
  method: true,
  cost: true,
  normalize: true,
  onWarning: true,
};

/**
 * Pairwise cost tensor [n, m] between rows of x and y: squared Euclidean, or cosine 1 − x̂_i·ŷ_j where a
 * zero row has distance 1 to everything (scikit-learn's `cosine_distances`, and the typed `cosine` cost).
 * The OT names of {@link pairwiseDistances} (`'squaredEuclidean'` is its `'sqeuclidean'`).
 *
 * @deprecated Use `pairwiseDistances(x, y, { metric: 'sqeuclidean' | 'cosine' })`, the one home of
 *   pairwise distances (same numbers, bit for bit).
 */
export function pairwiseCost(x: tf.Tensor2D, y: tf.Tensor2D, cost: 'squaredEuclidean' | 'cosine'): tf.Tensor2D {
  return pairwiseDistances(x, y, { metric: cost === 'cosine' ? 'cosine' : 'sqeuclidean' });
}

/**
 * OT_ε(x, y) = ⟨P*, M(x, y)⟩ with uniform weights, M the pairwise cost (divided by its detached max when
 * `normalize`) and P* the Sinkhorn plan computed on the current values. The plan is treated as a
 * constant (envelope theorem: at the optimum of the entropic problem, d/dx of the regularised value is
 * ⟨P*, ∂M/∂x⟩), so `tf.grad` of this scalar flows through M only. Returns a scalar the caller owns.
 *
 * @see Cuturi 2013; Feydy et al. 2019 (gradients of Sinkhorn divergences).
 */
export function otLoss(x: tf.Tensor2D, y: tf.Tensor2D, options?: OtLossOptions): tf.Scalar {
  const o = checkOptions('otLoss options', options, KEYS);
  checkRank('x', x.shape, 2);
  checkRank('y', y.shape, 2);
  checkSameSize('y.shape[1] = x.shape[1]', x.shape[1], 'y.shape[1]', y.shape[1]);
  if (x.shape[0] === 0 || y.shape[0] === 0) throw invalid('INVALID_OPTION', 'non-empty point sets', 'x.shape[0]', x.shape[0]);
  const epsilon = checkPositive('epsilon', o.epsilon ?? 0.1);
  const iterations = checkInteger('iterations', o.iterations ?? 200, { min: 1 });
  const method = checkOneOf('method', o.method ?? 'log', ['auto', 'plain', 'log'] as const);
  const costKind = checkOneOf('cost', o.cost ?? 'squaredEuclidean', ['squaredEuclidean', 'cosine'] as const);
  const normalize = o.normalize ?? true;
  if (typeof normalize !== 'boolean') throw invalid('INVALID_OPTION', 'normalize to be a boolean', 'normalize', normalize);
  const tolerance = checkNonNegative('tolerance', o.tolerance ?? 1e-9);
  const [n, m] = [x.shape[0], y.shape[0]];
  return tf.tidy(() => {
    const cost = pairwiseDistances(x, y, { metric: costKind === 'cosine' ? 'cosine' : 'sqeuclidean' });
    const values = Float64Array.from(cost.dataSync());
    let scale = 1;
    if (normalize) {
      let max = 0;
      for (const v of values) max = Math.max(max, v);
      if (max > 0) scale = 1 / max;
    }
    if (scale !== 1) for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * scale;
    const result = sinkhorn(undefined, undefined, { values, rows: n, cols: m }, {
      epsilon,
      maxIterations: iterations,
      tolerance,
      method,
      planTensor: true,
      ...(o.onWarning ? { onWarning: o.onWarning } : {}),
    });
    return tf.mul(tf.sum(tf.mul(result.planTensor as tf.Tensor2D, cost)), scale) as tf.Scalar;
  });
}
