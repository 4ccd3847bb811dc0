/**
 * Inverted dropout: kept elements are scaled by 1/(1-p). The mask is not stored: backward
 * regenerates it from the same Philox key (counter-based), on any backend.
 */
import { getBackend } from '../../backend/index.js';
import { type Generator, Streams, generator } from '../random.js';
import { Tensor, result } from '../tensor.js';

export function dropout(x: Tensor, p: number, training: boolean, gen: Generator = generator(Streams.dropout)): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const key = gen.take(x.size);
  const y = getBackend().dropoutForward(x.f32('dropout'), p, key);
  return result(y, x.shape, 'dropout', [x], (g) => [getBackend().dropoutBackward(g, p, key)]);
}
