/**
 * Matrix products on the backend's GEMM: matmul (batched, with a shared 2-D right operand) and
 * linear (PyTorch convention y = x Wᵀ + b, W (out,in), without materialising Wᵀ).
 * Backward of C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC (summed over the batch when B is shared).
 */
import { ADD } from '../../backend/backend.js';
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { fmt, sizeOf } from '../shape.js';

/**
 * a (..., m, k) · b (..., k, n) with equal batch dims, or b (k, n) shared by every batch entry.
 * 1-D operands are not promoted: reshape first.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: expected operands of rank >= 2, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const m = a.shape[a.rank - 2]!, k = a.shape[a.rank - 1]!;
  const k2 = b.shape[b.rank - 2]!, n = b.shape[b.rank - 1]!;
  const batchA = a.shape.slice(0, -2);
  const shared = b.rank === 2;
  if (k !== k2 || (!shared && (b.rank !== a.rank || b.shape.slice(0, -2).some((d, i) => d !== batchA[i])))) {
    throw new Error(`matmul: a is ${fmt(a.shape)} but b is ${fmt(b.shape)}`);
  }
  const batch = sizeOf(batchA);
  const av = a.f32('matmul'), bv = b.f32('matmul');
  // with a shared b the batch folds into the rows of one product
  const rows = shared ? batch * m : m;
  const nb = shared ? 1 : batch;
  const base = { batch: nb, batchedA: true, batchedB: true };
  const y = getBackend().gemm(av, bv, { ...base, m: rows, n, k, transA: false, transB: false });
  return result(y, [...batchA, m, n], 'matmul', [a, b], (g, needs) => {
    const be = getBackend();
    const ga = needs[0] ? be.gemm(g, bv, { ...base, m: rows, n: k, k: n, transA: false, transB: true }) : null;
    const gb = needs[1] ? be.gemm(av, g, { ...base, m: k, n, k: rows, transA: true, transB: false }) : null;
    return [ga, gb];
  });
}

/** y = x Wᵀ + b over the last dim of x (..., in); W (out,in), b (out) or null. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  const inF = x.shape[x.rank - 1];
  if (w.rank !== 2 || w.shape[1] !== inF || (b && (b.rank !== 1 || b.shape[0] !== w.shape[0]))) {
    throw new Error(`linear: x is ${fmt(x.shape)}, weight ${fmt(w.shape)}${b ? `, bias ${fmt(b.shape)}` : ''}; expected weight (out,${inF}) and bias (out)`);
  }
  const out = w.shape[0]!;
  const N = sizeOf(x.shape.slice(0, -1));
  const xv = x.f32('linear'), wv = w.f32('linear'), bv = b?.f32('linear') ?? null;
  const one = { batch: 1, batchedA: true, batchedB: true };
  const be = getBackend();
  const xw = be.gemm(xv, wv, { ...one, m: N, n: out, k: inF!, transA: false, transB: true });
  // + b: one threaded broadcast add over the rows (filling y with copies of b for GEMM to
  // accumulate onto cost more, in JavaScript)
  const y = bv && N > 0 && out > 0 ? be.binary(ADD, xw, bv, [N, out], [out, 1], [0, 1]) : xw;
  const inputs = b ? [x, w, b] : [x, w];
  return result(y, [...x.shape.slice(0, -1), out], 'linear', inputs, (g, needs) => {
    const be = getBackend();
    const gx = needs[0] ? be.gemm(g, wv, { ...one, m: N, n: inF!, k: out, transA: false, transB: false }) : null;
    const gw = needs[1] ? be.gemm(g, xv, { ...one, m: out, n: inF!, k: N, transA: true, transB: false }) : null;
    // db = 1ᵀ·g, the column sums of g (N,out), as a one-row GEMM
    const gb = b && needs[2] ? be.gemm(onesOf(N), g, { ...one, m: 1, n: out, k: N, transA: false, transB: false }) : null;
    return [gx, gw, gb];
  });
}

/** a read-only vector of n ones, grown and shared between calls (GEMM never writes its A) */
let ones = new Float32Array(0);
function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(Math.max(n, 2 * ones.length)).fill(1);
  return ones.length === n ? ones : ones.subarray(0, n);
}
