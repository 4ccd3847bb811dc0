/**
 * Softmax cross-entropy, per row (FORMAT.md 4.6), and the fused output projection + cross-entropy
 * (FORMAT.md 4.7) that never holds the (rows × items) logits. Both return per-row losses: DRO
 * methods need every sample's loss, never only the mean.
 */
import { getBackend } from '../../backend/index.js';
import { isGradEnabled } from '../autograd.js';
import { Tensor, result } from '../tensor.js';
import { fmt } from '../shape.js';

function checkTargets(op: string, targets: Tensor, N: number, weights: Tensor | null): void {
  if (targets.dtype !== 'i32' || targets.rank !== 1 || targets.shape[0] !== N) {
    throw new Error(`${op}: targets must be i32 (${N}), got ${targets.dtype} ${fmt(targets.shape)}`);
  }
  if (weights && (weights.rank !== 1 || weights.shape[0] !== N)) {
    throw new Error(`${op}: weights must be (${N}), got ${fmt(weights.shape)}`);
  }
}

function checkRange(op: string, targets: Int32Array, C: number, ignoreIndex: number): void {
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= C)) {
      throw new Error(`${op}: targets[${i}] = ${t} is out of range [0, ${C}) (ignore index ${ignoreIndex})`);
    }
  }
}

/** logits (N,C), targets (N) i32 → loss (N): w·(logsumexp − logit[target]), 0 on ignored rows. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: { weights?: Tensor | null; ignoreIndex?: number } = {}): Tensor {
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be (N,C), got ${fmt(logits.shape)}`);
  const [N, C] = logits.shape as [number, number];
  const weights = opts.weights ?? null;
  const ignore = opts.ignoreIndex ?? -100;
  checkTargets('crossEntropy', targets, N, weights);
  const t = targets.i32();
  checkRange('crossEntropy', t, C, ignore);
  const lv = logits.f32('crossEntropy'), wv = weights?.f32('crossEntropy') ?? null;
  const { loss, lse } = getBackend().crossEntropyForward(lv, t, wv, N, C, ignore);
  return result(loss, [N], 'crossEntropy', [logits], (g) => [getBackend().crossEntropyBackward(lv, t, wv, lse, g, N, C, ignore)]);
}

/**
 * The gradient a caller knows each row's loss will receive, before the backward: e.g. 1 under a
 * plain sum of the losses (A-FSR's first pass), fround(1/n) under a mean over n rows (ERM), and
 * the gradients it will ask for (`value` is rounded to f32, as gradients are). The forward then
 * computes those gradients in the same pass over the logits (Backend.projCeForwardBackward: 3
 * GEMM-sized products instead of 4); the backward
 * uses them when its upstream equals `value` on every row with a target and it asks for no
 * other gradient, and otherwise computes them as without the hint. The results are the same
 * either way (on the cpu addon, the same bits); a wrong hint costs time, never correctness.
 */
export interface PresumedGrad {
  value: number;
  hidden: boolean;
  table: boolean;
}

/** every row that has a target gets exactly `value` (the ignored rows get no gradient anyway) */
function upstreamIs(g: Float32Array, value: number, targets: Int32Array, ignore: number): boolean {
  for (let n = 0; n < g.length; n++) if (targets[n] !== ignore && g[n] !== value) return false;
  return true;
}

/**
 * hidden (N,D), table (V,D), targets (N) i32 → loss (N) with logits = hidden·tableᵀ over all V
 * rows. Rows whose target is `ignoreIndex` (default 0, the padding id) get loss 0. `presumedGrad`:
 * see PresumedGrad (a speed hint; the results do not depend on it).
 */
export function projectionCrossEntropy(hidden: Tensor, table: Tensor, targets: Tensor,
  opts: { weights?: Tensor | null; ignoreIndex?: number; presumedGrad?: PresumedGrad } = {}): Tensor {
  if (hidden.rank !== 2 || table.rank !== 2 || hidden.shape[1] !== table.shape[1]) {
    throw new Error(`projectionCrossEntropy: hidden is ${fmt(hidden.shape)} but table is ${fmt(table.shape)}; expected (N,D) and (V,D)`);
  }
  const [N, D] = hidden.shape as [number, number];
  const V = table.shape[0]!;
  const weights = opts.weights ?? null;
  const ignore = opts.ignoreIndex ?? 0;
  checkTargets('projectionCrossEntropy', targets, N, weights);
  const t = targets.i32();
  checkRange('projectionCrossEntropy', t, V, ignore);
  const hv = hidden.f32('projectionCrossEntropy'), tv = table.f32('projectionCrossEntropy');
  const wv = weights?.f32('projectionCrossEntropy') ?? null;
  const pre = opts.presumedGrad;
  if (pre !== undefined && !Number.isFinite(pre.value)) throw new Error(`projectionCrossEntropy: presumedGrad.value must be finite, got ${pre.value}`);
  const presumed = Math.fround(pre?.value ?? 0);
  const wants = { hidden: !!pre?.hidden && hidden.requiresGrad, table: !!pre?.table && table.requiresGrad };
  let loss: Float32Array, lse: Float32Array;
  // gradients computed in the forward, handed to the first backward that matches (then dropped)
  let early: { dHidden: Float32Array | null; dTable: Float32Array | null } | null = null;
  if (pre !== undefined && isGradEnabled() && (wants.hidden || wants.table)) {
    const r = getBackend().projCeForwardBackward(hv, tv, t, wv, new Float32Array(N).fill(presumed), N, D, V, ignore, wants);
    ({ loss, lse } = r);
    early = { dHidden: r.dHidden, dTable: r.dTable };
  } else {
    ({ loss, lse } = getBackend().projCeForward(hv, tv, t, wv, N, D, V, ignore));
  }
  return result(loss, [N], 'projectionCrossEntropy', [hidden, table], (g, needs) => {
    const e = early;
    early = null;
    if (e !== null && (!needs[0] || e.dHidden !== null) && (!needs[1] || e.dTable !== null) && upstreamIs(g, presumed, t, ignore)) {
      return [needs[0] ? e.dHidden : null, needs[1] ? e.dTable : null];
    }
    // only the gradients the tape asks for (A-FSR's first pass: dHidden, not the table's)
    const r = getBackend().projCeBackward(hv, tv, t, wv, lse, g, N, D, V, ignore, { hidden: needs[0]!, table: needs[1]! });
    return [r.dHidden, r.dTable];
  });
}
