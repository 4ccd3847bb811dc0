/**
 * grad-norm: A-FSR Eq. 3 on the gradient of the sequence embeddings, g (B=256, L=50, D=64) with a
 * left-padded mask (B,L): per-position L2 norms (0 on padding), each row's max and first arg-max.
 * Forward only (the result picks positions; it is not differentiated).
 */
import { type BenchCase, seqfairPrepared } from '../case.js';
import { Rand, leftPaddedMask } from '../data.js';
import { tfjsPrepared } from '../tfjs.js';

const B = 256, L = 50, D = 64;

function inputs() {
  const rand = new Rand(5001);
  return { g: rand.normal(B * L * D, 0.01), mask: leftPaddedMask(rand, B, L) };
}

export const gradNormCase: BenchCase = {
  name: 'grad-norm',
  summary: `‖g[b,l]‖₂ + row max/argmax, g (${B},${L},${D}), mask (${B},${L})`,
  tolerance: 1e-5,

  seqfair(be) {
    const { g, mask } = inputs();
    return seqfairPrepared(() => be.gradNorm(g, mask, B, L, D));
  },

  tfjs(tf) {
    const v = inputs();
    const g = tf.tensor3d(v.g, [B, L, D]), mask = tf.tensor2d(v.mask, [B, L], 'int32');
    return tfjsPrepared(tf, [g, mask], () => {
      const norms = tf.mul(tf.norm(g, 'euclidean', -1), tf.cast(mask, 'float32'));
      return { norms, rowmax: tf.max(norms, 1), argmax: tf.argMax(norms, 1) };
    });
  },
};
