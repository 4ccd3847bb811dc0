/**
 * The kernel contract every backend implements.
 *
 * A backend owns the hot kernels only: the engine (src/engine) does shape checking, autograd and
 * the cheap elementwise/reshape work in TypeScript, and calls these kernels for everything heavy.
 * All arrays are row-major and contiguous; f32 values, i32 indices. A kernel never keeps a
 * reference to its inputs and returns freshly allocated outputs (the native backend allocates
 * them in TypeScript and lets C++ write into them, so no data is copied across the boundary).
 *
 * The reference backend (reference.ts) is the readable oracle of every kernel; the exact math of
 * most of them is also written in ../shared/golden/FORMAT.md.
 *
 * Randomness: every random kernel takes an `RngKey` and draws from Philox-4x32-10 (see
 * src/engine/philox.ts and native/include/seqfair/philox.h) so that the reference and native
 * backends, at any thread count, produce identical numbers.
 */

export type F32 = Float32Array;
export type I32 = Int32Array;

/** Where a random kernel reads its numbers: Philox key = seed, counter space split by stream. */
export interface RngKey {
  /** 0 <= seed < 2^53 (split into two u32 key words: lo, hi). */
  seed: number;
  /** 0 <= stream < 2^32: separates independent uses (init, dropout, negatives, Dirichlet...). */
  stream: number;
  /** 0 <= offset < 2^53: first element index used inside the stream. */
  offset: number;
}

export interface GemmOptions {
  /** number of independent products */
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A[b] is stored (k,m) instead of (m,k) */
  transA: boolean;
  /** B[b] is stored (n,k) instead of (k,n) */
  transB: boolean;
  /** false: the same A is used for every batch entry (stride 0) */
  batchedA: boolean;
  /** false: the same B is used for every batch entry (stride 0) */
  batchedB: boolean;
}

/** Element-wise binary ops of `binary` (the codes native/include/seqfair/binary.h uses). */
export const ADD = 0, SUB = 1, MUL = 2, DIV = 3;
export type BinaryOp = typeof ADD | typeof SUB | typeof MUL | typeof DIV;

export interface AttentionDims {
  B: number;
  H: number;
  L: number;
  dh: number;
  causal: boolean;
  scale: number;
  /** probability of dropping an attention weight (0 = no dropout) */
  dropout: number;
  /** required when dropout > 0: element e = ((b*H+h)*L+i)*L+j is kept iff uniform(e) >= p */
  rng: RngKey | null;
  /**
   * q, k, v, out and their gradients laid out (B,L,H,dh) — a (B,L,H·dh) projection as it stands,
   * with no head permute — instead of (B,H,L,dh) (default false). lse stays (B,H,L).
   */
  interleaved?: boolean;
}

/** which gradients projCeBackward computes */
export interface ProjCeWants {
  hidden: boolean;
  table: boolean;
}

export const BOTH_GRADIENTS: ProjCeWants = Object.freeze({ hidden: true, table: true });

export interface GruDims {
  B: number;
  L: number;
  I: number;
  H: number;
}

/** NARM attention: B rows, T query rows per row (the last T of its L positions), H units. */
export interface NarmAttentionDims {
  B: number;
  T: number;
  L: number;
  H: number;
}

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true: AdamW (decoupled decay); false: Adam with L2 added to the gradient */
  decoupled: boolean;
  /** 1-based step count after this update */
  step: number;
}

export interface Backend {
  readonly name: 'reference' | 'cpu' | 'cuda';
  /** worker threads the kernels use */
  readonly threads: number;
  /** vector instruction set in use: 'avx512' | 'avx2' | 'scalar' | 'none' */
  readonly simd: string;

  // ---- random numbers ---------------------------------------------------------------------
  /** n uniforms in [0,1): element i = philoxUniform(key, offset + i) */
  uniform(n: number, key: RngKey): F32;
  /** n standard normals: element i from Box-Muller on the two uniforms of counter offset+i */
  normal(n: number, key: RngKey): F32;

  // ---- linear algebra ---------------------------------------------------------------------
  /**
   * C[b] = op(A[b]) · op(B[b]) with C (batch,m,n). When `accumulate` is given it must hold
   * batch*m*n values and receives C += result in place (and is returned); otherwise C is new.
   */
  gemm(a: F32, b: F32, opts: GemmOptions, accumulate?: F32): F32;

