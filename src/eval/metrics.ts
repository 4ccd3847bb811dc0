/**
 * Ranking metrics per user, and their aggregation overall and per group.
 *
 * Ranks are 0-based: rank r means r candidates are placed before the target.
 *
 * Tie rule (pessimistic): rank = number of candidates other than the target whose score is >= the
 * target's score. Ties count against the target, so a model that gives many items the same score
 * (a constant or collapsed model, saturated scores) cannot look good by luck of sort order; the
 * optimistic rule would give a constant model a perfect score. A NaN target score gets the worst
 * rank (every other candidate before it); a NaN candidate score never outranks the target.
 *
 * Candidates:
 *  - full ranking: every item 1..numItems (column 0, padding, and columns past numItems such as
 *    BERT4Rec's mask token are ignored), optionally minus the items of `exclude[b]` (typically the
 *    user's input history). The target itself is never excluded, even when it is in the list
 *    (re-consumption datasets);
 *  - sampled ranking: the target and the given negatives (see negatives.ts).
 *
 * Metrics of one user with rank r (a single relevant item, so Recall@k = HR@k):
 *   Recall@k = [r < k];  NDCG@k = [r < k] / log2(r + 2);  MRR = 1 / (r + 1) (no cut-off).
 * A k larger than the candidate list is allowed: every rank is then below k, so Recall@k = 1.
 * Per-user values are kept as Float64Array vectors (paired tests across seeds, per-group tables).
 */

export const DEFAULT_KS: readonly number[] = [3, 5, 10, 20];

type Scores = ArrayLike<number>;

function checkScores(scores: Scores, B: number, cols: number, what: string): void {
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`${what}: cols must be a positive integer, got ${cols}`);
  if (scores.length !== B * cols) throw new RangeError(`${what}: scores has ${scores.length} values, expected ${B} rows x ${cols} columns = ${B * cols}`);
}

/** Pessimistic rank of `t` among candidates whose scores are given by `count(>= st)`. */
function countAtLeast(st: number, row: Scores, base: number, from: number, to: number): number {
  let c = 0;
  for (let j = from; j <= to; j++) if (row[base + j]! >= st) c++;
  return c;
}

export interface FullRankOptions {
  /** items are 1..numItems; defaults to cols - 1 */
  numItems?: number;
  /** per row: items to remove from the candidates (the target is never removed) */
  exclude?: readonly (ArrayLike<number> | undefined)[];
}

/**
 * Full ranking. `scores` is row-major (B, cols) with column i = item i (cols >= numItems + 1);
 * returns the 0-based pessimistic rank of each row's target among items 1..numItems.
 */
export function rankFull(scores: Scores, cols: number, targets: Int32Array, opts: FullRankOptions = {}): Int32Array {
  const B = targets.length;
  checkScores(scores, B, cols, 'rankFull');
  const N = opts.numItems ?? cols - 1;
  if (!Number.isInteger(N) || N < 1 || N > cols - 1) throw new RangeError(`rankFull: numItems must be in [1, cols - 1 = ${cols - 1}], got ${N}`);
  const exclude = opts.exclude;
  if (exclude !== undefined && exclude.length !== B) throw new RangeError(`rankFull: exclude has ${exclude.length} rows, expected ${B}`);
  const stamp = new Int32Array(N + 1); // stamp[i] = b + 1 when item i was already excluded in row b
  const ranks = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const t = targets[b]!;
    if (!(t >= 1 && t <= N)) throw new RangeError(`rankFull: target of row ${b} is ${t}, expected an item in [1, ${N}]`);
    const base = b * cols;
    const st = scores[base + t]!;
    const ex = exclude?.[b];
    let removed = 0;
    let removedAbove = 0;
    if (ex !== undefined) {
      for (let j = 0; j < ex.length; j++) {
        const i = ex[j]!;
        if (i === t || i < 1 || i > N || stamp[i] === b + 1) continue;
        stamp[i] = b + 1;
        removed++;
        if (scores[base + i]! >= st) removedAbove++;
      }
    }
    if (Number.isNaN(st)) {
      ranks[b] = N - 1 - removed;
      continue;
    }
    // the target itself satisfies >= and is subtracted
    ranks[b] = countAtLeast(st, scores, base, 1, N) - 1 - removedAbove;
  }
  return ranks;
}

