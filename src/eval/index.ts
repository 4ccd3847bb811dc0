/** Public surface of the evaluation layer. */
export * from './metrics.js';
export * from './negatives.js';
