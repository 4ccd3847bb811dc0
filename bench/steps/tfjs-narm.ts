/**
 * seqfair's NARM (src/models/narm.ts) in TensorFlow.js ops, on the same weights: embedding
 * dropout, a GRU (torch gate order r, z, n; H = 2·D) that skips padded steps (the state is carried
 * over where the mask is 0, as seqfair's MaskedGru), the global state h_L, the unnormalised local
 * attention α_j = m_j · vᵀσ(A1 h_L + A2 h_j) over all states, dropout on [c_g; c_l], and the
 * bilinear decoder B c scored against the tied item table.
 *
 * The GRU is written as in bench/cases/gru.ts: the input projections of all steps as one matMul,
 * one (B,H)·(H,3H) matMul per step, differentiated by tfjs's tape.
 */
import type { Narm } from '../../src/models/narm.js';
import type { Tf } from '../tfjs.js';
import { dropout, linear } from './tfjs-ops.js';
import type { Vars } from './tfjs-step.js';

type T = import('@tensorflow/tfjs').Tensor;

export interface NarmSpec {
  D: number;
  H: number;
  dropout: number;
  outputDropout: number;
}

export function narmSpec(m: Narm): NarmSpec {
  if (m.gru.layers.length !== 1) throw new Error('the NARM peer implements one GRU layer');
  return { D: m.hiddenSize, H: m.gruHidden, dropout: m.dropout, outputDropout: m.outputDropout };
}

/** z (B,L,D), keyMask (B,L) int32 (1 = real item) → hidden (B,D), one state per sequence. */
export function narmEncode(tf: Tf, v: Vars, s: NarmSpec, z: T, keyMask: T, training: boolean): T {
  const [B, L, D] = z.shape as [number, number, number];
  const H = s.H;
  const m = tf.cast(keyMask, 'float32');
  const x = dropout(tf, z, s.dropout, training);
  // input projections of every step at once, then time-major slices
  const xg = tf.add(tf.matMul(x.reshape([B * L, D]), v['gru.layers.0.weight_ih']!, false, true), v['gru.layers.0.bias_ih']!);
  const steps = tf.unstack(tf.transpose(xg.reshape([B, L, 3 * H]), [1, 0, 2]));
  const masks = tf.unstack(tf.transpose(m), 0).map((mt) => mt.reshape([B, 1]));
  let h: T = tf.zeros([B, H]);
  const hs: T[] = [];
  for (let t = 0; t < L; t++) {
    const hg = tf.add(tf.matMul(h, v['gru.layers.0.weight_hh']!, false, true), v['gru.layers.0.bias_hh']!);
    const [xr, xz, xn] = tf.split(steps[t]!, 3, 1) as [T, T, T];
    const [hr, hz, hn] = tf.split(hg, 3, 1) as [T, T, T];
    const r = tf.sigmoid(tf.add(xr, hr));
    const zg = tf.sigmoid(tf.add(xz, hz));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    const next = tf.add(n, tf.mul(zg, tf.sub(h, n))); // (1−z)·n + z·h
    h = tf.add(h, tf.mul(masks[t]!, tf.sub(next, h))); // padded step: h carried over
    hs.push(h);
  }
  const states = tf.stack(hs, 1); // (B,L,H)
  const last = hs[L - 1]!; // c_g (B,H)
  const e = tf.sigmoid(tf.add(linear(tf, last, v['a_global.weight']!, null).reshape([B, 1, H]), linear(tf, states, v['a_local.weight']!, null)));
  const alpha = tf.mul(linear(tf, e, v['v.weight']!, null), m.reshape([B, L, 1])); // (B,L,1)
  const local = tf.sum(tf.mul(alpha, states), 1); // c_l (B,H)
  const c = dropout(tf, tf.concat([last, local], 1), s.outputDropout, training);
  return linear(tf, c, v['b.weight']!, null);
}
