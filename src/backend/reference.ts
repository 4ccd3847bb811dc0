/**
 * The reference backend: every kernel of the Backend contract (backend.ts) in plain TypeScript.
 *
 * This file is the oracle the native CPU and CUDA kernels are tested against, so it is written
 * to be obviously correct, never fast:
 *   - plain loops in the order of the math, one kernel = one function, forward beside backward;
 *   - every sum is accumulated in float64 (JS numbers) and each result is rounded to f32 once,
 *     when it is stored;
 *   - values that a kernel hands from forward to backward (lse, mean/rstd, the GRU cache) are
 *     stored as f32 like every other output, and the backward kernels read those f32 values, as
 *     the native kernels will;
 *   - randomness only through the Philox helpers of src/engine/philox.ts, element e of a random
 *     kernel always reading counter offset + e, so results do not depend on how work is split;
 *   - every kernel checks its dimensions, array lengths and ids first and throws a RangeError
 *     naming the method, the array and both the expected and the given length.
 *
 * The exact math of most kernels is written in ../shared/golden/FORMAT.md (section numbers
 * are quoted below as "F4.x"). Shapes are row-major; (B,H,L,dh) means index ((b*H+h)*L+l)*dh+d.
 */
import {
  ADD, type AdamOptions, type AttentionDims, BOTH_GRADIENTS, type Backend, type BinaryOp, DIV, type F32, type GemmOptions, type GruDims,
  type I32, MUL, type NarmAttentionDims, type ProjCeWants, type RngKey, SUB,
} from './backend.js';
import { f32Exp } from '../engine/f32math.js';
import { checkKey, gammaParams, logGammaAt, normalAt, uniformAt } from '../engine/philox.js';
import { normalCdf, normalPdf, sigmoid } from './math.js';

// ============================================================================================
// Argument checks (shared by every kernel)
// ============================================================================================

