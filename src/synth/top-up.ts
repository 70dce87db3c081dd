/** Top-up policies: how many synthetic samples each class gets, from the observed class counts. */
import { invalid } from '../core/errors.js';
import { checkSpec, type SpecKeys } from '../core/options.js';
import { checkClassCounts, checkInteger, checkNonNegative } from '../core/validate.js';

/**
 * - `toMax`: every class up to n_max = max_c n_c (the default of latent-space synthesis, Sharma 2025).
 * - `toCount`: every class up to `count`.
 * - `ratio`: round(ratio · n_c) extra samples per class (the same meaning as the trainer's `topUp`).
 *
 * Structurally identical to the trainer's `TopUpPolicy` (exported from the train module).
 */
export type TopUpPolicy =
  | { readonly kind: 'toMax' }
  | { readonly kind: 'toCount'; readonly count: number }
  | { readonly kind: 'ratio'; readonly ratio: number };

/** The keys of each top-up policy kind. */
export const TOP_UP_KEYS: SpecKeys<TopUpPolicy> = { toMax: { kind: true }, toCount: { kind: true, count: true }, ratio: { kind: true, ratio: true } };

/**
 * Validates a top-up policy without applying it: the keys of its kind (`UNKNOWN_OPTION`, named under
 * `name`), a known kind, an integer `count`, a `ratio` ≥ 0 (`INVALID_OPTION`). {@link topUpRequest} runs
 * it first; recipes and the trainer run it to fail before anything is built. Returns `policy`.
 */
export function checkTopUpPolicy(policy: TopUpPolicy, name = 'topUp'): TopUpPolicy {
  checkSpec(name, policy, TOP_UP_KEYS);
  switch (policy?.kind) {
    case 'toMax':
      return policy;
    case 'toCount':
      checkInteger('count', policy.count);
      return policy;
    case 'ratio':
      checkNonNegative('ratio', policy.ratio);
      return policy;
    default:
      throw invalid('INVALID_OPTION', 'policy.kind to be one of "toMax", "toCount", "ratio"', 'policy.kind', (policy as { kind?: unknown } | undefined)?.kind);
  }
}

/**
 * The `perClass` request of a top-up policy: max(target − n_c, 0) for classes with n_c ≥ 1; classes never
 * observed get 0 (there is nothing to synthesize them from).
 *
 * @example topUpRequest([100, 10, 0], { kind: 'toMax' }) → Int32Array [0, 90, 0]
 */
export function topUpRequest(observed: ArrayLike<number>, policy: TopUpPolicy = { kind: 'toMax' }): Int32Array {
  checkTopUpPolicy(policy);
  const counts = checkClassCounts('observed', observed);
  if (policy.kind === 'ratio') return Int32Array.from(counts, (n) => (n >= 1 ? Math.round(policy.ratio * n) : 0));
  let target = policy.kind === 'toCount' ? policy.count : 0;
  if (policy.kind === 'toMax') for (const c of counts) target = Math.max(target, c);
  return Int32Array.from(counts, (n) => (n >= 1 ? Math.max(Math.round(target - n), 0) : 0));
}
