/**
 * Negative candidates for sampled ranking (the "rank the target among 100 sampled items" protocol
 * of SASRec/BERT4Rec-style papers), drawn once per user and reused for validation and test.
 *
 * Choice: a user's negatives never include any item of the user's whole sequence (training
 * items, validation target and test target). Excluding the targets is required (a target cannot
 * be its own negative); excluding the history follows the papers' protocol (an item the user
 * consumed is not a negative) and makes one set serve both splits, so validation and test numbers
 * are comparable. Negatives of a user are distinct.
 *
 * Strategies: 'uniform' over the eligible items, or 'popularity' proportional to the training
 * popularity counts (dataset.itemPopularity; validation/test targets never count). Items with zero
 * training count cannot be drawn by 'popularity' unless a user has fewer positive-weight eligible
 * items than negatives wanted; then the remainder is drawn uniformly from the zero-weight ones.
 *
 * Reproducibility: user u draws from Philox stream STREAMS.negatives, sub-stream block u, so its
 * negatives depend only on (seed, strategy, K, the dataset) and not on which other users are
 * sampled or in which order. A user with fewer than K eligible items is an error.
 */
import type { Dataset } from '../data/preprocess.js';
import { fullSequence } from '../data/preprocess.js';
import { SeededRandom, STREAMS, cumulative } from '../data/random.js';

export type NegativeStrategy = 'uniform' | 'popularity';

export interface NegativeOptions {
  /** negatives per user (default 100) */
  numNegatives?: number;
  strategy?: NegativeStrategy;
  seed?: number;
}

export interface NegativeSamples {
  strategy: NegativeStrategy;
  numNegatives: number;
  seed: number;
  /** (numUsers, numNegatives): row u holds user u's negatives */
  items: Int32Array;
}

/** Draws `K` distinct items of 1..N not in `excluded` for one user. */
function drawForUser(
  rng: SeededRandom,
  N: number,
  K: number,
  excluded: Uint8Array,
  cum: Float64Array | null,
  weights: Int32Array | null,
  out: Int32Array,
  at: number,
): void {
  const chosen = new Set<number>();
  const maxAttempts = 50 * K + 1000;
  let attempts = 0;
  while (chosen.size < K && attempts < maxAttempts) {
    attempts++;
    // cum is over items 1..N at indices 0..N-1
    const i = cum === null ? rng.int(N) + 1 : rng.weighted(cum) + 1;
    if (excluded[i] || chosen.has(i)) continue;
    chosen.add(i);
    out[at + chosen.size - 1] = i;
  }
  if (chosen.size === K) return;
  // Slow exact path (rejection kept failing: the user excludes most of the mass). Draw the rest
  // from the remaining eligible items, by weight where weights are positive, then uniformly.
  const rest: number[] = [];
  for (let i = 1; i <= N; i++) if (!excluded[i] && !chosen.has(i)) rest.push(i);
  if (chosen.size + rest.length < K) throw new RangeError('unreachable: eligibility checked before drawing');
  while (chosen.size < K) {
    let pick: number;
    const w = weights === null ? null : rest.map((i) => weights[i]!);
    const total = w === null ? 0 : w.reduce((a, b) => a + b, 0);
    if (w !== null && total > 0) pick = rng.weighted(cumulative(w));
    else pick = rng.int(rest.length);
    const i = rest[pick]!;
    rest.splice(pick, 1);
    chosen.add(i);
    out[at + chosen.size - 1] = i;
  }
}

/** Samples negatives for every user of the dataset. */
export function sampleNegatives(ds: Dataset, opts: NegativeOptions = {}): NegativeSamples {
  const K = opts.numNegatives ?? 100;
  const strategy = opts.strategy ?? 'uniform';
  const seed = opts.seed ?? 0;
  const N = ds.numItems;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`sampleNegatives: numNegatives must be a positive integer, got ${K}`);
  let cum: Float64Array | null = null;
  let weights: Int32Array | null = null;
  if (strategy === 'popularity') {
    weights = ds.itemPopularity;
    cum = cumulative(ds.itemPopularity.subarray(1, N + 1));
    if (!(cum[N - 1]! > 0)) cum = null; // no training counts at all: uniform
  } else if (strategy !== 'uniform') {
    throw new RangeError(`sampleNegatives: strategy must be 'uniform' or 'popularity', got ${String(strategy)}`);
  }
  const items = new Int32Array(ds.numUsers * K);
  const excluded = new Uint8Array(N + 1);
  for (let u = 0; u < ds.numUsers; u++) {
    const seq = fullSequence(ds, u);
    let nExcluded = 0;
    for (const i of seq) if (!excluded[i]) ((excluded[i] = 1), nExcluded++);
    if (N - nExcluded < K) {
      throw new RangeError(`sampleNegatives: user ${ds.userIds[u]} (index ${u}) has only ${N - nExcluded} items outside their sequence, fewer than ${K} negatives`);
    }
    drawForUser(SeededRandom.at(seed, STREAMS.negatives, u), N, K, excluded, cum, weights, items, u * K);
    for (const i of seq) excluded[i] = 0;
  }
  return { strategy, numNegatives: K, seed, items };
}

/** The (B, K) negatives of the given users, in their order. */
export function negativesFor(samples: NegativeSamples, users: ArrayLike<number>): Int32Array {
  const K = samples.numNegatives;
  const numUsers = samples.items.length / K;
  const out = new Int32Array(users.length * K);
  for (let b = 0; b < users.length; b++) {
    const u = users[b]!;
    if (!(u >= 0 && u < numUsers)) throw new RangeError(`negativesFor: user index ${u} outside [0, ${numUsers})`);
    out.set(samples.items.subarray(u * K, u * K + K), b * K);
  }
  return out;
}

/**
 * Candidate lists in the compact layout `rankCandidates` expects: (B, 1 + K), column 0 the target,
 * then the user's negatives. A model scores these ids and passes the scores to rankCandidates.
 */
export function candidateLists(samples: NegativeSamples, users: ArrayLike<number>, targets: ArrayLike<number>): Int32Array {
  const K = samples.numNegatives;
  if (users.length !== targets.length) throw new RangeError(`candidateLists: ${users.length} users but ${targets.length} targets`);
  const neg = negativesFor(samples, users);
  const out = new Int32Array(users.length * (K + 1));
  for (let b = 0; b < users.length; b++) {
    out[b * (K + 1)] = targets[b]!;
    out.set(neg.subarray(b * K, b * K + K), b * (K + 1) + 1);
  }
  return out;
}
