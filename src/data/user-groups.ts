/**
 * Group ids for training: the glue between the string labels of src/data/groups.ts (and
 * src/eval/groupings.ts) and the group-aware objectives of src/fairness, which read one integer
 * group id per user (the trainer's `groups: { ids, numGroups }`).
 *
 *  - encodeGroups: labels → ids 0..G−1 (in a given order, or sorted) and the names back;
 *  - groupCounts: training users per group (IPW's frequencies);
 *  - randomGroupLabels: the SIGIR 2024 paper's protocol for baselines that need demographics when
 *    none may be used: "random gender labels were assigned to them based on the distribution of
 *    the datasets" (Sec. 5.1). Done as a seeded permutation of the real labels, so the random
 *    groups have exactly the real group sizes (an i.i.d. draw would add size noise) and carry no
 *    information about any user;
 *  - intersectGroups: the intersection of two groupings (the ECIR paper's popularity × length).
 */
import { SeededRandom } from './random.js';

/** Philox stream of randomGroupLabels (data-layer range 0xda7a…, next to STREAMS in random.ts). */
export const RANDOM_GROUPS_STREAM = 0xda7a0010;

export interface UserGroupIds {
  /** per user index: group id in 0..numGroups−1 */
  ids: Int32Array;
  numGroups: number;
  /** names[g] = the label of group g */
  names: string[];
}

/**
 * Integer ids for per-user labels. `order` fixes the id of each label (every label must be in
 * it; labels of `order` that no user has still get their id); without it the distinct labels are
 * sorted (code-unit order), so ids do not depend on user order.
 */
export function encodeGroups(labels: readonly string[], order?: readonly string[]): UserGroupIds {
  const names = order ? [...order] : [...new Set(labels)].sort();
  if (new Set(names).size !== names.length) throw new RangeError(`encodeGroups: the order lists a label twice: ${names.join(', ')}`);
  const id = new Map(names.map((n, i) => [n, i]));
  const ids = new Int32Array(labels.length);
  labels.forEach((l, u) => {
    const g = id.get(l);
    if (g === undefined) throw new RangeError(`encodeGroups: user ${u} has label ${JSON.stringify(l)}, which is not in the order [${names.join(', ')}]`);
    ids[u] = g;
  });
  if (names.length === 0) throw new RangeError('encodeGroups: no labels given');
  return { ids, numGroups: names.length, names };
}

/** Number of users per group, over `users` (default: every user). */
export function groupCounts(ids: Int32Array, numGroups: number, users?: ArrayLike<number>): Int32Array {
  const counts = new Int32Array(numGroups);
  const n = users ? users.length : ids.length;
  for (let i = 0; i < n; i++) {
    const u = users ? users[i]! : i;
    const g = ids[u];
    if (g === undefined) throw new RangeError(`groupCounts: user ${u} is outside the ${ids.length} users with a group`);
    if (!(g >= 0 && g < numGroups)) throw new RangeError(`groupCounts: user ${u} has group ${g}, outside [0, ${numGroups})`);
    counts[g]!++;
  }
  return counts;
}

/** A seeded permutation of `labels`: the same group sizes, assigned to users at random. */
export function randomGroupLabels(labels: readonly string[], seed: number): string[] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`randomGroupLabels: seed must be a non-negative integer, got ${seed}`);
  const perm = SeededRandom.at(seed, RANDOM_GROUPS_STREAM).permutation(labels.length);
  return Array.from(perm, (i) => labels[i]!);
}

/** Per user `a×b` (or with another separator): the intersection of two groupings. */
export function intersectGroups(a: readonly string[], b: readonly string[], separator = '×'): string[] {
  if (a.length !== b.length) throw new RangeError(`intersectGroups: ${a.length} and ${b.length} labels (one per user in both)`);
  return a.map((x, u) => `${x}${separator}${b[u]!}`);
}
