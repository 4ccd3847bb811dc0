/** Public surface of the data layer. */
export * from './errors.js';
export * from './types.js';
export * from './random.js';
export * from './movielens.js';
export * from './generic.js';
export * from './synthetic.js';
export * from './preprocess.js';
export * from './batching.js';
export * from './groups.js';
