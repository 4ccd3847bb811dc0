/**
 * Batches of left-padded item-id sequences for training and evaluation.
 *
 * Layout: `inputs` and (per-position) `targets` are row-major Int32Array (B, L); a row holds the
 * most recent min(len, L) items right-aligned, 0 (padding) before them. Every batch carries the
 * user index of each row (per-user losses, groups). Rows are given aligned with `users`
 * (rows[b] is the sequence of users[b]); builders never modify them.
 *
 * Training targets per model family:
 *  - next-item, all positions (SASRec, GRU4Rec): input = seq[:-1], target = seq[1:], both truncated
 *    to the last L and aligned, so target[b, j] follows input[b, j]; 0 where input is padding;
 *  - cloze (BERT4Rec): input = seq (last L) with each real position replaced by the mask token
 *    (numItems + 1) with probability `maskProb`; at least one position per non-empty row is masked
 *    (a uniformly drawn one when the coin flips masked none); target = the original item at masked
 *    positions, 0 elsewhere. Masked positions always get the mask token (no 80/10/10 replacement,
 *    as in the original BERT4Rec code);
 *  - last position (NARM): input = seq[:-1] (last L), target (B) = the last item.
 * Evaluation inputs are the history before the target (last L items), or for BERT4Rec the last
 * L-1 items followed by the mask token, whose output position scores the next item.
 *
 * Randomness (shuffles, masks) comes from Philox: the epoch order from stream STREAMS.shuffle, block
 * `epoch`; the mask of user u in epoch e from stream STREAMS.cloze, elements
 * ((e * 2^21 + u) * (L + 1)) + j (j < L: position coins, j = L: the fallback pick). So a row's mask
 * depends only on (seed, epoch, user, L), not on batch composition or order.
 *
 * Sliding windows (`slidingWindow` p > 0, 'next' and 'cloze'): a user's training sequence gives
 * several rows instead of its newest L items only, as the original BERT4Rec's data generation
 * (gen_data_fin.py, `prop_sliding_window`): windows of L items (cloze) or L + 1 (next-item: L
 * inputs and their targets) ending at the newest item, then every max(1, ⌊p·L⌋) items further
 * back, the oldest starting at the first item (`windowStarts`). Older items, which the newest
 * window drops, are trained on too. Rows, not users, are shuffled per epoch; window w ≥ 1 of user
 * u draws its mask from stream STREAMS.clozeWindows, elements (((e * 2^21 + u) * 2^12 + w − 1) *
 * (L + 1)) + j, and the newest window (w = 0) the same coins as without windows.
 */
import { SeededRandom, STREAMS, UniformStream } from './random.js';
import type { Dataset } from './preprocess.js';

export interface SequenceBatch {
  kind: 'next' | 'cloze' | 'last' | 'eval';
  /** rows */
  B: number;
  /** padded length */
  L: number;
  /** (B) user index of each row */
  users: Int32Array;
  /** (B, L) left-padded item ids */
  inputs: Int32Array;
  /** (B, L) for 'next' and 'cloze', (B) for 'last' and 'eval' (the evaluation target when known) */
  targets: Int32Array;
}

function checkRows(rows: readonly Int32Array[], users: Int32Array, L: number, what: string): void {
  if (rows.length !== users.length) throw new RangeError(`${what}: ${rows.length} rows but ${users.length} users`);
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`${what}: L must be a positive integer, got ${L}`);
}

/** Copies the last min(end - start, L) items of seq[start:end] right-aligned into row `row` of out (B, L). */
export function leftPadInto(seq: Int32Array, start: number, end: number, L: number, out: Int32Array, row: number): void {
  const n = Math.min(end - start, L);
  if (n <= 0) return;
  out.set(seq.subarray(end - n, end), row * L + (L - n));
}

/** (B, L) left-padded copy of the last L items of each row. */
export function padSequences(rows: readonly Int32Array[], L: number): Int32Array {
  const out = new Int32Array(rows.length * L);
  rows.forEach((s, b) => leftPadInto(s, 0, s.length, L, out, b));
  return out;
}

/** All-position next-item batch (SASRec, GRU4Rec). */
export function nextItemBatch(rows: readonly Int32Array[], users: Int32Array, L: number): SequenceBatch {
  checkRows(rows, users, L, 'nextItemBatch');
  const B = rows.length;
  const inputs = new Int32Array(B * L);
  const targets = new Int32Array(B * L);
  rows.forEach((s, b) => {
    if (s.length < 2) return;
    leftPadInto(s, 0, s.length - 1, L, inputs, b);
    leftPadInto(s, 1, s.length, L, targets, b);
  });
  return { kind: 'next', B, L, users: users.slice(), inputs, targets };
}

