/**
 * topk-N: A-FSR Eq. 6, cosine top-k neighbours (k=6, the query itself excluded) of Q query rows
 * against all N rows of an embedding table x (N, D=64): topk-1683 queries every row, topk-100000
 * a random 4,096 of 100,000. Ties resolve to the smaller index on seqfair (FORMAT.md 4.10);
 * `--check` compares the similarities, which are tie-independent.
 *
 * tfjs peer: normalise the rows (x / max(‖x‖, 1e-12), so zero rows score 0), then per block of
 * queries: similarities = gather(x̂, q)·x̂ᵀ, minus 3 at each query's own column (cosines are ≥ -1,
 * so self can never be picked), tf.topk. Blocks hold ≤ 2^24 similarities (64 MB). The one-hot is
 * built as int32 and cast: tfjs-backend-wasm 4.22's OneHot ignores dtype 'float32' (it stores the
 * integer bit pattern in the float buffer: onValue 3 reads back as 4.2e-45).
 */
import { type BenchCase, seqfairPrepared } from '../case.js';
import { Rand } from '../data.js';
import { tfjsPrepared } from '../tfjs.js';

const D = 64, K = 6;
const BLOCK_ELEMS = 1 << 24;

export function topkCase(N: number, Q: number | null): BenchCase {
  const inputs = () => {
    const rand = new Rand(7000 + N);
    return { x: rand.normal(N * D), queries: Q === null ? null : rand.sample(N, Q) };
  };
  const nq = Q ?? N;
  return {
    name: `topk-${N}`,
    summary: `cosine top-${K}, x (${N},${D}), ${Q === null ? 'all' : Q} queries`,
    flops: 2 * nq * N * D, // the similarity products only
    // measured: ~4-5 s per call at N=1,683; 4,096 × 100,000 is 145× the similarities
    slow: nq * N > 1e8 ? { 'tfjs-cpu': '~10 min per call estimated (145× topk-1683)' } : undefined,
    tolerance: 1e-4,

    seqfair(be) {
      const { x, queries } = inputs();
      return seqfairPrepared(() => {
        const r = be.cosineTopk(x, N, D, K, queries);
        return { similarities: r.similarities, indices: r.indices };
      });
    },

    tfjs(tf) {
      type T = import('@tensorflow/tfjs').Tensor;
      const v = inputs();
      const x = tf.tensor2d(v.x, [N, D]);
      const queries = v.queries ? tf.tensor1d(v.queries, 'int32') : tf.range(0, N, 1, 'int32');
      const rows = Math.max(1, Math.floor(BLOCK_ELEMS / N));
      return tfjsPrepared(tf, [x, queries], () => {
        const xn = tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12));
        const sims: T[] = [], idx: T[] = [];
        for (let q0 = 0; q0 < nq; q0 += rows) {
          const n = Math.min(rows, nq - q0);
          const [s, i] = tf.tidy(() => {
            const qi = queries.slice(q0, n);
            const scores = tf.sub(tf.matMul(tf.gather(xn, qi), xn, false, true), tf.mul(tf.cast(tf.oneHot(qi, N), 'float32'), 3));
            const top = tf.topk(scores, K);
            return [top.values, top.indices];
          });
          sims.push(s!); idx.push(i!);
        }
        return { similarities: tf.concat(sims), indices: tf.concat(idx) };
      });
    },
  };
}
