export type * from './types.js';
export * from './class-stats.js';
export * from './long-tail.js';
export * from './labeled-data.js';
export * from './idx.js';
export * from './csv.js';
export * from './preprocess.js';
export * from './augment.js';
export * from './shipped.js';