/** A dimension must be a non-negative integer. */
function checkDim(op: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${value}`);
  }
}

/** An array must hold exactly `expected` values; `shape` says where that number comes from. */
function checkLength(op: string, name: string, arr: ArrayLike<number>, expected: number, shape: string): void {
  if (arr.length !== expected) {
    throw new RangeError(`${op}: ${name} must hold ${expected} values ${shape} but has ${arr.length}`);
  }
}

/** Every id must lie in [0, V); the error names the position and the value. */
function checkIds(op: string, name: string, ids: I32, V: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= V) throw new RangeError(`${op}: ${name}[${i}] = ${id} is outside [0, ${V})`);
  }
}

/** A mask holds only 0 and 1. */
function checkMask(op: string, name: string, mask: I32): void {
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i]!;
    if (m !== 0 && m !== 1) throw new RangeError(`${op}: ${name}[${i}] = ${m} must be 0 or 1`);
  }
}

/** Targets are either the ignore index or a class in [0, V); the error names the row. */
function checkTargets(op: string, targets: I32, V: number, ignoreIndex: number): void {
  for (let n = 0; n < targets.length; n++) {
    const t = targets[n]!;
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= V) {
      throw new RangeError(`${op}: targets[${n}] = ${t} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`);
    }
  }
}

/** A dropout probability must lie in [0, 1): p = 1 would scale kept values by 1/0. */
function checkDropoutP(op: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new RangeError(`${op}: dropout probability must be in [0, 1), got ${p}`);
}

// ============================================================================================
// Random numbers
// ============================================================================================

/** n uniforms in [0,1): element i = uniformAt(key, offset + i). */
function uniform(n: number, key: RngKey): F32 {
  checkDim('uniform', 'n', n);
  checkKey(key, 'uniform');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = uniformAt(key, key.offset + i); // 24-bit values: exact in f32
  return out;
}

/** n standard normals: element i = normalAt(key, offset + i), rounded to f32. */
function normal(n: number, key: RngKey): F32 {
  checkDim('normal', 'n', n);
  checkKey(key, 'normal');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = normalAt(key, key.offset + i);
  return out;
}

// ============================================================================================
// GEMM:  C[b] = op(A[b]) · op(B[b]),  C (batch, m, n)
//   op(A) (m,k) is A stored (m,k), or A stored (k,m) transposed when transA;
//   op(B) (k,n) is B stored (k,n), or B stored (n,k) transposed when transB;
//   an operand that is not batched is the same matrix for every b (stride 0).
// ============================================================================================

function gemm(a: F32, b: F32, o: GemmOptions, accumulate?: F32): F32 {
  const op = 'gemm';
  const { batch, m, n, k, transA, transB, batchedA, batchedB } = o;
  checkDim(op, 'batch', batch);
  checkDim(op, 'm', m);
  checkDim(op, 'n', n);
  checkDim(op, 'k', k);
  const aShape = transA ? `(k,m) = (${k},${m})` : `(m,k) = (${m},${k})`;
  const bShape = transB ? `(n,k) = (${n},${k})` : `(k,n) = (${k},${n})`;
  checkLength(op, 'A', a, (batchedA ? batch : 1) * m * k, batchedA ? `(batch ${batch} × ${aShape})` : aShape);
  checkLength(op, 'B', b, (batchedB ? batch : 1) * k * n, batchedB ? `(batch ${batch} × ${bShape})` : bShape);
  if (accumulate !== undefined) {
    checkLength(op, 'accumulate', accumulate, batch * m * n, `(batch,m,n) = (${batch},${m},${n})`);
  }

  const c = accumulate ?? new Float32Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    const aBase = batchedA ? bi * m * k : 0;
    const bBase = batchedB ? bi * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        // With accumulate, the old C value joins the float64 sum so C += result rounds once.
        let sum = accumulate !== undefined ? c[(bi * m + i) * n + j]! : 0;
        for (let p = 0; p < k; p++) {
          const aip = transA ? a[aBase + p * m + i]! : a[aBase + i * k + p]!;
          const bpj = transB ? b[bBase + j * k + p]! : b[bBase + p * n + j]!;
          sum += aip * bpj;
        }
        c[(bi * m + i) * n + j] = sum;
      }
    }
  }
  return c;
}

// ============================================================================================
// Attention (F4.4), with optional dropout on the attention weights.
//   allowed(i,j)  = keyMask[b,j] = 1 and (!causal or j <= i)
//   s_ij          = scale · q_i·k_j                      (allowed j only)
//   lse_i         = log Σ_j exp(s_ij)                   (-Infinity when no j is allowed)
//   p_ij          = exp(s_ij - lse_i)
//   m_ij          = keep_ij / (1 - dropout), keep_ij = uniformAt(key, key.offset + e) >= dropout,
//                   e = ((b*H+h)*L+i)*L+j               (m = 1 without dropout)
//   out_i         = Σ_j p_ij m_ij v_j                   (0 for a row without allowed keys)
// Backward, with dP_ij = ∂S/∂p_ij = m_ij (dOut_i·v_j):
//   dv_j += p_ij m_ij dOut_i
//   dS_ij = p_ij (dP_ij - Σ_l p_il dP_il)               (softmax backward on the undropped p)
//   dq_i += scale Σ_j dS_ij k_j,   dk_j += scale dS_ij q_i
// Layout of q, k, v, out and the gradients: (B,H,L,dh), or (B,L,H,dh) when d.interleaved; row i of
// head bh = b·H + h starts at attentionRow(d, bh, i). lse is (B,H,L) in both.
// ============================================================================================

function attentionRow(d: AttentionDims, bh: number, i: number): number {
  const { H, L, dh } = d;
  return d.interleaved ? ((Math.floor(bh / H) * L + i) * H + (bh % H)) * dh : (bh * L + i) * dh;
}

function checkAttention(op: string, q: F32, k: F32, v: F32, keyMask: I32, d: AttentionDims): void {
  const { B, H, L, dh } = d;
  checkDim(op, 'B', B);
  checkDim(op, 'H', H);
  checkDim(op, 'L', L);
  checkDim(op, 'dh', dh);
  const shape = `(B,H,L,dh) = (${B},${H},${L},${dh})`;
  checkLength(op, 'q', q, B * H * L * dh, shape);
  checkLength(op, 'k', k, B * H * L * dh, shape);
  checkLength(op, 'v', v, B * H * L * dh, shape);
  checkLength(op, 'keyMask', keyMask, B * L, `(B,L) = (${B},${L})`);
  checkMask(op, 'keyMask', keyMask);
  if (!Number.isFinite(d.scale)) throw new RangeError(`${op}: scale must be finite, got ${d.scale}`);
  checkDropoutP(op, d.dropout);
  if (d.dropout > 0) {
    if (d.rng === null) throw new RangeError(`${op}: dropout ${d.dropout} > 0 needs an rng key, got null`);
    checkKey(d.rng, op);
  }
}

/**
 * The dropout multiplier m_ij of attention weight e = ((b*H+h)*L+i)*L+j: 1 without dropout,
 * else keep/(1-p) with keep decided by uniform element e of the key's stream.
 */
function attentionDropoutMultiplier(d: AttentionDims, e: number): number {
  if (d.dropout === 0) return 1;
  const key = d.rng!;
  return uniformAt(key, key.offset + e) >= d.dropout ? 1 / (1 - d.dropout) : 0;
}

/** Whether key j is allowed for query i of batch entry b. */
function attentionAllowed(keyMask: I32, d: AttentionDims, b: number, i: number, j: number): boolean {
  return keyMask[b * d.L + j] === 1 && (!d.causal || j <= i);
}

/** s_ij = scale · q_i·k_j of head (b,h), in double. */
function attentionScore(q: F32, k: F32, d: AttentionDims, bh: number, i: number, j: number): number {
  const { L, dh } = d;
  let dot = 0;
  for (let c = 0; c < dh; c++) dot += q[attentionRow(d, bh, i) + c]! * k[attentionRow(d, bh, j) + c]!;
  return d.scale * dot;
}

function attentionForward(q: F32, k: F32, v: F32, keyMask: I32, d: AttentionDims): { out: F32; lse: F32 } {
  checkAttention('attentionForward', q, k, v, keyMask, d);
  const { B, H, L, dh } = d;
  const out = new Float32Array(B * H * L * dh);
  const lse = new Float32Array(B * H * L);
  const s = new Float64Array(L);
  const acc = new Float64Array(dh);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < L; i++) {
        // Scores of the allowed keys and their maximum (the shift that keeps exp in range).
        // A NaN score wins the max so that it propagates instead of looking like an empty row.
        let max = -Infinity;
        let anyAllowed = false;
        for (let j = 0; j < L; j++) {
          const allowed = attentionAllowed(keyMask, d, b, i, j);
          anyAllowed ||= allowed;
          s[j] = allowed ? attentionScore(q, k, d, bh, i, j) : -Infinity;
          if (s[j]! > max || Number.isNaN(s[j]!)) max = s[j]!;
        }
        if (!anyAllowed) {
          // No allowed key: the output row stays 0 and lse marks the row as empty.
          lse[bh * L + i] = -Infinity;
          continue;
        }
        let sumExp = 0;
        for (let j = 0; j < L; j++) if (s[j]! !== -Infinity) sumExp += Math.exp(s[j]! - max);
        const rowLse = max + Math.log(sumExp);
        lse[bh * L + i] = rowLse;

        acc.fill(0);
        for (let j = 0; j < L; j++) {
          if (s[j]! === -Infinity) continue;
          const pm = Math.exp(s[j]! - rowLse) * attentionDropoutMultiplier(d, (bh * L + i) * L + j);
          if (pm === 0) continue;
          for (let c = 0; c < dh; c++) acc[c] += pm * v[attentionRow(d, bh, j) + c]!;
        }
        for (let c = 0; c < dh; c++) out[attentionRow(d, bh, i) + c] = acc[c]!;
      }
    }
  }
  return { out, lse };
}

/**
 * `out` is only length-checked: the reference forms Σ_l p_il dP_il from p directly (a fused
 * kernel may use the equal rowsum(dOut_i ∘ out_i) instead). p is rebuilt from q, k and lse.
 */
function attentionBackward(
  q: F32, k: F32, v: F32, keyMask: I32, out: F32, lse: F32, dOut: F32, d: AttentionDims,
): { dq: F32; dk: F32; dv: F32 } {
  const op = 'attentionBackward';
  checkAttention(op, q, k, v, keyMask, d);
  const { B, H, L, dh } = d;
  const shape = `(B,H,L,dh) = (${B},${H},${L},${dh})`;
  checkLength(op, 'out', out, B * H * L * dh, shape);
  checkLength(op, 'dOut', dOut, B * H * L * dh, shape);
  checkLength(op, 'lse', lse, B * H * L, `(B,H,L) = (${B},${H},${L})`);

  const dq = new Float64Array(B * H * L * dh);
  const dk = new Float64Array(B * H * L * dh);
  const dv = new Float64Array(B * H * L * dh);
  const p = new Float64Array(L); // undropped softmax weights of the current row
  const mult = new Float64Array(L); // dropout multipliers m_ij of the current row
  const dP = new Float64Array(L);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < L; i++) {
        const rowLse = lse[bh * L + i]!;
        if (rowLse === -Infinity) continue; // no allowed key: the row passed no gradient
        let rowDot = 0; // Σ_l p_il dP_il
        for (let j = 0; j < L; j++) {
          p[j] = 0;
          mult[j] = 0;
          dP[j] = 0;
          if (!attentionAllowed(keyMask, d, b, i, j)) continue;
          p[j] = Math.exp(attentionScore(q, k, d, bh, i, j) - rowLse);
          mult[j] = attentionDropoutMultiplier(d, (bh * L + i) * L + j);
          let dOutDotV = 0;
          for (let c = 0; c < dh; c++) dOutDotV += dOut[attentionRow(d, bh, i) + c]! * v[attentionRow(d, bh, j) + c]!;
          dP[j] = mult[j]! * dOutDotV;
          rowDot += p[j]! * dP[j]!;
        }
        for (let j = 0; j < L; j++) {
          if (p[j] === 0) continue;
          const pm = p[j]! * mult[j]!;
          const dS = p[j]! * (dP[j]! - rowDot);
          for (let c = 0; c < dh; c++) {
            const iIdx = attentionRow(d, bh, i) + c;
            const jIdx = attentionRow(d, bh, j) + c;
            dv[jIdx] += pm * dOut[iIdx]!;
            dq[iIdx] += d.scale * dS * k[jIdx]!;
            dk[jIdx] += d.scale * dS * q[iIdx]!;
          }
        }
      }
    }
  }
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
}

// ============================================================================================
// GRU (F4.5), exactly torch.nn.GRU(batch_first=True), gate rows r = [0,H), z = [H,2H), n = [2H,3H):
//   gi = W_ih x_t + b_ih,   gh = W_hh h_{t-1} + b_hh
//   r = σ(gi_r + gh_r),  z = σ(gi_z + gh_z),  n = tanh(gi_n + r ⊙ gh_n),  h_t = (1-z) ⊙ n + z ⊙ h_{t-1}
// cache (B,L,4H) per step = [r, z, n, gh_n]; the recurrence reads h_{t-1} back from the f32 `out`.
// ============================================================================================

function checkGru(op: string, x: F32, h0: F32, wIh: F32, wHh: F32, d: GruDims): void {
  const { B, L, I, H } = d;
  checkDim(op, 'B', B);
  checkDim(op, 'L', L);
  checkDim(op, 'I', I);
  checkDim(op, 'H', H);
  checkLength(op, 'x', x, B * L * I, `(B,L,I) = (${B},${L},${I})`);
  checkLength(op, 'h0', h0, B * H, `(B,H) = (${B},${H})`);
  checkLength(op, 'wIh', wIh, 3 * H * I, `(3H,I) = (${3 * H},${I})`);
  checkLength(op, 'wHh', wHh, 3 * H * H, `(3H,H) = (${3 * H},${H})`);
}

function gruForward(x: F32, h0: F32, wIh: F32, wHh: F32, bIh: F32, bHh: F32, d: GruDims): { out: F32; cache: F32 } {
  const op = 'gruForward';
  checkGru(op, x, h0, wIh, wHh, d);
  const { B, L, I, H } = d;
  checkLength(op, 'bIh', bIh, 3 * H, `(3H) = (${3 * H})`);
  checkLength(op, 'bHh', bHh, 3 * H, `(3H) = (${3 * H})`);

  const out = new Float32Array(B * L * H);
  const cache = new Float32Array(B * L * 4 * H);
  const gi = new Float64Array(3 * H);
  const gh = new Float64Array(3 * H);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const hPrev = t === 0 ? h0.subarray(b * H, (b + 1) * H) : out.subarray((b * L + t - 1) * H, (b * L + t) * H);
      const xt = x.subarray((b * L + t) * I, (b * L + t + 1) * I);
      for (let g = 0; g < 3 * H; g++) {
        let si = bIh[g]!;
        for (let c = 0; c < I; c++) si += wIh[g * I + c]! * xt[c]!;
        gi[g] = si;
        let sh = bHh[g]!;
        for (let c = 0; c < H; c++) sh += wHh[g * H + c]! * hPrev[c]!;
        gh[g] = sh;
      }
      const step = (b * L + t) * 4 * H;
      for (let u = 0; u < H; u++) {
        const r = sigmoid(gi[u]! + gh[u]!);
        const z = sigmoid(gi[H + u]! + gh[H + u]!);
        const ghn = gh[2 * H + u]!;
        const n = Math.tanh(gi[2 * H + u]! + r * ghn);
        out[(b * L + t) * H + u] = (1 - z) * n + z * hPrev[u]!;
        cache[step + u] = r;
        cache[step + H + u] = z;
        cache[step + 2 * H + u] = n;
        cache[step + 3 * H + u] = ghn;
      }
    }
  }
  return { out, cache };
}

/**
 * Backpropagation through time. With dh = dOut_t + (gradient flowing back from step t+1):
 *   dn = dh (1-z),  dz = dh (h_{t-1} - n),  dh_{t-1} = dh z + W_hh^T dgh
 *   da_n = dn (1-n²)           (a_n = gi_n + r gh_n)
 *   dgi_n = da_n,  dgh_n = da_n r,  dr = da_n gh_n
 *   dgi_r = dgh_r = dr r(1-r),  dgi_z = dgh_z = dz z(1-z)
 *   dx_t = W_ih^T dgi,  dW_ih += dgi x_t^T,  dW_hh += dgh h_{t-1}^T,  db_ih += dgi,  db_hh += dgh
 */
function gruBackward(
  x: F32, h0: F32, wIh: F32, wHh: F32, out: F32, cache: F32, dOut: F32, d: GruDims,
): { dx: F32; dh0: F32; dWIh: F32; dWHh: F32; dBIh: F32; dBHh: F32 } {
  const op = 'gruBackward';
  checkGru(op, x, h0, wIh, wHh, d);
  const { B, L, I, H } = d;
  checkLength(op, 'out', out, B * L * H, `(B,L,H) = (${B},${L},${H})`);
  checkLength(op, 'cache', cache, B * L * 4 * H, `(B,L,4H) = (${B},${L},${4 * H})`);
  checkLength(op, 'dOut', dOut, B * L * H, `(B,L,H) = (${B},${L},${H})`);

  const dx = new Float64Array(B * L * I);
  const dh0 = new Float64Array(B * H);
  const dWIh = new Float64Array(3 * H * I);
  const dWHh = new Float64Array(3 * H * H);
  const dBIh = new Float64Array(3 * H);
  const dBHh = new Float64Array(3 * H);
  const dh = new Float64Array(H); // gradient of h_t carried back through time
  const dhPrev = new Float64Array(H);
  const dgi = new Float64Array(3 * H);
  const dgh = new Float64Array(3 * H);
  for (let b = 0; b < B; b++) {
    dh.fill(0);
    for (let t = L - 1; t >= 0; t--) {
      const hPrev = t === 0 ? h0.subarray(b * H, (b + 1) * H) : out.subarray((b * L + t - 1) * H, (b * L + t) * H);
      const step = (b * L + t) * 4 * H;
      for (let u = 0; u < H; u++) {
        dh[u] += dOut[(b * L + t) * H + u]!;
        const r = cache[step + u]!;
        const z = cache[step + H + u]!;
        const n = cache[step + 2 * H + u]!;
        const ghn = cache[step + 3 * H + u]!;
        const dn = dh[u]! * (1 - z);
        const dz = dh[u]! * (hPrev[u]! - n);
        dhPrev[u] = dh[u]! * z;
        const dan = dn * (1 - n * n);
        const dr = dan * ghn;
        const dar = dr * r * (1 - r);
        const daz = dz * z * (1 - z);
        dgi[u] = dar;
        dgi[H + u] = daz;
        dgi[2 * H + u] = dan;
        dgh[u] = dar;
        dgh[H + u] = daz;
        dgh[2 * H + u] = dan * r;
      }
      const xt = (b * L + t) * I;
      for (let g = 0; g < 3 * H; g++) {
        dBIh[g] += dgi[g]!;
        dBHh[g] += dgh[g]!;
        for (let c = 0; c < I; c++) {
          dx[xt + c] += wIh[g * I + c]! * dgi[g]!;
          dWIh[g * I + c] += dgi[g]! * x[xt + c]!;
        }
        for (let c = 0; c < H; c++) {
          dhPrev[c] += wHh[g * H + c]! * dgh[g]!;
          dWHh[g * H + c] += dgh[g]! * hPrev[c]!;
        }
      }
      dh.set(dhPrev);
    }
    for (let u = 0; u < H; u++) dh0[b * H + u] = dh[u]!;
  }
  return {
    dx: Float32Array.from(dx),
    dh0: Float32Array.from(dh0),
    dWIh: Float32Array.from(dWIh),
    dWHh: Float32Array.from(dWHh),
    dBIh: Float32Array.from(dBIh),
    dBHh: Float32Array.from(dBHh),
  };
}

// ============================================================================================
// NARM attention (Li et al. 2017, Eq. 7–8): query row t of T is position p = L − T + t,
//   alpha[b,t,j] = mask[b,j] · [j ≤ p] · Σ_d w_d σ(q[b,t,d] + k[b,j,d])
// backward with g = dAlpha[b,t,j], s_d = σ(q_d + k_d), over the allowed pairs only:
//   dw_d += g s_d,   dq[b,t,d] += g w_d s_d (1 − s_d),   dk[b,j,d] += the same
// ============================================================================================

function checkNarmAttention(op: string, q: F32, k: F32, w: F32, mask: I32, d: NarmAttentionDims): void {
  const { B, T, L, H } = d;
  for (const [name, v] of [['B', B], ['T', T], ['L', L], ['H', H]] as const) checkDim(op, name, v);
  if (T > L) throw new RangeError(`${op}: T = ${T} query rows exceed L = ${L} positions`);
  checkLength(op, 'q', q, B * T * H, `(B,T,H) = (${B},${T},${H})`);
  checkLength(op, 'k', k, B * L * H, `(B,L,H) = (${B},${L},${H})`);
  checkLength(op, 'w', w, H, `(H) = (${H})`);
  checkLength(op, 'mask', mask, B * L, `(B,L) = (${B},${L})`);
  checkMask(op, 'mask', mask);
}

function narmAttentionForward(q: F32, k: F32, w: F32, mask: I32, d: NarmAttentionDims): F32 {
  checkNarmAttention('narmAttentionForward', q, k, w, mask, d);
  const { B, T, L, H } = d;
  const alpha = new Float32Array(B * T * L);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = L - T + t;
      for (let j = 0; j <= p; j++) {
        if (mask[b * L + j] === 0) continue;
        let s = 0;
        for (let h = 0; h < H; h++) s += w[h]! * sigmoid(q[(b * T + t) * H + h]! + k[(b * L + j) * H + h]!);
        alpha[(b * T + t) * L + j] = s;
      }
    }
  }
  return alpha;
}

function narmAttentionBackward(q: F32, k: F32, w: F32, mask: I32, dAlpha: F32, d: NarmAttentionDims): { dq: F32; dk: F32; dw: F32 } {
  const op = 'narmAttentionBackward';
  checkNarmAttention(op, q, k, w, mask, d);
  const { B, T, L, H } = d;
  checkLength(op, 'dAlpha', dAlpha, B * T * L, `(B,T,L) = (${B},${T},${L})`);
  const dq = new Float64Array(B * T * H), dk = new Float64Array(B * L * H), dw = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = L - T + t;
      for (let j = 0; j <= p; j++) {
        const g = dAlpha[(b * T + t) * L + j]!;
        if (mask[b * L + j] === 0) continue;
        for (let h = 0; h < H; h++) {
          const qi = (b * T + t) * H + h, ki = (b * L + j) * H + h;
          const s = sigmoid(q[qi]! + k[ki]!);
          dw[h]! += g * s;
          dq[qi]! += g * w[h]! * s * (1 - s);
          dk[ki]! += g * w[h]! * s * (1 - s);
        }
      }
    }
  }
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dw: Float32Array.from(dw) };
}

// ============================================================================================
// Cross-entropy (F4.6) and the fused projection + cross-entropy (F4.7).
//   ignored row (target = ignoreIndex): loss 0, lse 0 (not computed), no gradient
//   otherwise: lse = max + log Σ_v exp(logit_v - max),  loss = w (lse - logit_target)
//   dlogit_v = dLoss w (exp(logit_v - lse) - [v = target])
// The reference computes one full row of V logits at a time; the native kernels chunk over V.
// ============================================================================================

/** Log-sum-exp of a row with the max shift (logits of magnitude ~100 overflow exp otherwise). */
function logSumExp(row: Float64Array): number {
  let max = -Infinity;
  for (let v = 0; v < row.length; v++) if (row[v]! > max) max = row[v]!;
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp(row[v]! - max);
  return max + Math.log(sum);
}

/** logits of row n of hidden against every row of the table, in double. */
function projectionRow(hidden: F32, table: F32, n: number, D: number, V: number, row: Float64Array): void {
  for (let v = 0; v < V; v++) {
    let dot = 0;
    for (let c = 0; c < D; c++) dot += hidden[n * D + c]! * table[v * D + c]!;
    row[v] = dot;
  }
}

function checkProjCe(
  op: string, hidden: F32, table: F32, targets: I32, weights: F32 | null, N: number, D: number, V: number, ignoreIndex: number,
): void {
  checkDim(op, 'N', N);
  checkDim(op, 'D', D);
  checkDim(op, 'V', V);
  checkLength(op, 'hidden', hidden, N * D, `(N,D) = (${N},${D})`);
  checkLength(op, 'table', table, V * D, `(V,D) = (${V},${D})`);
  checkLength(op, 'targets', targets, N, `(N) = (${N})`);
  if (weights !== null) checkLength(op, 'weights', weights, N, `(N) = (${N})`);
  checkTargets(op, targets, V, ignoreIndex);
}

function projCeForward(
  hidden: F32, table: F32, targets: I32, weights: F32 | null, N: number, D: number, V: number, ignoreIndex: number,
): { loss: F32; lse: F32 } {
  checkProjCe('projCeForward', hidden, table, targets, weights, N, D, V, ignoreIndex);
  const loss = new Float32Array(N);
  const lse = new Float32Array(N);
  const row = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    const t = targets[n]!;
    if (t === ignoreIndex) continue;
    projectionRow(hidden, table, n, D, V, row);
    const rowLse = logSumExp(row);
    lse[n] = rowLse;
    loss[n] = (weights === null ? 1 : weights[n]!) * (rowLse - row[t]!);
  }
  return { loss, lse };
}

function projCeBackward(
  hidden: F32, table: F32, targets: I32, weights: F32 | null, lse: F32, dLoss: F32,
  N: number, D: number, V: number, ignoreIndex: number, wants: ProjCeWants = BOTH_GRADIENTS,
): { dHidden: F32 | null; dTable: F32 | null } {
  const op = 'projCeBackward';
  checkProjCe(op, hidden, table, targets, weights, N, D, V, ignoreIndex);
  checkLength(op, 'lse', lse, N, `(N) = (${N})`);
  checkLength(op, 'dLoss', dLoss, N, `(N) = (${N})`);
  const dHidden = new Float64Array(N * D);
  const dTable = new Float64Array(V * D);
  const row = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    const t = targets[n]!;
    if (t === ignoreIndex) continue;
    const g = dLoss[n]! * (weights === null ? 1 : weights[n]!);
    if (g === 0) continue;
    projectionRow(hidden, table, n, D, V, row);
    for (let v = 0; v < V; v++) {
      const dLogit = g * (Math.exp(row[v]! - lse[n]!) - (v === t ? 1 : 0));
      for (let c = 0; c < D; c++) {
        dHidden[n * D + c] += dLogit * table[v * D + c]!;
        dTable[v * D + c] += dLogit * hidden[n * D + c]!;
      }
    }
  }
  // both are computed (this is the readable definition); the unwanted one is dropped
  return { dHidden: wants.hidden ? Float32Array.from(dHidden) : null, dTable: wants.table ? Float32Array.from(dTable) : null };
}

/** the definition: the forward, then the backward with dLoss */
function projCeForwardBackward(
  hidden: F32, table: F32, targets: I32, weights: F32 | null, dLoss: F32,
  N: number, D: number, V: number, ignoreIndex: number, wants: ProjCeWants = BOTH_GRADIENTS,
): { loss: F32; lse: F32; dHidden: F32 | null; dTable: F32 | null } {
  const { loss, lse } = projCeForward(hidden, table, targets, weights, N, D, V, ignoreIndex);
  return { loss, lse, ...projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, ignoreIndex, wants) };
}

function checkCrossEntropy(
  op: string, logits: F32, targets: I32, weights: F32 | null, N: number, C: number, ignoreIndex: number,
): void {
  checkDim(op, 'N', N);
  checkDim(op, 'C', C);
  checkLength(op, 'logits', logits, N * C, `(N,C) = (${N},${C})`);
  checkLength(op, 'targets', targets, N, `(N) = (${N})`);
  if (weights !== null) checkLength(op, 'weights', weights, N, `(N) = (${N})`);
  checkTargets(op, targets, C, ignoreIndex);
}

function crossEntropyForward(
  logits: F32, targets: I32, weights: F32 | null, N: number, C: number, ignoreIndex: number,
): { loss: F32; lse: F32 } {
  checkCrossEntropy('crossEntropyForward', logits, targets, weights, N, C, ignoreIndex);
  const loss = new Float32Array(N);
  const lse = new Float32Array(N);
  const row = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const t = targets[n]!;
    if (t === ignoreIndex) continue;
    for (let c = 0; c < C; c++) row[c] = logits[n * C + c]!;
    const rowLse = logSumExp(row);
    lse[n] = rowLse;
    loss[n] = (weights === null ? 1 : weights[n]!) * (rowLse - row[t]!);
  }
  return { loss, lse };
}

function crossEntropyBackward(
  logits: F32, targets: I32, weights: F32 | null, lse: F32, dLoss: F32, N: number, C: number, ignoreIndex: number,
): F32 {
  const op = 'crossEntropyBackward';
  checkCrossEntropy(op, logits, targets, weights, N, C, ignoreIndex);
  checkLength(op, 'lse', lse, N, `(N) = (${N})`);
  checkLength(op, 'dLoss', dLoss, N, `(N) = (${N})`);
  const dLogits = new Float32Array(N * C);
  for (let n = 0; n < N; n++) {
    const t = targets[n]!;
    if (t === ignoreIndex) continue;
    const g = dLoss[n]! * (weights === null ? 1 : weights[n]!);
    for (let c = 0; c < C; c++) {
      dLogits[n * C + c] = g * (Math.exp(logits[n * C + c]! - lse[n]!) - (c === t ? 1 : 0));
    }
  }
  return dLogits;
}

// ============================================================================================
// Embeddings (F4.8) and the embedding-gradient norm of A-FSR Eq. 3 (F4.9)
// ============================================================================================

/** out (n,D) = table[ids[i]] */
function gather(table: F32, ids: I32, V: number, D: number): F32 {
  const op = 'gather';
  checkDim(op, 'V', V);
  checkDim(op, 'D', D);
  checkLength(op, 'table', table, V * D, `(V,D) = (${V},${D})`);
  checkIds(op, 'ids', ids, V);
  const out = new Float32Array(ids.length * D);
  for (let i = 0; i < ids.length; i++) {
    for (let c = 0; c < D; c++) out[i * D + c] = table[ids[i]! * D + c]!;
  }
  return out;
}

/** grad (V,D): row v = Σ_{i: ids[i] = v} dOut[i], summed in order of i in double. */
function scatterAdd(dOut: F32, ids: I32, V: number, D: number): F32 {
  const op = 'scatterAdd';
  checkDim(op, 'V', V);
  checkDim(op, 'D', D);
  checkLength(op, 'dOut', dOut, ids.length * D, `(n,D) = (${ids.length},${D})`);
  checkIds(op, 'ids', ids, V);
  const grad = new Float64Array(V * D);
  for (let i = 0; i < ids.length; i++) {
    for (let c = 0; c < D; c++) grad[ids[i]! * D + c] += dOut[i * D + c]!;
  }
  return Float32Array.from(grad);
}

/**
 * norms[b,l] = ||g[b,l]||2 where mask = 1, else 0; rowmax[b] = max_l norms[b,l] (compared as
 * the stored f32 values); argmax[b] = the first l reaching it (0 for a fully masked row).
 */
function gradNorm(g: F32, mask: I32, B: number, L: number, D: number): { norms: F32; rowmax: F32; argmax: I32 } {
  const op = 'gradNorm';
  checkDim(op, 'B', B);
  checkDim(op, 'L', L);
  checkDim(op, 'D', D);
  checkLength(op, 'g', g, B * L * D, `(B,L,D) = (${B},${L},${D})`);
  checkLength(op, 'mask', mask, B * L, `(B,L) = (${B},${L})`);
  checkMask(op, 'mask', mask);
  const norms = new Float32Array(B * L);
  const rowmax = new Float32Array(B);
  const argmax = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      if (mask[b * L + l] !== 1) continue;
      let sq = 0;
      for (let c = 0; c < D; c++) sq += g[(b * L + l) * D + c]! ** 2;
      norms[b * L + l] = Math.sqrt(sq);
    }
    // Strict '>' keeps the first maximum; norms are >= 0, so a fully masked row gives (0, 0).
    let best = 0;
    for (let l = 1; l < L; l++) if (norms[b * L + l]! > norms[b * L + best]!) best = l;
    rowmax[b] = L > 0 ? norms[b * L + best]! : 0;
    argmax[b] = best;
  }
  return { norms, rowmax, argmax };
}

// ============================================================================================
// A-FSR neighbourhoods: cosine top-k and its 2-hop union (F4.10), Dirichlet weights and the
// weighted neighbour mix (A-FSR Eq. 7).
// ============================================================================================

/**
 * sim(i,j) = x_i·x_j / (|x_i| |x_j|), 0 when either row is all zeros. For each query i the k
 * rows j != i with the largest sim, by sim descending then index ascending (exact ties, e.g.
 * duplicated rows or zero rows, go to the smaller index). Similarities are compared in double.
 */
function cosineTopk(x: F32, N: number, D: number, k: number, queries: I32 | null): { indices: I32; similarities: F32 } {
  const op = 'cosineTopk';
  checkDim(op, 'N', N);
  checkDim(op, 'D', D);
  checkDim(op, 'k', k);
  checkLength(op, 'x', x, N * D, `(N,D) = (${N},${D})`);
  if (k > N - 1) throw new RangeError(`${op}: k = ${k} must be at most N-1 = ${N - 1} (the query itself is excluded)`);
  if (queries !== null) checkIds(op, 'queries', queries, N);

  const norm = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let sq = 0;
    for (let c = 0; c < D; c++) sq += x[i * D + c]! ** 2;
    norm[i] = Math.sqrt(sq);
  }
  const sim = (i: number, j: number): number => {
    if (norm[i] === 0 || norm[j] === 0) return 0;
    let dot = 0;
    for (let c = 0; c < D; c++) dot += x[i * D + c]! * x[j * D + c]!;
    return dot / (norm[i]! * norm[j]!);
  };

  const Q = queries === null ? N : queries.length;
  const indices = new Int32Array(Q * k);
  const similarities = new Float32Array(Q * k);
  for (let qi = 0; qi < Q; qi++) {
    const i = queries === null ? qi : queries[qi]!;
    const candidates: { j: number; s: number }[] = [];
    for (let j = 0; j < N; j++) if (j !== i) candidates.push({ j, s: sim(i, j) });
    candidates.sort((a, b) => (a.s !== b.s ? b.s - a.s : a.j - b.j));
    for (let m = 0; m < k; m++) {
      indices[qi * k + m] = candidates[m]!.j;
      similarities[qi * k + m] = candidates[m]!.s;
    }
  }
  return { indices, similarities };
}

/**
 * twoHop[i] = sorted (N1(i) ∪ ⋃_{j ∈ N1(i)} N1(j)) \ {i}, -1 padded to k + k²; N1(j) is row j of
 * the full table `indices` (N,k).
 */
function twoHop(indices: I32, N: number, k: number): { twoHop: I32; count: I32 } {
  const op = 'twoHop';
  checkDim(op, 'N', N);
  checkDim(op, 'k', k);
  checkLength(op, 'indices', indices, N * k, `(N,k) = (${N},${k})`);
  checkIds(op, 'indices', indices, N);
  const width = k + k * k;
  const out = new Int32Array(N * width).fill(-1);
  const count = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const set = new Set<number>();
    for (let m = 0; m < k; m++) {
      const j = indices[i * k + m]!;
      set.add(j);
      for (let m2 = 0; m2 < k; m2++) set.add(indices[j * k + m2]!);
    }
    set.delete(i);
    const sorted = [...set].sort((a, b) => a - b);
    for (let m = 0; m < sorted.length; m++) out[i * width + m] = sorted[m]!;
    count[i] = sorted.length;
  }
  return { twoHop: out, count };
}

/**
 * Row r: l_j = log of Gamma(alpha) draw number offset + r*K + j for j < counts[r] (f32
 * Marsaglia-Tsang in logGammaAt), m = max l_j, e_j = exp(l_j - m), S = Σ e_j in order of j,
 * out[r,j] = e_j / S, inactive entries 0; all in f32 with the portable exp of f32math.ts, so the
 * native and CUDA backends give the same bits. Working in log space keeps tiny alphas exact
 * where the draws themselves would underflow f32; S >= 1, so no row degenerates.
 */
function dirichlet(counts: I32, rows: number, K: number, alpha: number, key: RngKey): F32 {
  const op = 'dirichlet';
  checkDim(op, 'rows', rows);
  checkDim(op, 'K', K);
  checkLength(op, 'counts', counts, rows, `(rows) = (${rows})`);
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`${op}: alpha must be positive and finite, got ${alpha}`);
  checkKey(key, op);
  for (let r = 0; r < rows; r++) {
    const c = counts[r]!;
    if (c < 1 || c > K) throw new RangeError(`${op}: counts[${r}] = ${c} is outside [1, ${K}]`);
  }
  const gp = gammaParams(alpha);
  const out = new Float32Array(rows * K);
  const e = new Float32Array(K);
  for (let r = 0; r < rows; r++) {
    const c = counts[r]!;
    let m = -Infinity;
    for (let j = 0; j < c; j++) {
      e[j] = logGammaAt(key, key.offset + r * K + j, gp);
      if (j === 0 || e[j]! > m) m = e[j]!;
    }
    let sum = 0;
    for (let j = 0; j < c; j++) {
      e[j] = f32Exp(Math.fround(e[j]! - m));
      sum = Math.fround(sum + e[j]!);
    }
    for (let j = 0; j < c; j++) out[r * K + j] = e[j]! / sum;
  }
  return out;
}

function checkNeighbourMix(op: string, ids: I32, w: F32, R: number, K: number, V: number, D: number): void {
  checkDim(op, 'R', R);
  checkDim(op, 'K', K);
  checkDim(op, 'V', V);
  checkDim(op, 'D', D);
  checkLength(op, 'ids', ids, R * K, `(R,K) = (${R},${K})`);
  checkLength(op, 'w', w, R * K, `(R,K) = (${R},${K})`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id !== -1 && (id < 0 || id >= V)) {
      throw new RangeError(`${op}: ids[${i}] = ${id} is outside [0, ${V}) and is not -1 (no neighbour)`);
    }
  }
}

/** out[r] = Σ_j w[r,j] table[ids[r,j]] over the entries with ids[r,j] != -1. */
function neighbourMix(table: F32, ids: I32, w: F32, R: number, K: number, V: number, D: number): F32 {
  const op = 'neighbourMix';
  checkNeighbourMix(op, ids, w, R, K, V, D);
  checkLength(op, 'table', table, V * D, `(V,D) = (${V},${D})`);
  const out = new Float32Array(R * D);
  const acc = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    acc.fill(0);
    for (let j = 0; j < K; j++) {
      const id = ids[r * K + j]!;
      if (id === -1) continue;
      for (let c = 0; c < D; c++) acc[c] += w[r * K + j]! * table[id * D + c]!;
    }
    for (let c = 0; c < D; c++) out[r * D + c] = acc[c]!;
  }
  return out;
}

/** dTable[v] = Σ_{(r,j): ids[r,j] = v} w[r,j] dOut[r], in order of (r,j). */
function neighbourMixBackward(dOut: F32, ids: I32, w: F32, R: number, K: number, V: number, D: number): F32 {
  const op = 'neighbourMixBackward';
  checkNeighbourMix(op, ids, w, R, K, V, D);
  checkLength(op, 'dOut', dOut, R * D, `(R,D) = (${R},${D})`);
  const dTable = new Float64Array(V * D);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < K; j++) {
      const id = ids[r * K + j]!;
      if (id === -1) continue;
      for (let c = 0; c < D; c++) dTable[id * D + c] += w[r * K + j]! * dOut[r * D + c]!;
    }
  }
  return Float32Array.from(dTable);
}

// ============================================================================================
// Element-wise binary ops over a broadcast loop nest (backend.ts `binary`)
// ============================================================================================

function binaryOf(op: BinaryOp, x: number, z: number): number {
  switch (op) {
    case ADD: return x + z;
    case SUB: return x - z;
    case MUL: return x * z;
    case DIV: return x / z;
  }
}

/**
 * y[yo + k] = a[ao + k·sa] op b[bo + k·sb] for k < n, with sa, sb ∈ {0, 1}. One loop per
 * (op, stride pattern), so that each stays monomorphic: this runs every element-wise op of the
 * engine when the reference backend is in use, so it is written for speed as well as clarity.
 */
function binaryRow(op: BinaryOp, a: F32, ao: number, sa: number, b: F32, bo: number, sb: number, y: F32, yo: number, n: number): void {
  if (sa === 1 && sb === 1) {
    const d = ao - yo, e = bo - yo, end = yo + n;
    switch (op) {
      case ADD: for (let i = yo; i < end; i++) y[i] = a[i + d]! + b[i + e]!; break;
      case SUB: for (let i = yo; i < end; i++) y[i] = a[i + d]! - b[i + e]!; break;
      case MUL: for (let i = yo; i < end; i++) y[i] = a[i + d]! * b[i + e]!; break;
      case DIV: for (let i = yo; i < end; i++) y[i] = a[i + d]! / b[i + e]!; break;
    }
  } else if (sa === 1) {
    const v = b[bo]!, d = ao - yo, end = yo + n;
    switch (op) {
      case ADD: for (let i = yo; i < end; i++) y[i] = a[i + d]! + v; break;
      case SUB: for (let i = yo; i < end; i++) y[i] = a[i + d]! - v; break;
      case MUL: for (let i = yo; i < end; i++) y[i] = a[i + d]! * v; break;
      case DIV: for (let i = yo; i < end; i++) y[i] = a[i + d]! / v; break;
    }
  } else if (sb === 1) {
    const v = a[ao]!, e = bo - yo, end = yo + n;
    switch (op) {
      case ADD: for (let i = yo; i < end; i++) y[i] = v + b[i + e]!; break;
      case SUB: for (let i = yo; i < end; i++) y[i] = v - b[i + e]!; break;
      case MUL: for (let i = yo; i < end; i++) y[i] = v * b[i + e]!; break;
      case DIV: for (let i = yo; i < end; i++) y[i] = v / b[i + e]!; break;
    }
  } else {
    y.fill(binaryOf(op, a[ao]!, b[bo]!), yo, yo + n);
  }
}

function binary(op: BinaryOp, a: F32, b: F32, dims: readonly number[], sa: readonly number[], sb: readonly number[]): F32 {
  const name = 'binary';
  if (op !== ADD && op !== SUB && op !== MUL && op !== DIV) throw new RangeError(`${name}: op must be 0 (add), 1 (sub), 2 (mul) or 3 (div), got ${op}`);
  const r = dims.length;
  if (sa.length !== r || sb.length !== r) throw new RangeError(`${name}: dims has ${r} entries, stridesA ${sa.length}, stridesB ${sb.length}`);
  let n = 1, maxA = 0, maxB = 0;
  for (let d = 0; d < r; d++) {
    if (!Number.isInteger(dims[d]) || dims[d]! < 1) throw new RangeError(`${name}: dims[${d}] must be an integer >= 1, got ${dims[d]}`);
    for (const [s, w] of [[sa, 'stridesA'], [sb, 'stridesB']] as const) {
      if (!Number.isInteger(s[d]) || s[d]! < 0) throw new RangeError(`${name}: ${w}[${d}] must be an integer >= 0, got ${s[d]}`);
    }
    n *= dims[d]!;
    maxA += (dims[d]! - 1) * sa[d]!;
    maxB += (dims[d]! - 1) * sb[d]!;
  }
  if (r > 0 && (sa[r - 1]! > 1 || sb[r - 1]! > 1)) throw new RangeError(`${name}: the last loop axis must have stride 0 or 1 in both operands`);
  if (maxA >= a.length || maxB >= b.length) throw new RangeError(`${name}: the loop reads past the end of ${maxA >= a.length ? 'a' : 'b'}`);
  const y = new Float32Array(n);
  if (r === 0) {
    y[0] = binaryOf(op, a[0]!, b[0]!);
    return y;
  }
  const inner = dims[r - 1]!, ia = sa[r - 1]!, ib = sb[r - 1]!;
  // odometer over the outer axes, carrying each operand's row offset
  const idx = new Int32Array(r);
  let ao = 0, bo = 0;
  for (let yo = 0; yo < n; yo += inner) {
    binaryRow(op, a, ao, ia, b, bo, ib, y, yo, inner);
    for (let d = r - 2; d >= 0; d--) {
      ao += sa[d]!;
      bo += sb[d]!;
      if (++idx[d]! < dims[d]!) break;
      ao -= sa[d]! * dims[d]!;
      bo -= sb[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return y;
}

// ============================================================================================
// Row-wise ops
// ============================================================================================

/**
 * LayerNorm (F4.2), two passes so a large common offset does not cancel the variance:
 *   mean = Σx/D,  var = Σ(x-mean)²/D (biased),  rstd = 1/sqrt(var + eps),
 *   y = (x - mean) rstd gamma + beta.  mean and rstd (rows) are kept for backward.
 */
function layerNormForward(x: F32, gamma: F32, beta: F32, rows: number, D: number, eps: number): { y: F32; mean: F32; rstd: F32 } {
  const op = 'layerNormForward';
  checkDim(op, 'rows', rows);
  checkDim(op, 'D', D);
  if (D === 0 && rows > 0) throw new RangeError(`${op}: D must be at least 1`);
  if (!(eps >= 0)) throw new RangeError(`${op}: eps must be >= 0, got ${eps}`);
  checkLength(op, 'x', x, rows * D, `(rows,D) = (${rows},${D})`);
  checkLength(op, 'gamma', gamma, D, `(D) = (${D})`);
  checkLength(op, 'beta', beta, D, `(D) = (${D})`);
  const y = new Float32Array(rows * D);
  const meanOut = new Float32Array(rows);
  const rstdOut = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < D; c++) sum += x[r * D + c]!;
    const mean = sum / D;
    let sq = 0;
    for (let c = 0; c < D; c++) sq += (x[r * D + c]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(sq / D + eps);
    for (let c = 0; c < D; c++) y[r * D + c] = (x[r * D + c]! - mean) * rstd * gamma[c]! + beta[c]!;
    meanOut[r] = mean;
    rstdOut[r] = rstd;
  }
  return { y, mean: meanOut, rstd: rstdOut };
}

/**
 * With xhat = (x - mean) rstd and g = dy gamma:
 *   dx = rstd (g - mean(g) - xhat mean(g xhat)),  dGamma = Σ_rows dy xhat,  dBeta = Σ_rows dy.
 */
function layerNormBackward(
  x: F32, gamma: F32, mean: F32, rstd: F32, dy: F32, rows: number, D: number,
): { dx: F32; dGamma: F32; dBeta: F32 } {
  const op = 'layerNormBackward';
  checkDim(op, 'rows', rows);
  checkDim(op, 'D', D);
  if (D === 0 && rows > 0) throw new RangeError(`${op}: D must be at least 1`);
  checkLength(op, 'x', x, rows * D, `(rows,D) = (${rows},${D})`);
  checkLength(op, 'gamma', gamma, D, `(D) = (${D})`);
  checkLength(op, 'mean', mean, rows, `(rows) = (${rows})`);
  checkLength(op, 'rstd', rstd, rows, `(rows) = (${rows})`);
  checkLength(op, 'dy', dy, rows * D, `(rows,D) = (${rows},${D})`);
  const dx = new Float32Array(rows * D);
  const dGamma = new Float64Array(D);
  const dBeta = new Float64Array(D);
  const xhat = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    let meanG = 0;
    let meanGx = 0;
    for (let c = 0; c < D; c++) {
      xhat[c] = (x[r * D + c]! - mean[r]!) * rstd[r]!;
      const g = dy[r * D + c]! * gamma[c]!;
      meanG += g;
      meanGx += g * xhat[c]!;
      dGamma[c] += dy[r * D + c]! * xhat[c]!;
      dBeta[c] += dy[r * D + c]!;
    }
    meanG /= D;
    meanGx /= D;
    for (let c = 0; c < D; c++) {
      const g = dy[r * D + c]! * gamma[c]!;
      dx[r * D + c] = rstd[r]! * (g - meanG - xhat[c]! * meanGx);
    }
  }
  return { dx, dGamma: Float32Array.from(dGamma), dBeta: Float32Array.from(dBeta) };
}

/** GELU (F4.3), exact erf form: y = x Phi(x). */
function geluForward(x: F32): F32 {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! * normalCdf(x[i]!);
  return y;
}

/** dy/dx = Phi(x) + x phi(x). */
function geluBackward(x: F32, dy: F32): F32 {
  checkLength('geluBackward', 'dy', dy, x.length, `(same as x: ${x.length})`);
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    dx[i] = dy[i]! * (normalCdf(v) + v * normalPdf(v));
  }
  return dx;
}

function checkRows(op: string, name: string, arr: F32, rows: number, C: number): void {
  checkDim(op, 'rows', rows);
  checkDim(op, 'C', C);
  checkLength(op, name, arr, rows * C, `(rows,C) = (${rows},${C})`);
}

/** y = exp(x - max) / Σ exp(x - max) per row. */
function softmaxForward(x: F32, rows: number, C: number): F32 {
  checkRows('softmaxForward', 'x', x, rows, C);
  const y = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, x[r * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(x[r * C + c]! - max);
    for (let c = 0; c < C; c++) y[r * C + c] = Math.exp(x[r * C + c]! - max) / sum;
  }
  return y;
}

/** dx = y ⊙ (dy - Σ_c y_c dy_c) per row. */
function softmaxBackward(y: F32, dy: F32, rows: number, C: number): F32 {
  checkRows('softmaxBackward', 'y', y, rows, C);
  checkRows('softmaxBackward', 'dy', dy, rows, C);
  const dx = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let c = 0; c < C; c++) dot += y[r * C + c]! * dy[r * C + c]!;
    for (let c = 0; c < C; c++) dx[r * C + c] = y[r * C + c]! * (dy[r * C + c]! - dot);
  }
  return dx;
}

/** Inverted dropout: kept iff uniformAt(key, offset + i) >= p, kept values scaled by 1/(1-p). */
function dropoutApply(op: string, x: F32, p: number, key: RngKey): F32 {
  checkDropoutP(op, p);
  checkKey(key, op);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    if (uniformAt(key, key.offset + i) >= p) out[i] = x[i]! / (1 - p);
  }
  return out;
}

function dropoutForward(x: F32, p: number, key: RngKey): F32 {
  return dropoutApply('dropoutForward', x, p, key);
}

/** The same mask and scale as forward, regenerated from the same key. */
function dropoutBackward(dy: F32, p: number, key: RngKey): F32 {
  return dropoutApply('dropoutBackward', dy, p, key);
}

// ============================================================================================
// Adam / AdamW (F4.11), one step in place:
//   adam:  g = grad + wd p,  p' = p          adamw: g = grad,  p' = p (1 - lr wd)
//   m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g²
//   p = p' - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)      (eps after the division)
// ============================================================================================

function adamStep(param: F32, grad: F32, m: F32, v: F32, o: AdamOptions): void {
  const op = 'adamStep';
  const P = param.length;
  checkLength(op, 'grad', grad, P, `(same as param: ${P})`);
  checkLength(op, 'm', m, P, `(same as param: ${P})`);
  checkLength(op, 'v', v, P, `(same as param: ${P})`);
  if (!Number.isInteger(o.step) || o.step < 1) throw new RangeError(`${op}: step must be an integer >= 1, got ${o.step}`);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) throw new RangeError(`${op}: beta1 must be in [0, 1), got ${o.beta1}`);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) throw new RangeError(`${op}: beta2 must be in [0, 1), got ${o.beta2}`);
  const stepSize = o.lr / (1 - o.beta1 ** o.step);
  const sqrtBias2 = Math.sqrt(1 - o.beta2 ** o.step);
  const decay = o.decoupled ? 1 - o.lr * o.weightDecay : 1;
  for (let i = 0; i < P; i++) {
    const p = param[i]!;
    const g = o.decoupled ? grad[i]! : grad[i]! + o.weightDecay * p;
    const mi = o.beta1 * m[i]! + (1 - o.beta1) * g;
    const vi = o.beta2 * v[i]! + (1 - o.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    // The update uses the unrounded m and v; the stored state is their f32 rounding.
    param[i] = p * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtBias2 + o.eps);
  }
}

// ============================================================================================

export const referenceBackend: Backend = {
  name: 'reference',
  threads: 1,
  simd: 'none',
  uniform,
  normal,
  gemm,
  attentionForward,
  attentionBackward,
  gruForward,
  gruBackward,
  narmAttentionForward,
  narmAttentionBackward,
  projCeForward,
  projCeBackward,
  projCeForwardBackward,
  crossEntropyForward,
  crossEntropyBackward,
  gather,
  scatterAdd,
  gradNorm,
  cosineTopk,
  twoHop,
  dirichlet,
  neighbourMix,
  neighbourMixBackward,
  binary,
  layerNormForward,
  layerNormBackward,
  geluForward,
  geluBackward,
  softmaxForward,
  softmaxBackward,
  dropoutForward,
  dropoutBackward,
  adamStep,
};
