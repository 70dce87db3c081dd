import type * as tf from '@tensorflow/tfjs';
import type { JsonObject } from '../core/json.js';
import { toConfig } from '../core/registry.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkClassCounts } from '../core/validate.js';
import { evaluateLoss } from './evaluate.js';
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

const DEFINITION_KEYS: OptionKeys<LossDefinition<Requirement>> = { kind: true, config: true, requires: true, reducer: true, classCounts: true, terms: true };

/**
 * Builds a {@link Loss}: `compute(inputs)` = {@link evaluateLoss}(loss, inputs).total, i.e. Σ over terms
 * of reducer.reduce(term), `reduced` terms taken as they are. Every library
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
  checkOptions('defineLoss definition', definition, DEFINITION_KEYS as OptionKeys<LossDefinition<R>>);
  const reducer = definition.reducer ?? meanReducer();
  const config: JsonObject = { ...definition.config, reducer: toConfig(reducer) as unknown as JsonObject };
  const terms = (inputs: LossInputs<R>): LossTerms => definition.terms(inputs);
  const counts = definition.classCounts === undefined ? undefined : checkClassCounts('classCounts', definition.classCounts);
  const loss: Loss<R> = {
    kind: definition.kind,
    config,
    requires: [...definition.requires],
    reducer,
    ...(counts === undefined ? {} : { classCounts: counts }),
    terms,
    compute(inputs: LossInputs<R>): tf.Scalar {
      const { total, terms: named } = evaluateLoss(loss, inputs);
      for (const t of Object.values(named)) t.dispose();
      return total;
    },
  };
  return loss;
}
