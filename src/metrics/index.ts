export * from './classification.js';
export * from './report.js';
export * from './svg.js';
