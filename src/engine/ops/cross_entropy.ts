/**
 * Softmax cross-entropy, per row (FORMAT.md 4.6), and the fused output projection + cross-entropy
 * (FORMAT.md 4.7) that never holds the (rows × items) logits. Both return per-row losses: DRO
 * methods need every sample's loss, never only the mean.
 */
import { getBackend } from '../../backend/index.js';
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
 * hidden (N,D), table (V,D), targets (N) i32 → loss (N) with logits = hidden·tableᵀ over all V
 * rows. Rows whose target is `ignoreIndex` (default 0, the padding id) get loss 0.
 */
export function projectionCrossEntropy(hidden: Tensor, table: Tensor, targets: Tensor,
  opts: { weights?: Tensor | null; ignoreIndex?: number } = {}): Tensor {
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
  const { loss, lse } = getBackend().projCeForward(hv, tv, t, wv, N, D, V, ignore);
  return result(loss, [N], 'projectionCrossEntropy', [hidden, table], (g, needs) => {
    // only the gradients the tape asks for (A-FSR's first pass: dHidden, not the table's)
    const r = getBackend().projCeBackward(hv, tv, t, wv, lse, g, N, D, V, ignore, { hidden: needs[0]!, table: needs[1]! });
    return [r.dHidden, r.dTable];
  });
}
