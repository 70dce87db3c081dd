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
 * The `perClass` request of a top-up policy: max(target − n_c, 0) for classes with n_c ≥ 1; classes never
 * observed get 0 (there is nothing to synthesize them from).
 *
 * @example topUpRequest([100, 10, 0], { kind: 'toMax' }) → Int32Array [0, 90, 0]
 */
export function topUpRequest(observed: ArrayLike<number>, policy: TopUpPolicy = { kind: 'toMax' }): Int32Array {
  checkSpec('topUp', policy, TOP_UP_KEYS);
  const counts = checkClassCounts('observed', observed);
  let nMax = 0;
  for (const c of counts) nMax = Math.max(nMax, c);
  let target: number;
  switch (policy?.kind) {
    case 'toMax':
      target = nMax;
      break;
    case 'toCount':
      target = checkInteger('count', policy.count);
      break;
    case 'ratio': {
      const ratio = checkNonNegative('ratio', policy.ratio);
      return Int32Array.from(counts, (n) => (n >= 1 ? Math.round(ratio * n) : 0));
    }
    default:
      throw invalid('INVALID_OPTION', 'policy.kind to be one of "toMax", "toCount", "ratio"', 'policy.kind', (policy as { kind?: unknown } | undefined)?.kind);
  }
  return Int32Array.from(counts, (n) => (n >= 1 ? Math.max(Math.round(target - n), 0) : 0));
}
