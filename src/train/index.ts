export * from './optimizers.js';
export * from './schedules.js';
export * from './callbacks.js';
export * from './checkpoint.js';
export * from './trainer.js';
