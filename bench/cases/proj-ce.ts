/**
 * proj-ce-V: output projection + softmax cross-entropy over a catalogue of V items, forward +
 * backward, the full-softmax training loss: hidden (N=12,800 = 256·50 rows, D=64), item table
 * (V,D), targets (N) in [0,V), per-row losses (N) with upstream gradient 1/N (a mean), gradients
 * for hidden and table. 3 products of 2·N·V·D flops each (logits, dHidden, dTable).
 *
 * seqfair's kernel is fused and chunked over V so the (N,V) logits never exist at once (row blocks
 * keep theirs, kRowBlock × V, for the backward when V ≤ 4,096: 3 products, else 4). The tfjs
 * peer is chunked over rows for the same reason (at V=20,000 the full logits, their softmax, the
 * one-hot labels and the logits' gradient would be 1 GB each, against the 4 GB ceiling of a 32-bit
 * wasm heap): per chunk, logits =
 * h·tableᵀ, tf.losses.softmaxCrossEntropy(oneHot(targets), logits, Reduction.NONE) and
 * tf.valueAndGrads for both inputs; table gradients are summed over chunks. One-hot labels are
 * used rather than a gather of the target logit because gather's gradient (UnsortedSegmentSum)
 * has no wasm kernel.
 */
import { type BenchCase, seqfairPrepared } from '../case.js';
import { Rand } from '../data.js';
import { tfjsPrepared } from '../tfjs.js';

const N = 12_800, D = 64;
/** logits elements per tfjs chunk (32 MB of f32) */
const CHUNK_ELEMS = 1 << 23;

export function projCeCase(V: number): BenchCase {
  const inputs = () => {
    const rand = new Rand(4000 + V);
    return {
      hidden: rand.normal(N * D), table: rand.normal(V * D, 0.1), targets: rand.ints(N, 0, V),
      dLoss: new Float32Array(N).fill(1 / N),
    };
  };
  return {
    name: `proj-ce-${V}`,
    summary: `hidden (${N},${D}) · table (${V},${D})ᵀ + CE, fwd+bwd`,
    flops: 3 * 2 * N * V * D,
    // measured: 50-70 s per call at V=1,683; V=20,000 does 12× the work
    slow: { 'tfjs-cpu': V > 2000 ? '10-14 min per call estimated (12× proj-ce-1683)' : '50-70 s per call measured' },
    tolerance: 1e-3,

    seqfair(be) {
      const { hidden, table, targets, dLoss } = inputs();
      // no row is ignored (ignoreIndex -1 never occurs), so both sides do the same work. The
      // upstream (a mean) is known before the forward, as in ERM training: one call, which reuses
      // the forward's logits where V allows (cpu: up to 4,096 items)
      return seqfairPrepared(() => {
        const r = be.projCeForwardBackward(hidden, table, targets, null, dLoss, N, D, V, -1);
        return { loss: r.loss, dHidden: r.dHidden!, dTable: r.dTable! };
      });
    },

    tfjs(tf) {
      type T = import('@tensorflow/tfjs').Tensor;
      const v = inputs();
      const hidden = tf.tensor2d(v.hidden, [N, D]), table = tf.tensor2d(v.table, [V, D]);
      const targets = tf.tensor1d(v.targets, 'int32'), dLoss = tf.tensor1d(v.dLoss);
      const rows = Math.max(1, Math.floor(CHUNK_ELEMS / V));
      const ce = (labels: T) => tf.valueAndGrads((h: T, t: T) =>
        tf.losses.softmaxCrossEntropy(labels, tf.matMul(h, t, false, true), undefined, 0, tf.Reduction.NONE));
      return tfjsPrepared(tf, [hidden, table, targets, dLoss], () => {
        const losses: T[] = [], dHs: T[] = [];
        let dTable: T | null = null;
        for (let r0 = 0; r0 < N; r0 += rows) {
          const n = Math.min(rows, N - r0);
          // a tidy per chunk frees its logits before the next chunk allocates its own
          const [loss, dH, dT] = tf.tidy(() => {
            // int32 one-hot then cast: wasm's OneHot mishandles dtype 'float32' (see topk.ts)
            const labels = tf.cast(tf.oneHot(targets.slice(r0, n), V), 'float32');
            const { value, grads } = ce(labels)([hidden.slice([r0, 0], [n, D]), table], dLoss.slice(r0, n));
            return [value, grads[0]!, grads[1]!];
          });
          losses.push(loss!); dHs.push(dH!);
          if (dTable) { const s: T = tf.add(dTable, dT!); dTable.dispose(); dT!.dispose(); dTable = s; } else dTable = dT!;
        }
        return { loss: tf.concat(losses), dHidden: tf.concat(dHs), dTable: dTable! };
      });
    },
  };
}
