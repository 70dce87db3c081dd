/** The synthesizer registry: `synthRegistry.fromConfig(toConfig(s))` rebuilds an equal (unfitted) synthesizer. */
import { Registry } from '../core/registry.js';
import type { JsonObject } from '../core/json.js';
import { ClassGaussian, type ClassGaussianOptions } from './gaussian.js';
import { OtDistributionMatching, type OtMatchingOptions } from './ot-matching.js';
import { LatentSmote, type LatentSmoteOptions } from './smote.js';
import type { Synthesizer } from './types.js';

/** Kinds: `classGaussian`, `latentSmote`, `otDistributionMatching`. Fitted statistics are not part of a config. */
export const synthRegistry = new Registry<Synthesizer>('synthesizer')
  .register('classGaussian', (config: JsonObject) => new ClassGaussian(config as unknown as ClassGaussianOptions))
  .register('latentSmote', (config: JsonObject) => new LatentSmote(config as unknown as LatentSmoteOptions))
  .register('otDistributionMatching', (config: JsonObject) => new OtDistributionMatching(config as unknown as OtMatchingOptions));
