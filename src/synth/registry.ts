/** The synthesizer registry: `synthRegistry.fromConfig(toConfig(s))` rebuilds an equal (unfitted) synthesizer. */
import { checkOptions, type OptionKeys } from '../core/options.js';
import { Registry, type SerializedComponent } from '../core/registry.js';
import { SYNTH_CONFIG_KEYS } from './config-keys.js';
import type { JsonObject } from '../core/json.js';
import { ClassGaussian, resolveClassGaussianOptions, type ClassGaussianOptions } from './gaussian.js';
import { OtDistributionMatching, resolveOtMatchingOptions, type OtMatchingOptions } from './ot-matching.js';
import { LatentSmote, resolveLatentSmoteOptions, type LatentSmoteOptions } from './smote.js';
import type { Synthesizer } from './types.js';

/** A config (user input too) with a key its kind does not take is `UNKNOWN_OPTION`. */
function checked(kind: string, config: JsonObject, where = `synthesizer { kind: "${kind}" } config`): JsonObject {
  return checkOptions(where, config, SYNTH_CONFIG_KEYS[kind] as OptionKeys<JsonObject>);
}

/**
 * Kinds: `classGaussian`, `latentSmote`, `otDistributionMatching`. Fitted statistics are not part of a
 * config; a config key the kind does not take is `UNKNOWN_OPTION`.
 */
export const synthRegistry = new Registry<Synthesizer>('synthesizer')
  .register('classGaussian', (config: JsonObject) => new ClassGaussian(checked('classGaussian', config) as unknown as ClassGaussianOptions))
  .register('latentSmote', (config: JsonObject) => new LatentSmote(checked('latentSmote', config) as unknown as LatentSmoteOptions))
  .register('otDistributionMatching', (config: JsonObject) => new OtDistributionMatching(checked('otDistributionMatching', config) as unknown as OtMatchingOptions));

/** The pure option resolvers of the built-in kinds (each is what its constructor runs). */
const RESOLVERS: Readonly<Record<string, (config: JsonObject) => object>> = {
  classGaussian: (c) => resolveClassGaussianOptions(c as unknown as ClassGaussianOptions),
  latentSmote: (c) => resolveLatentSmoteOptions(c as unknown as LatentSmoteOptions),
  otDistributionMatching: (c) => resolveOtMatchingOptions(c as unknown as OtMatchingOptions),
};

/**
 * Validates a synthesizer `{ kind, config }` without building it: a registered kind (`UNKNOWN_KIND`),
 * the config keys of its kind (`UNKNOWN_OPTION`, named `<where> { kind: "..." }.config` when `where`
 * is given) and their values (`INVALID_OPTION`, by the resolver its constructor runs). Returns the
 * resolved config (every default filled in) of a built-in kind; the config of a kind you registered
 * yourself is returned as given (its factory checks it when it builds).
 */
export function checkSynthesizerSpec(spec: SerializedComponent, where?: string): JsonObject {
  const kind = synthRegistry.checkKind(spec?.kind);
  const config = spec.config ?? {};
  const resolve = RESOLVERS[kind];
  if (resolve === undefined || !Object.prototype.hasOwnProperty.call(SYNTH_CONFIG_KEYS, kind)) return config;
  checked(kind, config, where === undefined ? undefined : `${where} { kind: ${JSON.stringify(kind)} }.config`);
  return resolve(config) as JsonObject;
}
