/**
 * User groups for evaluation (and for the group-aware training objectives): per user index a string
 * label, in the form eval/metrics.ts `aggregateMetrics` takes.
 *
 *  - attribute groups: the value of one user attribute (gender in the SIGIR 2024 paper, occupation
 *    for its "universal fairness" table, the planted `group` of the synthetic data);
 *  - engagement groups of the ECIR 2025 paper: sequence length, and the share of popular items in
 *    the user's history (popular = the top `popularShare` of items by training count, 0.2 as in
 *    Wen et al.), cut at quantiles (e.g. [1/3, 2/3] balanced, [0.2, 0.8], [0.1, 0.9]).
 *
 * Both engagement groups read training sequences only, so the held-out targets cannot leak into
 * the grouping. Quantile cut: with ascending values v[0..n-1] and cut q, the threshold is
 * t = v[ceil(q * n) - 1]; a user's group index is the number of thresholds strictly below its
 * value. So the lowest group is the bottom q share plus everyone tied with its top value: tied
 * users always share a group (group sizes can then differ from the nominal shares).
 */
import type { Dataset } from './preprocess.js';

/** Labels = the value of `attribute` for each user ('unknown' where missing). */
export function attributeGroups(ds: Dataset, attribute: string): string[] {
  if (!ds.attributeNames.includes(attribute)) {
    throw new RangeError(`attributeGroups: no attribute ${JSON.stringify(attribute)} (have ${ds.attributeNames.map((a) => JSON.stringify(a)).join(', ') || 'none'})`);
  }
  return ds.userAttributes.map((a) => a[attribute] ?? 'unknown');
}

/** Labels by quantile bins of `values` (one per user): cuts ascending in (0, 1), labels.length = cuts.length + 1. */
export function quantileGroups(values: ArrayLike<number>, cuts: readonly number[], labels: readonly string[]): string[] {
  if (labels.length !== cuts.length + 1) throw new RangeError(`quantileGroups: ${cuts.length} cuts need ${cuts.length + 1} labels, got ${labels.length}`);
  for (let i = 0; i < cuts.length; i++) {
    const c = cuts[i]!;
    if (!(c > 0 && c < 1) || (i > 0 && c <= cuts[i - 1]!)) throw new RangeError(`quantileGroups: cuts must be ascending in (0, 1), got [${cuts.join(', ')}]`);
  }
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  const thresholds = cuts.map((c) => sorted[Math.max(0, Math.ceil(c * n) - 1)]!);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    let g = 0;
    while (g < thresholds.length && v > thresholds[g]!) g++;
    out[i] = labels[g]!;
  }
  return out;
}

/** Sequence-length groups (short / medium / long by default) on training sequence lengths. */
export function sequenceLengthGroups(ds: Dataset, cuts: readonly number[] = [1 / 3, 2 / 3], labels: readonly string[] = ['short', 'medium', 'long']): string[] {
  return quantileGroups(ds.train.map((s) => s.length), cuts, labels);
}

/** Per user: share of training items that are among the `popularShare` most popular items. */
export function popularItemRatio(ds: Dataset, popularShare = 0.2): Float64Array {
  if (!(popularShare > 0 && popularShare <= 1)) throw new RangeError(`popularItemRatio: popularShare must be in (0, 1], got ${popularShare}`);
  const N = ds.numItems;
  const order = Array.from({ length: N }, (_, i) => i + 1).sort((a, b) => ds.itemPopularity[b]! - ds.itemPopularity[a]! || a - b);
  const popular = new Uint8Array(N + 1);
  const top = Math.max(1, Math.round(popularShare * N));
  for (let r = 0; r < top; r++) popular[order[r]!] = 1;
  return Float64Array.from(ds.train, (s) => {
    if (s.length === 0) return 0;
    let c = 0;
    for (const i of s) c += popular[i]!;
    return c / s.length;
  });
}

/** Popularity groups (niche / diverse / popular by default) on the popular-item ratio. */
export function popularityGroups(
  ds: Dataset,
  cuts: readonly number[] = [1 / 3, 2 / 3],
  labels: readonly string[] = ['niche', 'diverse', 'popular'],
  popularShare = 0.2,
): string[] {
  return quantileGroups(popularItemRatio(ds, popularShare), cuts, labels);
}