/** Last-position batch (NARM): input = seq[:-1], target = last item. */
export function lastItemBatch(rows: readonly Int32Array[], users: Int32Array, L: number): SequenceBatch {
  checkRows(rows, users, L, 'lastItemBatch');
  const B = rows.length;
  const inputs = new Int32Array(B * L);
  const targets = new Int32Array(B);
  rows.forEach((s, b) => {
    if (s.length < 2) return;
    leftPadInto(s, 0, s.length - 1, L, inputs, b);
    targets[b] = s[s.length - 1]!;
  });
  return { kind: 'last', B, L, users: users.slice(), inputs, targets };
}

export interface ClozeOptions {
  /** probability that a real position is masked, in (0, 1] */
  maskProb: number;
  /** the mask token id: numItems + 1 */
  maskToken: number;
  seed: number;
  epoch: number;
  /** (B) the window index of each row (0 = the newest window; default all 0), see the file comment */
  windows?: Int32Array;
}

const CLOZE_USER_STRIDE = 2097152; // 2^21 users per epoch in the cloze counter space
const CLOZE_WINDOW_STRIDE = 4096; // 2^12 older windows per user

/** Cloze (masked item) batch for BERT4Rec training. */
export function clozeBatch(rows: readonly Int32Array[], users: Int32Array, L: number, opts: ClozeOptions): SequenceBatch {
  checkRows(rows, users, L, 'clozeBatch');
  const { maskProb, maskToken, seed, epoch } = opts;
  if (!(maskProb > 0 && maskProb <= 1)) throw new RangeError(`clozeBatch: maskProb must be in (0, 1], got ${maskProb}`);
  if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`clozeBatch: epoch must be a non-negative integer, got ${epoch}`);
  const B = rows.length;
  const inputs = padSequences(rows, L);
  const targets = new Int32Array(B * L);
  if (opts.windows !== undefined && opts.windows.length !== B) throw new RangeError(`clozeBatch: ${opts.windows.length} window indices for ${B} rows`);
  const newest = new UniformStream(seed, STREAMS.cloze);
  const older = new UniformStream(seed, STREAMS.clozeWindows);
  for (let b = 0; b < B; b++) {
    const u = users[b]!;
    if (!(u >= 0 && u < CLOZE_USER_STRIDE)) throw new RangeError(`clozeBatch: user index must be in [0, 2^21), got ${u}`);
    const w = opts.windows?.[b] ?? 0;
    if (!(w >= 0 && w <= CLOZE_WINDOW_STRIDE)) throw new RangeError(`clozeBatch: window index must be in [0, 2^12], got ${w}`);
    const n = Math.min(rows[b]!.length, L);
    if (n === 0) continue;
    const coins = w === 0 ? newest : older;
    const block = epoch * CLOZE_USER_STRIDE + u;
    const base = (w === 0 ? block : block * CLOZE_WINDOW_STRIDE + w - 1) * (L + 1);
    const first = b * L + (L - n);
    let masked = 0;
    for (let j = 0; j < n; j++) {
      if (coins.get(base + j) < maskProb) {
        targets[first + j] = inputs[first + j]!;
        inputs[first + j] = maskToken;
        masked++;
      }
    }
    if (masked === 0) {
      const j = Math.min(n - 1, Math.floor(coins.get(base + L) * n));
      targets[first + j] = inputs[first + j]!;
      inputs[first + j] = maskToken;
    }
  }
  return { kind: 'cloze', B, L, users: users.slice(), inputs, targets };
}

/**
 * Evaluation batch: rows are the histories before the targets. Input = the last L items; with
 * `maskToken` (BERT4Rec) the last L-1 items followed by the mask token.
 */
export function evalBatch(rows: readonly Int32Array[], users: Int32Array, L: number, targets?: Int32Array, maskToken?: number): SequenceBatch {
  checkRows(rows, users, L, 'evalBatch');
  const B = rows.length;
  let inputs: Int32Array;
  if (maskToken === undefined) inputs = padSequences(rows, L);
  else {
    inputs = new Int32Array(B * L);
    rows.forEach((s, b) => {
      leftPadInto(s, 0, s.length, L - 1, inputs.subarray(b * L, b * L + L - 1), 0);
      inputs[b * L + L - 1] = maskToken;
    });
  }
  if (targets !== undefined && targets.length !== B) throw new RangeError(`evalBatch: ${targets.length} targets for ${B} rows`);
  return { kind: 'eval', B, L, users: users.slice(), inputs, targets: targets?.slice() ?? new Int32Array(B) };
}

