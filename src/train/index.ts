/** Training: the `trainer`, optimizers, schedules, callbacks, checkpoints and run manifests. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { earlyStopping, PROGRESS_MODES, progressBar, progressLogger } from './callbacks.js';
export type {
  Callback,
  EarlyStoppingOptions,
  Logs,
  ProgressMode,
  ProgressOptions,
  TextSink,
  TrainBeginInfo,
  TrainingControl,
} from './callbacks.js';
export { CHECKPOINT_FILE, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint.js';
export type {
  DropLast,
  EvaluateOptions,
  FitOptions,
  History,
  Objective,
  ObjectiveInputs,
  PredictOptions,
  StepOptions,
  StepResult,
  SynthesisConfig,
  SynthesisRound,
  Trainer,
  TrainerBaseConfig,
  TrainerConfig,
  ViewSpec,
} from './config.js';
export { fingerprintData, LIBRARY_VERSION } from './manifest.js';
export type { DataFingerprint, RunManifest } from './manifest.js';
export { checkOptimizerSpec, DEFAULT_OPTIMIZER, optimizerFromConfig } from './optimizers.js';
export type { Optimizer, OptimizerSpec, OptimizerState } from './optimizers.js';
export { replayManifest, trainerFromConfig } from './replay.js';
export type { ReplayOptions, ReplayResult, TrainerFromConfigOptions } from './replay.js';
export { checkLrScheduleSpec, lrSchedule } from './schedules.js';
export type { LrScheduleSpec } from './schedules.js';
export type { EpochPosition, TrainerState } from './state.js';
export { trainer } from './trainer.js';
