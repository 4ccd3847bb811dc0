/**
 * attention: fused multi-head scaled dot-product attention, forward + backward, as in SASRec:
 * q, k, v (B=64, H=2, L=50, dh=32), causal, with a left-padded key mask (B,L), scale 1/sqrt(dh),
 * no dropout. Upstream gradient dOut is fixed random data.
 *
 * Semantics both sides implement (FORMAT.md 4.4): key j is allowed for query i iff keyMask[b,j]=1
 * and j <= i; a query row with no allowed key (a padding row before its sequence starts) outputs
 * 0 and passes no gradient.
 */
import { type BenchCase, seqfairPrepared } from '../case.js';
import { Rand, leftPaddedMask } from '../data.js';
import { tfjsPrepared } from '../tfjs.js';

const B = 64, H = 2, L = 50, dh = 32;

function inputs() {
  const rand = new Rand(2001);
  const n = B * H * L * dh;
  return {
    q: rand.normal(n), k: rand.normal(n), v: rand.normal(n), dOut: rand.normal(n),
    keyMask: leftPaddedMask(rand, B, L),
  };
}

export const attentionCase: BenchCase = {
  name: 'attention',
  summary: `causal MHA fwd+bwd, q/k/v (${B},${H},${L},${dh}), key padding mask`,

  seqfair(be) {
    const { q, k, v, dOut, keyMask } = inputs();
    const d = { B, H, L, dh, causal: true, scale: 1 / Math.sqrt(dh), dropout: 0, rng: null };
    return seqfairPrepared(() => {
      const { out, lse } = be.attentionForward(q, k, v, keyMask, d);
      const g = be.attentionBackward(q, k, v, keyMask, out, lse, dOut, d);
      return { out, dq: g.dq, dk: g.dk, dv: g.dv };
    });
  },

  tfjs(tf) {
    const x = inputs();
    const shape: [number, number, number, number] = [B, H, L, dh];
    const q = tf.tensor4d(x.q, shape), k = tf.tensor4d(x.k, shape), v = tf.tensor4d(x.v, shape);
    const dOut = tf.tensor4d(x.dOut, shape);
    const keyMask = tf.tensor2d(x.keyMask, [B, L], 'int32');
    const causal = tf.tidy(() => tf.linalg.bandPart(tf.ones([L, L]), -1, 0)); // lower triangle incl. diagonal
    const scale = 1 / Math.sqrt(dh);
    // The mask is rebuilt from keyMask inside every call, as seqfair's kernel does.
    const attend = (qq: typeof q, kk: typeof q, vv: typeof q) => {
      const allowed = tf.mul(causal, keyMask.toFloat().reshape([B, 1, 1, L])); // (B,1,L,L)
      const bias = tf.mul(tf.sub(1, allowed), -1e9);
      const p = tf.softmax(tf.add(tf.mul(tf.matMul(qq, kk, false, true), scale), bias));
      const rowValid = tf.max(allowed, -1, true); // (B,1,L,1): 0 where a query sees no key
      return tf.mul(tf.matMul(p, vv), rowValid) as typeof q;
    };
    // valueAndGrads: one forward pass (kept on the tape) and its backward pass
    const fwdBwd = tf.valueAndGrads((qq, kk, vv) => attend(qq as typeof q, kk as typeof q, vv as typeof q));
    return tfjsPrepared(tf, [q, k, v, dOut, keyMask, causal], () => {
      const { value, grads } = fwdBwd([q, k, v], dOut);
      return { out: value, dq: grads[0]!, dk: grads[1]!, dv: grads[2]! };
    });
  },
};
