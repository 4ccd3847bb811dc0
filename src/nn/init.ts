/**
 * Parameter initialisers. Each draws from an explicit Generator (default: the engine's `init`
 * stream) so that a model built after `manualSeed(s)`, or from `new Generator(s, Streams.init)`,
 * gets the same weights on every backend (Philox is counter-based).
 */
import { type Generator, Streams, type Tensor, generator, randn, uniform, zeros, full } from '../engine/index.js';
import { Parameter } from './parameter.js';

/** The generator an init uses when none is given. */
export function initGen(gen?: Generator): Generator {
  return gen ?? generator(Streams.init);
}

/** U(−bound, bound): PyTorch's default for Linear and GRU weights (bound = 1/sqrt(fan)). */
export function uniformParam(shape: number[], bound: number, gen?: Generator, name?: string): Parameter {
  return new Parameter(uniform(shape, -bound, bound, initGen(gen)), name);
}

/** N(0, std²): PyTorch's default for Embedding (std = 1). */
export function normalParam(shape: number[], std: number, gen?: Generator, name?: string): Parameter {
  return new Parameter(randn(shape, std, 0, initGen(gen)), name);
}

export function constantParam(shape: number[], value: number, name?: string): Parameter {
  const t: Tensor = value === 0 ? zeros(shape) : full(shape, value);
  return new Parameter(t, name);
}
