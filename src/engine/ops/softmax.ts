/** Softmax over the last axis, a backend kernel; logSoftmax composed from it for small uses. */
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { normAxis } from '../shape.js';

export function softmax(x: Tensor, axis = -1): Tensor {
  if (normAxis(axis, x.rank, 'softmax') !== x.rank - 1) {
    throw new Error('softmax: only the last axis is supported (permute first)');
  }
  const C = x.shape[x.rank - 1]!;
  const rows = C === 0 ? 0 : x.size / C;
  const y = getBackend().softmaxForward(x.f32('softmax'), rows, C);
  return result(y, x.shape, 'softmax', [x], (g) => [getBackend().softmaxBackward(y, g, rows, C)]);
}
