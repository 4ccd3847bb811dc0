/**
 * embedding: the item-embedding lookup of a batch and its gradient, ids (B=256, L=50) into a
 * table (V=1,683, D=64): gather forward, deterministic scatter-add backward into dTable (V,D).
 * This is the gradient A-FSR's stereotype search differentiates through; it is here (beyond the
 * issue's list) because it is the one kernel tfjs-wasm lacks: tf.gather's gradient is
 * UnsortedSegmentSum, registered on tfjs-cpu but not on wasm, which the table shows as
 * 'unsupported' instead of failing. On tfjs-cpu that kernel loops over the segments: for each
 * of the 1,683 rows it builds a mask over all 12,800 ids and a masked (12,800, 64) product, and
 * keeps every intermediate until the end — more than 10 minutes and several GB per call here, so
 * that row is never run.
 */
import { type BenchCase, seqfairPrepared } from '../case.js';
import { Rand } from '../data.js';
import { tfjsPrepared } from '../tfjs.js';

const B = 256, L = 50, V = 1683, D = 64;

function inputs() {
  const rand = new Rand(6001);
  return { table: rand.normal(V * D, 0.1), ids: rand.ints(B * L, 0, V), dOut: rand.normal(B * L * D) };
}

export const embeddingCase: BenchCase = {
  name: 'embedding',
  summary: `gather + scatter-add bwd, ids (${B},${L}), table (${V},${D})`,
  tolerance: 1e-5,
  infeasible: {
    'tfjs-cpu': 'not run: its UnsortedSegmentSum keeps a masked copy per segment (> 10 min, GBs per call)',
  },

  seqfair(be) {
    const { table, ids, dOut } = inputs();
    return seqfairPrepared(() => ({ out: be.gather(table, ids, V, D), dTable: be.scatterAdd(dOut, ids, V, D) }));
  },

  tfjs(tf) {
    const v = inputs();
    const table = tf.tensor2d(v.table, [V, D]), ids = tf.tensor2d(v.ids, [B, L], 'int32');
    const dOut = tf.tensor3d(v.dOut, [B, L, D]);
    const fwdBwd = tf.valueAndGrads((t) => tf.gather(t!, ids));
    return tfjsPrepared(tf, [table, ids, dOut], () => {
      const { value, grads } = fwdBwd([table], dOut);
      return { out: value, dTable: grads[0]! };
    });
  },
};
