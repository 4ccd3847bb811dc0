/** The engine: tensors, the tape, ops, randomness. */
export { Tensor, grad, result } from './tensor.js';
export type { DType, Data } from './tensor.js';
export { noGrad, isGradEnabled } from './autograd.js';
export { scope } from '../backend/buffer-pool.js';
export type { GradNode } from './autograd.js';
export { tensor, zeros, ones, full, arange } from './create.js';
export { Generator, Streams, generator, manualSeed, rand, randn, uniform } from './random.js';
export * from './ops/index.js';
