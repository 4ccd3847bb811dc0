/**
 * A-FSR (Zeng et al., SIGIR 2024, "Fair Sequential Recommendation without User Demographics"),
 * all four parts, and its ablations. Per batch:
 *
 *   (a) first pass (afsr-locate.ts): z = f_e(x), ∂(Σ ℓ)/∂z only, per-position norms, the span of
 *       2s+1 positions around the largest one, and the group indicator â = that largest norm;
 *   (b) the 2-hop cosine neighbourhoods of the items (afsr-neighbours.ts), rebuilt on a schedule;
 *   (c) Dirichlet Neighbour Smoothing of the span (afsr-smooth.ts): z → z̃;
 *   (d) the loss, Eq. 13:
 *
 *         L = (1/n) Σ_b ℓ_b(z̃)  +  λ · Σ_{m ∈ top-M by â} q_m ℓ_m(z̃),
 *         q = argmax over the χ²-ball of radius r around uniform (chi2Weights, Eq. 12), constant.
 *
 * Ablations (Table 5, 6): `afsr-no-dns` computes Eq. 13 on the original z (smoothing off: the
 * first pass's losses are reused, no second forward); `afsr-no-dro` sets λ = 0; `spanSize` 3…11.
 *
 * Defaults and where they come from:
 *  - spanSize 3 (s = 1): "the span size of the identified stereotypical pattern as 3" (Sec. 5.1);
 *  - neighbours k = 6: "the top-6 closest neighbors" (Sec. 5.1);
 *  - groupSize M = 5, per batch: "the size of the under-represented group is 5" (Sec. 5.1). The
 *    paper trains with batches of 64 and has no other place where Eq. 10's top-M could be taken
 *    than the batch being trained on (the losses of Eq. 13's DRO term must be on the tape), so M
 *    counts sequences of each batch: 5 of 64, about 8 %. A batch with fewer rows uses them all;
 *  - radius r = λ: "we keep the radius of the divergence ball the same as λ" (Sec. 5.1);
 *  - λ = 0.1: the paper does not give it (and notes A-FSR is sensitive to it, footnote 4). With
 *    λ = 0.1 the DRO term adds about λ·q ≈ 0.1 · 1/5 = 0.02 to each of the M rows' weight in the
 *    gradient, next to ERM's 1/64 ≈ 0.016: the estimated under-represented rows count about twice,
 *    a clear shift of focus that cannot swamp the other 59 rows (λ = 1 would weigh them ~14×).
 *    With M = 5, r = 0.1 is well inside the ball (D_top = 2), so q tilts towards the worst of the
 *    five without collapsing on one;
 *  - Dirichlet β = 1 (afsr-smooth.ts: the flat Dirichlet; the paper is silent);
 *  - neighbour refresh once per epoch (`refreshEvery` = the setup's stepsPerEpoch; 100 steps when
 *    the number is not known): the neighbourhoods must follow the embeddings as they learn (they
 *    are random at initialisation), but at lr 1e-3 a row moves little within an epoch. A rebuild
 *    costs N²·D multiply-adds (ML-1M: 3706² · 64 ≈ 0.9 G), about a third of one training step's
 *    full-softmax output layer at B = 64, L = 200; once per epoch (95 steps on ML-1M, 15 on
 *    ML-100K) keeps it at about 1 % of an epoch's work or less, where every step would add ~30 %.
 *    The first batch always builds it. (`seqfair compare` passes users / batch size as
 *    stepsPerEpoch, src/compare/methods.ts: one epoch for SASRec and GRU4Rec, but NARM's prefix
 *    rows and BERT4Rec's sliding windows give ~4× as many rows on ML-100K, so there the table is
 *    rebuilt ~4 times per epoch; cheap at 1,683 items, and kept so that recorded runs reproduce);
 *  - gradient through the smoothed embeddings into the neighbours' rows: kept (afsr-smooth.ts);
 *  - cvarAlpha 1 (the paper's mean first term); below 1, beyond the paper, the first term is
 *    CVaR_α as in cvar-dro, which combines the two group-agnostic methods.
 *
 * State: the neighbour table and the step it was built at (checkpointed; Dirichlet draws come from
 * the engine's dirichlet stream, which the trainer positions per epoch).
 */