/**
 * Sampled ranking with full score rows: rank of the target among itself and the negatives of its
 * row (`negatives` is (B, K), item ids). Duplicated negatives would count twice; the sampler in
 * negatives.ts never produces them.
 */
export function rankSampled(scores: Scores, cols: number, targets: Int32Array, negatives: Int32Array, K: number): Int32Array {
  const B = targets.length;
  checkScores(scores, B, cols, 'rankSampled');
  if (negatives.length !== B * K) throw new RangeError(`rankSampled: negatives has ${negatives.length} ids, expected ${B} x ${K}`);
  const ranks = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const t = targets[b]!;
    if (!(t >= 0 && t < cols)) throw new RangeError(`rankSampled: target of row ${b} is ${t}, outside the ${cols} score columns`);
    const base = b * cols;
    const st = scores[base + t]!;
    if (Number.isNaN(st)) {
      ranks[b] = K;
      continue;
    }
    let r = 0;
    for (let j = 0; j < K; j++) {
      const i = negatives[b * K + j]!;
      if (!(i >= 0 && i < cols)) throw new RangeError(`rankSampled: negative ${j} of row ${b} is ${i}, outside the ${cols} score columns`);
      if (i !== t && scores[base + i]! >= st) r++;
    }
    ranks[b] = r;
  }
  return ranks;
}

/**
 * Sampled ranking with compact candidate scores: `candScores` is (B, C) where column 0 is the
 * target's score and columns 1..C-1 the negatives' scores (the layout a model produces when it
 * scores only the candidates).
 */
export function rankCandidates(candScores: Scores, C: number): Int32Array {
  if (!Number.isInteger(C) || C < 1 || candScores.length % C !== 0) {
    throw new RangeError(`rankCandidates: ${candScores.length} scores do not form rows of ${C} candidates`);
  }
  const B = candScores.length / C;
  const ranks = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const st = candScores[b * C]!;
    ranks[b] = Number.isNaN(st) ? C - 1 : countAtLeast(st, candScores, b * C, 1, C - 1);
  }
  return ranks;
}

/** Per-user metric vectors; row i belongs to user `users[i]`. */
export interface UserMetrics {
  ks: number[];
  users: Int32Array;
  /** 0-based pessimistic ranks */
  ranks: Int32Array;
  /** Recall@k (= HR@k) per user, by k */
  recall: Record<number, Float64Array>;
  /** NDCG@k per user, by k */
  ndcg: Record<number, Float64Array>;
  /** reciprocal rank per user (no cut-off) */
  mrr: Float64Array;
}

/** Computes the per-user metric vectors from ranks. */
export function metricsFromRanks(users: Int32Array, ranks: Int32Array, ks: readonly number[] = DEFAULT_KS): UserMetrics {
  if (users.length !== ranks.length) throw new RangeError(`metricsFromRanks: ${users.length} users but ${ranks.length} ranks`);
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new RangeError(`metricsFromRanks: k must be a positive integer, got ${k}`);
  const n = ranks.length;
  const recall: Record<number, Float64Array> = {};
  const ndcg: Record<number, Float64Array> = {};
  for (const k of ks) {
    recall[k] = new Float64Array(n);
    ndcg[k] = new Float64Array(n);
  }
  const mrr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = ranks[i]!;
    if (!(r >= 0)) throw new RangeError(`metricsFromRanks: rank ${i} is ${r}, expected >= 0`);
    mrr[i] = 1 / (r + 1);
    const gain = 1 / Math.log2(r + 2);
    for (const k of ks) {
      if (r < k) {
        recall[k]![i] = 1;
        ndcg[k]![i] = gain;
      }
    }
  }
  return { ks: [...ks], users: users.slice(), ranks: ranks.slice(), recall, ndcg, mrr };
}

/** Collects ranks batch by batch (evaluation runs in chunks) and builds the UserMetrics at the end. */
export class RankAccumulator {
  private users: number[] = [];
  private ranks: number[] = [];

