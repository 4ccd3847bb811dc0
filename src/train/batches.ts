/**
 * The training examples of one epoch, per model family.
 *
 * 'next' (SASRec, GRU4Rec) and 'cloze' (BERT4Rec) batches come straight from the data layer
 * (src/data/batching.ts trainingBatches): every position of a sequence is a target, so one row per
 * user already holds all of that user's supervision.
 *
 * 'last' models (NARM) have one hidden state per sequence and learn one target per row. Using
 * only each user's final training item (`lastTargets: 'last'`, the data layer's batches) gives
 * them one example per user — for ML-100K, 943 examples per epoch, the same ones every epoch.
 * Session-based recommenders are trained on prefixes instead (Tan et al. 2016's augmentation; the
 * template of Yue et al. that A-FSR builds on feeds NARM every prefix of every sequence):
 *   'all'     every (user, k), 1 ≤ k < n: input = train[:k] (last maxLen items), target = train[k];
 *             ~Σ(n_u − 1) examples per epoch (≈ 98k on ML-100K), in a seeded order per epoch;
 *   'random'  one prefix per user per epoch, k uniform in [1, n−1], seeded by (seed, epoch, user):
 *             the cost of 'last' with the variety of 'all' over many epochs;
 *   'last'    the data layer's final-item batches.
 * Randomness: stream TRAIN_STREAMS.prefixes, Philox block = epoch (order) and
 * block = 2^20 + epoch (the 'random' cuts, element = user), so batches depend on (seed, epoch) only.
 */
import type { Dataset } from '../data/preprocess.js';
import { type SequenceBatch, type TrainingKind, lastItemBatch, trainableUsers, trainingBatches } from '../data/batching.js';
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
}

/** (user, prefix length k) pairs of an epoch of 'all' or 'random' last-item training. */
function prefixExamples(ds: Dataset, o: EpochBatchOptions): { users: Int32Array; cut: Int32Array } {
  const pool = trainableUsers(ds, 'last');
  if (o.lastTargets === 'random') {
    const u = new UniformStream(o.seed, TRAIN_STREAMS.prefixes);
    const base = (2 ** 20 + o.epoch) * 2 ** 32;
    const cut = Int32Array.from(pool, (user) => {
      const n = ds.train[user]!.length;
      return 1 + Math.min(n - 2, Math.floor(u.get(base + user) * (n - 1)));
    });
    const perm = SeededRandom.at(o.seed, TRAIN_STREAMS.prefixes, o.epoch).permutation(pool.length);
    return { users: Int32Array.from(perm, (i) => pool[i]!), cut: Int32Array.from(perm, (i) => cut[i]!) };
  }
  let total = 0;
  for (const user of pool) total += ds.train[user]!.length - 1;
  const users = new Int32Array(total);
  const cut = new Int32Array(total);
  let i = 0;
  for (const user of pool) {
    for (let k = 1; k < ds.train[user]!.length; k++) {
      users[i] = user;
      cut[i++] = k;
    }
  }
  const perm = SeededRandom.at(o.seed, TRAIN_STREAMS.prefixes, o.epoch).permutation(total);
  return { users: Int32Array.from(perm, (j) => users[j]!), cut: Int32Array.from(perm, (j) => cut[j]!) };
}

/** Number of batches of an epoch. */
export function epochBatchCount(ds: Dataset, kind: TrainingKind, o: Pick<EpochBatchOptions, 'batchSize' | 'lastTargets'>): number {
  const pool = trainableUsers(ds, kind);
  if (kind !== 'last' || o.lastTargets !== 'all') return Math.ceil(pool.length / o.batchSize);
  let total = 0;
  for (const user of pool) total += ds.train[user]!.length - 1;
  return Math.ceil(total / o.batchSize);
}

/** One epoch of training batches (see the file comment). */
export function* epochBatches(ds: Dataset, kind: TrainingKind, o: EpochBatchOptions): Generator<SequenceBatch> {
  if (kind !== 'last' || o.lastTargets === 'last') {
    yield* trainingBatches(ds, kind, { batchSize: o.batchSize, maxLen: o.maxLen, seed: o.seed, epoch: o.epoch, maskProb: o.maskProb });
    return;
  }
  const { users, cut } = prefixExamples(ds, o);
  for (let s = 0; s < users.length; s += o.batchSize) {
    const bu = users.slice(s, s + o.batchSize);
    // row = train[:k+1]: lastItemBatch takes its last item as the target and the rest as input
    const rows = Array.from(bu, (user, j) => ds.train[user]!.subarray(0, cut[s + j]! + 1));
    yield lastItemBatch(rows, bu, o.maxLen);
  }
}
