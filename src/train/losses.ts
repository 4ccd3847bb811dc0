/**
 * Per-sequence training losses of a sequential recommender on one batch (DESIGN.md data flow:
 * "per-sample losses (B), never only a mean": DRO methods need every user's loss).
 *
 *   z = model.embed(inputs)            (B,L,D)   or a z the caller gives (A-FSR's smoothed z)
 *   hidden = model.encode(z, mask)     (B,L',D)  L' = L, or 1 for a 'last' batch (its last position; encode gets lastOnly)
 *   rows = hidden as (B·L', D), targets (B·L') with 0 = no target at that position
 *   loss of row r: ℓ_r (see the three kinds below)
 *   loss of sequence b = (1 / n_b) Σ_{r in row b, target_r ≠ 0} ℓ_r,   n_b = number of targets
 *
 * A sequence with no target position (n_b = 0: an all-padding row) gets loss 0, and callers that
 * average over sequences must leave it out of the mean (`targetRows` says which rows count; the
 * ERM objective does this). Batches built by src/data/batching.ts from `trainableUsers` always
 * have at least one target per row, so this only matters for hand-made batches.
 *
 * Loss kinds:
 *  - 'ce' (default): full softmax over every row of model.outputTable() (padding row and, for
 *    BERT4Rec, the mask token included, as the scores the model is evaluated on), through the
 *    fused projection + cross-entropy op, which never materialises the (B·L' × V) logits. The
 *    1/n_b averaging is folded into the op's per-row weights, so the op's output summed over a
 *    sequence's positions is already that sequence's mean.
 *  - 'sampled-softmax': softmax over the target and K sampled negatives (default K = 100).
 *  - 'bce': binary cross-entropy, −log σ(s⁺) − Σ_j log(1 − σ(s⁻_j)), with K negatives per target
 *    position (default K = 1, the original SASRec loss; with K > 1 each negative is one more
 *    binary example, summed, as the original code sums its positive and negative terms).
 *  Negatives are drawn uniformly from the items 1..numItems that do not occur in the row (its
 *  inputs and targets: the SASRec code's `random_neq` over the user's sequence), so a target is
 *  never its own negative. They come from a counter-based Generator (default: the engine's
 *  `negatives` stream): `gen.take()` reserves 8·(rows·K) uniforms per call and draws from that
 *  range, so a seeded run gets the same negatives on every backend and thread count.
 *  The sampled logits are computed on the tape with primitives: the candidates' table rows are
 *  gathered (embedding op) and multiplied with their hidden row (batched matmul); BCE is a
 *  two-class cross-entropy on [0, s] (−log σ(s) = lse(0, s) − s), which is stable for any s.
 */
import {
  Generator, Streams, Tensor, concat, crossEntropy, embedding, generator, matmul, projectionCrossEntropy, zeros,
} from '../engine/index.js';
import type { SequenceBatch } from '../data/batching.js';
import { SeededRandom } from '../data/random.js';
import { outputProjection } from '../models/output.js';
import type { SequentialRecommender } from '../models/types.js';

export type LossKind = 'ce' | 'sampled-softmax' | 'bce';

export const LOSS_KINDS: readonly LossKind[] = ['ce', 'sampled-softmax', 'bce'];

export interface LossOptions {
  /** default 'ce' */
  loss?: LossKind;
  /** negatives per target position (sampled-softmax default 100, bce default 1) */
  numNegatives?: number;
  /** generator of the negatives (default: the engine's `negatives` stream) */
  gen?: Generator;
  /** embeddings to encode instead of model.embed(inputs) (A-FSR) */
  z?: Tensor;
  /**
   * (B·P) constant weights aligned with batch.targets (P = L for 'next'/'cloze' batches, 1 for
   * 'last'): position r's loss is multiplied by targetWeights[r] inside its sequence's mean, which
   * still divides by the number of target positions n_b, not by the weights' sum (class-balanced).
   */
  targetWeights?: Float32Array;
  /**
   * The gradient every sequence's loss will receive from the objective's reduction (1 under a
   * plain sum, 1/n under a mean over n sequences), and whether the output table's gradient will
   * be asked for: a speed hint for 'ce', whose fused output layer then computes its gradients in
   * the forward pass (projectionCrossEntropy's presumedGrad). The results do not depend on it.
   */
  presumedGrad?: { value: number; table: boolean };
}

/** One encoder pass: the hidden states the targets are scored on, and the per-sequence losses. */
export interface SequenceForward {
  /** (B, P, D): every position for 'next'/'cloze' batches, the last one for 'last' batches */
  hidden: Tensor;
  /** (B) per-sequence losses computed from `hidden` */
  losses: Tensor;
  /**
   * (B·P) each target position's share of its sequence's loss, (weight ·) ℓ_r / n_b, aligned with
   * batch.targets (0 where there is no target); `losses` is its sum over each row's positions
   */
  positions: Tensor;
}

