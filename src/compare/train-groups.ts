/**
 * Which user groups a group-aware method TRAINS on (its `trainGroups` parameter), as the groups
 * the objectives read: any evaluation grouping spec of src/eval/groupings.ts (gender, group,
 * popularity:2060, length:1080, …), the intersection of two joined by '×' (popularity×length),
 * or 'random:<grouping>', the SIGIR 2024 protocol for baselines that need demographics: the
 * grouping's labels permuted at random with the run's seed (same group sizes, no information
 * about any user; src/data/user-groups.ts randomGroupLabels).
 */
import type { Dataset } from '../data/preprocess.js';
import { encodeGroups, intersectGroups, randomGroupLabels } from '../data/user-groups.js';
import { resolveGrouping } from '../eval/groupings.js';
import { KNOWN_ORDERS } from '../report/summary.js';

/** Per-user labels of a grouping spec, with 'a×b' intersections. */
export function groupingLabels(ds: Dataset, spec: string): string[] {
  const parts = spec.split('×');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new RangeError(`grouping '${spec}': expected one grouping or two joined by '×'`);
  const labels = parts.map((p) => resolveGrouping(ds, p).labels);
  return labels.length === 1 ? labels[0]! : intersectGroups(labels[0]!, labels[1]!);
}

/** Training groups of a group-aware method: 'random:<spec>' or '<spec>'. */
export function trainingGroups(ds: Dataset, spec: string, seed: number): { ids: Int32Array; numGroups: number; names: string[] } {
  const random = spec.startsWith('random:');
  const base = groupingLabels(ds, random ? spec.slice('random:'.length) : spec);
  const labels = random ? randomGroupLabels(base, seed) : base;
  // a known display order where one applies (M, F; niche, diverse, popular; …), else sorted
  const distinct = [...new Set(labels)];
  const known = KNOWN_ORDERS.find((o) => distinct.every((l) => o.includes(l)));
  return encodeGroups(labels, known ? known.filter((l) => distinct.includes(l)) : undefined);
}
