/**
 * The keys of each sampler spec kind (internal: `samplerFromConfig` and the recipes check specs with them,
 * the recipes under their own option path).
 */
import type { SpecKeys } from '../core/options.js';
import type { SamplerSpec } from './registry.js';

export const SAMPLER_SPEC_KEYS: SpecKeys<SamplerSpec> = {
  instance: { kind: true, numSamples: true },
  classBalanced: { kind: true, numSamples: true },
  power: { kind: true, q: true, numSamples: true },
  squareRoot: { kind: true, numSamples: true },
  progressive: { kind: true, numSamples: true },
  mPerClass: { kind: true, m: true, numSamples: true },
};
