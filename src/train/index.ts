export * from './optimizers.js';
export * from './schedules.js';
export * from './callbacks.js';
export * from './checkpoint.js';
export * from './trainer.js';
export * from './manifest.js';
export * from './replay.js';
