/**
 * The training examples of one epoch, per model family.
 *
 * 'next' (SASRec, GRU4Rec) and 'cloze' (BERT4Rec) batches come straight from the data layer
 * (src/data/batching.ts trainingBatches): one row per user, its last maxLen items, every position
 * a target; with `slidingWindow` p > 0 (BERT4Rec's default, 0.5) one row per window of the user's
 * whole training sequence, every ⌊p·maxLen⌋ items back from the newest.
 *
 * 'last' models (NARM) predict the item after their input, and session-based recommenders are
 * trained on every prefix (Tan et al. 2016's augmentation; the template of Yue et al. that A-FSR
 * builds on feeds NARM every prefix k of every training sequence: input train[:k], its last
 * maxLen items, target train[k]). Their encode gives the representation of every prefix in one
 * pass (src/models/narm.ts), so these batches are 'next'-style window rows: a window of a user's
 * items, and targets at the positions whose prefixes the row trains (0 elsewhere).
 *
 *   'all'     every prefix of every user once per epoch (≈ 97k targets on ML-100K, in ≈ 3.6k rows).
 *             A user's targets k = 1..n−1 are cut, from the newest, into blocks of S = ⌊maxLen/2⌋
 *             consecutive targets; the oldest block also takes the remainder (S..2S−1 targets, or
 *             all n−1 when fewer than S). A block with targets first..last is one row: input
 *             train[max(0, last−maxLen) : last], targets train[first..last] at their positions.
 *             - users with at most maxLen targets, and every user's oldest block (it ends at
 *               2S−1 < maxLen at most), see exactly what the per-prefix path saw: each prefix
 *               whole, from the user's first item;
 *             - in the later blocks a prefix sees its most recent maxLen−S+1 … maxLen items
 *               instead of exactly maxLen (the window starts where its block's newest prefix
 *               starts). S trades speed for closeness: S = 1 is the per-prefix path exactly,
 *               S = maxLen would leave the first target of a block one item of history;
 *               ⌊maxLen/2⌋ keeps at least half (26 of 50) at half the cost of the smallest S.
 *   'random'  one prefix per user per epoch, k uniform in [1, n−1], seeded by (seed, epoch, user):
 *             a row train[max(0, k−maxLen) : k] with the one target train[k];
 *   'last'    one row per user with the one target train[n−1] (the final training item).
 *
 * Loss normalisation: a row's loss is the mean over its targets and the ERM objective averages
 * rows (the per-sequence contract of losses.ts, as for SASRec and GRU4Rec), so each step's loss
 * is a mean cross-entropy as before, but over ≈ 64·27 targets instead of 64 prefixes, in ≈ 56
 * steps per epoch instead of ≈ 1500. Rows hold 25–49 targets (fewer only for users with fewer
 * than 25), so a target weighs 1/49 … 1/25 of a row, where every prefix weighed the same before.
 * With dropout, the prefixes of a row share its dropout masks (the per-prefix path drew one per
 * prefix).
 *
 * Randomness: stream TRAIN_STREAMS.prefixes, Philox block = epoch (the order of the rows) and
 * block = 2^20 + epoch (the 'random' cuts, element = user), so batches depend on (seed, epoch) only.
 */
import type { Dataset } from '../data/preprocess.js';
import { type SequenceBatch, type TrainingKind, leftPadInto, trainableUsers, trainingBatches, trainingRowCount } from '../data/batching.js';
import { SeededRandom, UniformStream } from '../data/random.js';

export type LastTargets = 'all' | 'random' | 'last';

export const TRAIN_STREAMS = { prefixes: 0x7a170001 } as const;

export interface EpochBatchOptions {
  batchSize: number;
  maxLen: number;
  seed: number;
  /** 0-based */
  epoch: number;
  maskProb: number;
  lastTargets: LastTargets;
  /** 'next' and 'cloze': sliding windows over each user's training sequence (src/data/batching.ts; 0 = newest items only) */
  slidingWindow?: number;
}

/** Rows of an epoch of a 'last' model: user, and the first and last target index trained in the row. */
interface PrefixRows {
  users: Int32Array;
  first: Int32Array;
  last: Int32Array;
}

