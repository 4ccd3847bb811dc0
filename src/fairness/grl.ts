/**
 * Gradient reversal layer (Ganin & Lempitsky, ICML 2015): the identity in the forward pass, the
 * upstream gradient multiplied by −α in the backward pass. Between an encoder and an adversary it
 * lets one backward pass train the adversary to predict (descending its loss) while the encoder
 * learns to hide what the adversary reads (ascending α times that loss).
 *
 *   forward:  y = x                 (shares x's values, as reshape does: no copy)
 *   backward: ∂/∂x = −α · ∂/∂y
 *
 * An engine op written with `result` (src/engine/tensor.ts); it lives here because only the `adv`
 * objective uses it. Not a finite-difference-checkable function by design: its backward is not the
 * derivative of its forward (that is the point); tests check the sign and scale instead.
 */
import { type Tensor, result } from '../engine/index.js';

export function gradientReversal(x: Tensor, alpha = 1): Tensor {
  if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new Error(`gradientReversal: alpha must be a finite number >= 0, got ${alpha}`);
  const v = x.f32('gradientReversal');
  return result(v, x.shape, 'gradientReversal', [x], (g) => {
    const gx = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) gx[i] = -alpha * g[i]!;
    return [gx];
  });
}
