/**
 * The config keys of each registered synthesizer kind (internal: `synthRegistry` checks a config with
 * them before it builds the synthesizer, and the SAU recipe checks its `synthesizer` spec under its own
 * option path). A config is the synthesizer's options, so the keys are its options' keys.
 */
import { OT_MATCHING_KEYS } from './ot-matching.js';
import type { OptionKeys } from '../core/options.js';
import { CLASS_GAUSSIAN_KEYS } from './gaussian.js';
import type { LatentSmoteOptions } from './smote.js';

const LATENT_SMOTE_KEYS: OptionKeys<LatentSmoteOptions> = { numClasses: true, k: true, singleSample: true, reservoirSize: true, reservoirSeed: true };


/** Config keys by synthesizer kind. */
export const SYNTH_CONFIG_KEYS: Readonly<Record<string, object>> = {
  classGaussian: CLASS_GAUSSIAN_KEYS,
  latentSmote: LATENT_SMOTE_KEYS,
  otDistributionMatching: OT_MATCHING_KEYS,
};
