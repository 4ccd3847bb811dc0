/** LayerNorm over the last dim (biased variance, two-pass; FORMAT.md 4.2), a backend kernel. */
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { fmt } from '../shape.js';

export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const D = x.shape[x.rank - 1]!;
  if (gamma.rank !== 1 || beta.rank !== 1 || gamma.shape[0] !== D || beta.shape[0] !== D) {
    throw new Error(`layerNorm: x is ${fmt(x.shape)} but gamma ${fmt(gamma.shape)} and beta ${fmt(beta.shape)}; expected (${D})`);
  }
  const rows = x.size / D;
  const xv = x.f32('layerNorm'), gv = gamma.f32('layerNorm');
  const { y, mean, rstd } = getBackend().layerNormForward(xv, gv, beta.f32('layerNorm'), rows, D, eps);
  return result(y, x.shape, 'layerNorm', [x, gamma, beta], (g) => {
    const r = getBackend().layerNormBackward(xv, gv, mean, rstd, g, rows, D);
    return [r.dx, r.dGamma, r.dBeta];
  });
}
