/** Neural-network building blocks on the engine: modules own parameters, ops do the math. */
export { Parameter } from './parameter.js';
export { Module, ModuleList } from './module.js';
export type { StateDictLike, StateValue } from './module.js';
export { initGen, uniformParam, normalParam, constantParam } from './init.js';
export { Linear } from './linear.js';
export type { LinearOptions } from './linear.js';
export { Embedding } from './embedding.js';
export type { EmbeddingOptions } from './embedding.js';
export { LayerNorm } from './layer_norm.js';
export { Dropout } from './dropout.js';
export { MultiHeadAttention } from './attention.js';
export type { MultiHeadAttentionOptions } from './attention.js';
export { GRU } from './gru.js';
