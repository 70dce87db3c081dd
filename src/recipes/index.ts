export type * from './types.js';
export * from './granularity.js';
export * from './sau.js';
export { extractFeatures } from './features.js';
export type { ExtractFeaturesOptions, FeatureEncoder } from './features.js';
export * from './ltls.js';
export * from './synlt.js';
export * from './decoupled.js';