  // ---- fused sequence ops -----------------------------------------------------------------
  /**
   * Multi-head attention on q,k,v (B,H,L,dh) with keyMask (B,L) (1 = real). Key j is allowed for
   * query i iff keyMask[b,j] = 1 and (!causal || j <= i). Rows with no allowed key output 0.
   * Returns out (B,H,L,dh) and lse (B,H,L): the log-sum-exp of each row's scaled scores
   * (-Infinity for a row without allowed keys), which the backward pass uses to rebuild p.
   */
  attentionForward(q: F32, k: F32, v: F32, keyMask: I32, d: AttentionDims): { out: F32; lse: F32 };
  attentionBackward(
    q: F32, k: F32, v: F32, keyMask: I32, out: F32, lse: F32, dOut: F32, d: AttentionDims,
  ): { dq: F32; dk: F32; dv: F32 };

  /**
   * Single-layer GRU over a whole sequence, PyTorch gate order (r, z, n), see FORMAT.md 4.5.
   * x (B,L,I), h0 (B,H), wIh (3H,I), wHh (3H,H), bIh (3H), bHh (3H).
   * Returns out (B,L,H) (h_1..h_L) and cache (B,L,4H) = [r, z, n, W_hn h_{t-1} + b_hn] per step.
   */
  gruForward(x: F32, h0: F32, wIh: F32, wHh: F32, bIh: F32, bHh: F32, d: GruDims): { out: F32; cache: F32 };
  /** dOut (B,L,H) is the gradient of every h_t (add the gradient of h_n to its last step). */
  gruBackward(
    x: F32, h0: F32, wIh: F32, wHh: F32, out: F32, cache: F32, dOut: F32, d: GruDims,
  ): { dx: F32; dh0: F32; dWIh: F32; dWHh: F32; dBIh: F32; dBHh: F32 };

  /**
   * NARM's local-encoder attention weights (Li et al. 2017, Eq. 7–8), q (B,T,H), k (B,L,H), w (H),
   * mask (B,L) (1 = real): query row t sits at position p = L − T + t and
   *   alpha[b,t,j] = mask[b,j] · [j ≤ p] · Σ_d w_d σ(q[b,t,d] + k[b,j,d])        (B,T,L)
   * T = L gives every prefix, T = 1 the whole sequence only.
   */
  narmAttentionForward(q: F32, k: F32, w: F32, mask: I32, d: NarmAttentionDims): F32;
  /** dAlpha (B,T,L) → dq (B,T,H), dk (B,L,H), dw (H); deterministic (σ recomputed, never stored). */
  narmAttentionBackward(q: F32, k: F32, w: F32, mask: I32, dAlpha: F32, d: NarmAttentionDims): { dq: F32; dk: F32; dw: F32 };

  /**
   * Fused output projection + softmax cross-entropy (FORMAT.md 4.7), chunked over the V axis so
   * the (N,V) logits are never all in memory. hidden (N,D), table (V,D), targets (N).
   * Row n is ignored iff targets[n] == ignoreIndex (loss 0, no gradient); otherwise
   * loss[n] = w[n] * (logsumexp_v(hidden[n]·table[v]) - hidden[n]·table[targets[n]]), w = 1 when
   * weights is null. Targets other than ignoreIndex must lie in [0,V). lse (N) is kept for backward.
   */
  projCeForward(
    hidden: F32, table: F32, targets: I32, weights: F32 | null, N: number, D: number, V: number, ignoreIndex: number,
  ): { loss: F32; lse: F32 };
  /**
   * dLoss (N): upstream of each row's loss. Weights are constants (no gradient). `wants` (default
   * both) names the gradients to compute; the other comes back null and costs nothing (A-FSR's
   * first pass needs dHidden only). Each gradient is the same whether or not the other is computed.
   */
  projCeBackward(
    hidden: F32, table: F32, targets: I32, weights: F32 | null, lse: F32, dLoss: F32,
    N: number, D: number, V: number, ignoreIndex: number, wants?: ProjCeWants,
  ): { dHidden: F32 | null; dTable: F32 | null };
  /**
   * projCeForward, then projCeBackward with dLoss, in one call, for the losses whose upstream
   * gradient is known before the forward (ERM's mean, A-FSR's first pass: src/engine/ops/
   * cross_entropy.ts). The same results as the two calls; the cpu addon gives the same bits and
   * reuses each row block's logits for the backward (3 GEMM-sized products instead of 4).
   */
  projCeForwardBackward(
    hidden: F32, table: F32, targets: I32, weights: F32 | null, dLoss: F32,
    N: number, D: number, V: number, ignoreIndex: number, wants?: ProjCeWants,
  ): { loss: F32; lse: F32; dHidden: F32 | null; dTable: F32 | null };