/** The order of `n` rows in epoch `epoch`: a seeded permutation (stream STREAMS.shuffle, block epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  return SeededRandom.at(seed, STREAMS.shuffle, epoch).permutation(n);
}

export type TrainingKind = 'next' | 'cloze' | 'last';

export interface TrainingBatchOptions {
  batchSize: number;
  maxLen: number;
  seed: number;
  epoch: number;
  /** default true: seeded order per epoch; false: ascending user index */
  shuffle?: boolean;
  /** cloze only (default 0.2) */
  maskProb?: number;
  /** restrict to these users (default: every user with a training target) */
  users?: Int32Array;
  /** 'next' and 'cloze': 0 (default) one row per user, its newest items; p in (0, 1]: sliding windows every max(1, ⌊p·maxLen⌋) items (file comment) */
  slidingWindow?: number;
}

/** Items one training row of `kind` reads: L inputs, plus the target after them for next-item and last-position rows. */
function windowWidth(kind: TrainingKind, L: number): number {
  return kind === 'cloze' ? L : L + 1;
}

/**
 * Start indices of the training windows of a sequence of n items, newest first (the file
 * comment): n − width, then every `step` items back while > 0, then 0; [0] when n <= width.
 */
export function windowStarts(n: number, width: number, step: number): number[] {
  if (!(Number.isInteger(step) && step >= 1)) throw new RangeError(`windowStarts: step must be a positive integer, got ${step}`);
  if (n <= width) return [0];
  const starts: number[] = [];
  for (let s = n - width; s > 0; s -= step) starts.push(s);
  starts.push(0);
  return starts;
}

/** The window step of `slidingWindow` p at input length L (0 when p is 0: no windows). */
export function windowStep(p: number, L: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`slidingWindow must be in [0, 1], got ${p}`);
  return p === 0 ? 0 : Math.max(1, Math.floor(p * L));
}

/** Number of training rows of the users `pool` (one per user without sliding windows). */
export function trainingRowCount(ds: Dataset, kind: TrainingKind, pool: Int32Array, maxLen: number, slidingWindow = 0): number {
  const step = windowStep(slidingWindow, maxLen);
  if (step === 0 || kind === 'last') return pool.length;
  let rows = 0;
  for (const u of pool) rows += windowStarts(ds.train[u]!.length, windowWidth(kind, maxLen), step).length;
  return rows;
}

/**
 * Users that give at least one training target for `kind`: cloze needs a non-empty training
 * sequence, next-item and last-position training need two items.
 */
export function trainableUsers(ds: Dataset, kind: TrainingKind): Int32Array {
  const need = kind === 'cloze' ? 1 : 2;
  const out: number[] = [];
  for (let u = 0; u < ds.numUsers; u++) if (ds.train[u]!.length >= need) out.push(u);
  return Int32Array.from(out);
}

/** One epoch of training batches over the dataset's training sequences (last batch may be short). */
export function* trainingBatches(ds: Dataset, kind: TrainingKind, opts: TrainingBatchOptions): Generator<SequenceBatch> {
  const { batchSize, maxLen: L, seed, epoch } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`trainingBatches: batchSize must be a positive integer, got ${batchSize}`);
  const pool = opts.users ?? trainableUsers(ds, kind);
  const step = kind === 'last' ? 0 : windowStep(opts.slidingWindow ?? 0, L);
  const width = windowWidth(kind, L);
  // rows (user, window, start); without windows one per user, its newest `width` items
  const rowUser: number[] = [], rowWindow: number[] = [], rowStart: number[] = [];
  for (const u of pool) {
    const n = ds.train[u]!.length;
    const starts = step > 0 ? windowStarts(n, width, step) : [Math.max(0, n - width)];
    starts.forEach((start, w) => {
      rowUser.push(u);
      rowWindow.push(w);
      rowStart.push(start);
    });
  }
  const order = opts.shuffle === false ? Int32Array.from(rowUser, (_, i) => i) : epochPermutation(rowUser.length, seed, epoch);
  for (let s = 0; s < order.length; s += batchSize) {
    const picked = order.subarray(s, s + batchSize);
    const users = Int32Array.from(picked, (i) => rowUser[i]!);
    const rows = Array.from(picked, (i) => ds.train[rowUser[i]!]!.subarray(rowStart[i]!, rowStart[i]! + width));
    if (kind === 'next') yield nextItemBatch(rows, users, L);
    else if (kind === 'last') yield lastItemBatch(rows, users, L);
    else yield clozeBatch(rows, users, L, { maskProb: opts.maskProb ?? 0.2, maskToken: ds.numItems + 1, seed, epoch, windows: Int32Array.from(picked, (i) => rowWindow[i]!) });
  }
}
