import * as tf from '@tensorflow/tfjs';
import type { JsonObject } from '../core/json.js';
import { toConfig } from '../core/registry.js';
import type { Requirement } from '../models/types.js';
import { meanReducer } from './reducers/basic.js';
import type { Loss, LossInputs, LossTerms, Reducer } from './types.js';

/** What {@link defineLoss} needs: everything of a {@link Loss} except `compute` (and `reducer` is optional). */
export interface LossDefinition<R extends Requirement> {
  /** Registry kind, e.g. `'logitAdjusted'`. */
  readonly kind: string;
  /** Plain-JSON hyperparameters; the reducer's `{ kind, config }` is added under `reducer`. */
  readonly config: JsonObject;
  readonly requires: readonly R[];
  /** @defaultValue meanReducer() */
  readonly reducer?: Reducer;
  /**
   * The loss's own class counts, if it has them: the reducer then sees them as `ctx.classCounts` (taking
   * precedence over the caller's, like the loss itself), so `classWeighted()` needs no counts of its own.
   */
  readonly classCounts?: ArrayLike<number>;
  /** Unreduced terms; runs inside the tidy of `compute`, or the caller's when called directly. */
  terms(inputs: LossInputs<R>): LossTerms;
}

/**
 * Builds a {@link Loss}: `compute(inputs)` = tidy(Σ over terms of reducer.reduce(term)). Every library
 * loss is made by this factory; user losses should be too (see docs/writing-a-loss.md).
 *
 * @example
 * ```ts
 * const l1 = defineLoss({
 *   kind: 'meanAbsLogit', config: {}, requires: ['logits'],
 *   terms: ({ logits }) => ({ l1: { kind: 'perSample', values: tf.mean(tf.abs(logits), 1) as tf.Tensor1D } }),
 * });
 * ```
 */
export function defineLoss<R extends Requirement>(definition: LossDefinition<R>): Loss<R> {
  const reducer = definition.reducer ?? meanReducer();
  const config: JsonObject = { ...definition.config, reducer: toConfig(reducer) as unknown as JsonObject };
  const terms = (inputs: LossInputs<R>): LossTerms => definition.terms(inputs);
  const counts = definition.classCounts === undefined ? undefined : Array.from(definition.classCounts);
  return {
    kind: definition.kind,
    config,
    requires: [...definition.requires],
    reducer,
    terms,
    compute(inputs: LossInputs<R>): tf.Scalar {
      return tf.tidy(() => {
        const ctx = counts === undefined ? inputs.ctx : { ...inputs.ctx, classCounts: counts };
        const rc = ctx === undefined ? { labels: inputs.labels } : { labels: inputs.labels, ctx };
        let total: tf.Scalar = tf.scalar(0);
        for (const term of Object.values(terms(inputs))) total = tf.add(total, reducer.reduce(term, rc));
        return total;
      });
    },
  };
}
