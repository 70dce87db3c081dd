import type * as tf from '@tensorflow/tfjs';
import type { JsonObject } from '../core/json.js';
import { toConfig } from '../core/registry.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkClassCounts } from '../core/validate.js';
import { invalid } from '../core/errors.js';
import { evaluateLoss } from './evaluate.js';
import type { Requirement } from '../models/types.js';
import { meanReducer } from './reducers/basic.js';
import type { Loss, LossInputs, LossState, LossTerms, Reducer } from './types.js';

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
  /** Named views the loss reads and what it needs from each (see {@link Loss.views}). */
  readonly views?: Readonly<Record<string, readonly Requirement[]>>;
  /** State the loss owns (see {@link Loss.states}). */
  readonly states?: readonly LossState[];
  /** Unreduced terms; runs inside the tidy of `compute`, or the caller's when called directly. */
  terms(inputs: LossInputs<R>): LossTerms;
}

const DEFINITION_KEYS: OptionKeys<LossDefinition<Requirement>> = { kind: true, config: true, requires: true, reducer: true, classCounts: true, views: true, states: true, terms: true };

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
    ...(definition.views === undefined ? {} : { views: checkViews(definition.views) }),
    ...(definition.states === undefined ? {} : { states: checkStates(definition.states) }),
    terms,
    compute(inputs: LossInputs<R>): tf.Scalar {
      const { total, terms: named, counts: countTerms } = evaluateLoss(loss, inputs);
      for (const t of Object.values(named)) t.dispose();
      for (const t of Object.values(countTerms)) t.dispose();
      return total;
    },
  };
  return loss;
}

const FIELDS: readonly Requirement[] = ['logits', 'embeddings', 'projections'];

/** `{ [view]: requirements }` with known output names; a copy. */
export function checkViews(views: Readonly<Record<string, readonly Requirement[]>>): Readonly<Record<string, readonly Requirement[]>> {
  if (views === null || typeof views !== 'object' || Array.isArray(views)) throw invalid('INVALID_OPTION', 'views as { [name]: requirements[] }', 'views', views);
  const out: Record<string, readonly Requirement[]> = {};
  for (const [name, needs] of Object.entries(views)) {
    if (!Array.isArray(needs) || needs.some((r) => !FIELDS.includes(r))) {
      throw invalid('INVALID_OPTION', `views.${name} to be a list of ${FIELDS.join(', ')}`, `views.${name}`, needs);
    }
    out[name] = [...needs];
  }
  return out;
}

/** Loss states with unique keys; a copy of the list. */
export function checkStates(states: readonly LossState[]): readonly LossState[] {
  if (!Array.isArray(states)) throw invalid('INVALID_OPTION', 'states to be an array of LossState', 'states', states);
  const keys = new Set<string>();
  states.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || typeof s.key !== 'string' || typeof s.refresh !== 'function' || typeof s.snapshot !== 'function' || typeof s.restore !== 'function') {
      throw invalid('INVALID_OPTION', 'a LossState { key, refresh, snapshot, restore, dispose }', `states[${i}]`, s);
    }
    if (keys.has(s.key)) throw invalid('INVALID_OPTION', 'loss states with unique keys', `states[${i}].key`, s.key);
    keys.add(s.key);
  });
  return [...states];
}
