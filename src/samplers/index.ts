export type * from './types.js';
export { classSamplingProbabilities, progressiveProbabilities, drawClasses } from './class-draws.js';
export * from './samplers.js';
export * from './registry.js';
export { pearsonChiSquare } from './chi-square.js';
export type { ChiSquareResult, PearsonChiSquareOptions } from './chi-square.js';
export { samplerReport } from './report.js';
export type { SamplerReport, SamplerReportClass, SamplerReportOptions } from './report.js';
