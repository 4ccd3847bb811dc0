/**
 * InteractionLog -> Dataset: chronological sequences, filtering, re-indexing, leave-one-out split.
 *
 * Steps, in order:
 *  1. optional rating filter (`minRating`, for logs with ratings);
 *  2. per-user chronological order by timestamp, stable: events with equal timestamps keep their
 *     file order (MovieLens has many same-second ratings; file order is the only other signal);
 *  3. filtering to a fixed point: items with fewer than `kCore.item` events are removed, then users
 *     with fewer than max(`kCore.user`, `minSeqLen`) events, repeated until nothing changes (removing
 *     users lowers item counts and vice versa). Counts are events, so a re-consumed item counts twice;
 *  4. re-indexing: items 1..N (0 is the padding id), users 0..U-1, both in the order of their raw
 *     ids (numeric order when both ids are integers, else string order), so indices do not depend on
 *     file order;
 *  5. leave-one-out: last item = test target, second-to-last = validation target, the rest = train.
 *     With `validation: { fraction }` or `{ count }` only a seeded subset of users is validated
 *     (ECIR 2025 setting); for every other user the second-to-last item goes to training.
 *
 * `minSeqLen` is at least 3 so that every user can hold one train, one validation and one test item
 * whichever validation subset is drawn. Sequences are kept whole: truncation to the most recent
 * `maxLen` items happens at batching time. Item popularity counts the training sequences only, so
 * nothing of the validation or test targets leaks into popularity-based negatives or groups.
 */
import { SeededRandom, STREAMS } from './random.js';
import type { InteractionLog } from './types.js';

export type ValidationSetting = 'all' | { fraction: number } | { count: number };

export interface PreprocessOptions {
  /** data set name for reports (default: the log's source) */
  name?: string;
  /** keep only events with rating >= minRating (the log must have ratings) */
  minRating?: number;
  /** k-core filter: one k for users and items, or separate values (default: off) */
  kCore?: number | { user: number; item: number };
  /** drop users with fewer events (after the other filters); default and minimum 3 */
  minSeqLen?: number;
  /** which users get a validation target (default 'all') */
  validation?: ValidationSetting;
  /** seed of the validation-user draw (default 0) */
  seed?: number;
}

export interface DatasetStats {
  events: number;
  /** events removed by the rating filter */
  eventsBelowMinRating: number;
  /** users / items of the log before filtering */
  rawUsers: number;
  rawItems: number;
  /** filter rounds until the fixed point */
  filterRounds: number;
  /** mean full sequence length (train + validation + test) */
  meanSeqLen: number;
  density: number;
}

export interface Dataset {
  name: string;
  numUsers: number;
  /** items are 1..numItems; 0 is padding (and numItems + 1 is BERT4Rec's mask token) */
  numItems: number;
  /** raw id of each user index */
  userIds: string[];
  /** raw id of each item index; itemIds[0] = '' (padding) */
  itemIds: string[];
  /** title of each item index ('' when unknown), when the log has titles */
  itemTitles?: string[];
  /** per user: chronological training sequence of item indices */
  train: Int32Array[];
  /** per user: validation target, 0 for users outside the validation subset */
  validTarget: Int32Array;
  /** per user: test target (the last item) */
  testTarget: Int32Array;
  /** sorted indices of the users that have a validation target */
  validationUsers: Int32Array;
  attributeNames: string[];
  /** per user: attribute name -> value (as in the log; 'unknown' where missing) */
  userAttributes: Record<string, string>[];
  /** per item index: number of occurrences in the training sequences (length numItems + 1) */
  itemPopularity: Int32Array;
  stats: DatasetStats;
}

