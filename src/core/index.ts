export * from './errors.js';
export * from './options.js';
export * from './json.js';
export * from './validate.js';
export * from './rng.js';
export * from './tensors.js';
export * from './registry.js';
export * from './neighbors.js';