import { type Generator, type Tensor } from '../engine/index.js';
import { checkFiniteLoss } from './erm.js';
import { activeRows, booleanOption, checkOptionKeys, checkStateKind, finiteLosses, numberOption, weightedSum } from './common.js';
import { chi2Weights } from './chi2.js';
import { cvarRowWeights } from './cvar.js';
import { firstPass, halfSpan, topIndicators, type SpanLocation } from './afsr-locate.js';
import { NeighbourTable } from './afsr-neighbours.js';
import { smoothSpans } from './afsr-smooth.js';
import type { Objective, ObjectiveContext } from './objective.js';

export type AfsrVariant = 'afsr' | 'afsr-no-dns' | 'afsr-no-dro';

export interface AfsrOptions {
  /** 2s + 1, odd (default 3) */
  spanSize?: number;
  /** k of the cosine top-k (default 6) */
  neighbours?: number;
  /** M: rows of the estimated under-represented group per batch (default 5) */
  groupSize?: number;
  /** λ of Eq. 13 (default 0.1; afsr-no-dro: 0) */
  lambda?: number;
  /** χ² radius r (default: λ) */
  radius?: number;
  /** Dirichlet concentration β (default 1) */
  beta?: number;
  /** Dirichlet Neighbour Smoothing on (default true; afsr-no-dns: false) */
  smoothing?: boolean;
  /** rebuild the neighbour table every this many steps (default: stepsPerEpoch, else 100) */
  refreshEvery?: number;
  /** gradient into the neighbours' embeddings through z̃ (default true) */
  smoothGrad?: boolean;
  /**
   * α of a CVaR first term (default 1: the paper's mean). Below 1 the first term of Eq. 13 is
   * CVaR_α of the batch's per-sequence losses on z̃ (cvar-dro's weights) in place of their mean:
   * A-FSR combined with CVaR DRO, beyond the paper (issue 4, the ECIR popularity groups).
   */
  cvarAlpha?: number;
  /** generator of the Dirichlet draws (default: the engine's dirichlet stream) */
  gen?: Generator;
}

export const AFSR_DEFAULTS = {
  spanSize: 3, neighbours: 6, groupSize: 5, lambda: 0.1, beta: 1, smoothing: true, refreshEvery: 100, smoothGrad: true, cvarAlpha: 1,
} as const;

const KNOWN = ['spanSize', 'neighbours', 'groupSize', 'lambda', 'radius', 'beta', 'smoothing', 'refreshEvery', 'smoothGrad', 'cvarAlpha', 'gen'] as const;

/** What the last batch did, for logs, the audit and tests. */
export interface AfsrBatchInfo {
  step: number;
  location: SpanLocation;
  /** rows of the estimated under-represented group, by descending â */
  top: number[];
  /** their χ² weights q */
  q: Float64Array;
  /** the first term ((1/n) Σ ℓ(z̃), or its CVaR_α) and Σ q ℓ_top(z̃) */
  recLoss: number;
  droLoss: number;
  /** per-sequence losses on z (first pass) and on z̃ */
  lossesOriginal: Float32Array;
  lossesSmoothed: Float32Array;
  /** smoothed positions and their neighbours/weights (empty without smoothing) */
  smoothedPositions: Int32Array;
  neighbourIds: Int32Array;
  dirichletWeights: Float32Array;
}