/** Default numbers of negatives per loss kind. */
export function defaultNegatives(kind: LossKind): number {
  return kind === 'bce' ? 1 : kind === 'sampled-softmax' ? 100 : 0;
}

/** The (B, L) i32 input tensor of a batch. */
export function inputTensor(batch: SequenceBatch): Tensor {
  return new Tensor(batch.inputs, [batch.B, batch.L]);
}

/** (B, L) i32 mask: 1 where the input is a real position (an item or the mask token), 0 at padding. */
export function inputMask(batch: SequenceBatch): Tensor {
  const m = new Int32Array(batch.inputs.length);
  for (let i = 0; i < m.length; i++) m[i] = batch.inputs[i] !== 0 ? 1 : 0;
  return new Tensor(m, [batch.B, batch.L]);
}

/** Targets per position of a training batch: (B, L) for 'next'/'cloze', (B) for 'last'. */
function positionsPerRow(batch: SequenceBatch): number {
  if (batch.kind === 'next' || batch.kind === 'cloze') return batch.L;
  if (batch.kind === 'last') return 1;
  throw new Error(`sequenceLosses: an '${batch.kind}' batch has no training targets (expected 'next', 'cloze' or 'last')`);
}

/**
 * The hidden states a batch's targets are scored on: all of them, except for a 'last' batch, whose
 * one target per row is scored on the last position (a 'last' model's encode gives every
 * prefix's state, or only the last one).
 */
export function lastPositionFor(batch: SequenceBatch, hidden: Tensor): Tensor {
  const Lh = hidden.shape[1]!;
  return batch.kind === 'last' && hidden.rank === 3 && Lh > 1 ? hidden.slice(1, Lh - 1, Lh) : hidden;
}

/** Number of target positions of each row (B). */
export function targetCounts(batch: SequenceBatch): Int32Array {
  const P = positionsPerRow(batch);
  const counts = new Int32Array(batch.B);
  for (let b = 0; b < batch.B; b++) {
    let c = 0;
    for (let j = 0; j < P; j++) if (batch.targets[b * P + j] !== 0) c++;
    counts[b] = c;
  }
  return counts;
}

/** Rows that have at least one target position (the ones a mean over sequences counts). */
export function targetRows(batch: SequenceBatch): Uint8Array {
  return Uint8Array.from(targetCounts(batch), (c) => (c > 0 ? 1 : 0));
}

/**
 * Per-sequence losses (B) of `model` on `batch`, on the tape (see the file comment). The model's
 * training mode is left as it is: call model.train() / model.eval() before.
 */
export function sequenceLosses(model: SequentialRecommender, batch: SequenceBatch, opts: LossOptions = {}): Tensor {
  return sequenceForward(model, batch, opts).losses;
}