/**
 * The target blocks [first, last] of a training sequence of n items under 'all' (see the file
 * comment), newest first: targets 1..n−1 in blocks of ⌊maxLen/2⌋, the oldest taking the rest.
 */
export function prefixBlocks(n: number, maxLen: number): [number, number][] {
  const T = n - 1;
  if (T < 1) return [];
  const S = Math.max(1, Math.floor(maxLen / 2));
  const count = Math.max(1, Math.floor(T / S));
  return Array.from({ length: count }, (_, i) => [i === count - 1 ? 1 : T - (i + 1) * S + 1, T - i * S]);
}

/** The rows of an epoch of 'last'-model training, in their seeded order. */
function prefixRows(ds: Dataset, o: EpochBatchOptions): PrefixRows {
  const pool = trainableUsers(ds, 'last');
  const users: number[] = [], first: number[] = [], last: number[] = [];
  if (o.lastTargets === 'all') {
    for (const user of pool) {
      for (const [f, l] of prefixBlocks(ds.train[user]!.length, o.maxLen)) {
        users.push(user);
        first.push(f);
        last.push(l);
      }
    }
  } else {
    const u = new UniformStream(o.seed, TRAIN_STREAMS.prefixes);
    const base = (2 ** 20 + o.epoch) * 2 ** 32;
    for (const user of pool) {
      const n = ds.train[user]!.length;
      const k = o.lastTargets === 'last' ? n - 1 : 1 + Math.min(n - 2, Math.floor(u.get(base + user) * (n - 1)));
      users.push(user);
      first.push(k);
      last.push(k);
    }
  }
  const perm = SeededRandom.at(o.seed, TRAIN_STREAMS.prefixes, o.epoch).permutation(users.length);
  return {
    users: Int32Array.from(perm, (i) => users[i]!),
    first: Int32Array.from(perm, (i) => first[i]!),
    last: Int32Array.from(perm, (i) => last[i]!),
  };
}

/**
 * One 'next'-style row per (user, first, last): input train[max(0, last−L) : last] left-padded to
 * L, target train[k] for k in first..last at the position of train[k−1], 0 elsewhere.
 */
export function prefixBatch(ds: Dataset, rows: PrefixRows, L: number): SequenceBatch {
  const B = rows.users.length;
  const inputs = new Int32Array(B * L);
  const targets = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const seq = ds.train[rows.users[b]!]!;
    const last = rows.last[b]!;
    leftPadInto(seq, 0, last, L, inputs, b);
    // train[k−1] sits at slot L − (last − (k−1)); the target after it is train[k]
    for (let k = rows.first[b]!; k <= last; k++) targets[b * L + L - 1 - last + k] = seq[k]!;
  }
  return { kind: 'next', B, L, users: rows.users.slice(), inputs, targets };
}

/** Number of batches of an epoch. */
export function epochBatchCount(ds: Dataset, kind: TrainingKind, o: Pick<EpochBatchOptions, 'batchSize' | 'maxLen' | 'lastTargets' | 'slidingWindow'>): number {
  const pool = trainableUsers(ds, kind);
  if (kind !== 'last' || o.lastTargets !== 'all') return Math.ceil(trainingRowCount(ds, kind, pool, o.maxLen, o.slidingWindow) / o.batchSize);
  let rows = 0;
  for (const user of pool) rows += prefixBlocks(ds.train[user]!.length, o.maxLen).length;
  return Math.ceil(rows / o.batchSize);
}

/** One epoch of training batches (see the file comment). */
export function* epochBatches(ds: Dataset, kind: TrainingKind, o: EpochBatchOptions): Generator<SequenceBatch> {
  if (kind !== 'last') {
    yield* trainingBatches(ds, kind, { batchSize: o.batchSize, maxLen: o.maxLen, seed: o.seed, epoch: o.epoch, maskProb: o.maskProb, slidingWindow: o.slidingWindow });
    return;
  }
  const rows = prefixRows(ds, o);
  for (let s = 0; s < rows.users.length; s += o.batchSize) {
    const part = (a: Int32Array): Int32Array => a.subarray(s, s + o.batchSize);
    yield prefixBatch(ds, { users: part(rows.users), first: part(rows.first), last: part(rows.last) }, o.maxLen);
  }
}