/** Numeric order when both ids are integers, else code-unit order: '2' < '10', 'a' < 'b'. */
export function compareIds(a: string, b: string): number {
  const intRe = /^-?\d+$/;
  if (intRe.test(a) && intRe.test(b)) {
    const d = Number(a) - Number(b);
    if (d !== 0 && Number.isSafeInteger(Number(a)) && Number.isSafeInteger(Number(b))) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Per-user chronological event indices (stable for equal timestamps), users in first-seen order. */
export function chronologicalSequences(log: InteractionLog, keep?: (event: number) => boolean): Map<string, number[]> {
  const byUser = new Map<string, number[]>();
  for (let e = 0; e < log.users.length; e++) {
    if (keep !== undefined && !keep(e)) continue;
    const u = log.users[e]!;
    let list = byUser.get(u);
    if (list === undefined) byUser.set(u, (list = []));
    list.push(e);
  }
  const t = log.timestamps;
  // Array.prototype.sort is stable (ES2019), so ties keep file order.
  for (const list of byUser.values()) list.sort((a, b) => t[a]! - t[b]!);
  return byUser;
}

/**
 * Iterated user/item filter on integer sequences (items are any non-negative ints). Returns the
 * surviving sequences (filtered in place semantics: new arrays) and the number of rounds.
 */
export function filterToFixedPoint(
  seqs: Map<string, Int32Array>,
  minUser: number,
  minItem: number,
): { seqs: Map<string, Int32Array>; rounds: number } {
  let current = seqs;
  let rounds = 0;
  for (;;) {
    rounds++;
    let changed = false;
    const counts = new Map<number, number>();
    if (minItem > 1) {
      for (const s of current.values()) for (const it of s) counts.set(it, (counts.get(it) ?? 0) + 1);
    }
    const next = new Map<string, Int32Array>();
    for (const [u, s] of current) {
      const kept = minItem > 1 ? s.filter((it) => counts.get(it)! >= minItem) : s;
      if (kept.length !== s.length) changed = true;
      if (kept.length >= minUser) next.set(u, kept);
      else changed = true;
    }
    current = next;
    if (!changed) return { seqs: current, rounds };
  }
}

function sortedKeys<K extends string>(keys: Iterable<K>): K[] {
  return [...keys].sort(compareIds);
}

/** Builds the Dataset from a log; see the file comment for the steps. */
export function preprocess(log: InteractionLog, opts: PreprocessOptions = {}): Dataset {
  const minSeqLen = opts.minSeqLen ?? 3;
  if (!Number.isInteger(minSeqLen) || minSeqLen < 3) {
    throw new RangeError(`preprocess: minSeqLen must be an integer >= 3 (one train, one validation and one test item), got ${minSeqLen}`);
  }
  const k = opts.kCore ?? 0;
  const kUser = typeof k === 'number' ? k : k.user;
  const kItem = typeof k === 'number' ? k : k.item;
  for (const [what, v] of [['kCore.user', kUser], ['kCore.item', kItem]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`preprocess: ${what} must be a non-negative integer, got ${v}`);
  }
  let belowRating = 0;
  let keep: ((e: number) => boolean) | undefined;
  if (opts.minRating !== undefined) {
    const ratings = log.ratings;
    if (ratings === undefined) throw new RangeError(`preprocess: minRating given but ${log.source} has no ratings`);
    const min = opts.minRating;
    keep = (e) => {
      const ok = ratings[e]! >= min;
      if (!ok) belowRating++;
      return ok;
    };
  }

  // Intern raw item ids as ints in first-seen order for the filter; final indices come later.
  const rawItems: string[] = [];
  const itemCode = new Map<string, number>();
  for (const it of log.items) {
    if (!itemCode.has(it)) {
      itemCode.set(it, rawItems.length);
      rawItems.push(it);
    }
  }
  const chrono = chronologicalSequences(log, keep);
  const rawUsers = new Set(log.users).size;
  const coded = new Map<string, Int32Array>();
  for (const [u, events] of chrono) coded.set(u, Int32Array.from(events, (e) => itemCode.get(log.items[e]!)!));
  const { seqs, rounds } = filterToFixedPoint(coded, Math.max(kUser, minSeqLen), kItem);
  if (seqs.size === 0) throw new RangeError(`preprocess: no user of ${log.source} survives the filters (minSeqLen ${minSeqLen}, kCore ${kUser}/${kItem})`);

  // Re-index items 1..N and users 0..U-1 in raw-id order.
  const present = new Set<number>();
  for (const s of seqs.values()) for (const it of s) present.add(it);
  const itemIds = ['', ...sortedKeys([...present].map((c) => rawItems[c]!))];
  const newIndex = new Int32Array(rawItems.length);
  itemIds.forEach((raw, i) => {
    if (i > 0) newIndex[itemCode.get(raw)!] = i;
  });
  const userIds = sortedKeys(seqs.keys());
  const numUsers = userIds.length;
  const numItems = itemIds.length - 1;

  // Validation users.
  const setting = opts.validation ?? 'all';
  let nValid: number;
  if (setting === 'all') nValid = numUsers;
  else if ('fraction' in setting) {
    if (!(setting.fraction >= 0 && setting.fraction <= 1)) throw new RangeError(`preprocess: validation fraction must be in [0, 1], got ${setting.fraction}`);
    nValid = Math.round(setting.fraction * numUsers);
    if (setting.fraction > 0) nValid = Math.max(1, nValid);
  } else {
    if (!Number.isInteger(setting.count) || setting.count < 0) throw new RangeError(`preprocess: validation count must be a non-negative integer, got ${setting.count}`);
    nValid = Math.min(setting.count, numUsers);
  }
  const isValid = new Uint8Array(numUsers);
  if (nValid === numUsers) isValid.fill(1);
  else {
    const perm = SeededRandom.at(opts.seed ?? 0, STREAMS.validationUsers).permutation(numUsers);
    for (let i = 0; i < nValid; i++) isValid[perm[i]!] = 1;
  }

  const train: Int32Array[] = new Array(numUsers);
  const validTarget = new Int32Array(numUsers);
  const testTarget = new Int32Array(numUsers);
  const validationUsers = new Int32Array(nValid);
  const itemPopularity = new Int32Array(numItems + 1);
  const userAttributes: Record<string, string>[] = new Array(numUsers);
  let events = 0;
  let nv = 0;
  for (let u = 0; u < numUsers; u++) {
    const raw = userIds[u]!;
    const s = seqs.get(raw)!.map((c) => newIndex[c]!);
    const n = s.length;
    events += n;
    testTarget[u] = s[n - 1]!;
    if (isValid[u]) {
      validTarget[u] = s[n - 2]!;
      train[u] = s.slice(0, n - 2);
      validationUsers[nv++] = u;
    } else {
      train[u] = s.slice(0, n - 1);
    }
    for (const it of train[u]!) itemPopularity[it]!++;
    const attrs = log.userAttributes.get(raw);
    userAttributes[u] = attrs !== undefined ? { ...attrs } : Object.fromEntries(log.attributeNames.map((a) => [a, 'unknown']));
  }

  const ds: Dataset = {
    name: opts.name ?? log.source,
    numUsers,
    numItems,
    userIds,
    itemIds,
    train,
    validTarget,
    testTarget,
    validationUsers,
    attributeNames: [...log.attributeNames],
    userAttributes,
    itemPopularity,
    stats: {
      events,
      eventsBelowMinRating: belowRating,
      rawUsers,
      rawItems: rawItems.length,
      filterRounds: rounds,
      meanSeqLen: events / numUsers,
      density: events / (numUsers * numItems),
    },
  };
  if (log.itemTitles !== undefined) {
    const titles = log.itemTitles;
    ds.itemTitles = itemIds.map((raw, i) => (i === 0 ? '' : titles.get(raw) ?? ''));
  }
  return ds;
}

/** The inputs and targets of one evaluation split. */
export interface EvalSplit {
  split: 'valid' | 'test';
  /** user indices, ascending */
  users: Int32Array;
  /** per listed user: the whole history before the target (not truncated) */
  inputs: Int32Array[];
  /** per listed user: the target item */
  targets: Int32Array;
}

/** History before the test target: train, plus the validation target for validation users. */
export function testInput(ds: Dataset, u: number): Int32Array {
  const tr = ds.train[u]!;
  const v = ds.validTarget[u]!;
  if (v === 0) return tr;
  const out = new Int32Array(tr.length + 1);
  out.set(tr);
  out[tr.length] = v;
  return out;
}

/** The user's full chronological sequence (train, validation target if any, test target). */
export function fullSequence(ds: Dataset, u: number): Int32Array {
  const h = testInput(ds, u);
  const out = new Int32Array(h.length + 1);
  out.set(h);
  out[h.length] = ds.testTarget[u]!;
  return out;
}

/** Validation split: validation users, input = train; test split: every user, input = testInput. */
export function evalSplit(ds: Dataset, split: 'valid' | 'test'): EvalSplit {
  if (split === 'valid') {
    const users = ds.validationUsers;
    return {
      split,
      users,
      inputs: Array.from(users, (u) => ds.train[u]!),
      targets: Int32Array.from(users, (u) => ds.validTarget[u]!),
    };
  }
  const users = new Int32Array(ds.numUsers);
  for (let u = 0; u < ds.numUsers; u++) users[u] = u;
  return { split, users, inputs: Array.from(users, (u) => testInput(ds, u)), targets: ds.testTarget.slice() };
}
