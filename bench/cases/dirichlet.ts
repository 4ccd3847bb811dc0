/**
 * dirichlet: A-FSR Eq. 7 weights, 65,536 symmetric Dirichlet(α=1) draws of dimension 12 (every
 * entry active). seqfair: Marsaglia-Tsang Gamma on Philox counters, normalised per row. tfjs peer:
 * tf.randomGamma (also Marsaglia-Tsang; implemented in tfjs-core's JavaScript, so it costs the same
 * on both tfjs backends) divided by its row sums.
 *
 * The draws differ between implementations by construction, so `--check` compares statistics:
 * the mean of each column (1/12 for every column) and every row's sum (1).
 */
import { type BenchCase, type Outputs, seqfairPrepared } from '../case.js';
import { tfjsPrepared } from '../tfjs.js';

const R = 65_536, K = 12, ALPHA = 1;

function stats(w: Float32Array): Outputs {
  const columnMean = new Float32Array(K), rowSum = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let j = 0; j < K; j++) { const x = w[r * K + j]!; columnMean[j] += x / R; s += x; }
    rowSum[r] = s;
  }
  return { columnMean, rowSum };
}

export const dirichletCase: BenchCase = {
  name: 'dirichlet',
  summary: `${R} draws of Dirichlet(α=${ALPHA}) in ${K} dimensions`,
  // column means of 65,536 draws: standard error 0.0003 around 1/12; 5% of 1/12 is 13 of them
  tolerance: 0.05,

  seqfair(be) {
    const counts = new Int32Array(R).fill(K);
    let offset = 0;
    return {
      run() { be.dirichlet(counts, R, K, ALPHA, { seed: 7, stream: 6, offset }); offset += R * K; },
      outputs() { const w = be.dirichlet(counts, R, K, ALPHA, { seed: 7, stream: 6, offset }); offset += R * K; return stats(w); },
      dispose() {},
    };
  },

  tfjs(tf) {
    let seed = 7;
    const draw = () => {
      const g = tf.randomGamma([R, K], ALPHA, 1, 'float32', seed++);
      return tf.div(g, tf.sum(g, 1, true));
    };
    const p = tfjsPrepared(tf, [], () => ({ w: draw() }));
    return { ...p, outputs: () => stats(p.outputs()['w'] as Float32Array) };
  },
};