  add(users: ArrayLike<number>, ranks: ArrayLike<number>): void {
    if (users.length !== ranks.length) throw new RangeError(`RankAccumulator.add: ${users.length} users but ${ranks.length} ranks`);
    for (let i = 0; i < users.length; i++) {
      this.users.push(users[i]!);
      this.ranks.push(ranks[i]!);
    }
  }

  get size(): number {
    return this.users.length;
  }

  finish(ks: readonly number[] = DEFAULT_KS): UserMetrics {
    return metricsFromRanks(Int32Array.from(this.users), Int32Array.from(this.ranks), ks);
  }
}

/** Means over a set of users. */
export interface MetricSummary {
  count: number;
  recall: Record<number, number>;
  ndcg: Record<number, number>;
  mrr: number;
}

export interface GroupedMetrics {
  overall: MetricSummary;
  /** by group label, labels in sorted order */
  groups: Record<string, MetricSummary>;
}

/** Group label of each user: a map from user index, or an array indexed by user index. */
export type GroupLabels = ReadonlyMap<number, string> | readonly string[];

/** Label used for users that the label map does not cover. */
export const UNLABELLED = 'unknown';

function mean(v: Float64Array, idx: number[]): number {
  if (idx.length === 0) return Number.NaN;
  let s = 0;
  for (const i of idx) s += v[i]!;
  return s / idx.length;
}

function summarizeRows(m: UserMetrics, idx: number[]): MetricSummary {
  const recall: Record<number, number> = {};
  const ndcg: Record<number, number> = {};
  for (const k of m.ks) {
    recall[k] = mean(m.recall[k]!, idx);
    ndcg[k] = mean(m.ndcg[k]!, idx);
  }
  return { count: idx.length, recall, ndcg, mrr: mean(m.mrr, idx) };
}

/**
 * Averages the per-user metrics overall and per group. Users missing from `groups` are reported
 * under 'unknown'. Means of an empty set are NaN.
 */
export function aggregateMetrics(m: UserMetrics, groups?: GroupLabels): GroupedMetrics {
  const all = Array.from({ length: m.users.length }, (_, i) => i);
  const out: GroupedMetrics = { overall: summarizeRows(m, all), groups: {} };
  if (groups === undefined) return out;
  const byGroup = new Map<string, number[]>();
  const labelOf = (u: number): string => (Array.isArray(groups) ? (groups as readonly string[])[u] : (groups as ReadonlyMap<number, string>).get(u)) ?? UNLABELLED;
  for (let i = 0; i < m.users.length; i++) {
    const g = labelOf(m.users[i]!);
    let list = byGroup.get(g);
    if (list === undefined) byGroup.set(g, (list = []));
    list.push(i);
  }
  for (const g of [...byGroup.keys()].sort()) out.groups[g] = summarizeRows(m, byGroup.get(g)!);
  return out;
}

export type MetricName = 'recall' | 'ndcg' | 'mrr';

/** Reads one number from a summary: metric at k (k ignored for MRR). */
export function metricValue(s: MetricSummary, metric: MetricName, k?: number): number {
  if (metric === 'mrr') return s.mrr;
  if (k === undefined) throw new RangeError(`metricValue: ${metric} needs k`);
  const v = s[metric][k];
  if (v === undefined) throw new RangeError(`metricValue: ${metric}@${k} was not computed (ks: ${Object.keys(s[metric]).join(', ')})`);
  return v;
}

export interface GroupGap {
  /** max - min over groups; for two groups this is Φ of Eq. 1 (SIGIR 2024) */
  gap: number;
  best: string;
  worst: string;
  bestValue: number;
  worstValue: number;
}

/** Gap between the best and the worst group (groups with no users are skipped). */
export function groupGap(g: GroupedMetrics, metric: MetricName, k?: number): GroupGap {
  let best = '';
  let worst = '';
  let bv = -Infinity;
  let wv = Infinity;
  for (const [label, s] of Object.entries(g.groups)) {
    if (s.count === 0) continue;
    const v = metricValue(s, metric, k);
    if (v > bv) ((bv = v), (best = label));
    if (v < wv) ((wv = v), (worst = label));
  }
  if (best === '') throw new RangeError('groupGap: no non-empty group');
  return { gap: bv - wv, best, worst, bestValue: bv, worstValue: wv };
}
