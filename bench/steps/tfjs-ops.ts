/**
 * The TensorFlow.js building blocks of the model-step peers, written with plain tf ops the way a
 * careful tfjs user would, with two custom gradients where tfjs-wasm would otherwise fail:
 *
 * - gatherRows: an embedding lookup. tf.gather's gradient is UnsortedSegmentSum, which has no wasm
 *   kernel; the gradient here is tf.scatterND (sums duplicate ids), which has one, and is as cheap.
 * - projectionCe: output projection + softmax cross-entropy, chunked over rows inside one custom
 *   gradient, so the (rows × items) logits never exist at once (at 20,000 items and 6,400 rows
 *   they alone would be 512 MB, and the softmax, one-hot labels and logit gradient as much again,
 *   against the 4 GB ceiling of a 32-bit wasm heap). Like seqfair's fused kernel, the backward
 *   pass recomputes each chunk's logits from the saved log-sum-exp (4 products instead of 3).
 */
import type { Tf } from '../tfjs.js';

type T = import('@tensorflow/tfjs').Tensor;

/** logits elements per projection chunk (32 MB of f32, as bench/cases/proj-ce.ts) */
const CHUNK_ELEMS = 1 << 23;

/** table (V, D), ids int32 (any shape) → rows (...ids.shape, D); gradient into table by scatterND. */
export function gatherRows(tf: Tf, table: T, ids: T): T {
  const [V, D] = table.shape as [number, number];
  const flat = ids.reshape([ids.size]);
  // the ids are saved: a tensor made in the forward pass is freed before the backward pass otherwise
  const f = tf.customGrad(((t: T, save: (ts: T[]) => void) => {
    save([flat]);
    return {
      value: tf.gather(t, flat),
      gradFunc: (dy: T, [i]: T[]) => tf.scatterND(i!.reshape([ids.size, 1]), dy.reshape([ids.size, D]), [V, D]),
    };
  }) as never);
  return (f(table) as T).reshape([...ids.shape, D]);
}

/** x (..., in), weight (out, in) as torch.nn.Linear, bias (out) or null → (..., out) */
export function linear(tf: Tf, x: T, weight: T, bias: T | null): T {
  const [out, inn] = weight.shape as [number, number];
  const y = tf.matMul(x.reshape([x.size / inn, inn]), weight, false, true);
  return (bias ? tf.add(y, bias) : y).reshape([...x.shape.slice(0, -1), out]);
}

/** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · gain + bias (biased variance) */
export function layerNorm(tf: Tf, x: T, gain: T, bias: T, eps: number): T {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gain), bias);
}

/** exact GELU, x · Φ(x) = 0.5 x (1 + erf(x / √2)) */
export function gelu(tf: Tf, x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** inverted dropout in training mode (tf.dropout scales kept values by 1/(1−rate)); identity otherwise */
export function dropout(tf: Tf, x: T, rate: number, training: boolean): T {
  return training && rate > 0 ? tf.dropout(x, rate) : x;
}

/**
 * hidden (N, D), table (V, D) → per-row loss (N) = w_r · (logsumexp_v(h_r·t_v) − h_r·t_{y_r}),
 * with targets (N) int32 and weights (N) f32 as constants; gradients for hidden and table.
 */
export function projectionCe(tf: Tf, hidden: T, table: T, targets: T, weights: T): T {
  const [N, D] = hidden.shape as [number, number];
  const V = table.shape[0]!;
  const rows = Math.max(1, Math.floor(CHUNK_ELEMS / V));
  const chunks: [number, number][] = [];
  for (let r0 = 0; r0 < N; r0 += rows) chunks.push([r0, Math.min(rows, N - r0)]);
  // one chunk's logits and its one-hot targets (int32 one-hot then cast: wasm's float OneHot is wrong, see topk.ts)
  const logitsOf = (h: T, t: T, r0: number, n: number): [T, T] =>
    [tf.matMul(h.slice([r0, 0], [n, D]), t, false, true), tf.cast(tf.oneHot(targets.slice(r0, n), V), 'float32')];

  const f = tf.customGrad(((h: T, t: T, save: (ts: T[]) => void) => {
    const parts = chunks.map(([r0, n]) => tf.tidy(() => {
      const [logits, onehot] = logitsOf(h, t, r0, n);
      const lse = tf.logSumExp(logits, 1);
      const loss = tf.mul(tf.sub(lse, tf.sum(tf.mul(logits, onehot), 1)), weights.slice(r0, n));
      return [loss, lse];
    }));
    const lse = tf.concat(parts.map((p) => p[1]!));
    save([h, t, lse]);
    const value = tf.concat(parts.map((p) => p[0]!));
    return {
      value,
      gradFunc: (dy: T, saved: T[]) => {
        const [hs, ts, lses] = saved as [T, T, T];
        const g = tf.mul(dy, weights); // dLoss_r · w_r
        let dT: T | null = null;
        const dHs: T[] = [];
        for (const [r0, n] of chunks) {
          const [dH, dTc] = tf.tidy(() => {
            const [logits, onehot] = logitsOf(hs, ts, r0, n);
            // G = g_r · (softmax − onehot), the logits' gradient of this chunk
            const G = tf.mul(tf.sub(tf.exp(tf.sub(logits, lses.slice(r0, n).reshape([n, 1]))), onehot), g.slice(r0, n).reshape([n, 1]));
            return [tf.matMul(G, ts), tf.matMul(G, hs.slice([r0, 0], [n, D]), true, false)];
          });
          dHs.push(dH!);
          if (dT) { const s: T = tf.add(dT, dTc!); dT.dispose(); dTc!.dispose(); dT = s; } else dT = dTc!;
        }
        return [tf.concat(dHs), dT!];
      },
    };
  }) as never);
  return f(hidden, table) as T;
}

/**
 * Per-sequence losses (B) as seqfair's sequenceLosses: rows (B·P, D) of hidden states, targets
 * (B·P) and the batch's position weights 1/n_b (steps/batch.ts) → Σ over each row's positions.
 */
export function sequenceLosses(tf: Tf, hidden: T, table: T, targets: T, weights: T, B: number): T {
  const D = hidden.shape[hidden.rank - 1]!;
  const perRow = projectionCe(tf, hidden.reshape([hidden.size / D, D]), table, targets, weights);
  return tf.sum(perRow.reshape([B, perRow.size / B]), 1);
}
