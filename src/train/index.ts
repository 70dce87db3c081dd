// The fused-update switches (setHostUpdates, applyHostGradients) stay internal.
export { createOptimizer, DEFAULT_OPTIMIZER, type Optimizer, type OptimizerSpec, type OptimizerState } from './optimizers.js';
export * from './schedules.js';
export * from './callbacks.js';
export { CHECKPOINT_FILE, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint, type EpochPosition, type TrainerState } from './checkpoint.js';
export * from './trainer.js';
export { LIBRARY_VERSION, fingerprintData, type DataFingerprint, type RunManifest } from './manifest.js';
export { replayManifest, trainerFromConfig, type ReplayOptions, type ReplayResult, type TrainerFromConfigOptions } from './replay.js';