/** sequenceLosses with the hidden states they came from (adv's adversary reads them). */
export function sequenceForward(model: SequentialRecommender, batch: SequenceBatch, opts: LossOptions = {}): SequenceForward {
  const kind = opts.loss ?? 'ce';
  if (!LOSS_KINDS.includes(kind)) throw new Error(`sequenceLosses: loss must be one of ${LOSS_KINDS.join(', ')}, got '${String(kind)}'`);
  const P = positionsPerRow(batch);
  const { B } = batch;
  const z = opts.z ?? model.embed(inputTensor(batch));
  const hidden = lastPositionFor(batch, model.encode(z, inputMask(batch), { lastOnly: batch.kind === 'last' }));
  if (hidden.rank !== 3 || hidden.shape[0] !== B || hidden.shape[1] !== P) {
    throw new Error(`sequenceLosses: ${model.modelName}.encode gave hidden ${fmt(hidden.shape)} for a '${batch.kind}' batch of ${B} rows; expected (${B},${P},D)`);
  }
  const D = hidden.shape[2]!;
  // rows·tableᵀ (+ the model's output bias, folded in as a column: src/models/output.ts)
  const { rows, table } = outputProjection(model, hidden.reshape([B * P, D]));
  const counts = targetCounts(batch);
  // weight 1/n_b (times the target weight) on every position of row b: summing a row's weighted
  // losses gives its (weighted) mean
  const tw = opts.targetWeights;
  if (tw && tw.length !== B * P) throw new Error(`sequenceLosses: ${tw.length} target weights for a batch of ${B}×${P} target positions`);
  const w = new Float32Array(B * P);
  for (let b = 0; b < B; b++) {
    if (counts[b] === 0) continue;
    for (let j = 0; j < P; j++) w[b * P + j] = (tw ? tw[b * P + j]! : 1) / counts[b]!;
  }
  const targets = new Tensor(batch.targets.slice(0, B * P), [B * P]);

  if (kind === 'ce') {
    // a sequence's loss is the sum of its rows' (sum(1) passes the gradient on unchanged)
    const pg = opts.presumedGrad;
    const presumedGrad = pg && { value: pg.value, hidden: true, table: pg.table };
    const perRow = projectionCrossEntropy(rows, table, targets, { weights: new Tensor(w, [B * P]), ignoreIndex: 0, presumedGrad });
    return { hidden, losses: P === 1 ? perRow : perRow.reshape([B, P]).sum(1), positions: perRow };
  }

  // sampled kinds: gather the active rows (target ≠ 0), score target + K negatives per row
  const K = opts.numNegatives ?? defaultNegatives(kind);
  if (!Number.isInteger(K) || K < 1) throw new Error(`sequenceLosses: numNegatives must be a positive integer for '${kind}', got ${K}`);
  const active: number[] = [];
  for (let r = 0; r < B * P; r++) if (batch.targets[r] !== 0) active.push(r);
  const Na = active.length;
  if (Na === 0) return { hidden, losses: zeros([B]), positions: zeros([B * P]) };
  const cand = drawCandidates(batch, model.numItems, P, active, K, opts.gen ?? generator(Streams.negatives));
  const C = K + 1;
  const wAct = Float32Array.from(active, (r) => w[r]!);
  const hAct = embedding(rows, new Tensor(Int32Array.from(active), [Na])); // (Na, D), gradient scatters back
  const candEmb = embedding(table, new Tensor(cand, [Na, C])); // (Na, C, D)
  const logits = matmul(candEmb, hAct.reshape([Na, rows.shape[1]!, 1])).reshape([Na, C]);
  let perActive: Tensor;
  if (kind === 'sampled-softmax') {
    // the target sits in column 0 of every candidate list
    perActive = crossEntropy(logits, new Tensor(new Int32Array(Na), [Na]), { weights: new Tensor(wAct, [Na]), ignoreIndex: -1 });
  } else {
    // two-class cross-entropy on [0, s]: class 1 (positive) costs softplus(−s), class 0 softplus(s)
    const pair = concat([zeros([Na * C, 1]), logits.reshape([Na * C, 1])], 1);
    const cls = new Int32Array(Na * C);
    const wPair = new Float32Array(Na * C);
    for (let a = 0; a < Na; a++) {
      cls[a * C] = 1;
      wPair.fill(wAct[a]!, a * C, (a + 1) * C);
    }
    perActive = crossEntropy(pair, new Tensor(cls, [Na * C]), { weights: new Tensor(wPair, [Na * C]), ignoreIndex: -1 })
      .reshape([Na, C]).sum(1);
  }
  // back to sequences: (B, Na) selection matrix · (Na, 1); the 1/n_b weights make it a mean
  const sel = new Float32Array(B * Na);
  active.forEach((r, a) => { sel[Math.floor(r / P) * Na + a] = 1; });
  const losses = matmul(new Tensor(sel, [B, Na]), perActive.reshape([Na, 1])).reshape([B]);
  // back to positions: a gather from [0; perActive] (position r reads active entry a + 1, or 0)
  const slot = new Int32Array(B * P);
  active.forEach((r, a) => { slot[r] = a + 1; });
  const padded = concat([zeros([1, 1]), perActive.reshape([Na, 1])], 0);
  return { hidden, losses, positions: embedding(padded, new Tensor(slot, [B * P])).reshape([B * P]) };
}

function fmt(s: readonly number[]): string {
  return `(${s.join(',')})`;
}

/**
 * (Na, 1+K) candidate ids: column 0 the target of active row r, columns 1..K distinct uniform
 * negatives from the items 1..N absent from the row's inputs and targets.
 */
export function drawCandidates(batch: SequenceBatch, N: number, P: number, active: readonly number[], K: number, gen: Generator): Int32Array {
  const C = K + 1;
  const out = new Int32Array(active.length * C);
  const key = gen.take(8 * active.length * K);
  const rng = new SeededRandom(key);
  const { L } = batch;
  let lastRow = -1;
  let seen = new Set<number>();
  active.forEach((r, a) => {
    const b = Math.floor(r / P);
    if (b !== lastRow) {
      seen = new Set<number>();
      for (let j = 0; j < L; j++) seen.add(batch.inputs[b * L + j]!);
      for (let j = 0; j < P; j++) seen.add(batch.targets[b * P + j]!);
      lastRow = b;
      let excluded = 0;
      for (const i of seen) if (i >= 1 && i <= N) excluded++;
      if (N - excluded < K) {
        throw new Error(`sequenceLosses: row ${b} (user ${batch.users[b]}) leaves fewer than ${K} items to draw negatives from`);
      }
    }
    out[a * C] = batch.targets[r]!;
    const chosen = new Set<number>();
    while (chosen.size < K) {
      const i = rng.int(N) + 1;
      if (seen.has(i) || chosen.has(i)) continue;
      chosen.add(i);
      out[a * C + chosen.size] = i;
    }
  });
  return out;
}
