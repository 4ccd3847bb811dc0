/**
 * seqfair's SASRec (src/models/sasrec.ts) in TensorFlow.js ops, on the same weights (tfjs-step.ts
 * copies them by name): the item embedding scaled by √D plus learned positions, dropout, the
 * padding mask, then per block LN → causal multi-head attention (queries from the normalised
 * stream, keys/values from the raw one, q/k/v/out projections with biases, dropout on the
 * attention weights, padding keys masked, rows with no key output 0) → residual on the normalised
 * queries → LN → GELU FFN (4·D) with dropout → residual → mask; a final LN. The output layer is
 * the tied item table (numItems+1 rows, padding row 0 a class), as seqfair's.
 */
import type { Sasrec } from '../../src/models/sasrec.js';
import type { Tf } from '../tfjs.js';
import { dropout, gelu, layerNorm, linear } from './tfjs-ops.js';
import type { Vars } from './tfjs-step.js';

type T = import('@tensorflow/tfjs').Tensor;

/** The model's sizes and rates, read from the seqfair instance the weights come from. */
export interface SasrecSpec {
  D: number;
  heads: number;
  blocks: number;
  maxLen: number;
  scale: number;
  eps: number;
  dropout: number;
  attnDropout: number;
}

export function sasrecSpec(m: Sasrec): SasrecSpec {
  return {
    D: m.hiddenSize, heads: m.heads, blocks: m.blocks.length, maxLen: m.maxLen, scale: m.embeddingScale, eps: m.lnEps,
    dropout: m.dropout, attnDropout: m.attnDropout,
  };
}

/**
 * z (B,L,D) raw item rows, keyMask (B,L) int32 (1 = real item) → hidden (B,L,D).
 * `training`: dropout on.
 */
export function sasrecEncode(tf: Tf, v: Vars, s: SasrecSpec, z: T, keyMask: T, training: boolean): T {
  const [B, L, D] = z.shape as [number, number, number];
  const H = s.heads, dh = D / H;
  const m = tf.cast(keyMask, 'float32').reshape([B, L, 1]);
  // key j allowed for query i iff keyMask[b,j] = 1 and j <= i; a query with no allowed key outputs 0
  const allowed = tf.mul(tf.linalg.bandPart(tf.ones([L, L]), -1, 0), m.reshape([B, 1, 1, L])); // (B,1,L,L)
  const bias = tf.mul(tf.sub(1, allowed), -1e9);
  const rowValid = tf.max(allowed, -1, true); // (B,1,L,1)
  const heads = (x: T) => tf.transpose(x.reshape([B, L, H, dh]), [0, 2, 1, 3]);

  const pos = tf.slice(v['pos_emb']!, [s.maxLen - L, 0], [L, D]);
  let x = tf.mul(dropout(tf, tf.add(tf.mul(z, s.scale), pos), s.dropout, training), m);
  for (let i = 0; i < s.blocks; i++) {
    const p = (n: string) => v[`blocks.${i}.${n}`]!;
    const q = layerNorm(tf, x, p('attn_ln.weight'), p('attn_ln.bias'), s.eps);
    const Q = heads(linear(tf, q, p('attn.q.weight'), p('attn.q.bias')));
    const K = heads(linear(tf, x, p('attn.k.weight'), p('attn.k.bias')));
    const V = heads(linear(tf, x, p('attn.v.weight'), p('attn.v.bias')));
    const weights = tf.softmax(tf.add(tf.mul(tf.matMul(Q, K, false, true), 1 / Math.sqrt(dh)), bias));
    const o = tf.mul(tf.matMul(dropout(tf, weights, s.attnDropout, training), V), rowValid);
    const attn = linear(tf, tf.transpose(o, [0, 2, 1, 3]).reshape([B, L, D]), p('attn.out.weight'), p('attn.out.bias'));
    const a = tf.add(q, attn);
    const f = layerNorm(tf, a, p('ffn_ln.weight'), p('ffn_ln.bias'), s.eps);
    const inner = dropout(tf, gelu(tf, linear(tf, f, p('ffn.fc1.weight'), p('ffn.fc1.bias'))), s.dropout, training);
    const ffn = dropout(tf, linear(tf, inner, p('ffn.fc2.weight'), p('ffn.fc2.bias')), s.dropout, training);
    x = tf.mul(tf.add(f, ffn), m);
  }
  return layerNorm(tf, x, v['final_ln.weight']!, v['final_ln.bias']!, s.eps);
}
