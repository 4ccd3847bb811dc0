/** Optimisers, learning-rate schedules and gradient clipping. */
export { Adam, AdamW } from './adam.js';
export type { AdamConfig, AdamState } from './adam.js';
export { clipGradNorm } from './clip.js';
export { constantLr, linearWarmupDecay } from './schedule.js';
export type { LrSchedule, LinearWarmupDecayOptions } from './schedule.js';
