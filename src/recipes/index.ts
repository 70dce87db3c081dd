export type * from './types.js';
export * from './granularity.js';
