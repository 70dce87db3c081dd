/** The synthesizer registry: `synthRegistry.fromConfig(toConfig(s))` rebuilds an equal (unfitted) synthesizer. */
import { checkOptions, type OptionKeys } from '../core/options.js';
import { Registry } from '../core/registry.js';
import { SYNTH_CONFIG_KEYS } from './config-keys.js';
import type { JsonObject } from '../core/json.js';
import { ClassGaussian, type ClassGaussianOptions } from './gaussian.js';
import { OtDistributionMatching, type OtMatchingOptions } from './ot-matching.js';
import { LatentSmote, type LatentSmoteOptions } from './smote.js';
import type { Synthesizer } from './types.js';

/** A config (user input too) with a key its kind does not take is `UNKNOWN_OPTION`. */
function checked(kind: string, config: JsonObject): JsonObject {
  return checkOptions(`synthesizer { kind: "${kind}" } config`, config, SYNTH_CONFIG_KEYS[kind] as OptionKeys<JsonObject>);
}

/**
 * Kinds: `classGaussian`, `latentSmote`, `otDistributionMatching`. Fitted statistics are not part of a
 * config; a config key the kind does not take is `UNKNOWN_OPTION`.
 */
export const synthRegistry = new Registry<Synthesizer>('synthesizer')
  .register('classGaussian', (config: JsonObject) => new ClassGaussian(checked('classGaussian', config) as unknown as ClassGaussianOptions))
  .register('latentSmote', (config: JsonObject) => new LatentSmote(checked('latentSmote', config) as unknown as LatentSmoteOptions))
  .register('otDistributionMatching', (config: JsonObject) => new OtDistributionMatching(checked('otDistributionMatching', config) as unknown as OtMatchingOptions));
