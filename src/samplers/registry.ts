/**
 * Sampler specs and the sampler registry: `samplerFromConfig({ kind: 'power', q: 0.5 })`, and
 * `samplerRegistry.fromConfig(toConfig(sampler))` rebuilds an equal sampler.
 */
import { invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkSpec } from '../core/options.js';
import { checkFinite, checkInteger } from '../core/validate.js';
import { Registry } from '../core/registry.js';
import { SAMPLER_SPEC_KEYS } from './spec-keys.js';
import {
  classBalancedSampler,
  instanceSampler,
  mPerClassSampler,
  powerSampler,
  progressiveSampler,
  squareRootSampler,
} from './samplers.js';
import type { EpochOptions } from './samplers.js';
import type { Sampler } from './types.js';

/** A sampler described as plain JSON. */
export type SamplerSpec =
  | ({ readonly kind: 'instance' } & EpochOptions)
  | ({ readonly kind: 'classBalanced' } & EpochOptions)
  | ({ readonly kind: 'power'; readonly q?: number } & EpochOptions)
  | ({ readonly kind: 'squareRoot' } & EpochOptions)
  | ({ readonly kind: 'progressive' } & EpochOptions)
  | ({ readonly kind: 'mPerClass'; readonly m: number } & EpochOptions);

/** The sampler kinds the library provides. */
export type SamplerKind = SamplerSpec['kind'];

function num(config: JsonObject, key: string): number | undefined {
  const v = config[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw invalid('INVALID_OPTION', `${key} to be a number`, key, v);
  return v;
}

/** A registered sampler's config (its spec without `kind`) holds only the keys of its kind, with valid values. */
function checked(kind: SamplerKind, config: JsonObject): JsonObject {
  checkSamplerSpec({ ...config, kind } as unknown as SamplerSpec);
  return config;
}

function epochOptions(config: JsonObject): EpochOptions {
  const numSamples = num(config, 'numSamples');
  return numSamples === undefined ? {} : { numSamples };
}

/** Registry of sampler factories by kind; register your own with `samplerRegistry.register(kind, factory)`. */
export const samplerRegistry = new Registry<Sampler>('sampler')
  .register('instance', (c) => instanceSampler(epochOptions(checked('instance', c))))
  .register('classBalanced', (c) => classBalancedSampler(epochOptions(checked('classBalanced', c))))
  .register('power', (c) => {
    checked('power', c);
    const q = num(c, 'q');
    return powerSampler({ ...epochOptions(c), ...(q === undefined ? {} : { q }) });
  })
  .register('squareRoot', (c) => squareRootSampler(epochOptions(checked('squareRoot', c))))
  .register('progressive', (c) => progressiveSampler(epochOptions(checked('progressive', c))))
  .register('mPerClass', (c) => mPerClassSampler({ ...epochOptions(checked('mPerClass', c)), m: num(c, 'm') as number }));

/**
 * Builds a sampler from a spec (or returns a Sampler object unchanged).
 *
 * @throws LongTailError `UNKNOWN_KIND` for an unregistered kind, `INVALID_OPTION` for bad options,
 *   `UNKNOWN_OPTION` for a key the spec's kind does not take (`sampler { kind: "classBalanced" }` in the message).
 */
export function samplerFromConfig(spec: SamplerSpec | Sampler): Sampler {
  if (spec !== null && typeof spec === 'object' && typeof (spec as Sampler).batches === 'function') return spec as Sampler;
  const { kind, ...config } = (spec ?? {}) as { kind: string } & JsonObject;
  return samplerRegistry.fromConfig({ kind, config });
}

/**
 * Validates a sampler spec without building the sampler: a registered kind (`UNKNOWN_KIND`), the keys
 * of its kind (`UNKNOWN_OPTION`, named under `name`), numSamples ≥ 1, a finite `q`, m ≥ 1
 * (`INVALID_OPTION`). The registry's factories run it; recipes run it to fail before their model exists.
 * The values of kinds you registered yourself are checked by their factory only. Returns `spec`.
 */
export function checkSamplerSpec(spec: SamplerSpec, name = 'sampler'): SamplerSpec {
  const kind = samplerRegistry.checkKind((spec as { kind?: unknown } | null)?.kind);
  checkSpec(name, spec, SAMPLER_SPEC_KEYS);
  const config = spec as unknown as JsonObject;
  const numSamples = num(config, 'numSamples');
  if (numSamples !== undefined) checkInteger('numSamples', numSamples, { min: 1 });
  if (kind === 'power') checkFinite('q', num(config, 'q') ?? 0.5);
  if (kind === 'mPerClass') checkInteger('m', num(config, 'm') as number, { min: 1 });
  return spec;
}
