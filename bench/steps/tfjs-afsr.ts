/**
 * One A-FSR batch loss (src/fairness/afsr.ts, defaults) in TensorFlow.js ops on SASRec:
 *
 *   (a) first pass, off the optimiser's tape: z = item_emb[ids], G = ∂(Σ_b ℓ_b)/∂z by tf.grad (the
 *       weights get no gradient), per-position norms at real items; per row i* = argmax (first on
 *       ties), the span {i*−s … i*+s} ∩ real positions, and â = the largest norm;
 *   (c) Dirichlet Neighbour Smoothing of the span positions: η ~ Dirichlet(β) over the item's
 *       2-hop neighbourhood (tfjs has no Dirichlet: Gamma(β) draws normalised, as bench's
 *       dirichlet case), z̃_p = Σ_j η_j item_emb[n_j], every other position keeps z;
 *   (d) on the tape: per-sequence losses ℓ(z̃), c_b = 1/n + λ q_b on the top-M rows by â, where q
 *       is the χ² weight of Eq. 12 (seqfair's chi2Weights: plain JavaScript on M numbers, used
 *       as is), and the loss Σ_b c_b ℓ_b.
 *
 * (b), the neighbour table, is seqfair's NeighbourTable built from the same initial weights and
 * handed to both sides: it is rebuilt once per epoch, not per step, and neither side's step
 * includes a rebuild.
 */
import type { SequenceBatch } from '../../src/data/batching.js';
import { chi2Weights } from '../../src/fairness/chi2.js';
import type { NeighbourTable } from '../../src/fairness/afsr-neighbours.js';
import type { Tf } from '../tfjs.js';
import type { TfBatch } from './setup.js';
import { gatherRows, sequenceLosses } from './tfjs-ops.js';
import { type SasrecSpec, sasrecEncode } from './tfjs-sasrec.js';
import type { Vars } from './tfjs-step.js';

type T = import('@tensorflow/tfjs').Tensor;

export interface AfsrSettings {
  spanSize: number;
  groupSize: number;
  lambda: number;
  radius: number;
  beta: number;
}

/** Spans and â from per-position gradient norms (B·L, 0 off real items): Eq. 3–5, 9. */
function locate(norms: Float32Array, real: Uint8Array, B: number, L: number, s: number): { spanMask: Uint8Array; indicator: Float32Array } {
  const spanMask = new Uint8Array(B * L);
  const indicator = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let c = -1;
    for (let l = 0; l < L; l++) if (real[b * L + l] && (c < 0 || norms[b * L + l]! > norms[b * L + c]!)) c = l;
    if (c < 0) continue;
    indicator[b] = norms[b * L + c]!;
    for (let l = Math.max(0, c - s); l <= Math.min(L - 1, c + s); l++) if (real[b * L + l]) spanMask[b * L + l] = 1;
  }
  return { spanMask, indicator };
}

export function afsrLossOf(tf: Tf, v: Vars, spec: SasrecSpec, batch: SequenceBatch, tb: TfBatch, table: NeighbourTable,
  a: AfsrSettings): (training: boolean) => () => T {
  const { B, L } = batch;
  const D = spec.D;
  const item = () => v['item_emb']!;
  const real = Uint8Array.from(batch.inputs, (id) => (id >= 1 && id <= table.numItems ? 1 : 0));
  const losses = (z: T, training: boolean) =>
    sequenceLosses(tf, sasrecEncode(tf, v, spec, z, tb.keyMask, training), item(), tb.targets, tb.weights, B);

  return (training) => {
    // (a) first pass: ∂(Σ ℓ)/∂z only
    const z0 = tf.gather(item(), tb.ids.reshape([B * L])).reshape([B, L, D]);
    const G = tf.grad((z: T) => tf.sum(losses(z, training)))(z0);
    const norms = tf.mul(tf.norm(G, 'euclidean', -1), tf.tensor2d(Float32Array.from(real), [B, L])).dataSync() as Float32Array;
    const { spanMask, indicator } = locate(norms, real, B, L, (a.spanSize - 1) / 2);

    // (c) Dirichlet weights over each span position's 2-hop neighbours (padding slots: id 0, weight 0)
    const K = table.width;
    const positions: number[] = [];
    for (let p = 0; p < B * L; p++) if (spanMask[p]) positions.push(p);
    const R = positions.length;
    const nbIds = new Int32Array(R * K);
    const valid = new Float32Array(R * K);
    const pick = new Int32Array(B * L); // 0: keep z, r+1: smoothed row r
    positions.forEach((p, r) => {
      const row = batch.inputs[p]! - 1;
      const n = table.counts[row]!;
      nbIds.set(table.neighbourIds.subarray(row * K, row * K + n), r * K);
      valid.fill(1, r * K, r * K + n);
      pick[p] = r + 1;
    });
    const gamma = tf.mul(tf.randomGamma([R, K], a.beta), tf.tensor2d(valid, [R, K]));
    const eta = tf.div(gamma, tf.sum(gamma, 1, true)).reshape([R, K, 1]);
    const nb = tf.tensor2d(nbIds, [R, K], 'int32');
    const pickT = tf.tensor2d(pick, [B, L], 'int32');
    const span = tf.tensor3d(Float32Array.from(spanMask), [B, L, 1]);
    const { rows } = tb;

    // (d) on the tape: ℓ(z̃) and Eq. 13 with constant coefficients
    return () => {
      const z = gatherRows(tf, item(), tb.ids);
      const smoothed = tf.sum(tf.mul(gatherRows(tf, item(), nb), eta), 1); // (R,D)
      const placed = gatherRows(tf, tf.concat([tf.zeros([1, D]), smoothed]), pickT);
      const zTilde = tf.add(z, tf.mul(span, tf.sub(placed, z)));
      const l = losses(zTilde, training);
      const values = l.dataSync();
      const c = new Float32Array(B).fill(1 / rows); // (every row of these batches has targets)
      if (a.lambda > 0) {
        const order = Array.from({ length: B }, (_, b) => b).sort((x, y) => indicator[y]! - indicator[x]! || x - y);
        const top = order.slice(0, Math.min(a.groupSize, B));
        const q = chi2Weights(top.map((b) => values[b]!), a.radius);
        top.forEach((b, m) => { c[b]! += a.lambda * q[m]!; });
      }
      return tf.sum(tf.mul(l, tf.tensor1d(c)));
    };
  };
}