export class AfsrObjective implements Objective {
  readonly name: AfsrVariant;
  readonly spanSize: number;
  readonly k: number;
  readonly groupSize: number;
  readonly lambda: number;
  readonly radius: number;
  readonly beta: number;
  readonly smoothing: boolean;
  readonly refreshEvery: number;
  readonly smoothGrad: boolean;
  readonly cvarAlpha: number;
  readonly config: Readonly<Record<string, unknown>>;
  private readonly gen: Generator | undefined;
  private table: NeighbourTable | null = null;
  last: AfsrBatchInfo | null = null;

  /**
   * `variant` sets the ablation defaults (afsr-no-dns: smoothing false; afsr-no-dro: λ = 0); an
   * option that contradicts its variant is an error. `stepsPerEpoch` gives refreshEvery's default.
   */
  constructor(options: AfsrOptions = {}, variant: AfsrVariant = 'afsr', stepsPerEpoch?: number) {
    if (variant !== 'afsr' && variant !== 'afsr-no-dns' && variant !== 'afsr-no-dro') throw new Error(`AfsrObjective: unknown variant '${String(variant)}'`);
    const n = variant;
    this.name = variant;
    checkOptionKeys(n, options, KNOWN);
    this.spanSize = numberOption(n, 'spanSize', options.spanSize, AFSR_DEFAULTS.spanSize, (x) => Number.isInteger(x) && x >= 1 && x % 2 === 1, 'an odd positive integer (2s+1)');
    halfSpan(this.spanSize, n);
    this.k = numberOption(n, 'neighbours', options.neighbours, AFSR_DEFAULTS.neighbours, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
    this.groupSize = numberOption(n, 'groupSize', options.groupSize, AFSR_DEFAULTS.groupSize, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
    const lambdaDefault = variant === 'afsr-no-dro' ? 0 : AFSR_DEFAULTS.lambda;
    this.lambda = numberOption(n, 'lambda', options.lambda, lambdaDefault, (x) => x >= 0, 'a number >= 0');
    if (variant === 'afsr-no-dro' && this.lambda !== 0) throw new Error(`${n}: the no-DRO ablation has λ = 0, got lambda ${this.lambda}`);
    this.radius = numberOption(n, 'radius', options.radius, this.lambda, (x) => x >= 0, 'a number >= 0');
    this.beta = numberOption(n, 'beta', options.beta, AFSR_DEFAULTS.beta, (x) => x > 0, 'a number > 0');
    this.smoothing = booleanOption(n, 'smoothing', options.smoothing, variant !== 'afsr-no-dns');
    if (variant === 'afsr-no-dns' && this.smoothing) throw new Error(`${n}: the no-DNS ablation has smoothing off, got smoothing true`);
    const refreshDefault = stepsPerEpoch !== undefined && Number.isInteger(stepsPerEpoch) && stepsPerEpoch >= 1 ? stepsPerEpoch : AFSR_DEFAULTS.refreshEvery;
    this.refreshEvery = numberOption(n, 'refreshEvery', options.refreshEvery, refreshDefault, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
    this.smoothGrad = booleanOption(n, 'smoothGrad', options.smoothGrad, AFSR_DEFAULTS.smoothGrad);
    this.cvarAlpha = numberOption(n, 'cvarAlpha', options.cvarAlpha, AFSR_DEFAULTS.cvarAlpha, (x) => x > 0 && x <= 1, 'in (0, 1]');
    this.gen = options.gen;
    // cvarAlpha is recorded only when it changes the loss, so that runs recorded before the option existed keep their keys
    this.config = {
      spanSize: this.spanSize, neighbours: this.k, groupSize: this.groupSize, lambda: this.lambda, radius: this.radius,
      beta: this.beta, smoothing: this.smoothing, refreshEvery: this.refreshEvery, smoothGrad: this.smoothGrad,
      ...(this.cvarAlpha < 1 ? { cvarAlpha: this.cvarAlpha } : {}),
    };
  }

  /** the current neighbour table (null before the first smoothed batch) */
  get neighbourTable(): NeighbourTable | null {
    return this.table;
  }

  /** (b): the table for this step, rebuilt when none exists or `refreshEvery` steps have passed. */
  private tableFor(ctx: ObjectiveContext): NeighbourTable {
    const t = this.table;
    if (t === null || t.numItems !== ctx.model.numItems || ctx.step - t.refreshedAt >= this.refreshEvery || ctx.step < t.refreshedAt) {
      this.table = NeighbourTable.build(ctx.model, this.k, ctx.step);
    }
    return this.table!;
  }

  loss(ctx: ObjectiveContext): Tensor {
    const n0 = this.name;
    const { rows, n } = activeRows(ctx, n0);
    // (a) first pass: ∂L/∂z only, spans and â
    const fp = firstPass(ctx, this.spanSize, n0);
    // (b) + (c): smoothing of the spans, then the second pass on z̃
    let lossesT: Tensor = fp.losses;
    let sm: { positions: Int32Array; neighbourIds: Int32Array; weights: Float32Array } = { positions: new Int32Array(0), neighbourIds: new Int32Array(0), weights: new Float32Array(0) };
    if (this.smoothing) {
      const table = this.tableFor(ctx);
      const s = smoothSpans(ctx.model, fp.z, ctx.batch.inputs, fp.location.spanMask, table, {
        beta: this.beta, gen: this.gen, keepGrad: this.smoothGrad,
      });
      sm = s;
      lossesT = ctx.sequenceLosses(s.zTilde);
    }
    const v = this.smoothing ? finiteLosses(n0, ctx, lossesT) : fp.values;
    // (d) Eq. 13: mean over the batch (or its CVaR_α) + λ · χ²-DRO over the top-M rows by â
    // (α = 1 keeps the exact 1/n of the paper's mean, so runs recorded before cvarAlpha reproduce)
    const c = this.cvarAlpha < 1 ? cvarRowWeights(rows, v, this.cvarAlpha) : Float64Array.from(rows, (r) => (r ? 1 / n : 0));
    let rec = 0;
    for (let b = 0; b < c.length; b++) rec += c[b]! * (rows[b] ? v[b]! : 0);
    let top: number[] = [];
    let q: Float64Array = new Float64Array(0);
    let dro = 0;
    if (this.lambda > 0) {
      top = topIndicators(fp.location.indicator, rows, this.groupSize);
      q = chi2Weights(top.map((b) => v[b]!), this.radius);
      top.forEach((b, m) => {
        c[b]! += this.lambda * q[m]!;
        dro += q[m]! * v[b]!;
      });
    }
    const loss = weightedSum(lossesT, c);
    checkFiniteLoss(n0, ctx, loss, lossesT);
    this.last = {
      step: ctx.step, location: fp.location, top, q, recLoss: rec, droLoss: dro,
      lossesOriginal: Float32Array.from(fp.values), lossesSmoothed: Float32Array.from(v),
      smoothedPositions: sm.positions, neighbourIds: sm.neighbourIds, dirichletWeights: sm.weights,
    };
    return loss;
  }

  stateDict(): Record<string, unknown> {
    return { kind: 'afsr', table: this.table === null ? null : this.table.toState() };
  }

  loadStateDict(state: Record<string, unknown>): void {
    checkStateKind(this.name, state, 'afsr');
    const t = state.table;
    if (t === null || t === undefined) {
      this.table = null;
      return;
    }
    if (typeof t !== 'object') throw new Error(`${this.name}.loadStateDict: 'table' must be an object or null`);
    const s = t as Record<string, unknown>;
    const N = s.numItems;
    if (!(typeof N === 'number' && Number.isInteger(N) && N >= 1)) throw new Error(`${this.name}.loadStateDict: the neighbour table's numItems must be a positive integer, got ${String(N)}`);
    this.table = NeighbourTable.fromState(s, this.k, N, this.name);
  }
}
