/** Training: per-sequence losses, the training loop, checkpoints (safetensors layout). */
export * from './losses.js';
export * from './trainer.js';
export * from './checkpoint.js';
export * from './safetensors.js';
export * from './batches.js';