  /** Softmax cross-entropy on given logits (N,C), FORMAT.md 4.6; per-row losses and lse. */
  crossEntropyForward(
    logits: F32, targets: I32, weights: F32 | null, N: number, C: number, ignoreIndex: number,
  ): { loss: F32; lse: F32 };
  crossEntropyBackward(
    logits: F32, targets: I32, weights: F32 | null, lse: F32, dLoss: F32, N: number, C: number, ignoreIndex: number,
  ): F32;

  // ---- embeddings -------------------------------------------------------------------------
  /** out (n,D) = table[ids[i]] for ids in [0,V). */
  gather(table: F32, ids: I32, V: number, D: number): F32;
  /** grad (V,D): row v = Σ_{i: ids[i]=v} dOut[i]; deterministic (no float atomics: bucketed). */
  scatterAdd(dOut: F32, ids: I32, V: number, D: number): F32;
  /**
   * A-FSR Eq. 3: g (B,L,D), mask (B,L). norms[b,l] = ||g[b,l]||2 where mask=1, else 0;
   * rowmax[b] = max_l norms; argmax[b] = first l reaching it (0 for a fully masked row).
   */
  gradNorm(g: F32, mask: I32, B: number, L: number, D: number): { norms: F32; rowmax: F32; argmax: I32 };

  // ---- A-FSR neighbourhoods -----------------------------------------------------------------
  /**
   * Cosine top-k (FORMAT.md 4.10) of rows `queries` (all rows when null) of x (N,D) against all
   * rows, excluding the query itself; zero rows have similarity 0; ties by smaller index.
   * Returns indices (Q,k) i32 and similarities (Q,k), sorted by similarity descending.
   */
  cosineTopk(x: F32, N: number, D: number, k: number, queries: I32 | null): { indices: I32; similarities: F32 };
  /** 2-hop union of a full top-k table indices (N,k): sorted, self excluded, -1 padded to k+k². */
  twoHop(indices: I32, N: number, k: number): { twoHop: I32; count: I32 };
  /**
   * Dirichlet(alpha, ..., alpha) draws, one per row of width K with counts[r] active entries
   * (1 <= counts[r] <= K; inactive entries are 0). Gamma by Marsaglia-Tsang; draw (r,j) uses
   * Philox counter offset + r*K + j only, so results do not depend on threads.
   */
  dirichlet(counts: I32, rows: number, K: number, alpha: number, key: RngKey): F32;
  /** out[r] = Σ_j w[r,j] table[ids[r,j]] over entries with ids >= 0; ids (R,K), w (R,K), table (V,D). */
  neighbourMix(table: F32, ids: I32, w: F32, R: number, K: number, V: number, D: number): F32;
  /** dTable (V,D) of neighbourMix (weights are constants), deterministic. */
  neighbourMixBackward(dOut: F32, ids: I32, w: F32, R: number, K: number, V: number, D: number): F32;

  // ---- element-wise ----------------------------------------------------------------------
  /**
   * y = a op b over a broadcast loop nest (src/engine/shape.ts `collapse`): y is contiguous over
   * loop axes of sizes dims, operand x is read at Σ_d idx_d·stridesX[d] (stride 0 = broadcast;
   * the last axis's strides are 0 or 1). An empty loop is one element. Each element is computed
   * in double and rounded once (the same bits as one f32 operation).
   */
  binary(op: BinaryOp, a: F32, b: F32, dims: readonly number[], stridesA: readonly number[], stridesB: readonly number[]): F32;

  // ---- row-wise ops -----------------------------------------------------------------------
  /** LayerNorm over the last dim D of `rows` rows (biased variance, two-pass), FORMAT.md 4.2. */
  layerNormForward(x: F32, gamma: F32, beta: F32, rows: number, D: number, eps: number): { y: F32; mean: F32; rstd: F32 };
  layerNormBackward(
    x: F32, gamma: F32, mean: F32, rstd: F32, dy: F32, rows: number, D: number,
  ): { dx: F32; dGamma: F32; dBeta: F32 };
  /** exact erf GELU, FORMAT.md 4.3 */
  geluForward(x: F32): F32;
  geluBackward(x: F32, dy: F32): F32;
  /** softmax over the last dim C of `rows` rows */
  softmaxForward(x: F32, rows: number, C: number): F32;
  softmaxBackward(y: F32, dy: F32, rows: number, C: number): F32;
  /** inverted dropout: element i kept iff uniform(key, offset+i) >= p, then scaled by 1/(1-p) */
  dropoutForward(x: F32, p: number, key: RngKey): F32;
  dropoutBackward(dy: F32, p: number, key: RngKey): F32;

  // ---- optimiser --------------------------------------------------------------------------
  /** One Adam/AdamW update in place on param, m, v (FORMAT.md 4.11). */
  adamStep(param: F32, grad: F32, m: F32, v: F32, o: AdamOptions): void;
}
