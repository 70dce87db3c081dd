/**
 * longtail: long-tail learning methods on TensorFlow.js.
 * This file only re-exports; each area documents its own exports.
 * @packageDocumentation
 */
export * from './core/index.js';
export * from './backends/index.js';
export * from './data/index.js';
export * from './samplers/index.js';
export * from './metrics/index.js';
export * from './losses/index.js';
export * from './synth/index.js';
export * from './models/index.js';
export * from './train/index.js';
export * from './recipes/index.js';
// The recipes' `export *` also carries granularity's older `classPrototypes(data, options)`; the root
// exports the one home, `models/encode.ts` (the explicit export resolves the ambiguity).
export { classPrototypes } from './models/index.js';
