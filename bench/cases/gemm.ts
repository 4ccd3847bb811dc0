/**
 * gemm-N: one square single-precision matrix product C = A·B with A, B (N,N) row-major, the
 * kernel under every projection and the item-score layer. 2·N³ flops, reported as GFLOP/s.
 */
import { type BenchCase, seqfairPrepared } from '../case.js';
import { Rand } from '../data.js';
import { tfjsPrepared } from '../tfjs.js';

export function gemmCase(n: number): BenchCase {
  const inputs = () => {
    const rand = new Rand(1000 + n);
    return { a: rand.normal(n * n), b: rand.normal(n * n) };
  };
  return {
    name: `gemm-${n}`,
    summary: `C = A·B, A and B (${n},${n}) f32`,
    flops: 2 * n ** 3,
    // measured: tfjs-cpu's matMul runs at 0.2-0.4 GFLOP/s here, 50-80 s per call at N=2048
    slow: n >= 2048 ? { 'tfjs-cpu': '50-80 s per call measured (matMul at 0.2-0.4 GFLOP/s)' } : undefined,
    tolerance: 1e-4,

    seqfair(be) {
      const { a, b } = inputs();
      const opts = { batch: 1, m: n, n, k: n, transA: false, transB: false, batchedA: false, batchedB: false };
      return seqfairPrepared(() => ({ c: be.gemm(a, b, opts) }));
    },

    tfjs(tf) {
      const { a, b } = inputs();
      const A = tf.tensor2d(a, [n, n]), B = tf.tensor2d(b, [n, n]);
      return tfjsPrepared(tf, [A, B], () => ({ c: tf.matMul(A, B) }));
    },
  };
}
