/**
 * Unknown-key checks for options objects. Half of the library's users write plain JavaScript, where a
 * misspelled key (`{ gama: 0 }`) would otherwise be ignored silently and the default used.
 */
import { formatValue, invalid, LongTailError } from './errors.js';

/**
 * Every key an options type `T` may have, as an object literal (`{ gamma: true, reducer: true }`). Written
 * as a record rather than an array so the compiler rejects a list that misses or invents a key.
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), case-insensitive: the
 * metric behind "did you mean …?" suggestions.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const rows = s.length + 1;
  const cols = t.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min((d[(i - 1) * cols + j] as number) + 1, (d[i * cols + j - 1] as number) + 1, (d[(i - 1) * cols + j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, (d[(i - 2) * cols + j - 2] as number) + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1] as number;
}

/**
 * Names users bring from PyTorch, POT, scikit-learn, imbalanced-learn and Keras, and the option each
 * becomes here: suggested when the target is a valid key of the call.
 */
const PYTHON_NAMES: Readonly<Record<string, readonly string[]>> = {
  reg: ['epsilon'],
  numItermax: ['maxIterations'],
  stopThr: ['tolerance'],
  k_neighbors: ['k'],
  n_neighbors: ['k'],
  random_state: ['seed'],
  sampling_strategy: ['target'],
  lr: ['learningRate'],
  labels: ['y', 'labelColumn'],
  xs: ['x'],
  ys: ['y'],
  validation_data: ['validation'],
};

/**
 * The candidate nearest to `key`, or undefined when none is close enough to be a plausible typo
 * (distance ≤ max(2, ⌊|key| / 3⌋), or one contains the other ignoring case).
 */
export function nearestName(key: string, candidates: readonly string[]): string | undefined {
  for (const alias of PYTHON_NAMES[key] ?? []) if (candidates.includes(alias)) return alias;
  // snake_case → camelCase (batch_size → batchSize, restore_best_weights → restoreBestWeights).
  const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (camel !== key && candidates.includes(camel)) return camel;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(key, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  if (best === undefined) return undefined;
  const lower = key.toLowerCase();
  const contained = key.length >= 3 && (best.toLowerCase().includes(lower) || lower.includes(best.toLowerCase()));
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) || contained ? best : undefined;
}

/**
 * Checks an options object before anything is built: `undefined` becomes `{}`; anything but a plain
 * object is `INVALID_OPTION`; an own key that `keys` does not list is `UNKNOWN_OPTION`, naming the key and
 * the nearest valid one:
 * `expected focalLoss options to be among gamma, reducer. Received: gama (did you mean gamma?)`.
 *
 * @param where - what the options belong to, as users call it (e.g. `'focalLoss options'`).
 * @example
 * ```ts
 * const KEYS: OptionKeys<FocalOptions> = { gamma: true, reducer: true };
 * export function focalLoss(options?: FocalOptions) {
 *   const o = checkOptions('focalLoss options', options, KEYS);
 *   ...
 * }
 * ```
 */
export function checkOptions<T extends object>(where: string, options: T | undefined, keys: OptionKeys<T>): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw invalid('INVALID_OPTION', `${where} to be an object`, where, options);
  }
  const allowed = Object.keys(keys);
  for (const key of Object.keys(options)) {
    if (Object.prototype.hasOwnProperty.call(keys, key)) continue;
    const near = nearestName(key, allowed);
    const list = allowed.length === 0 ? '(none)' : allowed.join(', ');
    throw new LongTailError(
      'UNKNOWN_OPTION',
      `expected ${where} to be among ${list}. Received: ${formatValue(key).slice(1, -1)}${near === undefined ? '' : ` (did you mean ${near}?)`}`,
      { where, key, allowed, ...(near === undefined ? {} : { suggestion: near }) },
    );
  }
  return options;
}

/** The spec member of the discriminated union `S` whose `kind` is `K` (a member may list several kinds). */
export type SpecOf<S extends { readonly kind: string }, K extends string> = S extends { readonly kind: infer Kind } ? (K extends Kind ? S : never) : never;

/** Per kind of a discriminated spec union `S`, every key that kind's spec may have (`kind` included). */
export type SpecKeys<S extends { readonly kind: string }> = { readonly [K in S['kind']]: OptionKeys<SpecOf<S, K>> };

/**
 * {@link checkOptions} for a discriminated spec (`{ kind: 'power', q: 0.5 }`): the keys valid for
 * its own kind, named `sampler { kind: "squareRoot" }` in messages. A kind the table does not list (a
 * user-registered one) and anything that is not an object with a string `kind` are left to the caller,
 * which reports them with its own code (`UNKNOWN_KIND`, `INVALID_OPTION`).
 *
 * @param where - what the spec is, as users write it (e.g. `'sampler'`, `'ltls options.optimizer'`).
 * @example
 * ```ts
 * checkSpec('sampler', { kind: 'classBalanced', numSample: 10 }, SAMPLER_KEYS);
 * // UNKNOWN_OPTION: expected sampler { kind: "classBalanced" } to be among kind, numSamples.
 * //                 Received: numSample (did you mean numSamples?)
 * ```
 */
export function checkSpec<S extends { readonly kind: string }>(where: string, spec: S, keysByKind: SpecKeys<S>): S {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return spec;
  const kind: unknown = (spec as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(keysByKind, kind)) return spec;
  const keys = (keysByKind as Readonly<Record<string, OptionKeys<S>>>)[kind] as OptionKeys<S>;
  return checkOptions(`${where} { kind: ${JSON.stringify(kind)} }`, spec, keys);
}
