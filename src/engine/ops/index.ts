/** Every op of the engine, one file per op family. */
export * from './elementwise.js';
export * from './reduce.js';
export * from './layout.js';
export * from './where.js';
export * from './matmul.js';
export * from './layer_norm.js';
export * from './softmax.js';
export * from './dropout.js';
export * from './attention.js';
export * from './gru.js';
export * from './cross_entropy.js';
export * from './embedding.js';
export * from './neighbours.js';
export * from './narm_attention.js';
