/**
 * gru: a single-layer GRU over a whole sequence, forward + backward, as in GRU4Rec/NARM:
 * x (B=256, L=50, 64) -> h (256, 50, 64), h0 random, upstream gradient of every h_t random.
 *
 * Math (PyTorch nn.GRU, gate order r, z, n; FORMAT.md 4.5):
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      h' = (1 - z) ⊙ n + z ⊙ h
 *
 * The tfjs peer writes this recurrence with tf ops and differentiates it with tf.valueAndGrads,
 * so both sides compute exactly the same function. tf.layers.gru was not used: with its default
 * resetAfter=false the reset gate multiplies h before W_hn (a different function), and its
 * layer/RNN machinery would be timed too. The input projection of all steps is one matMul, the
 * recurrent one is a (B,H)·(H,3H) matMul per step, which is how a careful tfjs user writes it.
 */
import { type BenchCase, seqfairPrepared } from '../case.js';
import { Rand } from '../data.js';
import { tfjsPrepared } from '../tfjs.js';

const B = 256, L = 50, I = 64, H = 64;

function inputs() {
  const rand = new Rand(3001);
  const w = 1 / Math.sqrt(H); // PyTorch's init scale
  return {
    x: rand.normal(B * L * I), h0: rand.normal(B * H, 0.5),
    wIh: rand.normal(3 * H * I, w), wHh: rand.normal(3 * H * H, w),
    bIh: rand.normal(3 * H, w), bHh: rand.normal(3 * H, w),
    dOut: rand.normal(B * L * H),
  };
}

export const gruCase: BenchCase = {
  name: 'gru',
  summary: `GRU fwd+bwd, x (${B},${L},${I}) -> h (${B},${L},${H})`,
  tolerance: 1e-3,

  seqfair(be) {
    const { x, h0, wIh, wHh, bIh, bHh, dOut } = inputs();
    const d = { B, L, I, H };
    return seqfairPrepared(() => {
      const { out, cache } = be.gruForward(x, h0, wIh, wHh, bIh, bHh, d);
      const g = be.gruBackward(x, h0, wIh, wHh, out, cache, dOut, d);
      return { out, dx: g.dx, dh0: g.dh0, dWIh: g.dWIh, dWHh: g.dWHh, dBIh: g.dBIh, dBHh: g.dBHh };
    });
  },

  tfjs(tf) {
    type T = import('@tensorflow/tfjs').Tensor;
    const v = inputs();
    const x = tf.tensor3d(v.x, [B, L, I]), h0 = tf.tensor2d(v.h0, [B, H]);
    const wIh = tf.tensor2d(v.wIh, [3 * H, I]), wHh = tf.tensor2d(v.wHh, [3 * H, H]);
    const bIh = tf.tensor1d(v.bIh), bHh = tf.tensor1d(v.bHh);
    const dOut = tf.tensor3d(v.dOut, [B, L, H]);

    const gru = (xx: T, hh0: T, wi: T, wh: T, bi: T, bh: T): T => {
      // input projections of every step at once: (B·L, I)·(I, 3H) + b_ih -> (B, L, 3H)
      const xg = tf.add(tf.matMul(tf.reshape(xx, [B * L, I]), wi, false, true), bi).reshape([B, L, 3 * H]);
      // time-major before unstacking: contiguous slices (unstacking axis 1 is ~20% slower here)
      const steps = tf.unstack(tf.transpose(xg, [1, 0, 2]));
      let h = hh0;
      const hs: T[] = [];
      for (let t = 0; t < L; t++) {
        const hg = tf.add(tf.matMul(h, wh, false, true), bh);
        const [xr, xz, xn] = tf.split(steps[t]!, 3, 1) as [T, T, T];
        const [hr, hz, hn] = tf.split(hg, 3, 1) as [T, T, T];
        const r = tf.sigmoid(tf.add(xr, hr));
        const z = tf.sigmoid(tf.add(xz, hz));
        const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
        h = tf.add(n, tf.mul(z, tf.sub(h, n))); // (1-z)·n + z·h
        hs.push(h);
      }
      return tf.stack(hs, 1);
    };
    const fwdBwd = tf.valueAndGrads((...a: T[]) => gru(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!));
    return tfjsPrepared(tf, [x, h0, wIh, wHh, bIh, bHh, dOut], () => {
      const { value, grads } = fwdBwd([x, h0, wIh, wHh, bIh, bHh], dOut);
      const [dx, dh0, dWIh, dWHh, dBIh, dBHh] = grads as [T, T, T, T, T, T];
      return { out: value, dx, dh0, dWIh, dWHh, dBIh, dBHh };
    });
  },
};
