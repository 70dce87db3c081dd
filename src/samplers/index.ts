/** Samplers: pure, seeded index samplers on Int32Array labels, their registry and reports. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { pearsonChiSquare } from './chi-square.js';
export type { ChiSquareResult, PearsonChiSquareOptions } from './chi-square.js';
export { classSamplingProbabilities, progressiveProbabilities } from './class-draws.js';
export { checkSamplerSpec, samplerFromConfig, samplerRegistry } from './registry.js';
export type { SamplerKind, SamplerSpec } from './registry.js';
export { samplerReport } from './report.js';
export type { SamplerReport, SamplerReportClass, SamplerReportOptions } from './report.js';
export {
  classBalancedSampler,
  instanceSampler,
  mPerClassSampler,
  powerSampler,
  progressiveSampler,
  squareRootSampler,
} from './samplers.js';
export type { EpochOptions, MPerClassOptions, PowerSamplerOptions } from './samplers.js';
export type { Sampler, SamplerContext, SamplerTarget, SamplerTargetOptions } from './types.js';
