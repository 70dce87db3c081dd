/** Core contracts: errors, JSON configs, the seeded Rng, schedules, the registry and `toConfig`. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { ERROR_CODES, isLongTailError, LongTailError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Json, JsonObject } from './json.js';
export { Registry, toConfig } from './registry.js';
export type { Configurable, SerializedComponent } from './registry.js';
export { permutation, restoreRng, seededRng } from './rng.js';
export type { Rng, RngState } from './rng.js';
export { checkScheduleSpec, schedule } from './schedule.js';
export type { Progress, ResolvedSchedule, Schedule, ScheduleOptions, ScheduleSpec } from './schedule.js';
export { checkOptions } from './options.js';
export type { OptionKeys } from './options.js';
export { disposeAll } from './tensors.js';
export type { Disposable } from './tensors.js';
