export type * from './types.js';
export { classSamplingProbabilities, progressiveProbabilities, drawClasses } from './class-draws.js';
export * from './samplers.js';
export * from './registry.js';
